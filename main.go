// Command metalk8s is the Pulumi program: Kubernetes on Equinix Metal with BGP-announced
// LoadBalancer services. Everything it does lives in package program.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/program"
)

func main() {
	pulumi.Run(program.Run)
}

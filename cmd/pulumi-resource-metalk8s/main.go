// Command pulumi-resource-metalk8s is the metalk8s component package's provider: it serves the
// Cluster component (package provider) to Pulumi programs in any language.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/metalk8s/metalk8s/provider"
)

func main() {
	prov, err := provider.New()
	if err == nil {
		err = p.RunProvider(context.Background(), provider.Name, provider.Version, prov)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-%s: %v\n", provider.Name, err)
		os.Exit(1)
	}
}

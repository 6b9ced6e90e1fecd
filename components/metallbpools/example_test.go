package metallbpools_test

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/metallbpools"
	"github.com/metalk8s/metalk8s/components/topology"
)

// Two pools, a public elastic block (its CIDR an output of another resource) and a private /25,
// and Traefik as the example ingress on the public one. In the bird-local-peer mode MetalLB's
// speakers peer with the node's own BIRD; the objects are typed values of MetalLB's API.
func ExampleNewMetalLBPools() {
	peer := metallbpools.LocalBGPPeer(65480, 65000)
	fmt.Printf("%s: AS%d -> %s AS%d\n", peer.Name, peer.Spec.MyASN, peer.Spec.Address, peer.Spec.ASN)
	pool := metallbpools.IPAddressPool("metal-private", []string{"10.99.110.128/25"}, false)
	fmt.Printf("%s: %v auto-assign=%v\n", pool.Name, pool.Spec.Addresses, *pool.Spec.AutoAssign)

	// In a Pulumi program, with the provider of a cluster whose Calico is ready:
	_ = func(ctx *pulumi.Context, provider *kubernetes.Provider, calicoReady pulumi.Resource, public pulumi.StringInput) error {
		_, err := metallbpools.NewMetalLBPools(ctx, "demo", &metallbpools.MetalLBPoolsArgs{
			Provider: provider,
			Mode:     topology.ModeBirdLocalPeer,
			LocalASN: 65000,
			Pools: []topology.LoadBalancerPool{
				{Name: "metal-public", CIDRs: []pulumi.StringInput{public}, AutoAssign: true},
				{Name: "metal-private", CIDRs: []pulumi.StringInput{pulumi.String("10.99.110.128/25")}},
			},
			Ingress:   &metallbpools.IngressArgs{Pool: "metal-public"},
			DependsOn: []pulumi.Resource{calicoReady},
		})
		return err
	}
	// Output:
	// node-bird: AS65480 -> 127.0.0.1 AS65000
	// metal-private: [10.99.110.128/25] auto-assign=false
}

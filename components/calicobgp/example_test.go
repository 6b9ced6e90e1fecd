package calicobgp_test

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/calicobgp"
	"github.com/metalk8s/metalk8s/components/topology"
)

// shell stands in for bootstrap.Bootstrap, which runs the scripts on the controller.
type shell struct{}

func (shell) RunScript(ctx *pulumi.Context, name string, script pulumi.StringInput, opts ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.Resource, error) {
	return pulumi.String("").ToStringOutput(), nil, nil
}

// Calico on one node of a newer Metal site: the node peers with both top-of-rack routers, and
// Calico announces the LoadBalancer range itself. The BGP objects are typed values of the upstream
// projectcalico.org/v3 API; TorPeers shows the peers one node gets.
func ExampleNewCalicoBGP() {
	node := topology.Node{
		Name: "da-worker-0", PrivateIPv4: "10.70.12.3", PrivateGateway: "10.70.12.2",
		BGPPeers: []topology.BGPPeer{{PeerIPs: []string{"169.254.255.1", "169.254.255.2"}, PeerASN: 65530, Multihop: true}},
	}
	for _, p := range calicobgp.TorPeers(node, calicobgp.Passwords{}) {
		fmt.Printf("%s: %s AS%d via %s\n", p.Name, p.Spec.PeerIP, p.Spec.ASNumber, p.Spec.ReachableBy)
	}

	// In a Pulumi program, with the provider and shell of a bootstrapped cluster:
	_ = func(ctx *pulumi.Context, provider *kubernetes.Provider, info topology.NodeOutput, public pulumi.StringInput) error {
		_, err := calicobgp.NewCalicoBGP(ctx, "demo", &calicobgp.CalicoBGPArgs{
			Provider: provider,
			Shell:    shell{},
			PodCIDR:  "172.16.0.0/12",
			Nodes:    []calicobgp.Node{{Name: "da-worker-0", Info: info}},
			Mode:     topology.ModeCalico,
			Pools:    []topology.LoadBalancerPool{{Name: "public", CIDRs: []pulumi.StringInput{public}, AutoAssign: true}},
		})
		return err
	}
	// Output:
	// da-worker-0-tor-1: 169.254.255.1 AS65530 via 10.70.12.2
	// da-worker-0-tor-2: 169.254.255.2 AS65530 via 10.70.12.2
}

package metalcluster_test

import (
	"fmt"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/metalcluster"
	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// A controller and two workers in Dallas with four public elastic IPs, bootstrapped with
// Kubernetes 1.37.2 and an API server reachable from one address. Each node's BGP peers arrive as
// a typed topology.Node; here a fake cloud answers instead of Equinix Metal.
func ExampleNewMetalCluster() {
	var mu sync.Mutex
	var lines []string
	program := func(ctx *pulumi.Context) error {
		cluster, err := metalcluster.NewMetalCluster(ctx, "demo", &metalcluster.MetalClusterArgs{
			OrganizationID: pulumi.String("00000000-0000-4000-8000-000000000000"),
			Metro:          "da",
			WorkerCount:    2,
			Kubernetes:     bootstrap.KubernetesArgs{Version: "1.37.2"},
			APIAccess:      bootstrap.APIAccess{AllowedCIDRs: []string{"198.51.100.7/32"}},
			ElasticIPs: []metalcluster.ElasticIPArgs{
				{Name: "public", Type: metal.IpBlockTypePublicIPv4, Quantity: 4},
			},
		})
		if err != nil {
			return err
		}
		for _, n := range cluster.Nodes {
			n.Info.ApplyT(func(node topology.Node) topology.Node {
				mu.Lock()
				defer mu.Unlock()
				p := node.BGPPeers[0]
				lines = append(lines, fmt.Sprintf("%s (%s) peers with %v in AS%d", node.Name, node.Role, p.PeerIPs, p.PeerASN))
				return node
			})
		}
		ctx.Export("publicBlock", cluster.ElasticIPs[0].CIDR)
		return nil
	}
	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	if err := cloud.Run(program, "example", "dev", nil, nil); err != nil {
		fmt.Println(err)
		return
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// da-controller (controller) peers with [169.254.255.1 169.254.255.2] in AS65530
	// da-worker-0 (worker) peers with [169.254.255.1 169.254.255.2] in AS65530
	// da-worker-1 (worker) peers with [169.254.255.1 169.254.255.2] in AS65530
}

package bootstrap_test

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/bootstrap"
)

// Any servers reachable over SSH become a cluster: here a controller and a worker whose addresses
// are known. The API server is reachable on the controller's public address from one source.
func ExampleNewBootstrap() {
	host := func(name, public, private string) bootstrap.Host {
		return bootstrap.Host{Name: name, SSHAddress: pulumi.String(public), PublicIPv4: pulumi.String(public), PrivateIPv4: pulumi.String(private)}
	}
	_ = func(ctx *pulumi.Context, key pulumi.StringInput) error {
		b, err := bootstrap.NewBootstrap(ctx, "lab", &bootstrap.BootstrapArgs{
			Controller:    host("cp", "203.0.113.10", "10.0.0.10"),
			Workers:       []bootstrap.Host{host("w0", "203.0.113.11", "10.0.0.11")},
			Kubernetes:    bootstrap.KubernetesArgs{Version: "1.37.2"},
			APIAccess:     bootstrap.APIAccess{AllowedCIDRs: []string{"198.51.100.7/32"}},
			SSHPrivateKey: key,
		})
		if err != nil {
			return err
		}
		ctx.Export("kubeconfig", b.Kubeconfig) // secret
		return nil
	}

	// The host firewall every node gets, rendered from typed data:
	rules, _ := bootstrap.RenderFirewall(bootstrap.FirewallData{Node: "w0", PublicIPv4: "203.0.113.11", APIPort: 6443})
	for _, line := range strings.Split(rules, "\n") {
		if strings.Contains(line, "accept") && !strings.Contains(line, "policy") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// iif "lo" accept
	// ip daddr != 203.0.113.11 accept
	// ct state established,related accept
	// tcp dport 22 accept
	// icmp type { echo-request, destination-unreachable, time-exceeded } accept
	// icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request } accept
	// icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept
	// icmpv6 type mld-listener-query ip6 saddr fe80::/10 accept
}

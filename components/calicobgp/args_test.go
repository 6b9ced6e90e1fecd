package calicobgp

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// TestInvalidArgsRegisterNothing checks that every problem of the Args is reported at once and
// before anything, the component included, is registered.
func TestInvalidArgsRegisterNothing(t *testing.T) {
	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	err := cloud.Run(func(ctx *pulumi.Context) error {
		_, err := NewCalicoBGP(ctx, "bad", &CalicoBGPArgs{
			Version:    "3.31",
			Mode:       "announce-everything",
			LocalASN:   65480,
			Nodes:      []Node{{Name: "n1"}, {Name: "n1"}},
			Pools:      []topology.LoadBalancerPool{{Name: "p"}, {Name: "p", CIDRs: []pulumi.StringInput{pulumi.String("192.0.2.0/30")}}},
			MetalLBASN: 65480,
		})
		return err
	}, "p", "s", nil, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"Provider is required", "Shell is required", `Version "3.31"`, "PodCIDR is required",
		`Mode "announce-everything"`, "LocalASN and MetalLBASN", `Nodes[1].Name "n1"`, "Pools[0] (p): no CIDRs", `Pools[1].Name "p"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := len(cloud.Resources()); n != 0 {
		t.Errorf("%d resources registered", n)
	}
}

// TestArgsRules checks each rule of validate on its own: one bad value, one message naming the
// field and the value; the same Args with the value fixed pass.
func TestArgsRules(t *testing.T) {
	valid := func() CalicoBGPArgs {
		return CalicoBGPArgs{Provider: &kubernetes.Provider{}, Shell: noShell{}, PodCIDR: "172.16.0.0/12"}.withDefaults()
	}
	tests := []struct {
		name   string
		change func(*CalicoBGPArgs)
		want   string // "" when valid
	}{
		{name: "defaults", change: func(*CalicoBGPArgs) {}},
		{name: "oldest release with BGPFilter", change: func(a *CalicoBGPArgs) { a.Version = "3.26.0" }},
		{name: "release without BGPFilter", change: func(a *CalicoBGPArgs) { a.Version = "3.25.2" }, want: `Version "3.25.2": older than 3.26.0`},
		{name: "minor with a leading zero", change: func(a *CalicoBGPArgs) { a.Version = "3.031.7" }, want: `Version "3.031.7": must be a Calico release`},
		{name: "patch with a leading zero", change: func(a *CalicoBGPArgs) { a.Version = "3.31.07" }, want: `Version "3.31.07": must be a Calico release`},
		{name: "pod CIDR with host bits", change: func(a *CalicoBGPArgs) { a.PodCIDR = "172.16.0.1/12" }, want: `PodCIDR "172.16.0.1/12": must be an IPv4 network`},
		{name: "IPv6 pod CIDR", change: func(a *CalicoBGPArgs) { a.PodCIDR = "fd00::/64" }, want: `PodCIDR "fd00::/64": must be an IPv4 network`},
		{name: "pod CIDR without a length", change: func(a *CalicoBGPArgs) { a.PodCIDR = "172.16.0.0" }, want: `PodCIDR "172.16.0.0": must be an IPv4 network`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := valid()
			tc.change(&a)
			err := a.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// noShell is a Shell that is never called: validation runs before anything.
type noShell struct{}

func (noShell) RunScript(*pulumi.Context, string, pulumi.StringInput, ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.Resource, error) {
	panic("RunScript called during validation")
}

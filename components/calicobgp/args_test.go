package calicobgp

import (
	"strings"
	"testing"

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

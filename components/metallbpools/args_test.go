package metallbpools

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
		_, err := NewMetalLBPools(ctx, "bad", &MetalLBPoolsArgs{
			Version: "v0.16",
			Mode:    topology.ModeBirdLocalPeer,
			Pools:   []topology.LoadBalancerPool{{Name: "public", CIDRs: []pulumi.StringInput{pulumi.String("192.0.2.0/30")}}, {Name: ""}},
			Ingress: &IngressArgs{Pool: "private"},
		})
		return err
	}, "p", "s", nil, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"Provider is required", `Version "v0.16"`, "LocalASN 0: required in bird-local-peer mode",
		`Pools[1].Name ""`, `Ingress.Pool "private"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := len(cloud.Resources()); n != 0 {
		t.Errorf("%d resources registered", n)
	}
}

// TestChartValues checks the speakers per mode: none when Calico announces; native BGP speakers
// (never FRR, which would take port 179 from BIRD) on the labelled nodes otherwise.
func TestChartValues(t *testing.T) {
	calico := chartValues(topology.ModeCalico)
	if calico["speaker"].(map[string]any)["enabled"] != false {
		t.Errorf("calico mode runs speakers: %v", calico)
	}
	bird := chartValues(topology.ModeBirdLocalPeer)
	speaker := bird["speaker"].(map[string]any)
	if speaker["enabled"] != true || speaker["frr"].(map[string]any)["enabled"] != false ||
		speaker["nodeSelector"].(map[string]any)[topology.SpeakerLabel] != topology.SpeakerLabelValue {
		t.Errorf("bird-local-peer speakers: %v", speaker)
	}
	for _, v := range []map[string]any{calico, bird} {
		if v["frrk8s"].(map[string]any)["enabled"] != false {
			t.Errorf("frr-k8s enabled: %v", v)
		}
	}
}

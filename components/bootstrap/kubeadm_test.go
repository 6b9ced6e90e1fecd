package bootstrap

import (
	"strings"
	"testing"

	kubeadm "sigs.k8s.io/cluster-api/bootstrap/kubeadm/pkg/types/upstreamv1beta4"
	"sigs.k8s.io/yaml"
)

// initDocument returns the InitConfiguration document of an init configuration, as text and
// decoded into the upstream v1beta4 type.
func initDocument(t *testing.T, cfg string) (string, kubeadm.InitConfiguration) {
	t.Helper()
	for _, doc := range strings.Split(cfg, "\n---\n") {
		if !strings.Contains(doc, "\nkind: InitConfiguration\n") {
			continue
		}
		var init kubeadm.InitConfiguration
		if err := yaml.UnmarshalStrict([]byte(doc), &init); err != nil {
			t.Fatal(err)
		}
		return doc, init
	}
	t.Fatalf("no InitConfiguration in\n%s", cfg)
	return "", kubeadm.InitConfiguration{}
}

// TestControlPlaneTaint renders the init configuration of a cluster with and without workers.
// kubeadm v1.37.2 (cmd/kubeadm/app/util/config/initconfiguration.go, SetNodeRegistrationDynamicDefaults)
// gives a control-plane node the NoSchedule taint node-role.kubernetes.io/control-plane when
// nodeRegistration.taints is nil, and no taint when it is an empty list. A cluster without
// workers has only the controller: nothing (MetalLB's controller and webhook, Traefik, CoreDNS)
// would schedule on a tainted one, so it must be "taints: []". With workers the controller keeps
// kubeadm's taint. The upstream field is `json:"taints"` without omitempty, so sigs.k8s.io/yaml
// writes an empty slice as [] and nil as null.
func TestControlPlaneTaint(t *testing.T) {
	for _, c := range []struct {
		name     string
		runsWork bool
		line     string
	}{
		{"no workers", true, "  taints: []\n"},
		{"workers", false, "  taints: null\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := testSpec()
			spec.ControllerRunsWorkloads = c.runsWork
			cfg, err := spec.InitConfig()
			if err != nil {
				t.Fatal(err)
			}
			doc, init := initDocument(t, cfg)
			if !strings.Contains(doc+"\n", c.line) {
				t.Errorf("the InitConfiguration lacks %q:\n%s", c.line, doc)
			}
			switch taints := init.NodeRegistration.Taints; {
			case c.runsWork && (taints == nil || len(taints) != 0):
				t.Errorf("taints decode as %#v, want an empty, non-nil list (no taint)", taints)
			case !c.runsWork && taints != nil:
				t.Errorf("taints decode as %#v, want nil (kubeadm's control-plane taint)", taints)
			}
		})
	}
}

// TestOnlyAControllerWithoutWorkersRunsWorkloads checks which clusters untaint the controller:
// those without workers, and no other.
func TestOnlyAControllerWithoutWorkersRunsWorkloads(t *testing.T) {
	for workers, want := range map[int]bool{0: true, 1: false, 3: false} {
		a := shapeArgs()
		for i := range workers {
			a.Workers = append(a.Workers, Host{Name: "w" + string(rune('a'+i))})
		}
		s := &steps{args: a}
		if got := s.spec("10.0.0.1", "192.0.2.1").ControllerRunsWorkloads; got != want {
			t.Errorf("%d workers: the controller runs workloads: %v, want %v", workers, got, want)
		}
	}
}

package tests

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/graph"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// joinedControllerSteps are the remote steps of a controller that joins the first one: its
// preparation, its own token, join and registration, its certificates, its upgrade chain and its
// API address health check.
func joinedControllerSteps(host string) []string {
	var out []string
	for _, s := range []string{"prepare", "token", "join", "registered", "certs", "drain", "upgrade", "uncordon", "api-health"} {
		out = append(out, "metalk8s-"+host+"-"+s)
	}
	return out
}

// commandInput is a recorded command's input, with secrets unwrapped.
func commandInput(t *testing.T, r *mockcloud.Resource, key string) string {
	t.Helper()
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok {
		t.Fatalf("%s has no %s", r.Name, key)
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v.StringValue()
}

// haOutcome is what a cluster with an API address must show, whichever producer made it.
type haOutcome struct {
	first   string   // the controller that initialises the cluster
	joined  []string // the controllers that join it, in order
	workers []string
}

// checkHA checks a run of a cluster with an API address: the nodes' roles, the joined
// controllers' steps and their order, the kubeconfig and apiEndpoint at the API address, the
// apiAddress output, and kubeadm's files naming the control plane by bootstrap.APIName.
func checkHA(t *testing.T, r *result, want haOutcome, apiAddress string) {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := netip.ParseAddr(apiAddress); err != nil {
		t.Fatalf("API address %q: %v", apiAddress, err)
	}
	// Nodes: the controllers first, then the workers; only workers carry the speaker label.
	names := append(append([]string{want.first}, want.joined...), want.workers...)
	if len(r.nodes) != len(names) {
		t.Fatalf("%d nodes, want %d", len(r.nodes), len(names))
	}
	for i, n := range r.nodes {
		node := n.value.(topology.Node)
		role := topology.RoleController
		if i > len(want.joined) {
			role = topology.RoleWorker
		}
		if node.Name != names[i] || node.Role != string(role) {
			t.Errorf("node %d: %s %s, want %s %s", i, node.Name, node.Role, names[i], role)
		}
	}
	steps := map[string]*mockcloud.Resource{}
	for _, c := range r.ofType(commandToken) {
		steps[c.Name] = c
	}
	need := func(name string) *mockcloud.Resource {
		t.Helper()
		s, ok := steps[name]
		if !ok {
			t.Fatalf("no step %s", name)
		}
		return s
	}
	for _, c := range want.joined {
		for _, s := range joinedControllerSteps(c) {
			need(s)
		}
		if _, ok := steps["metalk8s-"+c+"-init"]; ok {
			t.Errorf("%s, a joined controller, has an init step", c)
		}
		join := commandInput(t, need("metalk8s-"+c+"-join"), "stdin")
		if !strings.Contains(join, "controlPlane:") || !strings.Contains(join, "certificateKey: ") {
			t.Errorf("%s's join has no controlPlane section with the certificate key", c)
		}
	}
	for _, w := range want.workers {
		if join := commandInput(t, need("metalk8s-"+w+"-join"), "stdin"); strings.Contains(join, "controlPlane:") {
			t.Errorf("worker %s joins as a control-plane member", w)
		}
		// Once the API address answers, the worker moves the control plane's name to it.
		if move := commandInput(t, need("metalk8s-api-name-"+w), "stdin"); !strings.Contains(move, "map_api_name "+apiAddress) {
			t.Errorf("worker %s does not move %s to %s", w, bootstrap.APIName, apiAddress)
		}
	}
	// Every controller announces the API address while its API server is ready.
	for _, c := range append([]string{want.first}, want.joined...) {
		if health := commandInput(t, need("metalk8s-"+c+"-api-health"), "stdin"); !strings.Contains(health, apiAddress+"/32") {
			t.Errorf("%s's health check does not hold %s/32", c, apiAddress)
		}
	}
	// One member at a time: each joined controller's token waits for the one before.
	prev := "metalk8s-" + want.first + "-init"
	for _, c := range want.joined {
		if token := need("metalk8s-" + c + "-token"); !slices.Contains(token.DependsOn, need(prev).URN) {
			t.Errorf("%s does not wait for %s", token.Name, prev)
		}
		prev = "metalk8s-" + c + "-registered"
	}
	// The first controller's kubeadm files name the control plane by its name and the
	// certificates by the API address.
	init := commandInput(t, need("metalk8s-"+want.first+"-init"), "stdin")
	for _, s := range []string{"controlPlaneEndpoint: " + bootstrap.APIName + ":6443", "- " + apiAddress + "\n", "--upload-certs"} {
		if !strings.Contains(init, s) {
			t.Errorf("the init script lacks %q", s)
		}
	}
	endpoint := "https://" + apiAddress + ":6443"
	if r.endpoint.value != endpoint {
		t.Errorf("apiEndpoint %v, want %s", r.endpoint.value, endpoint)
	}
	if !r.kubeconfig.secret || !strings.Contains(r.kubeconfig.value.(string), "server: "+endpoint+"\n") {
		t.Errorf("kubeconfig (secret %v) does not point at %s", r.kubeconfig.secret, endpoint)
	}
	if _, ok := r.out.Map()["apiAddress"]; !ok {
		t.Error("no apiAddress output")
	}
}

// TestHAServersStack runs the ha stack: three controllers sharing servers.apiAddress, two workers.
func TestHAServersStack(t *testing.T) {
	r := run(t, stackCluster(t, "ha"), runOptions{})
	want := haOutcome{first: "ha-controller-0", joined: []string{"ha-controller-1", "ha-controller-2"},
		workers: []string{"ha-worker-0", "ha-worker-1"}}
	checkHA(t, r, want, "10.10.0.100")
	var steps []string
	for _, c := range r.ofType(commandToken) {
		steps = append(steps, c.Name)
	}
	sort.Strings(steps)
	wantSteps := append(remoteSteps(want.first, want.workers), "metalk8s-"+want.first+"-api-health")
	for _, w := range want.workers {
		wantSteps = append(wantSteps, "metalk8s-api-name-"+w)
	}
	for _, c := range want.joined {
		wantSteps = append(wantSteps, joinedControllerSteps(c)...)
	}
	sort.Strings(wantSteps)
	if !reflect.DeepEqual(steps, wantSteps) {
		t.Errorf("remote steps\n  %v\nwant\n  %v", steps, wantSteps)
	}
	if got := r.out.Map()["apiAddress"]; got == nil {
		t.Fatal("no apiAddress output")
	}
}

// TestHAServersOneControllerReadyToGrow: an API address with one controller makes the control
// plane's name and certificates what three controllers would need, with no joined controller.
func TestHAServersOneControllerReadyToGrow(t *testing.T) {
	c := stackCluster(t, "ha")
	set(t, c, "servers.controllers", nil)
	r := run(t, c, runOptions{})
	checkHA(t, r, haOutcome{first: "ha-controller-0", workers: []string{"ha-worker-0", "ha-worker-1"}}, "10.10.0.100")
}

// TestHAMetal runs the dev stack with three controllers: two more devices with their sessions,
// the reserved /32 of the API address, and the same control plane as in the servers mode.
func TestHAMetal(t *testing.T) {
	c := devCluster(t)
	set(t, c, "controller.count", 3)
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	block := r.byName(t, metal.ReservedIpBlockToken, "metalk8s-api-address")
	if input(block, "type") != "public_ipv4" || input(block, "quantity") != 1.0 || input(block, "metro") != "sv" {
		t.Errorf("API address block inputs = %v", block.Inputs)
	}
	cidr, _ := plain(block.Outputs["cidrNotation"]).(string)
	p, err := netip.ParsePrefix(cidr)
	if err != nil || p.Bits() != 32 {
		t.Fatalf("API address block %q", cidr)
	}
	checkHA(t, r, haOutcome{first: "sv-controller", joined: []string{"sv-controller-1", "sv-controller-2"},
		workers: []string{"sv-worker-0", "sv-worker-1"}}, p.Addr().String())
	for _, host := range []string{"sv-controller", "sv-controller-1", "sv-controller-2"} {
		d := r.byName(t, metal.DeviceToken, "metalk8s-"+host)
		if input(d, "hostname") != host || input(d, "plan") != "c3.small.x86" {
			t.Errorf("device %s: %v", host, d.Inputs)
		}
		r.byName(t, metal.BgpSessionToken, "metalk8s-"+host+"-bgp")
		// A joined controller keeps its node name on a new machine: the old one must leave first.
		if first := host == "sv-controller"; d.DeleteBeforeReplace == first {
			t.Errorf("device %s: deleteBeforeReplace %v", host, d.DeleteBeforeReplace)
		}
	}
	if n := len(r.ofType(metal.DeviceToken)); n != 5 {
		t.Errorf("%d devices, want 5", n)
	}
}

// TestHAMetalReservedWithOneController: controller.reserveApiAddress reserves the address with one
// controller, and the dev stack as it is reserves none.
func TestHAMetalReservedWithOneController(t *testing.T) {
	c := devCluster(t)
	set(t, c, "controller.reserveApiAddress", true)
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	block := r.byName(t, metal.ReservedIpBlockToken, "metalk8s-api-address")
	p, err := netip.ParsePrefix(plain(block.Outputs["cidrNotation"]).(string))
	if err != nil {
		t.Fatal(err)
	}
	checkHA(t, r, haOutcome{first: "sv-controller", workers: []string{"sv-worker-0", "sv-worker-1"}}, p.Addr().String())

	plainDev := run(t, devCluster(t), runOptions{})
	if plainDev.err != nil {
		t.Fatal(plainDev.err)
	}
	for _, b := range plainDev.ofType(metal.ReservedIpBlockToken) {
		if b.Name == "metalk8s-api-address" {
			t.Error("the dev stack reserves an API address")
		}
	}
	if _, ok := plainDev.out.Map()["apiAddress"]; ok {
		t.Error("the dev stack has an apiAddress output")
	}
}

// TestHACriticalPath: with three controllers the critical path holds the control-plane joins,
// which etcd takes one at a time, and no worker step, whatever the number of workers.
func TestHACriticalPath(t *testing.T) {
	var depths []int
	for _, workers := range []int{2, 49} {
		c := devCluster(t)
		set(t, c, "controller.count", 3)
		set(t, c, "workers.count", workers)
		r := run(t, c, runOptions{})
		if r.err != nil {
			t.Fatal(r.err)
		}
		var names []string
		for _, s := range graph.CriticalPath(r.cloud.Resources()) {
			names = append(names, s.Name)
			if strings.Contains(s.Name, "-worker-") {
				t.Errorf("%d workers: %s is on the critical path", workers, s.Name)
			}
		}
		t.Logf("%d workers: %d steps: %s", workers, len(names), strings.Join(names, " → "))
		for _, s := range []string{"metalk8s-sv-controller-init", "metalk8s-sv-controller-1-join", "metalk8s-sv-controller-2-join"} {
			if !slices.Contains(names, s) {
				t.Errorf("%d workers: %s is not on the critical path", workers, s)
			}
		}
		depths = append(depths, len(names))
	}
	if depths[0] != depths[1] {
		t.Errorf("the critical path grows with the workers: %v", depths)
	}
}

// TestHAGuardOnItsOwnControlPlane runs the ha stack's guard on a control plane as kubeadm makes
// it for that stack: the API server bound to every address (which the real kubeadm writes for a
// configuration with an API address, components/bootstrap/ha_real_test.go) and the
// ClusterConfiguration's controlPlaneEndpoint at bootstrap.APIName. The guard must pass there, and
// refuse a cluster that runs at the first controller's own address (made without the API address)
// before it changes anything. Only kubectl is a stand-in: it prints the ClusterConfiguration.
func TestHAGuardOnItsOwnControlPlane(t *testing.T) {
	r := run(t, stackCluster(t, "ha"), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	guard := stdin(t, r, "metalk8s-ha-controller-0-guard")
	for _, c := range []struct {
		endpoint string
		passes   bool
	}{{bootstrap.APIName + ":6443", true}, {"10.10.1.10:6443", false}} {
		root, bin := t.TempDir(), t.TempDir()
		for path, content := range map[string]string{
			"etc/metalk8s/init.finished":                   "",
			"etc/kubernetes/manifests/kube-apiserver.yaml": "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --bind-address=0.0.0.0\n    - --secure-port=6443\n",
		} {
			if err := os.MkdirAll(filepath.Join(root, filepath.Dir(path)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, path), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		kubectl := "#!/bin/sh\nprintf 'controlPlaneEndpoint: %s\\nkubernetesVersion: v%s\\n' " + c.endpoint + " " + config.DefaultKubernetesVersion + "\n"
		if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(kubectl), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-s")
		cmd.Stdin = strings.NewReader(guard)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "METALK8S_ROOT=" + root, "LC_ALL=C"}
		out, err := cmd.CombinedOutput()
		switch {
		case c.passes && err != nil:
			t.Errorf("the guard refuses the control plane kubeadm makes for the stack: %v\n%s", err, out)
		case !c.passes && (err == nil || !strings.Contains(string(out), "was made with "+c.endpoint)):
			t.Errorf("the guard let a cluster at %s through (%v):\n%s", c.endpoint, err, out)
		}
	}
}

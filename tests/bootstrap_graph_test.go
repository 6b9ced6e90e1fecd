package tests

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/internal/graph"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// closure returns every URN a resource depends on, directly, through its provider, or through
// its dependencies.
func (r *result) closure(urn string) map[string]bool {
	if r.index == nil {
		r.index = map[string]*mockcloud.Resource{}
		for _, res := range r.cloud.Resources() {
			r.index[res.URN] = res
		}
	}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(u string) {
		res, ok := r.index[u]
		if !ok {
			return
		}
		for _, d := range graph.Dependencies(res) {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(urn)
	return seen
}

// TestBootstrapOrder checks the order of the remote steps: init after the controller's
// preparation; each join after init and its own preparation and after no other worker's step.
func TestBootstrapOrder(t *testing.T) {
	c := devCluster(t)
	set(t, c, "workers.count", 3)
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	urn := func(name string) string { return r.byName(t, commandToken, name).URN }
	direct := func(name string) []string { return r.byName(t, commandToken, name).DependsOn }

	if !contains(direct("metalk8s-sv-controller-init"), urn("metalk8s-sv-controller-prepare")) {
		t.Error("init does not depend on the controller's preparation")
	}
	workers := []string{"sv-worker-0", "sv-worker-1", "sv-worker-2"}
	for _, w := range workers {
		join := "metalk8s-" + w + "-join"
		deps := r.closure(urn(join))
		for _, need := range []string{"metalk8s-sv-controller-init", "metalk8s-" + w + "-prepare", "metalk8s-" + w + "-token"} {
			if !deps[urn(need)] {
				t.Errorf("%s does not depend on %s", join, need)
			}
		}
		for d := range deps {
			for _, other := range workers {
				if other != w && strings.Contains(d, "::metalk8s-"+other) {
					t.Errorf("%s waits for %s (workers must join in parallel)", join, d)
				}
			}
		}
		if !contains(direct("metalk8s-"+w+"-registered"), urn(join)) {
			t.Errorf("%s-registered does not depend on its join: deleting it would not drain before the reset", w)
		}
		if !contains(direct("metalk8s-"+w+"-token"), urn("metalk8s-sv-controller-init")) {
			t.Errorf("%s-token does not depend on init", w)
		}
	}
	provider := r.byName(t, "pulumi:providers:kubernetes", "metalk8s")
	for d := range r.closure(provider.URN) {
		if strings.Contains(d, "-worker-") {
			t.Errorf("the Kubernetes provider waits for %s", d)
		}
	}
}

// TestBootstrapDeleteActions checks what removing a worker does on the hosts.
func TestBootstrapDeleteActions(t *testing.T) {
	r := run(t, devCluster(t), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := input(r.byName(t, commandToken, "metalk8s-sv-worker-1-registered"), "delete"); got != "/usr/local/sbin/metalk8s-remove-node sv-worker-1" {
		t.Errorf("registered delete = %v", got)
	}
	if got := input(r.byName(t, commandToken, "metalk8s-sv-worker-1-join"), "delete"); got != "/usr/local/sbin/metalk8s-reset" {
		t.Errorf("join delete = %v", got)
	}
	if got := input(r.byName(t, commandToken, "metalk8s-sv-controller-init"), "delete"); got != nil {
		t.Errorf("init has a delete action %v", got)
	}
}

// TestScalingTouchesOnlyThatWorker compares two runs, 2 and 3 workers, in both directions: exactly
// the third worker's device, steps and BGP peers appear (or go, the delete actions draining and
// resetting the node), and no other resource's inputs change.
func TestScalingTouchesOnlyThatWorker(t *testing.T) {
	workerTwo := []string{
		"command:remote:Command metalk8s-sv-worker-2-drain",
		"command:remote:Command metalk8s-sv-worker-2-join",
		"command:remote:Command metalk8s-sv-worker-2-prepare",
		"command:remote:Command metalk8s-sv-worker-2-registered",
		"command:remote:Command metalk8s-sv-worker-2-token",
		"command:remote:Command metalk8s-sv-worker-2-uncordon",
		"command:remote:Command metalk8s-sv-worker-2-upgrade",
		"equinix:metal/bgpSession:BgpSession metalk8s-sv-worker-2-bgp",
		"equinix:metal/device:Device metalk8s-sv-worker-2",
		"kubernetes:yaml/v2:ConfigGroup metalk8s-sv-worker-2-bgp-peers",
		"random:index/randomPassword:RandomPassword metalk8s-sv-worker-2-token-id",
		"random:index/randomPassword:RandomPassword metalk8s-sv-worker-2-token-secret",
	}
	for _, tc := range []struct {
		name        string
		from, to    int
		added, gone []string
	}{
		{"up 2 to 3", 2, 3, workerTwo, nil},
		{"down 3 to 2", 3, 2, nil, workerTwo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runWith := func(n int) *result {
				c := devCluster(t)
				set(t, c, "workers.count", n)
				r := run(t, c, runOptions{})
				if r.err != nil {
					t.Fatal(r.err)
				}
				return r
			}
			before, after := runWith(tc.from), runWith(tc.to)
			old := map[string]*mockcloud.Resource{}
			for _, r := range before.cloud.Resources() {
				old[r.URN] = r
			}
			var added, gone []string
			for _, r := range after.cloud.Resources() {
				o, ok := old[r.URN]
				if !ok {
					added = append(added, r.Type+" "+r.Name)
					continue
				}
				if !reflect.DeepEqual(plainMap(o), plainMap(r)) {
					t.Errorf("%s %s: inputs changed", r.Type, r.Name)
				}
				delete(old, r.URN)
			}
			for _, r := range old {
				gone = append(gone, r.Type+" "+r.Name)
			}
			sort.Strings(added)
			sort.Strings(gone)
			if !reflect.DeepEqual(added, tc.added) || !reflect.DeepEqual(gone, tc.gone) {
				t.Errorf("added %v, gone %v; want added %v, gone %v", added, gone, tc.added, tc.gone)
			}
		})
	}
}

func plainMap(r *mockcloud.Resource) map[string]any {
	m := map[string]any{}
	for k := range r.Inputs {
		m[string(k)] = input(r, string(k))
	}
	return m
}

// TestBootstrapSecrets checks that the workers' join tokens, the CA key, the SSH key and the
// kubeconfig appear in the state only as secrets, and that each worker's join token is its own:
// in its token and join steps, in no other worker's.
func TestBootstrapSecrets(t *testing.T) {
	r := run(t, devCluster(t), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	part := func(name string) string {
		return plain(r.byName(t, "random:index/randomPassword:RandomPassword", name).Outputs["result"]).(secretValue).v.(string)
	}
	markers := map[string]string{
		"CA key":          mockcloud.FakePrivateKeyPEM,
		"SSH private key": mockcloud.FakePrivateKey,
		"kubeconfig key":  "client-key-data",
	}
	tokens := map[string]string{}
	for _, w := range []string{"sv-worker-0", "sv-worker-1"} {
		id, sec := part("metalk8s-"+w+"-token-id"), part("metalk8s-"+w+"-token-secret")
		markers[w+"'s join token secret"] = sec
		tokens[w] = id + "." + sec
	}
	if tokens["sv-worker-0"] == tokens["sv-worker-1"] {
		t.Errorf("two workers share the join token")
	}
	for _, res := range r.cloud.Resources() {
		for k := range res.Inputs {
			leakScan(t, res.Type+" "+res.Name+" "+string(k), input(res, string(k)), markers)
		}
	}
	for _, cmd := range r.ofType(commandToken) {
		stdin := ""
		if sv, ok := input(cmd, "stdin").(secretValue); ok {
			stdin, _ = sv.v.(string)
		}
		for w, token := range tokens {
			id, sec, _ := strings.Cut(token, ".")
			for _, line := range []string{"create", "delete"} {
				if s, _ := input(cmd, line).(string); strings.Contains(s, sec) || strings.Contains(s, id) {
					t.Errorf("%s: %s's join token is on the %s command line", cmd.Name, w, line)
				}
			}
			own := cmd.Name == "metalk8s-"+w+"-token" || cmd.Name == "metalk8s-"+w+"-join"
			if strings.Contains(stdin, sec) != own {
				t.Errorf("%s: holds %s's join token secret: %v, want %v", cmd.Name, w, !own, own)
			}
			if own && !strings.Contains(stdin, id) {
				t.Errorf("%s: does not name %s's join token %s", cmd.Name, w, id)
			}
		}
		conn, ok := input(cmd, "connection").(secretValue)
		if !ok || conn.v.(map[string]any)["privateKey"] == nil {
			t.Errorf("%s: connection (with the SSH key) is not secret", cmd.Name)
		}
	}
}

// leakScan fails when a marker appears in a value outside a secret.
func leakScan(t *testing.T, where string, v any, markers map[string]string) {
	t.Helper()
	switch x := v.(type) {
	case secretValue:
		return
	case string:
		for what, m := range markers {
			if m != "" && strings.Contains(x, m) {
				t.Errorf("%s: %s in plain text", where, what)
			}
		}
	case map[string]any:
		for k, e := range x {
			leakScan(t, where+"."+k, e, markers)
		}
	case []any:
		for _, e := range x {
			leakScan(t, where+"[]", e, markers)
		}
	}
}

// TestStepsFollowTheirMachine checks what replacing a device does to the steps. Each step on or
// for a node has that node's device ID, and nothing else, as its trigger, so the step is replaced
// with the machine. Worker devices are deleted before their replacement is created: Pulumi then
// deletes the worker's steps first, in reverse order (registered drains and deletes the node,
// then join resets it), and the new machine joins under the same name, which kubeadm refuses
// while a Ready node of that name exists.
//
// A worker's join token is random's, kept by the device ID alone (keepers): a new machine gets a
// new token. The token reaches the token, join and registration steps through their standard
// input only, never their triggers. What pulumi-command does when only the standard input changes
// (checked in its source, v1.2.1, the plugin this program pins): `triggers` is the only input
// tagged replaceOnChanges (provider/pkg/provider/common/inputs.go); Command implements
// CustomUpdate, so pulumi-go-provider's diff (infer/resource.go, v1.3.0, the version
// pulumi-command v1.2.1 builds with) forces a replacement for replaceOnChanges inputs only and
// reports any other change as an update; Update runs the `update` command, or else `create`
// again (provider/pkg/provider/remote/commandController.go), and never `delete`. So giving a
// joined worker a new token (as the change from one shared token did) runs its join script again,
// which leaves a joined node alone (the script tests' join-already-joined), and never its delete
// action, kubeadm reset.
func TestStepsFollowTheirMachine(t *testing.T) {
	r := run(t, devCluster(t), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	steps := map[string][]string{
		"sv-controller": {"prepare", "init", "retire-tokens"},
		"sv-worker-0":   {"prepare", "token", "join", "registered"},
		"sv-worker-1":   {"prepare", "token", "join", "registered"},
	}
	for host, names := range steps {
		dev := r.byName(t, metal.DeviceToken, "metalk8s-"+host)
		if want := host != "sv-controller"; dev.DeleteBeforeReplace != want {
			t.Errorf("%s: delete before replace %v, want %v", host, dev.DeleteBeforeReplace, want)
		}
		for _, step := range names {
			cmd := r.byName(t, commandToken, "metalk8s-"+host+"-"+step)
			if got := cmd.PropertyDeps["triggers"]; len(got) != 1 || got[0] != dev.URN {
				t.Errorf("%s %s: triggers come from %v, want %s only", host, step, got, dev.URN)
			}
			if got, want := input(cmd, "triggers"), []any{dev.ID}; !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: triggers %v, want %v", host, step, got, want)
			}
		}
		if host != "sv-controller" {
			for _, half := range []string{"id", "secret"} {
				p := r.byName(t, "random:index/randomPassword:RandomPassword", "metalk8s-"+host+"-token-"+half)
				if got, want := input(p, "keepers"), map[string]any{"machine": dev.ID}; !reflect.DeepEqual(got, want) {
					t.Errorf("%s token %s: keepers %v, want %v", host, half, got, want)
				}
				if got := p.PropertyDeps["keepers"]; len(got) != 1 || got[0] != dev.URN {
					t.Errorf("%s token %s: keepers come from %v, want %s only", host, half, got, dev.URN)
				}
			}
			reg := r.byName(t, commandToken, "metalk8s-"+host+"-registered")
			join := r.byName(t, commandToken, "metalk8s-"+host+"-join")
			if !slices.Contains(reg.DependsOn, join.URN) {
				t.Errorf("%s: registered does not depend on join, so it would not be deleted (drain) before join (reset)", host)
			}
		}
	}
}

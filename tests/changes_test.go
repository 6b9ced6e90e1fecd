package tests

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// shortType is the last part of a resource type token: Device, Command, ConfigGroup, Release...
func shortType(typ string) string {
	return typ[strings.LastIndex(typ, ":")+1:]
}

// effect describes how the registrations of after differ from those of before, one sorted line
// per resource: "+ Type name" appeared, "- Type name" disappeared, "~ Type name: a,b" its inputs
// a and b changed. Resources are matched by URN; a resource whose inputs are equal is left out.
func effect(before, after *result) []string {
	old := map[string]map[string]any{}
	names := map[string]string{}
	for _, r := range before.cloud.Resources() {
		old[r.URN] = plainMap(r)
		names[r.URN] = shortType(r.Type) + " " + r.Name
	}
	var out []string
	for _, r := range after.cloud.Resources() {
		id := shortType(r.Type) + " " + r.Name
		prev, ok := old[r.URN]
		if !ok {
			out = append(out, "+ "+id)
			continue
		}
		delete(old, r.URN)
		cur := plainMap(r)
		var keys []string
		for k := range keyUnion(prev, cur) {
			if !reflect.DeepEqual(prev[k], cur[k]) {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			sort.Strings(keys)
			out = append(out, "~ "+id+": "+strings.Join(keys, ","))
		}
	}
	for urn := range old {
		out = append(out, "- "+names[urn])
	}
	sort.Strings(out)
	return out
}

// keyUnion is the set of keys of two maps.
func keyUnion(a, b map[string]any) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// inverse is the effect of undoing a change: what appeared disappears and the other way round.
func inverse(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		switch l[0] {
		case '+':
			out[i] = "-" + l[1:]
		case '-':
			out[i] = "+" + l[1:]
		default:
			out[i] = l
		}
	}
	sort.Strings(out)
	return out
}

// prefixed returns each line with a prefix, sorted.
func prefixed(prefix string, lines ...string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = prefix + l
	}
	sort.Strings(out)
	return out
}

// nodeResources are the resources a node brings, by short type and name: its device, its BGP
// session and top-of-rack peers, and its bootstrap steps (prepare, init and the token retirement
// on the controller; prepare, token, join and registered for a worker, with its own join token).
func nodeResources(host string, controller bool) []string {
	out := []string{
		"Device metalk8s-" + host,
		"BgpSession metalk8s-" + host + "-bgp",
		"ConfigGroup metalk8s-" + host + "-bgp-peers",
		"Command metalk8s-" + host + "-prepare",
	}
	if controller {
		return append(out, "Command metalk8s-"+host+"-guard", "Command metalk8s-"+host+"-init", "Command metalk8s-"+host+"-upgrade",
			"Command metalk8s-"+host+"-retire-tokens", "Command metalk8s-"+host+"-certs")
	}
	for _, step := range []string{"token", "join", "registered", "drain", "upgrade", "uncordon"} {
		out = append(out, "Command metalk8s-"+host+"-"+step)
	}
	return append(out, joinToken(host)...)
}

// joinedControllerResources are the resources a controller after the first brings: a worker's,
// joining as a control-plane member, with its certificates step and its API address health check.
func joinedControllerResources(host string) []string {
	return append(nodeResources(host, false), "Command metalk8s-"+host+"-certs", "Command metalk8s-"+host+"-api-health")
}

// clusterNodes are the resources of every node of a cluster in a metro with n workers.
func clusterNodes(metro string, n int) []string {
	out := nodeResources(metro+"-controller", true)
	for i := 0; i < n; i++ {
		out = append(out, nodeResources(metro+"-worker-"+itoa(i), false)...)
	}
	return out
}

// concat joins line lists and sorts them.
func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Strings(out)
	return out
}

// changeCase is one configuration change checked by TestChanges.
type changeCase struct {
	// name describes the change.
	name string
	// base edits the dev stack for both runs.
	base []edit
	// change edits it further for the second run only.
	change []edit
	// devices is set when the change is to the devices themselves (plan, metro, operating
	// system, billing): existing devices must then change. Otherwise none may.
	devices bool
	// want is the exact effect of the change (see effect); undoing it has the inverse effect.
	want []string
}

// changeCases are the changes of TestChanges with their expected effects.
func changeCases() []changeCase {
	bird := []edit{{"loadBalancer.mode", "bird-local-peer"}}
	extraPool := edit{"loadBalancer.pools[3]", map[string]any{"name": "extra", "cidrs": []any{"10.99.111.0/25"}}}
	preparation := prefixed("~ Command ",
		"metalk8s-sv-controller-prepare: stdin", "metalk8s-sv-controller-init: stdin",
		"metalk8s-sv-worker-0-prepare: stdin", "metalk8s-sv-worker-1-prepare: stdin")
	// A version change runs the guard, the preparation (which leaves the packages of nodes in the
	// cluster alone), and the upgrade chain.
	versionSteps := concat(preparation, prefixed("~ Command ",
		"metalk8s-sv-controller-guard: stdin", "metalk8s-sv-controller-upgrade: stdin",
		"metalk8s-sv-worker-0-drain: stdin", "metalk8s-sv-worker-0-upgrade: stdin", "metalk8s-sv-worker-0-uncordon: stdin",
		"metalk8s-sv-worker-1-drain: stdin", "metalk8s-sv-worker-1-upgrade: stdin", "metalk8s-sv-worker-1-uncordon: stdin"))
	return []changeCase{
		{name: "Kubernetes patch 1.37.2 to 1.37.3", change: []edit{{"kubernetes.version", "1.37.3"}}, want: versionSteps},
		{name: "Kubernetes minor 1.37.2 to 1.38.0", change: []edit{{"kubernetes.version", "1.38.0"}}, want: versionSteps},
		{name: "workers 2 to 3", change: []edit{{"workers.count", 3}}, want: prefixed("+ ", nodeResources("sv-worker-2", false)...)},
		{name: "workers 2 to 1", change: []edit{{"workers.count", 1}}, want: prefixed("- ", nodeResources("sv-worker-1", false)...)},
		// Without workers the init configuration registers the controller untainted; the init
		// step runs again and leaves the running control plane (and its taint) as it is.
		{name: "workers 2 to 0", change: []edit{{"workers.count", 0}},
			want: concat(prefixed("- ", nodeResources("sv-worker-0", false)...), prefixed("- ", nodeResources("sv-worker-1", false)...),
				[]string{"~ Command metalk8s-sv-controller-init: stdin"})},
		// With the API address reserved from the start, growing the control plane only adds the
		// new controllers: the first one's init and certificates already name the API address.
		{name: "controllers 1 to 3 with the API address reserved", base: []edit{{"controller.reserveApiAddress", true}},
			change: []edit{{"controller.count", 3}}, want: concat(
				prefixed("+ ", joinedControllerResources("sv-controller-1")...), prefixed("+ ", joinedControllerResources("sv-controller-2")...))},
		// An API address for a cluster made without one changes the control plane's address in
		// the kubeadm files, which a running cluster keeps: the guard's script changes with it and
		// refuses it (TestGuardRefusesAnotherControlPlaneEndpoint) before init or a join runs.
		{name: "API address reserved on a running cluster", change: []edit{{"controller.reserveApiAddress", true}}, want: []string{
			"+ Command metalk8s-api-name-sv-worker-0", "+ Command metalk8s-api-name-sv-worker-1", "+ Command metalk8s-sv-controller-api-health",
			"+ ConfigGroup metalk8s-api-address-ippool", "+ RandomPassword metalk8s-certificate-key", "+ ReservedIpBlock metalk8s-api-address",
			"~ Command metalk8s-sv-controller-guard: stdin", "~ Command metalk8s-sv-controller-init: stdin",
			"~ Command metalk8s-sv-controller-prepare: stdin", // its firewall guards the public API address
			"~ Command metalk8s-sv-worker-0-join: stdin", "~ Command metalk8s-sv-worker-1-join: stdin",
			"~ ConfigGroup metalk8s-bgp-filter: objs"}},
		{name: "workers 2 to 3 in bird-local-peer", base: bird, change: []edit{{"workers.count", 3}}, want: prefixed("+ ", nodeResources("sv-worker-2", false)...)},
		{name: "pool added (calico announces)", change: []edit{extraPool},
			want: []string{"+ ConfigGroup metalk8s-pool-extra", "~ ConfigGroup metalk8s-bgp-configuration: objs"}},
		{name: "pool added (bird-local-peer)", base: bird, change: []edit{extraPool},
			want: []string{"+ ConfigGroup metalk8s-pool-extra", "~ ConfigGroup metalk8s-bgp: objs", "~ ConfigGroup metalk8s-loadbalancer-ippools: objs"}},
		{name: "pool added on a new elastic block", change: []edit{
			{"elasticIps[2]", map[string]any{"name": "extra", "type": "public_ipv4", "quantity": 8}},
			{"loadBalancer.pools[3]", map[string]any{"name": "extra", "elasticIp": "extra"}}},
			want: []string{"+ ConfigGroup metalk8s-pool-extra", "+ ReservedIpBlock metalk8s-eip-extra", "~ ConfigGroup metalk8s-bgp-configuration: objs"}},
		{name: "pool autoAssign flipped", change: []edit{{"loadBalancer.pools[1].autoAssign", true}},
			want: []string{"~ ConfigGroup metalk8s-pool-metal-private: objs"}},
		{name: "MetalLB 0.16.2 to 0.16.3", change: []edit{{"metallb.version", "0.16.3"}}, want: []string{"~ Release metalk8s-metallb: version"}},
		{name: "MetalLB 0.16.2 to 0.16.3 in bird-local-peer", base: bird, change: []edit{{"metallb.version", "0.16.3"}}, want: []string{"~ Release metalk8s-metallb: version"}},
		{name: "MetalLB ASN in bird-local-peer", base: bird, change: []edit{{"metallb.asn", 65481}},
			want: []string{"~ ConfigGroup metalk8s-bgp: objs", "~ ConfigGroup metalk8s-metallb-peer: objs"}},
		{name: "Calico 3.31.7 to 3.31.8", change: []edit{{"calico.version", "3.31.8"}},
			want: []string{"~ Command metalk8s-bird-template-guard: stdin", "~ Release metalk8s-calico: version"}},
		{name: "Calico 3.31.7 to 3.31.8 in bird-local-peer", base: bird, change: []edit{{"calico.version", "3.31.8"}},
			want: []string{"~ Command metalk8s-bird-template-guard: stdin", "~ Command metalk8s-bird-template: stdin", "~ Release metalk8s-calico: version"}},
		{name: "mode calico to bird-local-peer", change: bird, want: []string{
			"+ Command metalk8s-bird-template", "+ ConfigGroup metalk8s-bgp", "+ ConfigGroup metalk8s-loadbalancer-ippools",
			"+ ConfigGroup metalk8s-metallb-peer", "+ ConfigMap metalk8s-bird-templates",
			"~ ConfigGroup metalk8s-bgp-configuration: objs", "~ Release metalk8s-metallb: values"}},
		{name: "MD5 password set", change: []edit{{"bgp.md5Password", "Md5Change2026"}}, want: []string{
			"+ Role metalk8s-bgp-password", "+ RoleBinding metalk8s-bgp-password", "+ Secret metalk8s-bgp-password",
			"~ ConfigGroup metalk8s-sv-controller-bgp-peers: objs", "~ ConfigGroup metalk8s-sv-worker-0-bgp-peers: objs",
			"~ ConfigGroup metalk8s-sv-worker-1-bgp-peers: objs", "~ Project metalk8s: bgpConfig"}},
		{name: "API allow-list", change: []edit{{"apiServer.allowedCidrs", []any{"198.51.100.8/32"}}},
			want: []string{"~ Command metalk8s-sv-controller-prepare: stdin"}},
		{name: "API server private only", change: []edit{{"apiServer", map[string]any{"privateOnly": true}}}, want: concat(
			prefixed("~ Command ", "metalk8s-bird-template-guard: connection", "metalk8s-calico-ready: connection", "metalk8s-sv-controller-init: connection,stdin",
				"metalk8s-sv-controller-prepare: connection,stdin", "metalk8s-sv-controller-guard: connection,stdin", "metalk8s-sv-controller-upgrade: connection",
				"metalk8s-sv-controller-certs: connection", "metalk8s-sv-controller-retire-tokens: connection"),
			prefixed("~ Command metalk8s-sv-worker-0-", "join: connection", "prepare: connection", "registered: connection", "token: connection",
				"drain: connection", "upgrade: connection", "uncordon: connection"),
			prefixed("~ Command metalk8s-sv-worker-1-", "join: connection", "prepare: connection", "registered: connection", "token: connection",
				"drain: connection", "upgrade: connection", "uncordon: connection"),
			[]string{"~ kubernetes metalk8s: kubeconfig"})},
		// The guard checks the mode and the port the running API server has (and refuses both
		// changes on a running cluster), so its script changes with them.
		{name: "API port", change: []edit{{"kubernetes.apiPort", 8443}}, want: concat(
			prefixed("~ Command ", "metalk8s-sv-controller-guard: stdin", "metalk8s-sv-controller-init: stdin", "metalk8s-sv-controller-prepare: stdin",
				"metalk8s-sv-worker-0-join: stdin", "metalk8s-sv-worker-1-join: stdin"),
			[]string{"~ kubernetes metalk8s: kubeconfig"})},
		// The guard refuses it on a running cluster, so its script holds the network.
		{name: "pod network", change: []edit{{"kubernetes.podCidr", "100.64.0.0/16"}},
			want: concat(preparation, []string{"~ Command metalk8s-sv-controller-guard: stdin", "~ ConfigGroup metalk8s-bgp-filter: objs", "~ Release metalk8s-calico: values"})},
		{name: "local ASN", change: []edit{{"bgp.asn", 65001}},
			want: []string{"~ ConfigGroup metalk8s-bgp-configuration: objs", "~ Project metalk8s: bgpConfig"}},
		{name: "local ASN in bird-local-peer", base: bird, change: []edit{{"bgp.asn", 65001}},
			want: []string{"~ ConfigGroup metalk8s-bgp-configuration: objs", "~ ConfigGroup metalk8s-bgp: objs", "~ Project metalk8s: bgpConfig"}},
		{name: "project name", change: []edit{{"project.name", "k8s-bgp-2"}}, want: []string{"~ Project metalk8s: name"}},
		{name: "elastic block size", change: []edit{{"elasticIps[0].quantity", 8}}, want: []string{
			"~ ConfigGroup metalk8s-bgp-configuration: objs", "~ ConfigGroup metalk8s-pool-metal-public: objs", "~ ReservedIpBlock metalk8s-eip-public: quantity"}},
		{name: "ingress pool", change: []edit{{"ingress.pool", "metal-global"}}, want: []string{"~ Release metalk8s-ingress: values"}},
		{name: "ingress disabled", change: []edit{{"ingress.enabled", false}}, want: []string{"- Release metalk8s-ingress", "- Service metalk8s-ingress"}},
		// A replaced device has a new ID: its BGP session follows it and the steps tied to the
		// machine are replaced with it (on a worker, the token step too, so that the new machine
		// joins with a valid token).
		{name: "workers plan", change: []edit{{"workers.plan", "m3.small.x86"}}, devices: true, want: concat(
			prefixed("~ Device ", "metalk8s-sv-worker-0: plan", "metalk8s-sv-worker-1: plan"),
			replacedWorker("sv-worker-0"), replacedWorker("sv-worker-1"))},
		{name: "controller plan", change: []edit{{"controller.plan", "m3.small.x86"}}, devices: true,
			want: concat(replacedController, []string{"~ Device metalk8s-sv-controller: plan"})},
		{name: "operating system", change: []edit{{"operatingSystem", "ubuntu_22_04"}}, devices: true, want: concat(
			prefixed("~ Device ", "metalk8s-sv-controller: operatingSystem", "metalk8s-sv-worker-0: operatingSystem", "metalk8s-sv-worker-1: operatingSystem"),
			replacedController, replacedWorker("sv-worker-0"), replacedWorker("sv-worker-1"))},
		{name: "billing cycle", change: []edit{{"billingCycle", "monthly"}}, devices: true,
			want: prefixed("~ Device ", "metalk8s-sv-controller: billingCycle", "metalk8s-sv-worker-0: billingCycle", "metalk8s-sv-worker-1: billingCycle")},
		// Device names carry the metro: every node is replaced, and the public block moves.
		{name: "metro sv to da", change: []edit{{"metro", "da"}}, devices: true, want: concat(
			prefixed("- ", clusterNodes("sv", 2)...), prefixed("+ ", clusterNodes("da", 2)...),
			// A new init is a new cluster: the Kubernetes provider's identity changes with it,
			// which pulumi-kubernetes plans as the provider's replacement.
			[]string{"~ ReservedIpBlock metalk8s-eip-public: metro", "~ kubernetes metalk8s: clusterIdentifier"})},
	}
}

// joinToken is a worker's own join token, its two halves by short type and name.
func joinToken(host string) []string {
	return []string{"RandomPassword metalk8s-" + host + "-token-id", "RandomPassword metalk8s-" + host + "-token-secret"}
}

// replacedWorker is what follows a worker's device when it is replaced, besides the device: its
// BGP session, every step tied to the machine and its join token (random's keepers hold the
// machine: the new machine gets a new token).
func replacedWorker(host string) []string {
	return concat([]string{"~ BgpSession metalk8s-" + host + "-bgp: deviceId"},
		prefixed("~ Command metalk8s-"+host+"-", "join: triggers", "prepare: triggers", "registered: triggers", "token: triggers",
			"drain: triggers", "upgrade: triggers", "uncordon: triggers"),
		prefixed("~ RandomPassword metalk8s-"+host+"-", "token-id: keepers", "token-secret: keepers"))
}

// replacedController is the same for the controller's device.
var replacedController = []string{
	"~ BgpSession metalk8s-sv-controller-bgp: deviceId",
	"~ Command metalk8s-sv-controller-init: triggers", "~ Command metalk8s-sv-controller-prepare: triggers",
	"~ Command metalk8s-sv-controller-guard: triggers", "~ Command metalk8s-sv-controller-upgrade: triggers",
	"~ Command metalk8s-sv-controller-certs: triggers",
	"~ Command metalk8s-sv-controller-retire-tokens: triggers",
}

// deviceChanges are the lines of an effect where an existing device's inputs change, and whether
// devices are replaced: some disappear while others appear in their stead.
func deviceChanges(lines []string) (changed []string, replaced bool) {
	var gone, added bool
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "~ Device "):
			changed = append(changed, l)
		case strings.HasPrefix(l, "- Device "):
			gone = true
		case strings.HasPrefix(l, "+ Device "):
			added = true
		}
	}
	return changed, gone && added
}

// TestChanges runs each configuration change as two runs of the dev stack, before and after, and
// checks its exact effect on the registered resources and their inputs; then the change undone,
// whose effect must be the inverse. No existing device may change unless the change is to the
// devices themselves, and then they must.
func TestChanges(t *testing.T) {
	for _, tc := range changeCases() {
		t.Run(tc.name, func(t *testing.T) {
			runWith := func(edits ...[]edit) *result {
				c := devCluster(t)
				for _, es := range edits {
					for _, e := range es {
						set(t, c, e.path, e.val)
					}
				}
				r := run(t, c, runOptions{})
				if r.err != nil {
					t.Fatal(r.err)
				}
				return r
			}
			before, after := runWith(tc.base), runWith(tc.base, tc.change)
			for _, dir := range []struct {
				name     string   // forward or undone
				from, to *result  // the runs compared
				want     []string // the expected effect
			}{{"forward", before, after, tc.want}, {"undone", after, before, inverse(tc.want)}} {
				got := effect(dir.from, dir.to)
				if !reflect.DeepEqual(got, dir.want) {
					t.Errorf("%s effect:\n  %s\nwant:\n  %s", dir.name, strings.Join(got, "\n  "), strings.Join(dir.want, "\n  "))
				}
				changed, replaced := deviceChanges(got)
				if tc.devices && len(changed) == 0 && !replaced {
					t.Errorf("%s: the change is to the devices, yet no device changes", dir.name)
				}
				if !tc.devices && (len(changed) > 0 || replaced) {
					t.Errorf("%s: existing devices change: %v (replaced: %v)", dir.name, changed, replaced)
				}
			}
		})
	}
}

// TestWorkerAddedLater adds a worker to a running cluster, long after the others joined: only
// that worker's resources appear, its own join token and its steps, and no resource of the cluster
// changes, so no step of the existing workers runs again or is replaced (pulumi-command replaces a
// step only for a change of its triggers, see TestStepsFollowTheirMachine). Nothing the program
// registers depends on the time: the new token's expiry is computed by its token step on the
// controller when the step runs, so a worker added months later gets a fresh token at its join.
// What that step does on a cluster whose earlier tokens are all gone is TestControlPlane's.
func TestWorkerAddedLater(t *testing.T) {
	runWith := func(workers int) *result {
		c := devCluster(t)
		set(t, c, "workers.count", workers)
		r := run(t, c, runOptions{})
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r
	}
	before, after := runWith(2), runWith(3)
	if got, want := effect(before, after), prefixed("+ ", nodeResources("sv-worker-2", false)...); !reflect.DeepEqual(got, want) {
		t.Errorf("effect:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	secret := func(name string) string {
		if sv, ok := plain(after.byName(t, "random:index/randomPassword:RandomPassword", name).Outputs["result"]).(secretValue); ok {
			return sv.v.(string)
		}
		t.Fatalf("%s: not a secret", name)
		return ""
	}
	id, sec := secret("metalk8s-sv-worker-2-token-id"), secret("metalk8s-sv-worker-2-token-secret")
	token := stdin(t, after, "metalk8s-sv-worker-2-token")
	for _, want := range []string{"name: bootstrap-token-" + id + "\n", "token-secret: " + sec + "\n", "expiration=$(date -u -d '+60 minutes' "} {
		if !strings.Contains(token, want) {
			t.Errorf("the new worker's token step does not make its own token when it runs (%q missing)", want)
		}
	}
	if regexp.MustCompile(`expiration: 20\d\d-`).MatchString(token) {
		t.Error("the new worker's token step carries a fixed expiry")
	}
	if join := stdin(t, after, "metalk8s-sv-worker-2-join"); !strings.Contains(join, "token: "+id+"."+sec+"\n") {
		t.Error("the new worker joins with another token than its own")
	}
	for _, cmd := range before.ofType(commandToken) {
		if s, ok := input(cmd, "stdin").(secretValue); ok && strings.Contains(fmt.Sprint(s.v), sec) {
			t.Errorf("%s, a step of the cluster before, holds the new worker's token", cmd.Name)
		}
	}
}

// TestEffectDescribes shows that effect sees each kind of difference: an input changed in one
// resource, a resource gone and one new.
func TestEffectDescribes(t *testing.T) {
	base := devCluster(t)
	before := run(t, base, runOptions{})
	set(t, base, "workers.count", 1)
	set(t, base, "workers.plan", "m3.small.x86")
	after := run(t, base, runOptions{})
	if before.err != nil || after.err != nil {
		t.Fatal(before.err, after.err)
	}
	got := effect(before, after)
	want := concat(prefixed("- ", nodeResources("sv-worker-1", false)...), []string{"~ Device metalk8s-sv-worker-0: plan"},
		replacedWorker("sv-worker-0"))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("effect:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if got := effect(before, before); len(got) != 0 {
		t.Errorf("a run compared with itself: %v", got)
	}
}

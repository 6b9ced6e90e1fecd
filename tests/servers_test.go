package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/internal/graph"
)

// serversStack is what a servers-mode example stack must register: its servers, each node's
// routers as Calico peers, and the MetalLB pools.
type serversStack struct {
	stack       string
	controller  string
	workers     []string
	peers       map[string][]torPeer // by node
	pools       map[string][]string  // MetalLB IPAddressPool name -> addresses
	passwordKey bool                 // every session has its own password key
}

// torPeer is what a BGPPeer of a node says.
type torPeer struct {
	ip          string
	asn         float64
	reachableBy string
}

func serversStacks() []serversStack {
	rack1 := []torPeer{{"10.10.1.2", 65001, ""}, {"10.10.1.3", 65002, ""}}
	rack2 := []torPeer{{"10.10.2.2", 65001, ""}, {"10.10.2.3", 65002, ""}}
	routeServers := []torPeer{{"169.254.1.1", 65100, "10.40.0.1"}, {"169.254.1.2", 65100, "10.40.0.1"}}
	return []serversStack{
		{
			stack: "racks", controller: "r1-controller", workers: []string{"r1-worker-0", "r2-worker-0", "r2-worker-1"},
			// r1 servers take the shared peers, r2 servers list their own.
			peers: map[string][]torPeer{"r1-controller": rack1, "r1-worker-0": rack1, "r2-worker-0": rack2, "r2-worker-1": rack2},
			pools: map[string][]string{"public": {"203.0.113.0/28"}, "internal": {"10.10.100.0/24"}},
		},
		{
			stack: "provider", controller: "bm-controller", workers: []string{"bm-worker-0", "bm-worker-1"},
			peers: map[string][]torPeer{"bm-controller": routeServers, "bm-worker-0": routeServers, "bm-worker-1": routeServers},
			pools: map[string][]string{"routed": {"198.51.100.64/28"}}, passwordKey: true,
		},
	}
}

// remoteSteps are the remote commands a servers-mode cluster runs: each server's preparation,
// the controller's init, each worker's token, join and registration check, and Calico's waits
// on the controller.
func remoteSteps(controller string, workers []string) []string {
	out := []string{controller + "-guard", controller + "-prepare", controller + "-init", controller + "-upgrade", controller + "-retire-tokens",
		controller + "-certs", "calico-ready", "bird-template-guard"}
	for _, w := range workers {
		for _, s := range []string{"prepare", "token", "join", "registered", "drain", "upgrade", "uncordon"} {
			out = append(out, w+"-"+s)
		}
	}
	for i := range out {
		out[i] = "metalk8s-" + out[i]
	}
	sort.Strings(out)
	return out
}

// TestServersModeResources runs both servers-mode example stacks and checks what they register:
// no Equinix resource at all, exactly the remote steps of their servers, one Calico peer per
// router of each node (shared or its own), and the MetalLB pools of the stack.
func TestServersModeResources(t *testing.T) {
	for _, tc := range serversStacks() {
		t.Run(tc.stack, func(t *testing.T) {
			r := run(t, stackCluster(t, tc.stack), runOptions{})
			if r.err != nil {
				t.Fatal(r.err)
			}
			for _, res := range r.cloud.Resources() {
				if strings.HasPrefix(res.Type, "equinix:") {
					t.Errorf("%s %s registered in the servers mode", res.Type, res.Name)
				}
			}
			var steps []string
			for _, c := range r.ofType(commandToken) {
				steps = append(steps, c.Name)
			}
			sort.Strings(steps)
			if want := remoteSteps(tc.controller, tc.workers); !reflect.DeepEqual(steps, want) {
				t.Errorf("remote steps\n  %v\nwant\n  %v", steps, want)
			}
			for node, want := range tc.peers {
				var got []torPeer
				for _, o := range objs(t, r, "metalk8s-"+node+"-bgp-peers") {
					if o["kind"] != "BGPPeer" || path(o, "spec", "node") != node {
						t.Errorf("%s: object %v", node, o)
					}
					rb, _ := path(o, "spec", "reachableBy").(string)
					got = append(got, torPeer{path(o, "spec", "peerIP").(string), path(o, "spec", "asNumber").(float64), rb})
					key, _ := path(o, "spec", "password", "secretKeyRef", "key").(string)
					wantKey := ""
					if tc.passwordKey {
						wantKey = topology.PeerPasswordKey(node, path(o, "spec", "peerIP").(string))
					}
					if key != wantKey {
						t.Errorf("%s: password key %q, want %q", node, key, wantKey)
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: peers %+v, want %+v", node, got, want)
				}
			}
			pools := map[string][]string{}
			for _, o := range allObjs(t, r) {
				if o["kind"] != "IPAddressPool" {
					continue
				}
				for _, a := range asList(path(o, "spec", "addresses")) {
					name := path(o, "metadata", "name").(string)
					pools[name] = append(pools[name], a.(string))
				}
			}
			if !reflect.DeepEqual(pools, tc.pools) {
				t.Errorf("MetalLB pools %v, want %v", pools, tc.pools)
			}
		})
	}
}

// TestServersModePasswords checks that each session's MD5 password is in the password Secret
// under its own key, secret, and in no other resource's inputs.
func TestServersModePasswords(t *testing.T) {
	c := stackCluster(t, "provider")
	set(t, c, "servers.peers[0].md5Password", "first-Route-Server")
	set(t, c, "servers.peers[1].md5Password", "second-Route-Server")
	// One worker with a router of its own and its own password.
	set(t, c, "servers.workers[1].peers", []any{map[string]any{"address": "169.254.1.1", "asn": 65100, "multihop": true, "md5Password": "own-Password-1"}})
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	raw := input(r.byName(t, "kubernetes:core/v1:Secret", "metalk8s-bgp-password"), "stringData")
	if s, ok := raw.(secretValue); ok {
		raw = s.v
	}
	data, ok := raw.(map[string]any)
	if !ok {
		t.Fatalf("stringData of the password Secret: %#v", raw)
	}
	want := map[string]string{
		topology.PeerPasswordKey("bm-controller", "169.254.1.1"): "first-Route-Server",
		topology.PeerPasswordKey("bm-controller", "169.254.1.2"): "second-Route-Server",
		topology.PeerPasswordKey("bm-worker-0", "169.254.1.1"):   "first-Route-Server",
		topology.PeerPasswordKey("bm-worker-0", "169.254.1.2"):   "second-Route-Server",
		topology.PeerPasswordKey("bm-worker-1", "169.254.1.1"):   "own-Password-1",
	}
	got := map[string]string{}
	for k, v := range data {
		s, isSecret := v.(secretValue)
		if !isSecret {
			// The mock sees the whole map secret when any value is; each value is made secret
			// on its own in the component, so this map must be too.
			if _, whole := input(r.byName(t, "kubernetes:core/v1:Secret", "metalk8s-bgp-password"), "stringData").(secretValue); !whole {
				t.Errorf("password %s is not secret", k)
			}
			got[k], _ = v.(string)
			continue
		}
		got[k] = s.v.(string)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("password Secret data %v, want %v", got, want)
	}
	for _, res := range r.cloud.Resources() {
		if res.Type == "kubernetes:core/v1:Secret" {
			continue
		}
		b, _ := json.Marshal(plainMap(res))
		for _, pw := range []string{"first-Route-Server", "second-Route-Server", "own-Password-1"} {
			if strings.Contains(string(b), pw) {
				t.Errorf("%s %s carries a BGP password in its inputs", res.Type, res.Name)
			}
		}
	}
}

// TestServersModeOutputs checks the stack outputs of the servers mode: typed nodes with their
// peers, the kubeconfig secret, the endpoint on the address the access mode says, and none of
// the Metal outputs.
func TestServersModeOutputs(t *testing.T) {
	for _, tc := range []struct {
		stack, endpoint string
		nodes           int
	}{
		{"racks", "https://10.10.1.10:6443", 4},
		{"provider", "https://203.0.113.11:6443", 3},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			r := run(t, stackCluster(t, tc.stack), runOptions{})
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !r.kubeconfig.secret || !r.kubeconfig.known {
				t.Errorf("kubeconfig: secret %v, known %v", r.kubeconfig.secret, r.kubeconfig.known)
			}
			if r.endpoint.value != tc.endpoint {
				t.Errorf("apiEndpoint %v, want %s", r.endpoint.value, tc.endpoint)
			}
			if len(r.nodes) != tc.nodes {
				t.Fatalf("%d nodes, want %d", len(r.nodes), tc.nodes)
			}
			for i, n := range r.nodes {
				node, ok := n.value.(topology.Node)
				if !ok {
					t.Fatalf("node %d is %T, not a topology.Node", i, n.value)
				}
				if n.secret {
					t.Errorf("node %s is secret: its description holds no password", node.Name)
				}
				wantRole := topology.RoleWorker
				if i == 0 {
					wantRole = topology.RoleController
				}
				if node.Role != string(wantRole) || len(node.BGPPeers) == 0 || node.PrivateIPv4 == "" {
					t.Errorf("node %d: %+v", i, node)
				}
			}
			m := r.out.Map()
			for _, k := range []string{"projectId", "elasticIps", "sshPrivateKey"} {
				if _, ok := m[k]; ok {
					t.Errorf("output %s exists in the servers mode", k)
				}
			}
			for _, k := range []string{"nodes", "kubeconfig", "apiEndpoint", "localAsn", "pools", "sshPublicKey", "controllerPrivateIpv4"} {
				if _, ok := m[k]; !ok {
					t.Errorf("output %s is missing", k)
				}
			}
		})
	}
}

// serverResources are the resources a server brings: its Calico peers and its bootstrap steps (a
// worker's with its own join token).
func serverResources(name string, controller bool) []string {
	out := []string{"ConfigGroup metalk8s-" + name + "-bgp-peers", "Command metalk8s-" + name + "-prepare"}
	if controller {
		return append(out, "Command metalk8s-"+name+"-guard", "Command metalk8s-"+name+"-init", "Command metalk8s-"+name+"-upgrade",
			"Command metalk8s-"+name+"-retire-tokens")
	}
	for _, step := range []string{"token", "join", "registered", "drain", "upgrade", "uncordon"} {
		out = append(out, "Command metalk8s-"+name+"-"+step)
	}
	return append(out, joinToken(name)...)
}

// TestServersChanges runs each change of the racks stack as two runs, before and after, and
// checks its exact effect, and the inverse effect of undoing it. A server added or removed brings
// or takes only its own resources; a new machine identity replaces exactly the server's steps,
// delete-first; a router change touches only the Calico peers of the nodes that use it.
func TestServersChanges(t *testing.T) {
	newWorker := map[string]any{"name": "r2-worker-2", "id": "SN-R2-0003", "sshAddress": "10.10.2.12", "privateIpv4": "10.10.2.12",
		"peers": []any{map[string]any{"address": "10.10.2.2", "asn": 65001}, map[string]any{"address": "10.10.2.3", "asn": 65002}}}
	workerSteps := func(name string) []string {
		return prefixed("~ Command metalk8s-"+name+"-", "join: triggers", "prepare: triggers", "registered: triggers", "token: triggers",
			"drain: triggers", "upgrade: triggers", "uncordon: triggers")
	}
	for _, tc := range []struct {
		name     string
		stack    string // racks unless set
		change   []edit
		want     []string
		replaced []string // steps that must be replaced delete-first
	}{
		{name: "server added", change: []edit{{"servers.workers[3]", newWorker}},
			want: prefixed("+ ", serverResources("r2-worker-2", false)...)},
		{name: "server removed", change: []edit{{"servers.workers", func() []any {
			c := stackCluster(t, "racks")
			return c["servers"].(map[string]any)["workers"].([]any)[:2]
		}()}}, want: prefixed("- ", serverResources("r2-worker-1", false)...)},
		// The replaced machine gets a new join token too (random's keepers).
		{name: "worker's id changed", change: []edit{{"servers.workers[1].id", "SN-R2-0099"}},
			want:     concat(workerSteps("r2-worker-0"), prefixed("~ RandomPassword metalk8s-r2-worker-0-", "token-id: keepers", "token-secret: keepers")),
			replaced: workerSteps("r2-worker-0")},
		{name: "controller's id changed", change: []edit{{"servers.controller.id", "SN-R1-0099"}},
			want: prefixed("~ Command metalk8s-r1-controller-", "certs: triggers", "guard: triggers", "init: triggers", "prepare: triggers", "upgrade: triggers",
				"retire-tokens: triggers"),
			replaced: prefixed("~ Command metalk8s-r1-controller-", "certs: triggers", "guard: triggers", "init: triggers", "prepare: triggers", "upgrade: triggers",
				"retire-tokens: triggers")},
		{name: "own peer's ASN changed", change: []edit{{"servers.workers[1].peers[1].asn", 65003}},
			want: []string{"~ ConfigGroup metalk8s-r2-worker-0-bgp-peers: objs"}},
		{name: "own peer added", change: []edit{{"servers.workers[2].peers[2]", map[string]any{"address": "10.10.2.4", "asn": 65004}}},
			want: []string{"~ ConfigGroup metalk8s-r2-worker-1-bgp-peers: objs"}},
		{name: "shared peer's address changed", change: []edit{{"servers.peers[1].address", "10.10.1.4"}},
			want: prefixed("~ ConfigGroup ", "metalk8s-r1-controller-bgp-peers: objs", "metalk8s-r1-worker-0-bgp-peers: objs")},
		// With an id, the SSH address is how Pulumi connects and nothing else.
		{name: "worker's SSH address changed", change: []edit{{"servers.workers[0].sshAddress", "192.0.2.11"}},
			want: prefixed("~ Command metalk8s-r1-worker-0-", "join: connection", "prepare: connection", "upgrade: connection")},
		{name: "router password changed", stack: "provider", change: []edit{{"servers.peers[0].md5Password", "another-Password-2"}},
			want: []string{"~ Secret metalk8s-bgp-password: stringData"}},
		{name: "server takes peers of its own", change: []edit{{"servers.workers[0].peers", []any{map[string]any{"address": "10.10.1.5", "asn": 65005}}}},
			want: []string{"~ ConfigGroup metalk8s-r1-worker-0-bgp-peers: objs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := tc.stack
			if stack == "" {
				stack = "racks"
			}
			runWith := func(edits []edit) *result {
				c := stackCluster(t, stack)
				for _, e := range edits {
					set(t, c, e.path, e.val)
				}
				r := run(t, c, runOptions{})
				if r.err != nil {
					t.Fatal(r.err)
				}
				return r
			}
			before, after := runWith(nil), runWith(tc.change)
			if got := effect(before, after); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("effect:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if got, want := effect(after, before), inverse(tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("undone effect:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			for _, line := range tc.replaced {
				name := strings.TrimPrefix(line[:strings.Index(line, ":")], "~ Command ")
				if !after.byName(t, commandToken, name).DeleteBeforeReplace {
					t.Errorf("%s is not replaced delete-first: its new run would come before the old one's delete", name)
				}
			}
		})
	}
}

// TestServersModeScripts checks every remote script of both servers-mode stacks with shellcheck
// and every host firewall with the real nftables parser; a server without a public address (the
// racks stack) gets a firewall that leaves IPv4 alone and still guards IPv6.
func TestServersModeScripts(t *testing.T) {
	shellcheck := needTool(t, "shellcheck")
	nft := needTool(t, "nft")
	needRoot(t)
	for _, stack := range []string{"racks", "provider", "ha"} {
		t.Run(stack, func(t *testing.T) {
			c := stackCluster(t, stack)
			// One server's sshd on another port: its firewall must keep that port open.
			set(t, c, "servers.workers[0].sshPort", 2222)
			r := run(t, c, runOptions{})
			if r.err != nil {
				t.Fatal(r.err)
			}
			dir := t.TempDir()
			for _, cmd := range r.ofType(commandToken) {
				script := stdin(t, r, cmd.Name)
				path := filepath.Join(dir, cmd.Name+".sh")
				if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", path).CombinedOutput(); err != nil {
					t.Errorf("shellcheck %s:\n%s", cmd.Name, out)
				}
				if !strings.HasSuffix(cmd.Name, "-prepare") {
					continue
				}
				rules := heredoc(t, script, "FIREWALL")
				if out, err := nftCheck(t, nft, rules); err != nil {
					t.Errorf("%s: nft refuses the firewall: %v\n%s", cmd.Name, err, out)
				}
				port := "22"
				if cmd.Name == map[string]string{"racks": "metalk8s-r1-worker-0-prepare", "provider": "metalk8s-bm-worker-0-prepare", "ha": "metalk8s-ha-worker-0-prepare"}[stack] {
					port = "2222"
				}
				if !strings.Contains(rules, "\ttcp dport "+port+" accept\n") {
					t.Errorf("%s: the firewall does not keep SSH port %s open:\n%s", cmd.Name, port, rules)
				}
				public := publicAddress.FindStringSubmatch(rules)
				switch {
				case stack != "provider" && (public != nil || !strings.Contains(rules, "meta nfproto ipv4 accept")):
					t.Errorf("%s: a server without a public address gets a firewall on IPv4:\n%s", cmd.Name, rules)
				case stack == "provider" && public == nil:
					t.Errorf("%s: the public address is not guarded:\n%s", cmd.Name, rules)
				}
			}
		})
	}
}

// TestServersCriticalPathDoesNotGrow checks the servers mode as TestCriticalPathDoesNotGrow
// checks the Metal mode: the longest chain of slow steps is the same for 3, 50 and 500 servers and
// holds no worker.
func TestServersCriticalPathDoesNotGrow(t *testing.T) {
	var depths []int
	for _, workers := range []int{2, 49, 499} {
		c := stackCluster(t, "racks")
		var list []any
		for i := 0; i < workers; i++ {
			addr := fmt.Sprintf("10.10.%d.%d", 10+i/200, 20+i%200)
			list = append(list, map[string]any{"name": fmt.Sprintf("r1-worker-%d", i), "sshAddress": addr, "privateIpv4": addr})
		}
		set(t, c, "servers.workers", list)
		r := run(t, c, runOptions{})
		if r.err != nil {
			t.Fatal(r.err)
		}
		path := graph.CriticalPath(r.cloud.Resources())
		for _, s := range path {
			if strings.Contains(s.Name, "-worker-") {
				t.Errorf("%d workers: %s is on the critical path", workers, s.Name)
			}
		}
		depths = append(depths, len(path))
	}
	if depths[0] != depths[1] || depths[1] != depths[2] {
		t.Errorf("critical path grows with the cluster: %v", depths)
	}
}

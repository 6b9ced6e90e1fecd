package tests

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// TestDevStackMetalResources checks the exact Metal resources of the dev stack and their inputs.
func TestDevStackMetalResources(t *testing.T) {
	r := run(t, devCluster(t), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	counts := map[string]int{}
	for _, res := range r.cloud.Resources() {
		if strings.HasPrefix(res.Type, "equinix:") {
			counts[res.Type]++
			if res.Version != metal.PluginVersion || res.PluginURL != metal.PluginDownloadURL {
				t.Errorf("%s %s: plugin %q from %q, want %q from %q", res.Type, res.Name, res.Version, res.PluginURL, metal.PluginVersion, metal.PluginDownloadURL)
			}
		}
	}
	want := map[string]int{metal.ProjectToken: 1, metal.ProjectSshKeyToken: 1, metal.DeviceToken: 3, metal.BgpSessionToken: 3, metal.ReservedIpBlockToken: 2}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("Metal resources: got %v, want %v", counts, want)
	}

	project := r.byName(t, metal.ProjectToken, "metalk8s")
	if got := input(project, "name"); got != "k8s-bgp" {
		t.Errorf("project name = %v", got)
	}
	if got, want := input(project, "bgpConfig"), map[string]any{"deploymentType": "local", "asn": 65000.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("project bgpConfig = %v, want %v", got, want)
	}

	devices := map[string]string{"metalk8s-sv-controller": "sv-controller", "metalk8s-sv-worker-0": "sv-worker-0", "metalk8s-sv-worker-1": "sv-worker-1"}
	for name, host := range devices {
		d := r.byName(t, metal.DeviceToken, name)
		for key, want := range map[string]any{"hostname": host, "plan": "c3.small.x86", "metro": "sv", "operatingSystem": "ubuntu_24_04", "billingCycle": "hourly"} {
			if got := input(d, key); got != want {
				t.Errorf("device %s %s = %v, want %v", name, key, got, want)
			}
		}
		if _, ok := d.Inputs["userData"]; ok {
			t.Errorf("device %s has userData: Kubernetes settings must not be able to replace devices", name)
		}
		s := r.byName(t, metal.BgpSessionToken, name+"-bgp")
		if got := input(s, "deviceId"); got != d.ID {
			t.Errorf("session %s deviceId = %v, want %s", s.Name, got, d.ID)
		}
		if got := input(s, "addressFamily"); got != "ipv4" {
			t.Errorf("session %s addressFamily = %v", s.Name, got)
		}
	}

	pub := r.byName(t, metal.ReservedIpBlockToken, "metalk8s-eip-public")
	if input(pub, "type") != "public_ipv4" || input(pub, "quantity") != 4.0 || input(pub, "metro") != "sv" {
		t.Errorf("public block inputs = %v", pub.Inputs)
	}
	global := r.byName(t, metal.ReservedIpBlockToken, "metalk8s-eip-global")
	if input(global, "type") != "global_ipv4" || input(global, "quantity") != 1.0 || input(global, "metro") != nil {
		t.Errorf("global block inputs = %v (a global block must have no metro)", global.Inputs)
	}
}

// TestBGPPeersPerSite checks the neighbours-to-peers mapping at both kinds of site.
func TestBGPPeersPerSite(t *testing.T) {
	for _, site := range []mockcloud.Site{mockcloud.SiteIBX, mockcloud.SiteLegacy} {
		t.Run(string(site), func(t *testing.T) {
			r := run(t, devCluster(t), runOptions{site: site})
			if r.err != nil {
				t.Fatal(r.err)
			}
			if len(r.nodes) != 3 {
				t.Fatalf("got %d nodes", len(r.nodes))
			}
			for i, a := range r.nodes {
				n, ok := a.value.(topology.Node)
				if !ok || !a.known {
					t.Fatalf("node %d: %#v is not a known topology.Node", i, a.value)
				}
				if len(n.BGPPeers) != 1 {
					t.Fatalf("%s: %d peer groups", n.Name, len(n.BGPPeers))
				}
				p := n.BGPPeers[0]
				want := []string{"169.254.255.1", "169.254.255.2"}
				if site == mockcloud.SiteLegacy {
					want = []string{n.PrivateGateway}
				}
				if !reflect.DeepEqual(p.PeerIPs, want) {
					t.Errorf("%s: peer IPs %v, want %v", n.Name, p.PeerIPs, want)
				}
				if p.PeerASN != 65530 || p.CustomerASN != 65000 || p.CustomerIP != n.PrivateIPv4 || p.MD5Enabled {
					t.Errorf("%s: peer %+v", n.Name, p)
				}
				if p.Multihop != (site == mockcloud.SiteIBX) {
					t.Errorf("%s: multihop %v at %s site", n.Name, p.Multihop, site)
				}
			}
		})
	}
}

// TestTypedOutputs checks that every output is typed and carries the fake cloud's values.
func TestTypedOutputs(t *testing.T) {
	r := run(t, devCluster(t), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	project := r.byName(t, metal.ProjectToken, "metalk8s")
	if r.proj.value != project.ID {
		t.Errorf("ProjectID output %v, want %s", r.proj.value, project.ID)
	}
	var names []string
	for i, a := range r.nodes {
		n := a.value.(topology.Node)
		names = append(names, n.Name)
		if a.secret {
			t.Errorf("node %s is secret; only the MD5 password is, and it is not part of a node", n.Name)
		}
		dev := r.byName(t, metal.DeviceToken, "metalk8s-"+n.Name)
		if n.ID != dev.ID {
			t.Errorf("node %d ID %s, want device ID %s", i, n.ID, dev.ID)
		}
		if want := plain(dev.Outputs["accessPrivateIpv4"]); n.PrivateIPv4 != want || n.PrivateIPv4 == "" {
			t.Errorf("%s private IPv4 %q, want %v", n.Name, n.PrivateIPv4, want)
		}
		if want := plain(dev.Outputs["accessPublicIpv4"]); n.PublicIPv4 != want || n.PublicIPv4 == "" {
			t.Errorf("%s public IPv4 %q, want %v", n.Name, n.PublicIPv4, want)
		}
		wantRole := string(topology.RoleWorker)
		if i == 0 {
			wantRole = string(topology.RoleController)
		}
		if n.Role != wantRole {
			t.Errorf("%s role %s, want %s", n.Name, n.Role, wantRole)
		}
	}
	if want := []string{"sv-controller", "sv-worker-0", "sv-worker-1"}; !reflect.DeepEqual(names, want) {
		t.Errorf("node order %v, want %v", names, want)
	}
	for name, a := range r.eips {
		block := r.byName(t, metal.ReservedIpBlockToken, "metalk8s-eip-"+name)
		if s, ok := a.value.(string); !ok || s != plain(block.Outputs["cidrNotation"]) {
			t.Errorf("elastic IP %s CIDR %v, want %v", name, a.value, plain(block.Outputs["cidrNotation"]))
		}
	}
	if len(r.eips) != 2 {
		t.Errorf("elastic IP outputs %v", r.eips)
	}
}

// TestSecrets checks that the MD5 password and the SSH private key are secrets, whether the key
// is generated or given.
func TestSecrets(t *testing.T) {
	c := devCluster(t)
	set(t, c, "bgp.md5Password", "S3cr3tMd5x")
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	bgp := input(r.byName(t, metal.ProjectToken, "metalk8s"), "bgpConfig").(map[string]any)
	if s, ok := bgp["md5"].(secretValue); !ok || s.v != "S3cr3tMd5x" {
		t.Errorf("bgpConfig.md5 = %#v, want a secret", bgp["md5"])
	}
	if !r.key.secret || r.key.value != mockcloud.FakePrivateKey {
		t.Errorf("generated SSH private key: secret=%v value=%v", r.key.secret, r.key.value)
	}
	for _, n := range r.nodes {
		if n.value.(topology.Node).BGPPeers[0].MD5Enabled != true {
			t.Errorf("node %v: MD5 not enabled", n.value)
		}
	}

	set(t, c, "ssh.privateKey", testKey)
	r = run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.key.secret || r.key.value != testKey {
		t.Errorf("given SSH private key: secret=%v", r.key.secret)
	}
	for _, k := range r.ofType("tls:index/privateKey:PrivateKey") {
		if k.Name == "metalk8s-ssh" {
			t.Error("an SSH key was generated although one was given")
		}
	}
	pub := input(r.byName(t, metal.ProjectSshKeyToken, "metalk8s-ssh"), "publicKey")
	if pub != testPublicKey {
		t.Errorf("public key %v, want %q", pub, testPublicKey)
	}
}

// TestPreview checks that a dry run succeeds although the cloud's values are unknown.
func TestPreview(t *testing.T) {
	r := run(t, devCluster(t), runOptions{preview: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := len(r.ofType(metal.DeviceToken)); got != 3 {
		t.Fatalf("%d devices in preview", got)
	}
	for _, n := range r.nodes {
		if n.known {
			t.Errorf("node %v known in a preview", n.value)
		}
	}
	for _, s := range r.ofType(metal.BgpSessionToken) {
		if _, ok := input(s, "deviceId").(unknownValue); !ok {
			t.Errorf("session %s deviceId %v, want unknown", s.Name, input(s, "deviceId"))
		}
	}
	if len(r.cloud.Invokes()) != 0 {
		t.Errorf("neighbours read in a preview with unknown device IDs: %v", r.cloud.Invokes())
	}
}

// TestNeighboursWaitForSession checks that each node's neighbours are read only after its BGP
// session exists. Sessions are made slow, so reading earlier would find none and fail the run.
func TestNeighboursWaitForSession(t *testing.T) {
	r := run(t, devCluster(t), runOptions{tune: func(c *mockcloud.Cloud) {
		c.Slow[metal.BgpSessionToken] = 50 * time.Millisecond
	}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	sessions := map[string]int{}
	for _, s := range r.ofType(metal.BgpSessionToken) {
		sessions[input(s, "deviceId").(string)] = s.Seq
	}
	invokes := r.cloud.Invokes()
	if len(invokes) != 3 {
		t.Fatalf("%d neighbour reads, want 3", len(invokes))
	}
	var ids []string
	for _, inv := range invokes {
		id := inv.Args["deviceId"].StringValue()
		ids = append(ids, id)
		if seq, ok := sessions[id]; !ok || inv.Seq < seq {
			t.Errorf("neighbours of %s read at %d, session registered at %d", id, inv.Seq, seq)
		}
	}
	sort.Strings(ids)
	if ids[0] == ids[1] || ids[1] == ids[2] {
		t.Errorf("neighbours read twice for one device: %v", ids)
	}
}

// TestWorkerCount checks the device naming and count across sizes, including a one-node cluster.
func TestWorkerCount(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		c := devCluster(t)
		set(t, c, "workers.count", n)
		r := run(t, c, runOptions{})
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := len(r.ofType(metal.DeviceToken)); got != n+1 {
			t.Errorf("count %d: %d devices", n, got)
		}
		if got := len(r.ofType(metal.BgpSessionToken)); got != n+1 {
			t.Errorf("count %d: %d BGP sessions (one per node, the controller included)", n, got)
		}
		if n > 0 {
			r.byName(t, metal.DeviceToken, "metalk8s-sv-worker-"+itoa(n-1))
		}
	}
}

// TestMetalRulesAccepted checks the accepted side of Metal's rules on the whole program: names
// count characters (80 two-byte characters are a valid project name), an upper-case UUID is a UUID
// and reaches the provider in lower case (Metal returns IDs in lower case, and another spelling
// would look like another project), and a password, ASN and releases at their limits pass.
func TestMetalRulesAccepted(t *testing.T) {
	c := devCluster(t)
	set(t, c, "project.name", strings.Repeat("é", 80))
	set(t, c, "project.organizationId", "ABCDEF01-0000-4000-8000-00000000000A")
	set(t, c, "bgp.md5Password", "Abcdefgh12")
	set(t, c, "bgp.asn", 65534)
	set(t, c, "elasticIps[1].quantity", 4)
	set(t, c, "calico.version", "3.26.0")
	set(t, c, "metallb.version", "0.14.9")
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	p := r.byName(t, metal.ProjectToken, "metalk8s")
	if got := input(p, "organizationId"); got != "abcdef01-0000-4000-8000-00000000000a" {
		t.Errorf("organizationId reaches the provider as %v", got)
	}
	if got := input(p, "name"); got != strings.Repeat("é", 80) {
		t.Errorf("project name %v", got)
	}
}

// TestLongValuesCutInErrors checks that a problem stays on one line of the list whatever was
// pasted into the stack file: a value is cut at its first line break and after 60 characters.
func TestLongValuesCutInErrors(t *testing.T) {
	for name, v := range map[string]string{
		"long":      strings.Repeat("x", 5000),
		"multiline": "sv\n" + strings.Repeat("pasted line\n", 50),
	} {
		t.Run(name, func(t *testing.T) {
			c := devCluster(t)
			set(t, c, "metro", v)
			r := run(t, c, runOptions{})
			if r.err == nil {
				t.Fatal("accepted")
			}
			var problem []string
			for _, l := range strings.Split(r.err.Error(), "\n") {
				if strings.Contains(l, "pasted") || strings.Contains(l, "xxxxxxxxxx") || strings.Contains(l, "metalk8s:cluster.metro") {
					problem = append(problem, l)
				}
			}
			if len(problem) != 1 {
				t.Fatalf("the value shows on %d lines, want one:\n%v", len(problem), r.err)
			}
			if n := len([]rune(problem[0])); n > 200 || !strings.Contains(problem[0], "characters)") {
				t.Errorf("problem line of %d characters, or without the value's length:\n%s", n, problem[0])
			}
		})
	}
}

// TestDevicesWithoutPublicIPv6 checks that every device is created with a public and a private
// IPv4 address and nothing else: without ipAddresses Metal adds a public IPv6 address (the
// provider's Device schema: ip_address types public_ipv4, private_ipv4, public_ipv6, sent only at
// creation, neither read back nor ForceNew, terraform-provider-equinix v4.13.0).
func TestDevicesWithoutPublicIPv6(t *testing.T) {
	r := run(t, devCluster(t), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := []any{map[string]any{"type": "private_ipv4"}, map[string]any{"type": "public_ipv4"}}
	for _, d := range r.ofType(metal.DeviceToken) {
		if got := input(d, "ipAddresses"); !reflect.DeepEqual(got, want) {
			t.Errorf("device %s ipAddresses %v, want %v", d.Name, got, want)
		}
	}
}

// TestExistingProjectBGPMismatch uses an existing project (the fake's, like Metal's default: ASN
// 65000, no password) with settings it does not have. Its real BGP state comes back in every
// node's neighbour data: the run must fail naming the node and both values, not leave sessions
// that never come up.
func TestExistingProjectBGPMismatch(t *testing.T) {
	existing := map[string]any{"id": "11111111-1111-4111-8111-111111111111"}
	cases := []struct {
		name  string
		edits []edit
		says  []string // empty: the run succeeds
	}{
		{"matching", nil, nil},
		{"another ASN", []edit{{"bgp.asn", 64600}}, []string{"node sv-controller", "local ASN 65000", "LocalASN is 64600"}},
		{"a password the project lacks", []edit{{"bgp.md5Password", "Abcdefgh12"}}, []string{"node sv-", "MD5 disabled", "MD5Password is set"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := devCluster(t)
			set(t, c, "project", existing)
			for _, e := range tc.edits {
				set(t, c, e.path, e.val)
			}
			r := run(t, c, runOptions{})
			if len(tc.says) == 0 {
				if r.err != nil {
					t.Fatal(r.err)
				}
				return
			}
			if r.err == nil {
				t.Fatal("the run succeeded although the project's BGP configuration differs")
			}
			for _, s := range tc.says {
				if !strings.Contains(r.err.Error(), s) {
					t.Errorf("error does not say %q:\n%v", s, r.err)
				}
			}
		})
	}
}

// TestPoolRangesAgainstCloudValues covers ranges only the cloud's values can refuse: a private
// range holding the nodes' own addresses (the fake's 198.51.100.0/24) and one overlapping a
// reserved block (the fake places blocks in 192.0.2.0/24). The run fails naming the pool, the
// range and the address, and the pool's IPAddressPool is never registered.
func TestPoolRangesAgainstCloudValues(t *testing.T) {
	for _, tc := range []struct {
		name, cidr string
		says       []string
	}{
		{"nodes' private addresses", "198.51.100.0/28", []string{"pool metal-private range 198.51.100.0/28", "node sv-controller's private address 198.51.100.1"}},
		// Both reserved blocks (metal-public's and metal-global's) lie in the private range, and
		// each of the three checks fails; which one the run reports first depends on which output
		// resolves first, so either block's pool may be the one named ("|" separates alternatives).
		{"a reserved block", "192.0.2.0/24", []string{"overlaps pool", "pool metal-private range 192.0.2.0/24", "pool metal-public range 192.0.2.|pool metal-global range 192.0.2."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := devCluster(t)
			set(t, c, "loadBalancer.pools[1].cidrs", []any{tc.cidr})
			r := run(t, c, runOptions{})
			if r.err == nil {
				t.Fatal("accepted")
			}
			for _, s := range tc.says {
				if !slices.ContainsFunc(strings.Split(s, "|"), func(alt string) bool { return strings.Contains(r.err.Error(), alt) }) {
					t.Errorf("error does not say %q:\n%v", s, r.err)
				}
			}
			for _, g := range r.ofType(configGroupToken) {
				if g.Name == "metalk8s-pool-metal-private" {
					t.Error("the refused pool's IPAddressPool was registered")
				}
			}
		})
	}
}

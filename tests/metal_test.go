package tests

import (
	"reflect"
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
	set(t, c, "bgp.md5Password", "s3cr3t-md5")
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	bgp := input(r.byName(t, metal.ProjectToken, "metalk8s"), "bgpConfig").(map[string]any)
	if s, ok := bgp["md5"].(secretValue); !ok || s.v != "s3cr3t-md5" {
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

package calicobgp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/template"
	"time"
)

// Fixture files under testdata/bird.
const (
	// seedFixture is the global-peers section quoted by the seed guide (Calico 3.5 era), without
	// the line the guide adds.
	seedFixture = "seed-global-peers.tmpl"
	// v331Fixture is an abbreviated Calico 3.26 … 3.31 pair of global and node-specific peer
	// sections.
	v331Fixture = "v3.31-peers.tmpl"
	// v332Fixture is an abbreviated Calico ≥ 3.32 peers section.
	v332Fixture = "v3.32-peers.tmpl"
)

// Addresses and AS numbers of the rendered test configuration (those of the seed guide).
const (
	testNodeIP  = "10.99.14.7"
	testNodeAS  = "65000"
	testTorIP   = "169.254.255.1"
	testTorAS   = "65530"
	testMetalAS = "65480"
)

// stockPassiveLine is the passive condition of the stock Calico ≥ 3.32 peer block.
const stockPassiveLine = "{{- if .Passive}}"

// fixture returns the text of testdata/bird/name.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bird", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// insertAfter returns text with line added after the only line of text equal to anchor.
func insertAfter(t *testing.T, text, anchor, line string) string {
	t.Helper()
	if strings.Count(text, anchor+"\n") != 1 {
		t.Fatalf("fixture does not hold %q exactly once", anchor)
	}
	return strings.Replace(text, anchor+"\n", anchor+"\n"+line+"\n", 1)
}

// insertBefore returns text with line added before the only line of text equal to anchor.
func insertBefore(t *testing.T, text, anchor, line string) string {
	t.Helper()
	if strings.Count(text, anchor+"\n") != 1 {
		t.Fatalf("fixture does not hold %q exactly once", anchor)
	}
	return strings.Replace(text, anchor+"\n", line+"\n"+anchor+"\n", 1)
}

// TestInsertPassiveLoopback checks the text InsertPassiveLoopback returns, or its error, for the
// template forms it knows and for texts it must refuse.
func TestInsertPassiveLoopback(t *testing.T) {
	seed := fixture(t, seedFixture)
	v331 := fixture(t, v331Fixture)
	v332 := fixture(t, v332Fixture)
	patched332 := strings.Replace(v332, stockPassiveLine, `{{- if or .Passive (eq .IP "127.0.0.1")}}`, 1)

	tests := []struct {
		name    string
		in      string
		want    string // expected output when wantErr is nil
		wantErr error
	}{
		{
			name: "seed guide section (Calico 3.5)",
			in:   seed,
			want: insertAfter(t, seed, legacyPeerAnchor, legacyPassiveLoopbackLine),
		},
		{
			name: "Calico 3.31 global and node-specific sections",
			in:   v331,
			want: insertAfter(t, insertAfter(t, v331, legacyPeerAnchor, legacyPassiveLoopbackLine),
				legacyNodePeerAnchor, legacyPassiveLoopbackLine),
		},
		{
			name: "Calico 3.31 with only the global section patched by hand",
			in:   insertAfter(t, v331, legacyPeerAnchor, guidePassiveLoopbackLine),
			want: insertAfter(t, insertAfter(t, v331, legacyPeerAnchor, guidePassiveLoopbackLine),
				legacyNodePeerAnchor, legacyPassiveLoopbackLine),
		},
		{
			name: "Calico 3.32 section",
			in:   v332,
			want: patched332,
		},
		{
			name: "Calico 3.32 section, condition spelled with spaces and no trim marker",
			in:   strings.Replace(v332, stockPassiveLine, "  {{ if  .Passive }}", 1),
			want: strings.Replace(v332, stockPassiveLine, `  {{if or .Passive (eq .IP "127.0.0.1")}}`, 1),
		},
		{
			name: "seed section with CRLF line endings",
			in:   strings.ReplaceAll(seed, "\n", "\r\n"),
			want: strings.ReplaceAll(insertAfter(t, seed, legacyPeerAnchor, legacyPassiveLoopbackLine), "\n", "\r\n"),
		},
		{
			name: "indented anchor keeps its indentation",
			in:   strings.Replace(seed, legacyPeerAnchor, "  "+legacyPeerAnchor, 1),
			want: insertAfter(t, strings.Replace(seed, legacyPeerAnchor, "  "+legacyPeerAnchor, 1),
				"  "+legacyPeerAnchor, legacyPassiveLoopbackLine),
		},
		{
			name: "guide line already added by hand is kept",
			in:   insertAfter(t, seed, legacyPeerAnchor, guidePassiveLoopbackLine),
			want: insertAfter(t, seed, legacyPeerAnchor, guidePassiveLoopbackLine),
		},
		{
			name:    "empty template",
			in:      "",
			wantErr: ErrNoGlobalPeerAnchor,
		},
		{
			name:    "no anchor (node-specific peers only)",
			in:      strings.ReplaceAll(seed, "Global_", "Node_"),
			wantErr: ErrNoGlobalPeerAnchor,
		},
		{
			name:    "legacy anchor outside a loop declaring $data",
			in:      strings.Replace(seed, "{{$data := json .Value}}", "{{$peer := json .Value}}", 1),
			wantErr: ErrNoGlobalPeerAnchor,
		},
		{
			name:    "legacy anchor on the last line",
			in:      seed[:strings.Index(seed, legacyPeerAnchor)+len(legacyPeerAnchor)],
			wantErr: ErrNoGlobalPeerAnchor,
		},
		{
			name:    "Calico 3.31 node-specific section only",
			in:      v331[strings.Index(v331, "# ------------- Node-specific peers"):],
			wantErr: ErrNoGlobalPeerAnchor,
		},
		{
			name:    "Calico 3.32 block without passive condition",
			in:      strings.Replace(strings.Replace(v332, stockPassiveLine+"\n  passive on;\n{{- end}}\n", "", 1), stockPassiveLine, "", 1),
			wantErr: ErrNoGlobalPeerAnchor,
		},
		{
			name:    "Calico 3.32 block never closed",
			in:      v332[:strings.Index(v332, "\n}\n")],
			wantErr: ErrNoGlobalPeerAnchor,
		},
		{
			name:    "legacy anchor twice",
			in:      seed + seed,
			wantErr: ErrAmbiguousGlobalPeerAnchor,
		},
		{
			name:    "Calico 3.31 node-specific anchor twice",
			in:      v331 + v331[strings.Index(v331, "# ------------- Node-specific peers"):],
			wantErr: ErrAmbiguousGlobalPeerAnchor,
		},
		{
			name:    "Calico 3.32 anchor twice",
			in:      v332 + v332,
			wantErr: ErrAmbiguousGlobalPeerAnchor,
		},
		{
			name:    "both template forms",
			in:      seed + v332,
			wantErr: ErrAmbiguousGlobalPeerAnchor,
		},
		{
			name:    "Calico 3.32 form with a Calico 3.31 node-specific section",
			in:      v332 + v331[strings.Index(v331, "# ------------- Node-specific peers"):],
			wantErr: ErrAmbiguousGlobalPeerAnchor,
		},
		{
			name:    "anchor also inside a comment line",
			in:      seed + "# was: " + legacyPeerAnchor + "\n",
			wantErr: ErrAmbiguousGlobalPeerAnchor,
		},
		{
			name:    "Calico 3.32 block with two passive conditions",
			in:      strings.Replace(v332, stockPassiveLine, stockPassiveLine+"\n  passive on;\n{{- end}}\n"+stockPassiveLine, 1),
			wantErr: ErrAmbiguousGlobalPeerAnchor,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := InsertPassiveLoopback(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want one wrapping %v", err, tc.wantErr)
				}
				if err.Error() == tc.wantErr.Error() {
					t.Errorf("error %q carries no context", err)
				}
				if got != "" {
					t.Errorf("returned text along with the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestInsertPassiveLoopbackIdempotent checks that patching a patched template changes nothing.
func TestInsertPassiveLoopbackIdempotent(t *testing.T) {
	for name, rules := range map[string]int{seedFixture: 1, v331Fixture: 2, v332Fixture: 1} {
		t.Run(name, func(t *testing.T) {
			stock := fixture(t, name)
			once, err := InsertPassiveLoopback(stock)
			if err != nil {
				t.Fatal(err)
			}
			if once == stock {
				t.Fatal("first application changed nothing")
			}
			twice, err := InsertPassiveLoopback(once)
			if err != nil {
				t.Fatal(err)
			}
			if twice != once {
				t.Errorf("second application changed the template:\n%s", twice)
			}
			if n := strings.Count(twice, `"`+LoopbackPeerIP+`"`); n != rules {
				t.Errorf("the loopback rule appears %d times, want %d", n, rules)
			}
		})
	}
}

// kvPair is one entry returned by the emulated confd function gets.
type kvPair struct {
	// Key is the full key, e.g. /global/peer_v4/127.0.0.1.
	Key string
	// Value is the stored value, a JSON document for peers.
	Value string
}

// confdStore emulates the key/value store behind the confd template functions of calico-node
// (kelseyhightower/memkv), for keys without a trailing slash.
type confdStore map[string]string

// ls returns the sorted names of the direct children of dir.
func (s confdStore) ls(dir string) []string {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	seen := map[string]bool{}
	for k := range s {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			seen[strings.SplitN(rest, "/", 2)[0]] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// gets returns the entries whose key matches pattern (path.Match syntax), sorted by key.
func (s confdStore) gets(pattern string) ([]kvPair, error) {
	var out []kvPair
	for k, v := range s {
		ok, err := path.Match(pattern, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, kvPair{Key: k, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// getv returns the value of key, or the optional default when the key is absent.
func (s confdStore) getv(key string, def ...string) (string, error) {
	if v, ok := s[key]; ok {
		return v, nil
	}
	if len(def) > 0 {
		return def[0], nil
	}
	return "", fmt.Errorf("key does not exist: %s", key)
}

// peer332 mirrors the fields of Calico 3.32's BirdBGPPeer (confd/pkg/backends/types) that the
// v3.32 fixture uses.
type peer332 struct {
	// Name is the BIRD protocol name, e.g. Global_127_0_0_1.
	Name string
	// IP is the peer address.
	IP string
	// Port is the peer's BGP port, empty for 179.
	Port string
	// ASNumber is the peer's AS number.
	ASNumber string
	// TTLSecurity is "off" or the multihop setting.
	TTLSecurity string
	// SourceAddr is the local address of the session, if set.
	SourceAddr string
	// Passive is Calico's own decision to wait for the peer.
	Passive bool
	// GracefulRestart is the graceful restart time, if set.
	GracefulRestart string
}

// config332 mirrors the part of Calico 3.32's BirdBGPConfig the v3.32 fixture uses.
type config332 struct {
	// Peers are the BGP peers of the node.
	Peers []peer332
}

// legacyPeerJSON returns the JSON confd stores for a global peer in Calico ≤ 3.31.
func legacyPeerJSON(t *testing.T, ip, as string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"ip": ip, "as_num": as, "local_as_num": "0", "rr_cluster_id": "", "password": nil,
		"source_addr": "UseNodeIP", "port": 0, "keep_next_hop": false, "restart_time": "",
		"calico_node": false, "num_allow_local_as": 0, "ttl_security": 0, "reachable_by": "",
		"filters": nil, "passive_mode": false, "local_bgp_peer": false, "next_hop_mode": "",
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testNodeName is the NODENAME of the rendered configuration.
const testNodeName = "node-1"

// loopbackProtocol returns the BIRD protocol name of the 127.0.0.1 peer: Node_… when its BGPPeer
// selects nodes (confd then files it under the node), Global_… otherwise.
func loopbackProtocol(nodeSpecific bool) string {
	if nodeSpecific {
		return "Node_127_0_0_1"
	}
	return "Global_127_0_0_1"
}

// torProtocol is the BIRD protocol name of the top-of-rack peer, a global peer.
const torProtocol = "Global_169_254_255_1"

// testStore returns the confd data of the test node, its keys under prefix ("" for the seed
// guide's Calico, "/bgp/v1" for Calico ≥ 3.26), with two peers: MetalLB's speaker on 127.0.0.1,
// global or specific to the node, and the top-of-rack router, global.
func testStore(t *testing.T, prefix string, loopbackNodeSpecific bool) confdStore {
	loopbackKey := prefix + "/global/peer_v4/" + LoopbackPeerIP
	if loopbackNodeSpecific {
		loopbackKey = prefix + "/host/" + testNodeName + "/peer_v4/" + LoopbackPeerIP
	}
	return confdStore{
		prefix + "/host/" + testNodeName + "/ip_addr_v4": testNodeIP,
		prefix + "/global/as_num":                        testNodeAS,
		loopbackKey:                                      legacyPeerJSON(t, LoopbackPeerIP, testMetalAS),
		prefix + "/global/peer_v4/" + testTorIP:          legacyPeerJSON(t, testTorIP, testTorAS),
	}
}

// testFuncs returns the confd functions the fixtures use, served from store, plus getBGPConfig
// of Calico ≥ 3.32 returning the same two peers as Go values.
func testFuncs(store confdStore, loopbackNodeSpecific bool) template.FuncMap {
	return template.FuncMap{
		"getenv": func(key string, def ...string) string {
			if key == "NODENAME" {
				return testNodeName
			}
			if len(def) > 0 {
				return def[0]
			}
			return ""
		},
		"ls":   store.ls,
		"gets": store.gets,
		"getv": store.getv,
		"json": func(s string) (map[string]any, error) {
			var m map[string]any
			err := json.Unmarshal([]byte(s), &m)
			return m, err
		},
		"split": strings.Split,
		"join":  strings.Join,
		"getBGPConfig": func(ipVersion int, _ any) (config332, error) {
			if ipVersion != 4 {
				return config332{}, fmt.Errorf("unexpected IP version %d", ipVersion)
			}
			return config332{Peers: []peer332{
				{Name: loopbackProtocol(loopbackNodeSpecific), IP: LoopbackPeerIP, ASNumber: testMetalAS, TTLSecurity: "off", SourceAddr: testNodeIP},
				{Name: torProtocol, IP: testTorIP, ASNumber: testTorAS, TTLSecurity: "off", SourceAddr: testNodeIP},
			}}, nil
		},
	}
}

// birdHeader returns the template text put before a peers section: the confd variables the
// legacy sections use (as the stock template defines them, read from keys under prefix) and a
// minimal complete BIRD 1.6 configuration with the bgp_template the peers inherit from.
func birdHeader(prefix string) string {
	return `{{- $node_ip := getv "` + prefix + `/host/` + testNodeName + `/ip_addr_v4"}}
{{- $node_as_num := getv "` + prefix + `/global/as_num"}}
{{- $node_cluster_id := getv "` + prefix + `/host/` + testNodeName + `/rr_cluster_id" ""}}
# Minimal BIRD 1.6 configuration around a rendered peers section (metalk8s calicobgp tests).
router id {{$node_ip}};

protocol device {
  scan time 2;
}

template bgp bgp_template {
  description "Connection to BGP peer";
  local as {{$node_as_num}};
  multihop;
  gateway recursive;
  import all;
  export none;
  graceful restart;
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}

`
}

// render executes birdHeader(prefix)+section as confd would, with the data of testStore.
func render(t *testing.T, section, prefix string, loopbackNodeSpecific bool) (string, error) {
	t.Helper()
	funcs := testFuncs(testStore(t, prefix, loopbackNodeSpecific), loopbackNodeSpecific)
	tmpl, err := template.New("bird.cfg").Funcs(funcs).Parse(birdHeader(prefix) + section)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, nil); err != nil {
		return "", err
	}
	return b.String(), nil
}

// birdPath returns the BIRD 1.6 daemon. Without it the test is skipped on a developer's machine
// and fails in CI (CI=true), where scripts/test.sh installs the Debian package bird.
func birdPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("bird"); err == nil {
		return p
	}
	// Debian installs it in /usr/sbin, which is not on every user's PATH.
	if p, err := exec.LookPath("/usr/sbin/bird"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("bird (BIRD 1.6, Debian package bird) is required in CI: scripts/test.sh installs it")
	}
	t.Skip("bird not installed (Debian package bird; bash scripts/test.sh installs it)")
	return ""
}

// birdParse runs `bird -p -c` on conf and returns its output and whether BIRD accepted it.
func birdParse(t *testing.T, bird, conf string) (string, bool) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "bird.cfg")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bird, "-p", "-c", file).CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("running %s: %v", bird, err)
		}
		return string(out), false
	}
	return string(out), true
}

// numbered returns text with line numbers, to read BIRD's line:column errors against.
func numbered(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = fmt.Sprintf("%4d  %s", i+1, l)
	}
	return strings.Join(lines, "\n")
}

// bgpProtocolStart matches the head of a BIRD `protocol bgp NAME ... {` block.
var bgpProtocolStart = regexp.MustCompile(`(?m)^[ \t]*protocol[ \t]+bgp[ \t]+(\w+)[^{\n]*\{`)

// passiveOn matches a `passive on;` statement that starts a line (so not in a comment).
var passiveOn = regexp.MustCompile(`(?m)^[ \t]*passive[ \t]+on[ \t]*;`)

// bgpProtocols returns the body of every `protocol bgp` block of a BIRD configuration, by
// protocol name, following nested braces and skipping `#` comments and quoted strings.
func bgpProtocols(t *testing.T, conf string) map[string]string {
	t.Helper()
	blocks := map[string]string{}
	for _, m := range bgpProtocolStart.FindAllStringSubmatchIndex(conf, -1) {
		name := conf[m[2]:m[3]]
		start, depth, end := m[1], 1, -1
		for i := start; i < len(conf) && end < 0; i++ {
			switch conf[i] {
			case '#':
				for i < len(conf) && conf[i] != '\n' {
					i++
				}
			case '"':
				for i++; i < len(conf) && conf[i] != '"'; i++ {
				}
			case '{':
				depth++
			case '}':
				if depth--; depth == 0 {
					end = i
				}
			}
		}
		if end < 0 {
			t.Fatalf("protocol %s is not closed", name)
		}
		if _, dup := blocks[name]; dup {
			t.Fatalf("protocol %s defined twice", name)
		}
		blocks[name] = conf[start:end]
	}
	return blocks
}

// TestPatchedTemplateParsesWithBIRD renders each patched fixture as confd would for the two
// peers of testStore, runs the real BIRD 1.6 parser on the result, and checks that the 127.0.0.1
// protocol, and only it, is passive. The unpatched sections are the control: they parse too,
// with no passive protocol.
func TestPatchedTemplateParsesWithBIRD(t *testing.T) {
	bird := birdPath(t)
	tests := []struct {
		name         string
		fixture      string
		prefix       string // confd key prefix of the template version
		nodeSpecific bool   // the 127.0.0.1 BGPPeer has a nodeSelector
		patch        bool
	}{
		{name: "seed guide section", fixture: seedFixture, patch: true},
		{name: "Calico 3.31, global MetalLB peer", fixture: v331Fixture, prefix: "/bgp/v1", patch: true},
		{name: "Calico 3.31, node-specific MetalLB peer", fixture: v331Fixture, prefix: "/bgp/v1", nodeSpecific: true, patch: true},
		{name: "Calico 3.32, global MetalLB peer", fixture: v332Fixture, patch: true},
		{name: "Calico 3.32, node-specific MetalLB peer", fixture: v332Fixture, nodeSpecific: true, patch: true},
		{name: "unpatched seed section (control)", fixture: seedFixture},
		{name: "unpatched Calico 3.31 (control)", fixture: v331Fixture, prefix: "/bgp/v1", nodeSpecific: true},
		{name: "unpatched Calico 3.32 (control)", fixture: v332Fixture},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			section := fixture(t, tc.fixture)
			if tc.patch {
				var err error
				if section, err = InsertPassiveLoopback(section); err != nil {
					t.Fatal(err)
				}
			}
			conf, err := render(t, section, tc.prefix, tc.nodeSpecific)
			if err != nil {
				t.Fatalf("rendering: %v", err)
			}
			if out, ok := birdParse(t, bird, conf); !ok {
				t.Fatalf("bird -p rejected the rendered configuration: %s\n%s", out, numbered(conf))
			}

			blocks := bgpProtocols(t, conf)
			loopback, tor := loopbackProtocol(tc.nodeSpecific), torProtocol
			if len(blocks) != 2 || blocks[loopback] == "" || blocks[tor] == "" {
				t.Fatalf("want exactly protocols %s and %s, got %d:\n%s", loopback, tor, len(blocks), conf)
			}
			if !strings.Contains(blocks[loopback], "neighbor "+LoopbackPeerIP+" ") ||
				!strings.Contains(blocks[tor], "neighbor "+testTorIP+" ") {
				t.Fatalf("protocols do not hold their neighbours:\n%s", conf)
			}
			wantLoopback := 0
			if tc.patch {
				wantLoopback = 1
			}
			if n := len(passiveOn.FindAllString(blocks[loopback], -1)); n != wantLoopback {
				t.Errorf("%s has %d `passive on;`, want %d:\n%s", loopback, n, wantLoopback, conf)
			}
			if n := len(passiveOn.FindAllString(blocks[tor], -1)); n != 0 {
				t.Errorf("%s has %d `passive on;`, want 0:\n%s", tor, n, conf)
			}
			if n := len(passiveOn.FindAllString(conf, -1)); n != wantLoopback {
				t.Errorf("configuration has %d `passive on;` in all, want %d:\n%s", n, wantLoopback, conf)
			}
		})
	}
}

// TestBIRDRejectsBrokenInsertion shows that the BIRD check above has teeth: insertions that
// render fine as templates but are wrong for BIRD make `bird -p` fail.
func TestBIRDRejectsBrokenInsertion(t *testing.T) {
	bird := birdPath(t)
	seed := fixture(t, seedFixture)
	v331 := fixture(t, v331Fixture)
	v332 := fixture(t, v332Fixture)
	noSemicolon := `{{if eq $data.ip "127.0.0.1"}}  passive on{{end}}`

	tests := []struct {
		name    string
		section string
		prefix  string
	}{
		{
			name:    "seed: passive on without semicolon",
			section: insertAfter(t, seed, legacyPeerAnchor, noSemicolon),
		},
		{
			name:    "seed: rule outside the protocol block",
			section: insertBefore(t, seed, legacyPeerAnchor, legacyPassiveLoopbackLine),
		},
		{
			name:    "Calico 3.31: passive on without semicolon",
			section: insertAfter(t, v331, legacyPeerAnchor, noSemicolon),
			prefix:  "/bgp/v1",
		},
		{
			name: "Calico 3.32: passive on without semicolon",
			section: strings.Replace(v332, stockPassiveLine+"\n  passive on;",
				`{{- if or .Passive (eq .IP "127.0.0.1")}}`+"\n  passive on", 1),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf, err := render(t, tc.section, tc.prefix, false)
			if err != nil {
				t.Fatalf("rendering: %v", err)
			}
			if !passiveOn.MatchString(conf) && !strings.Contains(conf, "passive on") {
				t.Fatalf("the broken rule was not rendered:\n%s", conf)
			}
			out, ok := birdParse(t, bird, conf)
			if ok {
				t.Fatalf("bird -p accepted the broken configuration:\n%s", numbered(conf))
			}
			if !strings.Contains(out, "syntax error") {
				t.Errorf("bird -p failed, but not with a syntax error: %s", out)
			}
		})
	}
}

package tests

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/config"
)

// edit is one change to the dev stack: set path to val (nil deletes the key).
type edit struct {
	// path is a dotted path such as workers.count or elasticIps[0].type (see set).
	path string
	// val is the value written there.
	val any
}

// invalidMoreCase is one invalid configuration: the dev stack with edits applied, or raw JSON.
type invalidMoreCase struct {
	// name describes the case.
	name string
	// edits change the dev stack; ignored when raw is set.
	edits []edit
	// raw, when set, is the whole metalk8s:cluster value; it may use the token DEV, which stands
	// for the dev stack's JSON.
	raw string
	// keys are every key the error names, exactly, relative to metalk8s:cluster; "" is the
	// object itself.
	keys []string
}

// problemLine matches one problem of config.Errors as the error text lists it: its key, then
// " = value: detail" or ": detail".
var problemLine = regexp.MustCompile(`(?m)^  - (\S+?)(?: = .*?)?: (.*)$`)

// problems returns the key and the detail of every problem an error lists, in order.
func problems(err error) (keys, details []string) {
	for _, m := range problemLine.FindAllStringSubmatch(err.Error(), -1) {
		keys = append(keys, m[1])
		details = append(details, m[2])
	}
	return keys, details
}

// emptyExpectation matches a detail that fails to say what is expected ("must be , not string").
var emptyExpectation = regexp.MustCompile(`must be\s*,`)

// invalidMoreCases are invalid configurations beyond those of TestInvalidConfigurations: broken
// JSON, wrong types, ranges, overlapping LoadBalancer ranges, ASN clashes, pools and the ingress,
// component versions and more.
func invalidMoreCases() []invalidMoreCase {
	pool := func(name string, cidrs ...any) map[string]any {
		return map[string]any{"name": name, "cidrs": cidrs}
	}
	return []invalidMoreCase{
		// Syntax.
		{name: "JSON truncated", raw: "DEV[:40]", keys: []string{""}},
		{name: "JSON trailing comma", raw: `{"metro":"sv",}`, keys: []string{""}},
		{name: "JSON single quotes", raw: `{'metro':'sv'}`, keys: []string{""}},
		{name: "JSON two objects", raw: "DEV DEV", keys: []string{""}},
		{name: "duplicate key metro", raw: `{"metro":"da",DEV[1:]`, keys: []string{"metro"}},
		// Types.
		{name: "bgp.asn a string", edits: []edit{{"bgp.asn", "65000"}}, keys: []string{"bgp.asn"}},
		{name: "bgp.asn fractional", edits: []edit{{"bgp.asn", 65000.5}}, keys: []string{"bgp.asn"}},
		{name: "metallb.asn a string", edits: []edit{{"metallb.asn", "65480"}}, keys: []string{"metallb.asn"}},
		{name: "apiPort a string", edits: []edit{{"kubernetes.apiPort", "6443"}}, keys: []string{"kubernetes.apiPort"}},
		{name: "elasticIps an object", edits: []edit{{"elasticIps", map[string]any{"name": "public"}}}, keys: []string{"elasticIps"}},
		{name: "autoAssign a string", edits: []edit{{"loadBalancer.pools[1].autoAssign", "no"}}, keys: []string{"loadBalancer.pools.autoAssign"}},
		{name: "ingress.enabled a string", edits: []edit{{"ingress.enabled", "true"}}, keys: []string{"ingress.enabled"}},
		{name: "privateOnly a string", edits: []edit{{"apiServer.privateOnly", "yes"}}, keys: []string{"apiServer.privateOnly"}},
		{name: "allowedCidrs a string", edits: []edit{{"apiServer.allowedCidrs", "198.51.100.7/32"}}, keys: []string{"apiServer.allowedCidrs"}},
		{name: "pools an object", edits: []edit{{"loadBalancer.pools", pool("x", "10.99.111.0/24")}}, keys: []string{"loadBalancer.pools"}},
		{name: "unknown key in a pool", edits: []edit{{"loadBalancer.pools[0].autoassign", true}}, keys: []string{"loadBalancer.pools[0].autoassign"}},
		// Ranges.
		{name: "metallb.asn public", edits: []edit{{"metallb.asn", 3356}}, keys: []string{"metallb.asn"}},
		{name: "bgp.asn just below 32-bit private", edits: []edit{{"bgp.asn", 4199999999}}, keys: []string{"bgp.asn"}},
		{name: "apiPort negative", edits: []edit{{"kubernetes.apiPort", -1}}, keys: []string{"kubernetes.apiPort"}},
		{name: "apiPort is BGP", edits: []edit{{"kubernetes.apiPort", 179}}, keys: []string{"kubernetes.apiPort"}},
		// A NodePort equal to the API port would take the API server's traffic on the controller's
		// private address (kube-proxy serves NodePorts there), cutting every kubelet off.
		{name: "apiPort in the NodePort range", edits: []edit{{"kubernetes.apiPort", 30443}}, keys: []string{"kubernetes.apiPort"}},
		{name: "quantity above a /24", edits: []edit{{"elasticIps[0].quantity", 512}}, keys: []string{"elasticIps[0].quantity"}},
		{name: "MD5 not ASCII", edits: []edit{{"bgp.md5Password", "pässwörd"}}, keys: []string{"bgp.md5Password"}},
		{name: "DNS IP IPv6", edits: []edit{{"kubernetes.dnsServiceIp", "fd00::10"}}, keys: []string{"kubernetes.dnsServiceIp"}},
		{name: "DNS domain trailing dot", edits: []edit{{"kubernetes.dnsDomain", "cluster.local."}}, keys: []string{"kubernetes.dnsDomain"}},
		// CIDR overlaps.
		{name: "pool overlaps pods", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"172.16.5.0/24"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool overlaps services", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"192.168.10.0/24"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool contains the services", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"192.0.0.0/8"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]", "loadBalancer.pools[1].cidrs[0]"}}, // and the metadata service
		{name: "pools overlap each other", edits: []edit{{"loadBalancer.pools[3]", pool("more", "10.99.110.192/26")}}, keys: []string{"loadBalancer.pools[3].cidrs[0]"}},
		{name: "one pool's ranges overlap", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"10.99.110.128/25", "10.99.110.0/24"}}}, keys: []string{"loadBalancer.pools[1].cidrs[1]"}},
		{name: "pool on the link-local routers", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"169.254.255.0/24"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool on loopback", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"127.0.0.0/24"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool around the link-local routers", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"169.0.0.0/8"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool around loopback", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"126.0.0.0/7"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool of multicast addresses", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"224.0.0.0/24"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool CIDR malformed", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"10.99.110.128"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool CIDR host bits", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"10.99.110.129/25"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		// ASN clashes.
		{name: "metallb.asn equals bgp.asn", edits: []edit{{"metallb.asn", 65000}}, keys: []string{"metallb.asn"}},
		{name: "metallb.asn is the routers'", edits: []edit{{"metallb.asn", 65530}}, keys: []string{"metallb.asn"}},
		{name: "bgp.asn moved onto metallb.asn", edits: []edit{{"bgp.asn", 65480}}, keys: []string{"metallb.asn"}},
		// Pools and the ingress.
		{name: "duplicate pool names", edits: []edit{{"loadBalancer.pools[1].name", "metal-public"}}, keys: []string{"loadBalancer.pools[1].name"}},
		{name: "pool name upper case", edits: []edit{{"loadBalancer.pools[1].name", "Metal-Private"}}, keys: []string{"loadBalancer.pools[1].name"}},
		{name: "unknown loadBalancer.mode", edits: []edit{{"loadBalancer.mode", "bgp"}}, keys: []string{"loadBalancer.mode"}},
		{name: "pool with elasticIp and cidrs", edits: []edit{{"loadBalancer.pools[0].cidrs", []any{"10.99.111.0/24"}}}, keys: []string{"loadBalancer.pools[0]"}},
		{name: "pool with neither", edits: []edit{{"loadBalancer.pools[1].cidrs", nil}}, keys: []string{"loadBalancer.pools[1]"}},
		{name: "pool names an unknown block", edits: []edit{{"loadBalancer.pools[0].elasticIp", "publik"}}, keys: []string{"loadBalancer.pools[0].elasticIp"}},
		{name: "two pools on one block", edits: []edit{{"loadBalancer.pools[2].elasticIp", "public"}}, keys: []string{"loadBalancer.pools[2].elasticIp"}},
		{name: "ingress.pool unknown", edits: []edit{{"ingress.pool", "metal-publik"}}, keys: []string{"ingress.pool"}},
		{name: "ingress enabled without pool", edits: []edit{{"ingress.pool", nil}}, keys: []string{"ingress.pool"}},
		{name: "ingress disabled, pool unknown", edits: []edit{{"ingress.enabled", false}, {"ingress.pool", "none"}}, keys: []string{"ingress.pool"}},
		{name: "block renamed under its pool", edits: []edit{{"elasticIps[0].name", "public-v4"}}, keys: []string{"loadBalancer.pools[0].elasticIp"}},
		// Component versions.
		{name: "calico.version 3.32.0", edits: []edit{{"calico.version", "3.32.0"}}, keys: []string{"calico.version"}},
		{name: "calico.version with v", edits: []edit{{"calico.version", "v3.31.7"}}, keys: []string{"calico.version"}},
		{name: "calico.version 4.0.0", edits: []edit{{"calico.version", "4.0.0"}}, keys: []string{"calico.version"}},
		{name: "metallb.version minor only", edits: []edit{{"metallb.version", "0.16"}}, keys: []string{"metallb.version"}},
		{name: "metallb.version with v", edits: []edit{{"metallb.version", "v0.16.2"}}, keys: []string{"metallb.version"}},
		// Project, machines, API server.
		{name: "project.id not a UUID", edits: []edit{{"project", map[string]any{"id": "my-project"}}}, keys: []string{"project.id"}},
		{name: "project.name padded", edits: []edit{{"project.name", " k8s-bgp"}}, keys: []string{"project.name"}},
		{name: "workers.plan not a slug", edits: []edit{{"workers.plan", "c3.small x86"}}, keys: []string{"workers.plan"}},
		{name: "API server both set, privateOnly first", edits: []edit{{"apiServer", map[string]any{"privateOnly": true, "allowedCidrs": []any{"203.0.113.0/24"}}}}, keys: []string{"apiServer"}},
		{name: "allowed CIDR host bits", edits: []edit{{"apiServer.allowedCidrs", []any{"198.51.100.7/24"}}}, keys: []string{"apiServer.allowedCidrs[0]"}},
		{name: "elastic block name empty", edits: []edit{{"elasticIps[1].name", ""}}, keys: []string{"elasticIps[1].name", "loadBalancer.pools[2].elasticIp"}},
		// Equinix Metal's API rules (FACTS.md, read in the provider and its API client). The
		// provider decodes customer_as/peer_as as 32-bit signed integers: 4-byte ASNs break the
		// neighbour read after the devices exist.
		{name: "bgp.asn 4-byte private", edits: []edit{{"bgp.asn", 4200000000}}, keys: []string{"bgp.asn"}},
		{name: "bgp.asn last 4-byte private", edits: []edit{{"bgp.asn", 4294967294}}, keys: []string{"bgp.asn"}},
		// Metal's MD5 password: 10-20 letters and digits, one lower-case, one upper-case, one digit.
		{name: "MD5 nine characters", edits: []edit{{"bgp.md5Password", "Abcdefg12"}}, keys: []string{"bgp.md5Password"}},
		{name: "MD5 21 characters", edits: []edit{{"bgp.md5Password", "Abcdefghij1234567890x"}}, keys: []string{"bgp.md5Password"}},
		{name: "MD5 without upper case", edits: []edit{{"bgp.md5Password", "abcdefgh12"}}, keys: []string{"bgp.md5Password"}},
		{name: "MD5 without lower case", edits: []edit{{"bgp.md5Password", "ABCDEFGH12"}}, keys: []string{"bgp.md5Password"}},
		{name: "MD5 without a digit", edits: []edit{{"bgp.md5Password", "Abcdefghij"}}, keys: []string{"bgp.md5Password"}},
		{name: "MD5 with a symbol", edits: []edit{{"bgp.md5Password", "Abcdefg12!"}}, keys: []string{"bgp.md5Password"}},
		{name: "MD5 with a space", edits: []edit{{"bgp.md5Password", "Abcd efg12"}}, keys: []string{"bgp.md5Password"}},
		// global_ipv4 blocks hold 1, 2 or 4 addresses.
		{name: "global block of 8", edits: []edit{{"elasticIps[1].quantity", 8}}, keys: []string{"elasticIps[1].quantity"}},
		// LoadBalancer ranges that are not free for services.
		{name: "pool holds the metadata service", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"192.80.8.0/24"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool is the metadata service", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"192.80.8.124/32"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		// Exact releases without leading zeros, no older than the objects the program creates.
		{name: "calico.version leading zero", edits: []edit{{"calico.version", "3.031.7"}}, keys: []string{"calico.version"}},
		{name: "calico.version patch leading zero", edits: []edit{{"calico.version", "3.31.07"}}, keys: []string{"calico.version"}},
		{name: "calico.version before BGPFilter", edits: []edit{{"calico.version", "3.25.2"}}, keys: []string{"calico.version"}},
		{name: "calico.version before reachableBy", edits: []edit{{"calico.version", "3.24.6"}}, keys: []string{"calico.version"}},
		{name: "metallb.version leading zero", edits: []edit{{"metallb.version", "0.16.02"}}, keys: []string{"metallb.version"}},
		{name: "metallb.version before the metallb.io annotations", edits: []edit{{"metallb.version", "0.14.8"}}, keys: []string{"metallb.version"}},
		{name: "metallb.version before the CRDs", edits: []edit{{"metallb.version", "0.12.1"}}, keys: []string{"metallb.version"}},
		{name: "kubernetes.version leading zero", edits: []edit{{"kubernetes.version", "1.037.2"}}, keys: []string{"kubernetes.version"}},
		{name: "kubernetes.version patch leading zero", edits: []edit{{"kubernetes.version", "1.37.02"}}, keys: []string{"kubernetes.version"}},
		// Names count characters: 81 two-byte characters are too many, 80 are not (TestLimitsInCharacters).
		{name: "project.name 81 characters", edits: []edit{{"project.name", strings.Repeat("é", 81)}}, keys: []string{"project.name"}},
		{name: "organizationId upper-case, not a UUID", edits: []edit{{"project.organizationId", "ABCDEFGH-0000-4000-8000-000000000000"}}, keys: []string{"project.organizationId"}},
	}
}

// devJSON is the dev stack's metalk8s:cluster value as JSON.
func devJSON(t testing.TB) string {
	t.Helper()
	b, err := json.Marshal(devCluster(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rawOf expands the DEV token of a raw case: DEV is the dev stack's JSON, DEV[:n] its first n
// bytes and DEV[1:] all but its first byte.
func rawOf(t testing.TB, raw string) string {
	dev := devJSON(t)
	raw = strings.ReplaceAll(raw, "DEV[:40]", dev[:40])
	raw = strings.ReplaceAll(raw, "DEV[1:]", dev[1:])
	return strings.ReplaceAll(raw, "DEV", dev)
}

// TestInvalidMoreConfigurations runs the program with each invalid configuration: it must fail,
// list exactly the expected keys (each as metalk8s:cluster.<key>), say for every problem what is
// expected, and register no resource at all. Together with TestInvalidConfigurations it covers
// more than 40 distinct invalid configurations (TestInvalidTableSize).
func TestInvalidMoreConfigurations(t *testing.T) {
	for _, tc := range invalidMoreCases() {
		t.Run(tc.name, func(t *testing.T) {
			var r *result
			if tc.raw != "" {
				r = runRaw(t, rawOf(t, tc.raw), runOptions{})
			} else {
				c := devCluster(t)
				for _, e := range tc.edits {
					set(t, c, e.path, e.val)
				}
				r = run(t, c, runOptions{})
			}
			if r.err == nil {
				t.Fatalf("accepted")
			}
			var want []string
			for _, k := range tc.keys {
				full := config.Key
				if k != "" {
					full += "." + k
				}
				want = append(want, full)
			}
			keys, details := problems(r.err)
			sort.Strings(keys)
			sort.Strings(want)
			if !reflect.DeepEqual(keys, want) {
				t.Errorf("keys %q, want %q; error:\n%v", keys, want, r.err)
			}
			for i, d := range details {
				if strings.TrimSpace(d) == "" || emptyExpectation.MatchString(d) {
					t.Errorf("problem %d does not say what is expected: %q", i, d)
				}
			}
			if n := len(r.cloud.Resources()); n != 0 {
				t.Errorf("%d resources registered for an invalid configuration", n)
			}
		})
	}
}

// existingInvalidCases reads the table of TestInvalidConfigurations (tests/invalid_test.go) and
// returns an identifier per case: its path and value as written there, the value in JSON where
// it is a plain literal.
func existingInvalidCases(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "invalid_test.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("invalid_test.go")
	if err != nil {
		t.Fatal(err)
	}
	text := func(n ast.Node) string {
		return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
	}
	var ids []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "TestInvalidConfigurations" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if ids != nil {
				return false
			}
			table, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if _, isSlice := table.Type.(*ast.ArrayType); !isSlice {
				return true
			}
			for _, e := range table.Elts {
				fields := e.(*ast.CompositeLit).Elts
				path, val := strings.Trim(text(fields[1]), `"`), text(fields[2])
				if val == "nil" {
					val = "null"
				}
				ids = append(ids, "|"+path+"="+val)
			}
			return false
		})
	}
	return ids
}

// TestInvalidTableSize counts the distinct invalid configurations of both tables: at least 40,
// none repeated (the same edits, or the same raw value).
func TestInvalidTableSize(t *testing.T) {
	existing := existingInvalidCases(t)
	seen := map[string]string{}
	for i, id := range existing {
		seen[id] = "TestInvalidConfigurations case " + itoa(i)
	}
	if len(seen) != len(existing) || len(existing) < 20 {
		t.Errorf("TestInvalidConfigurations: %d cases, %d distinct", len(existing), len(seen))
	}
	for _, tc := range invalidMoreCases() {
		id := tc.raw
		if id == "" {
			for _, e := range tc.edits {
				id += "|" + e.path + "=" + mustJSON(t, e.val)
			}
		}
		if other, ok := seen[id]; ok {
			t.Errorf("%q repeats %s", tc.name, other)
		}
		seen[id] = tc.name
	}
	if len(seen) < 40 {
		t.Errorf("%d distinct invalid configurations, want at least 40", len(seen))
	}
	t.Logf("%d distinct invalid configurations: %d in TestInvalidConfigurations, %d in TestInvalidMoreConfigurations",
		len(seen), len(existing), len(invalidMoreCases()))
}

// mustJSON is v as JSON.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// speakerLabel is the node label MetalLB's speakers and Calico's 127.0.0.1 peer select in the
// bird-local-peer mode, as kubeadm registers it (node-labels).
const speakerLabel = "metalk8s.io/metallb-speaker=true"

// TestBirdLocalPeerNeedsASpeaker covers the one-node cluster in the bird-local-peer mode. Speakers
// run only on nodes with the speaker label, which only workers get: without workers no speaker
// runs and no LoadBalancer address is ever announced, while the deployment succeeds. The
// configuration must either be rejected, naming loadBalancer.mode or workers.count, before any
// resource exists, or deploy a node that runs a speaker.
func TestBirdLocalPeerNeedsASpeaker(t *testing.T) {
	for _, workers := range []int{1, 0} {
		t.Run(itoa(workers)+" workers", func(t *testing.T) {
			c := devCluster(t)
			set(t, c, "loadBalancer.mode", "bird-local-peer")
			set(t, c, "workers.count", workers)
			r := run(t, c, runOptions{})
			if r.err != nil {
				keys, _ := problems(r.err)
				if !contains(keys, config.Key+".loadBalancer.mode") && !contains(keys, config.Key+".workers.count") {
					t.Errorf("rejected without naming loadBalancer.mode or workers.count: %v", r.err)
				}
				if n := len(r.cloud.Resources()); n != 0 {
					t.Errorf("%d resources registered for a rejected configuration", n)
				}
				return
			}
			labelled := 0
			for _, cmd := range r.ofType(commandToken) {
				if !strings.HasSuffix(cmd.Name, "-init") && !strings.HasSuffix(cmd.Name, "-join") {
					continue
				}
				if strings.Contains(stdin(t, r, cmd.Name), speakerLabel) {
					labelled++
				}
			}
			if labelled == 0 {
				t.Errorf("accepted with %d workers, but no node registers with %s: no MetalLB speaker runs, no LoadBalancer address is announced", workers, speakerLabel)
			}
		})
	}
}

package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/config"
)

// maxFuzzWorkers bounds the clusters FuzzProgram runs: a valid worker count goes up to 1000, and
// a run of that size takes seconds, which would starve the fuzzer. Larger counts are skipped;
// every size shares one code path per worker.
const maxFuzzWorkers = 6

// programSeeds are the seed corpus of FuzzProgram: the dev stack and variants of it that reach
// the other branches of the program (the other mode, no workers, a private API server, given
// secrets, an existing project, no pools, private pools only, a global pool for the ingress).
func programSeeds(t testing.TB) []string {
	t.Helper()
	variants := [][]edit{
		nil,
		{{"loadBalancer.mode", "bird-local-peer"}},
		{{"workers.count", 0}},
		{{"apiServer", map[string]any{"privateOnly": true}}},
		{{"bgp.md5Password", "FuzzMd5Seed1"}, {"ssh.privateKey", testKey}},
		{{"project", map[string]any{"id": "11111111-1111-4111-8111-111111111111"}}},
		{{"loadBalancer.pools", nil}, {"ingress", nil}, {"elasticIps", nil}},
		{{"loadBalancer", map[string]any{"mode": "bird-local-peer", "pools": []any{
			map[string]any{"name": "a", "cidrs": []any{"10.1.0.0/24", "10.2.0.0/25"}, "autoAssign": false},
		}}}, {"ingress", map[string]any{"enabled": true, "pool": "a"}}, {"elasticIps", nil}},
		{{"ingress.pool", "metal-global"}, {"metro", "da"}, {"kubernetes.apiPort", 443}, {"bgp.asn", 64513}},
	}
	var out []string
	for _, v := range variants {
		c := devCluster(t)
		for _, e := range v {
			set(t, c, e.path, e.val)
		}
		out = append(out, mustJSON(t, c))
	}
	return out
}

// FuzzProgram mutates the dev stack's metalk8s:cluster value. Whatever config.Parse accepts, the
// whole program must run under the fake without error, both as a preview and as a simulated
// deployment, with one device per node.
//
// As a unit test it runs the seed corpus; fuzz it with
//
//	go test ./tests -run '^$' -fuzz '^FuzzProgram$' -fuzztime 60s -fuzzminimizetime 1x
//
// Byte mutations of the dev stack rarely stay valid (a renamed block breaks the pool that names
// it), so most inputs stop at config.Parse; FuzzProgramEdits reaches the program far more often.
func FuzzProgram(f *testing.F) {
	for _, s := range programSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := config.Parse(raw)
		if err != nil {
			return
		}
		if *cfg.Workers.Count > maxFuzzWorkers {
			t.Skipf("%d workers: beyond what the fuzzer runs", *cfg.Workers.Count)
		}
		for _, preview := range []bool{true, false} {
			r := runRaw(t, string(raw), runOptions{preview: preview})
			if r.err != nil {
				t.Fatalf("preview=%v: accepted configuration fails:\n%s\n%v", preview, raw, r.err)
			}
			if got, want := len(r.ofType(metal.DeviceToken)), *cfg.Workers.Count+1; got != want {
				t.Errorf("preview=%v: %d devices, want %d", preview, got, want)
			}
		}
	})
}

// picker draws the choices of FuzzProgramEdits from the fuzzer's bytes; once they run out every
// choice is the first option.
type picker struct {
	// b are the choices not drawn yet.
	b []byte
}

// intn returns a number from 0 to n-1.
func (p *picker) intn(n int) int {
	if len(p.b) == 0 || n <= 1 {
		return 0
	}
	v := int(p.b[0])
	p.b = p.b[1:]
	return v % n
}

// pick returns one of the options.
func (p *picker) pick(options ...any) any { return options[p.intn(len(options))] }

// text returns up to max characters of alphabet.
func (p *picker) text(alphabet string, max int) string {
	b := make([]byte, p.intn(max+1))
	for i := range b {
		b[i] = alphabet[p.intn(len(alphabet))]
	}
	return string(b)
}

// editDevStack changes the dev stack as the bytes of choices say: each setting of the
// configuration is kept as in the dev stack, or set to a value drawn from its valid values, the
// boundaries of its range, or a few invalid ones. Most results are valid configurations, so that
// the fuzzer spends its time in the whole program rather than in config.Parse.
func editDevStack(t testing.TB, choices []byte) map[string]any {
	p := &picker{choices}
	c := devCluster(t)
	keep := func() bool { return p.intn(3) == 0 }
	const lower = "abcdefghijklmnopqrstuvwxyz"
	if !keep() {
		set(t, c, "loadBalancer.mode", p.pick("calico", "bird-local-peer"))
	}
	if !keep() {
		set(t, c, "workers.count", p.intn(maxFuzzWorkers+1))
	}
	if !keep() {
		set(t, c, "metro", p.pick("sv", "da", "ny", p.text(lower, 2)))
	}
	if !keep() {
		set(t, c, "operatingSystem", p.pick("ubuntu_22_04", "ubuntu_24_04"))
	}
	if !keep() {
		set(t, c, "apiServer", p.pick(
			map[string]any{"privateOnly": true},
			map[string]any{"allowedCidrs": []any{fmt.Sprintf("%d.%d.%d.0/24", 1+p.intn(223), p.intn(256), p.intn(256))}},
			map[string]any{"allowedCidrs": []any{"0.0.0.0/0", "198.51.100.7/32"}}))
	}
	asn := func() any {
		return p.pick(64512, 65000, 65534, 65479, 65480, 65481, 4200000000, 4294967294, 64512+p.intn(1023), 65530)
	}
	if !keep() {
		set(t, c, "bgp.asn", asn())
	}
	if !keep() {
		set(t, c, "metallb.asn", asn())
	}
	if !keep() {
		set(t, c, "bgp.md5Password", p.text("abcXYZ019!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\"", 80))
	}
	if !keep() {
		set(t, c, "ssh.privateKey", testKey)
	}
	if !keep() {
		set(t, c, "project", map[string]any{"id": "11111111-1111-4111-8111-111111111111"})
	}
	if !keep() {
		set(t, c, "kubernetes.version", fmt.Sprintf("1.%d.%d", 31+p.intn(69), p.intn(100)))
	}
	if !keep() {
		set(t, c, "kubernetes.apiPort", p.pick(443, 6443, 8443, 1+p.intn(65535)))
	}
	if !keep() {
		net := p.intn(3)
		set(t, c, "kubernetes.podCidr", []string{"172.16.0.0/12", "100.64.0.0/16", "192.168.128.0/17"}[net])
		set(t, c, "kubernetes.serviceCidr", []string{"192.168.0.0/16", "100.65.0.0/16", "192.168.0.0/17"}[net])
		set(t, c, "kubernetes.dnsServiceIp", []string{"192.168.0.10", "100.65.0.10", "192.168.0.10"}[net])
	}
	if !keep() {
		set(t, c, "calico.version", p.pick("3.31.7", "3.31.0", "3.32.1", "3.30.3", fmt.Sprintf("3.%d.%d", p.intn(100), p.intn(100))))
	}
	if !keep() {
		set(t, c, "metallb.version", fmt.Sprintf("0.%d.%d", p.intn(100), p.intn(100)))
	}
	names := []string{"public", "global", "b", "x-1", "a0"}
	if !keep() {
		var blocks []any
		for i := p.intn(4); i > 0; i-- {
			b := map[string]any{"name": p.pick(names[0], names[1], names[2], names[3], names[4]),
				"type": p.pick("public_ipv4", "global_ipv4"), "quantity": 1 << p.intn(9)}
			if b["type"] == "public_ipv4" && p.intn(2) == 1 {
				b["metro"] = c["metro"]
			}
			blocks = append(blocks, b)
		}
		set(t, c, "elasticIps", blocks)
	}
	var poolNames []any
	if !keep() {
		var pools []any
		for i := p.intn(5); i > 0; i-- {
			name := p.pick("metal-public", "metal-private", "metal-global", "p"+p.text("0123456789", 2))
			pool := map[string]any{"name": name}
			if p.intn(2) == 0 {
				pool["elasticIp"] = p.pick(names[0], names[1], names[2], names[3], names[4])
			} else {
				var cidrs []any
				for j := 1 + p.intn(2); j > 0; j-- {
					bits := 24 + p.intn(9)
					cidrs = append(cidrs, fmt.Sprintf("10.%d.%d.0/%d", p.intn(256), p.intn(256), bits))
				}
				pool["cidrs"] = cidrs
			}
			if v := p.intn(3); v > 0 {
				pool["autoAssign"] = v == 1
			}
			pools = append(pools, pool)
			poolNames = append(poolNames, name)
		}
		set(t, c, "loadBalancer.pools", pools)
	}
	if !keep() {
		ingress := map[string]any{"enabled": p.intn(2) == 0}
		if len(poolNames) > 0 {
			ingress["pool"] = p.pick(poolNames...)
		}
		set(t, c, "ingress", ingress)
	}
	return c
}

// FuzzProgramEdits is FuzzProgram with the dev stack changed setting by setting (editDevStack)
// rather than byte by byte: byte mutations of the dev stack are almost always rejected by
// config.Parse (a renamed block, a broken reference), edits mostly are not. Whatever config.Parse
// accepts must run without error, as a preview and as a simulated deployment.
//
// As a unit test it runs the seed corpus; fuzz it with
//
//	go test ./tests -run '^$' -fuzz '^FuzzProgramEdits$' -fuzztime 60s -fuzzminimizetime 1x
//
// or -fuzztime 2000x for a count (see FuzzParse in package config on duration-bound runs).
//
// (-fuzzminimizetime 1x: the program starts goroutines whose coverage varies from run to run, so
// many inputs look new, and minimising each for the default 60s would leave no time to fuzz.)
func FuzzProgramEdits(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{1, 1, 1, 1, 2, 2, 1, 0, 1, 1, 1, 1},
		[]byte("metalk8s edits the dev stack"),
		{2, 0, 2, 6, 0, 0, 2, 1, 1, 1, 2, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
		{1, 1, 1, 3, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1, 1, 1, 2, 2, 2, 1, 1, 0, 1, 1, 4, 1, 1, 2, 1, 1, 1, 3, 3, 3, 3, 3, 1, 1, 1},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, choices []byte) {
		raw := mustJSON(t, editDevStack(t, choices))
		cfg, err := config.Parse([]byte(raw))
		if err != nil {
			return
		}
		for _, preview := range []bool{true, false} {
			r := runRaw(t, raw, runOptions{preview: preview})
			// The fake's existing projects run local BGP at ASN 65000 without a password, as a
			// project made with the defaults would: a deployment into one with other BGP settings
			// must stop at the neighbour check, naming the mismatch.
			mismatch := cfg.Project.ID != "" && (*cfg.BGP.ASN != 65000 || cfg.BGP.MD5Password != "")
			if mismatch && !preview {
				if r.err == nil || !strings.Contains(r.err.Error(), "the project's BGP configuration differs") {
					t.Fatalf("existing project with other BGP settings: want the mismatch refused, got %v", r.err)
				}
				continue
			}
			if r.err != nil {
				t.Fatalf("preview=%v: accepted configuration fails:\n%s\n%v", preview, raw, r.err)
			}
			if got, want := len(r.ofType(metal.DeviceToken)), *cfg.Workers.Count+1; got != want {
				t.Errorf("preview=%v: %d devices, want %d", preview, got, want)
			}
		}
	})
}

// TestProgramSeedsAccepted checks that every seed of FuzzProgram is a valid configuration, so that
// the seeds run the whole program rather than stopping at the validation.
func TestProgramSeedsAccepted(t *testing.T) {
	for i, s := range programSeeds(t) {
		if _, err := config.Parse([]byte(s)); err != nil {
			t.Errorf("seed %d rejected: %v", i, err)
		}
	}
}

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
// secrets, an existing project, no pools, private pools only, a global pool for the ingress), and
// the servers mode's two example stacks.
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
	for _, stack := range []string{"racks", "provider", "ha"} {
		out = append(out, mustJSON(t, stackCluster(t, stack)))
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
		if cfg.WorkerCount() > maxFuzzWorkers {
			t.Skipf("%d workers: beyond what the fuzzer runs", cfg.WorkerCount())
		}
		for _, preview := range []bool{true, false} {
			r := runRaw(t, string(raw), runOptions{preview: preview})
			if r.err != nil {
				t.Fatalf("preview=%v: accepted configuration fails:\n%s\n%v", preview, raw, r.err)
			}
			checkMachines(t, cfg, r, preview)
		}
	})
}

// checkMachines checks what an accepted configuration deployed: in the Equinix Metal mode one
// device per node; in the servers mode one node per server and nothing of Equinix Metal, neither a
// resource nor a function call.
func checkMachines(t *testing.T, cfg *config.Cluster, r *result, preview bool) {
	t.Helper()
	want := cfg.WorkerCount() + cfg.ControllerCount()
	if cfg.Servers == nil {
		if got := len(r.ofType(metal.DeviceToken)); got != want {
			t.Errorf("preview=%v: %d devices, want %d", preview, got, want)
		}
		return
	}
	if got := len(r.nodes); got != want {
		t.Errorf("preview=%v: %d nodes, want %d", preview, got, want)
	}
	for _, res := range r.cloud.Resources() {
		if strings.HasPrefix(res.Type, "equinix:") {
			t.Errorf("preview=%v: servers mode registered %s %s", preview, res.Type, res.Name)
		}
	}
	for _, inv := range r.cloud.Invokes() {
		if strings.HasPrefix(inv.Token, "equinix:") {
			t.Errorf("preview=%v: servers mode called %s", preview, inv.Token)
		}
	}
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

// editStack changes an example stack as the bytes of choices say: the first chooses the mode
// (3 in 4 the Equinix Metal mode's dev stack, editDevStack; 1 in 4 the servers mode, editServersStack),
// the others the edits.
func editStack(t testing.TB, choices []byte) map[string]any {
	p := &picker{choices}
	if p.intn(4) == 3 {
		return editServersStack(t, p)
	}
	return editDevStack(t, p.b)
}

// editServersStack changes the racks or the provider stack as the picker says: each setting of
// the servers mode is kept, or set to a value drawn from its valid values, its boundaries, or a
// few invalid ones; the shared settings as editDevStack does. Most results are valid.
func editServersStack(t testing.TB, p *picker) map[string]any {
	c := stackCluster(t, p.pick("racks", "provider").(string))
	keep := func() bool { return p.intn(3) == 0 }
	asn := func() any {
		return p.pick(65000, 64512, 65534, 4200000000, 4294967294, 1, 3356, 65001, 65480, 64500, 23456, 65535)
	}
	peer := func(address string) map[string]any {
		pr := map[string]any{"address": address, "asn": asn()}
		if p.intn(3) == 0 {
			pr["multihop"] = true
		}
		if p.intn(3) == 0 {
			pr["md5Password"] = p.text("abcXYZ019!#$%&'()*+,-./:;<=>?@[]^_`{|}~ \"\\", 90)
		}
		return pr
	}
	peers := func(net int) []any {
		var out []any
		for i := p.intn(3); i >= 0; i-- {
			out = append(out, peer(p.pick(fmt.Sprintf("10.20.%d.%d", net, 2+p.intn(2)), "169.254.1.1", "169.254.1.2").(string)))
		}
		return out
	}
	if !keep() {
		set(t, c, "loadBalancer.mode", p.pick("calico", "bird-local-peer"))
	}
	if !keep() {
		set(t, c, "servers.asn", asn())
	}
	if !keep() {
		set(t, c, "servers.peers", p.pick(nil, peers(0)))
	}
	if !keep() {
		set(t, c, "servers.ssh.user", p.pick("root", "deploy", "Admin"))
	}
	if !keep() {
		set(t, c, "servers.ssh.bastion", p.pick(nil,
			map[string]any{"address": "192.0.2.5"},
			map[string]any{"address": "bastion.example", "port": p.pick(0, 22, 2222, 65535), "user": "jump", "privateKey": testKey}))
	}
	if !keep() {
		set(t, c, "apiServer", p.pick(
			map[string]any{"privateOnly": true},
			map[string]any{"allowedCidrs": []any{fmt.Sprintf("%d.%d.%d.0/24", 1+p.intn(223), p.intn(256), p.intn(256))}}))
	}
	if !keep() {
		set(t, c, "servers.controller.publicIpv4", p.pick(nil, "198.51.100.10", "10.20.0.10"))
	}
	if !keep() {
		set(t, c, "servers.controller.gateway", p.pick(nil, "10.20.0.1", "10.40.0.1"))
	}
	if !keep() {
		// Workers of their own: a network per worker, most with their own routers.
		var workers []any
		for i := range p.intn(maxFuzzWorkers + 1) {
			w := map[string]any{
				"name":        p.pick(fmt.Sprintf("w%d", i), fmt.Sprintf("rack-%d.worker", i), "w0"),
				"sshAddress":  p.pick(fmt.Sprintf("10.20.%d.10", 1+i), fmt.Sprintf("w%d.example", i), "10.20.1.10"),
				"privateIpv4": p.pick(fmt.Sprintf("10.20.%d.10", 1+i), "10.20.1.10"),
			}
			if v := p.pick(nil, 0, 22, 2222); v != nil {
				w["sshPort"] = v
			}
			if p.intn(2) == 0 {
				w["publicIpv4"] = fmt.Sprintf("198.51.100.%d", 20+i)
			}
			if p.intn(2) == 0 {
				w["gateway"] = fmt.Sprintf("10.20.%d.1", 1+i)
			}
			if p.intn(3) > 0 {
				w["peers"] = peers(1 + i)
			}
			if p.intn(3) == 0 {
				w["id"] = p.pick(fmt.Sprintf("SN-%d", i), "SN-0")
			}
			workers = append(workers, w)
		}
		set(t, c, "servers.workers", workers)
	}
	if !keep() {
		set(t, c, "kubernetes.version", fmt.Sprintf("1.%d.%d", 31+p.intn(69), p.intn(100)))
	}
	if !keep() {
		set(t, c, "kubernetes.apiPort", p.pick(443, 6443, 8443, 1+p.intn(65535)))
	}
	if !keep() {
		net := p.intn(3)
		set(t, c, "kubernetes.podCidr", []string{"172.16.0.0/12", "100.64.0.0/16", "10.20.0.0/16"}[net])
		set(t, c, "kubernetes.serviceCidr", []string{"192.168.0.0/16", "100.65.0.0/16", "10.21.0.0/16"}[net])
		set(t, c, "kubernetes.dnsServiceIp", []string{"192.168.0.10", "100.65.0.10", "10.21.0.10"}[net])
	}
	if !keep() {
		set(t, c, "metallb.asn", asn())
	}
	var poolNames []any
	if !keep() {
		var pools []any
		for i := p.intn(4); i > 0; i-- {
			name := p.pick("public", "routed", "p"+p.text("0123456789", 2))
			var cidrs []any
			for j := 1 + p.intn(2); j > 0; j-- {
				cidrs = append(cidrs, p.pick(
					fmt.Sprintf("192.0.2.%d/%d", 16*p.intn(16), 28+p.intn(5)),
					fmt.Sprintf("10.30.%d.0/%d", p.intn(256), 24+p.intn(9)),
					"10.20.1.0/24"))
			}
			pool := map[string]any{"name": name, "cidrs": cidrs}
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
	if !keep() {
		// An API address, alone or with further controllers (none, two, four, or a count etcd
		// refuses; they take servers.peers).
		set(t, c, "servers.apiAddress", p.pick("10.20.0.100", "10.10.0.100", "10.20.0.10", "169.254.0.9", "10.30.1.1"))
		var controllers []any
		for i := range p.pick(0, 2, 4, 1).(int) {
			addr := fmt.Sprintf("10.20.0.%d", 11+i)
			controllers = append(controllers, map[string]any{"name": fmt.Sprintf("cp%d", i), "sshAddress": addr, "privateIpv4": addr})
		}
		set(t, c, "servers.controllers", controllers)
	}
	return c
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
	if !keep() {
		set(t, c, "controller.count", p.pick(1, 3, 5, 2))
	}
	if !keep() {
		set(t, c, "controller.reserveApiAddress", p.intn(2) == 0)
	}
	return c
}

// serversEditSeeds are seeds of FuzzProgramEdits in the servers mode, each a valid configuration
// (TestServersEditSeedsAccepted): the racks and the provider stack as written, four workers of
// their own networks in bird-local-peer, three behind a bastion with their own routers, an
// allow-listed one-node cluster behind a bastion with a 4-byte ASN.
var serversEditSeeds = [][]byte{
	{3},
	{3, 1},
	{3, 4, 2, 1, 2, 0, 0, 0, 0, 4, 3, 5, 0, 2, 2, 1, 5, 5, 5, 4, 4, 2, 3, 3, 0, 3, 4, 3, 4, 4, 3, 2, 2, 1, 5, 4, 4, 1, 1, 3, 0, 5, 4},
	{3, 2, 5, 5, 2, 2, 3, 0, 4, 2, 1, 4, 0, 1, 2, 0, 1, 2, 1, 2, 0, 2, 3, 4, 2, 3, 4, 5, 4, 4, 0, 3, 0, 2, 0, 2, 2, 1, 3, 3, 0, 1, 2, 2, 2, 1, 2, 0, 0, 0, 2},
	{3, 0, 4, 2, 5, 4, 1, 0, 5, 0, 5, 2, 4, 5, 2, 0, 2, 0, 1, 5, 1, 0, 2, 1, 5, 1, 0, 3, 4, 2, 2},
	{3, 0, 0, 5, 3, 2, 3, 1, 2, 4, 1, 3, 4, 2, 5, 2, 5, 3, 0, 5, 5, 1, 2, 4, 1, 5, 3, 5, 4, 4, 1, 5, 0, 3, 5},
}

// FuzzProgramEdits is FuzzProgram with an example stack changed setting by setting (editStack)
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
		{0, 1, 1, 1, 1, 2, 2, 1, 0, 1, 1, 1, 1},
		[]byte("\x00metalk8s edits the dev stack"),
		{0, 2, 0, 2, 6, 0, 0, 2, 1, 1, 1, 2, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
		{0, 1, 1, 1, 3, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1, 1, 1, 2, 2, 2, 1, 1, 0, 1, 1, 4, 1, 1, 2, 1, 1, 1, 3, 3, 3, 3, 3, 1, 1, 1},
		[]byte("\x03\x00metalk8s edits the racks"),
		[]byte("\x03\x01metalk8s edits the provider stack"),
	} {
		f.Add(seed)
	}
	for _, seed := range serversEditSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, choices []byte) {
		raw := mustJSON(t, editStack(t, choices))
		cfg, err := config.Parse([]byte(raw))
		if err != nil {
			return
		}
		for _, preview := range []bool{true, false} {
			r := runRaw(t, raw, runOptions{preview: preview})
			// The fake's existing projects run local BGP at ASN 65000 without a password, as a
			// project made with the defaults would: a deployment into one with other BGP settings
			// must stop at the neighbour check, naming the mismatch.
			mismatch := cfg.Servers == nil && cfg.Project.ID != "" && (*cfg.BGP.ASN != 65000 || cfg.BGP.MD5Password != "")
			if mismatch && !preview {
				if r.err == nil || !strings.Contains(r.err.Error(), "the project's BGP configuration differs") {
					t.Fatalf("existing project with other BGP settings: want the mismatch refused, got %v", r.err)
				}
				continue
			}
			if r.err != nil {
				t.Fatalf("preview=%v: accepted configuration fails:\n%s\n%v", preview, raw, r.err)
			}
			checkMachines(t, cfg, r, preview)
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

// TestServersEditSeedsAccepted checks that every servers-mode seed of FuzzProgramEdits is a valid
// configuration of that mode, so that the fuzzer starts from runs of the whole program there.
func TestServersEditSeedsAccepted(t *testing.T) {
	workers := map[int]bool{}
	for i, seed := range serversEditSeeds {
		cfg, err := config.Parse([]byte(mustJSON(t, editStack(t, seed))))
		if err != nil {
			t.Errorf("seed %d rejected: %v", i, err)
			continue
		}
		if cfg.Servers == nil {
			t.Errorf("seed %d is not in the servers mode", i)
			continue
		}
		workers[cfg.WorkerCount()] = true
	}
	if len(workers) < 3 {
		t.Errorf("the seeds have %d different worker counts, want at least 3", len(workers))
	}
}

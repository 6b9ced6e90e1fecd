package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The golden files under testdata/ are the plan's output for the dev stack. After an intended
// change, regenerate them with:
//
//	go test ./cmd/plan -update
//
// and review the diff.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestPlanGolden(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		{"dev.txt", []string{"--dir", "../..", "--stack", "dev"}},
		{"dev-simulate-ibx.txt", []string{"--dir", "../..", "--stack", "dev", "--simulate"}},
		{"dev-simulate-legacy.txt", []string{"--dir", "../..", "--stack", "dev", "--simulate", "--site", "legacy"}},
		{"dev-simulate.json", []string{"--dir", "../..", "--stack", "dev", "--simulate", "--json"}},
		{"dev-simulate-secrets.txt", []string{"--dir", "../..", "--stack", "dev", "--simulate", "--show-secrets"}},
		// The servers mode's two example stacks: own racks, and a provider's link-local route servers.
		{"racks.txt", []string{"--dir", "../..", "--stack", "racks"}},
		{"racks-simulate-secrets.txt", []string{"--dir", "../..", "--stack", "racks", "--simulate", "--show-secrets"}},
		{"provider.txt", []string{"--dir", "../..", "--stack", "provider"}},
		{"provider-simulate-secrets.txt", []string{"--dir", "../..", "--stack", "provider", "--simulate", "--show-secrets"}},
		// Three controllers sharing an API address.
		{"ha.txt", []string{"--dir", "../..", "--stack", "ha"}},
		{"ha-simulate-secrets.txt", []string{"--dir", "../..", "--stack", "ha", "--simulate", "--show-secrets"}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/plan -update to create it)", err)
			}
			if !bytes.Equal(stdout.Bytes(), want) {
				t.Errorf("plan differs from %s; run go test ./cmd/plan -update and review the diff.\ngot:\n%s", path, stdout.String())
			}
		})
	}
}

// TestPlanIsDeterministic runs the simulated plan several times: goroutine scheduling must not
// change a byte, or the golden files would be flaky.
func TestPlanIsDeterministic(t *testing.T) {
	var first string
	for i := 0; i < 5; i++ {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"--dir", "../..", "--simulate"}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if i == 0 {
			first = stdout.String()
		} else if stdout.String() != first {
			t.Fatal("two runs of the same plan differ")
		}
	}
}

func TestPlanJSONShape(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--dir", "../..", "--json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var p Plan
	if err := json.Unmarshal(stdout.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	roots := map[string]*Step{}
	for _, r := range p.Roots {
		roots[r.Type] = r
	}
	for _, typ := range []string{"metalk8s:cluster:MetalCluster", "metalk8s:calico:CalicoBGP", "metalk8s:metallb:MetalLBPools"} {
		if roots[typ] == nil {
			t.Errorf("no %s in the plan", typ)
		}
	}
	if len(p.Roots) != 3 {
		t.Fatalf("%d top-level resources, want the 3 components", len(p.Roots))
	}
	devices := 0
	for _, c := range roots["metalk8s:cluster:MetalCluster"].Children {
		if c.Type == "equinix:metal/device:Device" {
			devices++
			if c.Inputs["projectId"] != computed {
				t.Errorf("%s projectId %v in a preview, want %s", c.Name, c.Inputs["projectId"], computed)
			}
		}
	}
	if devices != 3 {
		t.Errorf("%d devices", devices)
	}
}

func TestPlanInvalidConfiguration(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "../../Pulumi.yaml", filepath.Join(dir, "Pulumi.yaml"))
	stack, err := os.ReadFile("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(strings.Replace(string(stack), "count: 2", "count: -2", 1), "asn: 65000", "asn: 65530", 1)
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--dir", dir, "--stack", "bad"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, key := range []string{"metalk8s:cluster.workers.count", "metalk8s:cluster.bgp.asn"} {
		if !strings.Contains(stderr.String(), key) {
			t.Errorf("stderr misses %s:\n%s", key, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("a plan was printed for an invalid configuration:\n%s", stdout.String())
	}
}

// TestPlanWarnings checks that the plan prints the program's warnings: the bird-local-peer mode
// warns, in the text plan and with --json (in the JSON and on stderr); the dev stack (calico) does not.
func TestPlanWarnings(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "../../Pulumi.yaml", filepath.Join(dir, "Pulumi.yaml"))
	stack, err := os.ReadFile("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stack), "mode: calico\n") {
		t.Fatal("the dev stack does not set loadBalancer.mode calico")
	}
	local := strings.Replace(string(stack), "mode: calico\n", "mode: bird-local-peer\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.local.yaml"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "warning: loadBalancer mode bird-local-peer is the guide's legacy design and does not fully hold"
	for _, tc := range []struct {
		args         []string
		warns        bool
		inJSON       bool
		stderrWarned bool
	}{
		{args: []string{"--dir", "../..", "--stack", "dev"}},
		{args: []string{"--dir", dir, "--stack", "local"}, warns: true},
		{args: []string{"--dir", dir, "--stack", "local", "--simulate"}, warns: true},
		{args: []string{"--dir", dir, "--stack", "local", "--json"}, inJSON: true, stderrWarned: true},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr.String())
		}
		if got := strings.Count(stdout.String(), want); got != map[bool]int{true: 1, false: 0}[tc.warns] {
			t.Errorf("%v: the plan holds the warning %d times", tc.args, got)
		}
		if got := strings.Contains(stderr.String(), "plan: "+want); got != tc.stderrWarned {
			t.Errorf("%v: warning on stderr %v, want %v: %s", tc.args, got, tc.stderrWarned, stderr.String())
		}
		if tc.inJSON {
			var p Plan
			if err := json.Unmarshal(stdout.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Warnings) != 1 || !strings.Contains("warning: "+p.Warnings[0], want) {
				t.Errorf("JSON warnings %q", p.Warnings)
			}
		}
	}
}

func TestPlanEncryptedValues(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "../../Pulumi.yaml", filepath.Join(dir, "Pulumi.yaml"))
	stack, err := os.ReadFile("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	withSecrets := strings.Replace(string(stack), "      asn: 65000\n",
		"      asn: 65000\n      md5Password:\n        secure: v1:AAAAAAAA\n    ssh:\n      privateKey:\n        secure: v1:BBBBBBBB\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.enc.yaml"), []byte(withSecrets), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--dir", dir, "--stack", "enc", "--simulate"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"metalk8s:cluster.bgp.md5Password is encrypted", "metalk8s:cluster.ssh.privateKey is encrypted", "md5: [secret]"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan misses %q", want)
		}
	}
	if strings.Contains(out, "tls:index/privateKey:PrivateKey metalk8s-ssh") {
		t.Error("a key was generated although the stack sets one")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPlan makes the simulated plan of the dev stack and prints it.
func BenchmarkPlan(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"--dir", "../..", "--simulate"}, &stdout, &stderr); code != 0 {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
}

// TestPlanReplacementMarks checks that the plan marks, on each Metal resource, the inputs whose
// change replaces it (metal.ReplacingInputs, the provider's schema) and the change it refuses: a
// new SSH key replaces the project key, whose new ID in projectSshKeyIds replaces every device;
// billingCycle replaces every device; organizationId replaces the project; the project's ASN
// cannot change. Inputs that update in place (hostname, tags, ipAddresses) are not marked.
func TestPlanReplacementMarks(t *testing.T) {
	p, err := Make(Options{Dir: "../..", Stack: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]*Step{}
	var walk func([]*Step)
	walk = func(ss []*Step) {
		for _, s := range ss {
			steps[s.Type+" "+s.Name] = s
			walk(s.Children)
		}
	}
	walk(p.Roots)
	want := map[string][]string{
		"equinix:metal/project:Project metalk8s":                            {"organizationId"},
		"equinix:metal/projectSshKey:ProjectSshKey metalk8s-ssh":            {"projectId", "publicKey"},
		"equinix:metal/device:Device metalk8s-sv-controller":                {"billingCycle", "metro", "operatingSystem", "plan", "projectId", "projectSshKeyIds"},
		"equinix:metal/device:Device metalk8s-sv-worker-0":                  {"billingCycle", "metro", "operatingSystem", "plan", "projectId", "projectSshKeyIds"},
		"equinix:metal/bgpSession:BgpSession metalk8s-sv-worker-0-bgp":      {"addressFamily", "defaultRoute", "deviceId"},
		"equinix:metal/reservedIpBlock:ReservedIpBlock metalk8s-eip-public": {"metro", "projectId", "quantity", "type"},
	}
	for id, inputs := range want {
		s, ok := steps[id]
		if !ok {
			t.Errorf("no %s in the plan", id)
			continue
		}
		if strings.Join(s.ReplacedBy, ",") != strings.Join(inputs, ",") {
			t.Errorf("%s replaced by %v, want %v", id, s.ReplacedBy, inputs)
		}
	}
	if got := steps["equinix:metal/project:Project metalk8s"].Refused; strings.Join(got, ",") != "bgpConfig.asn" {
		t.Errorf("project refuses %v, want bgpConfig.asn", got)
	}
	var out bytes.Buffer
	if err := p.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"(replaced when billingCycle or metro or operatingSystem or plan or projectId or projectSshKeyIds changes)",
		"(replaced when projectId or publicKey changes)",
		"(the provider refuses a change of bgpConfig.asn)",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("the plan does not say %q", line)
		}
	}
}

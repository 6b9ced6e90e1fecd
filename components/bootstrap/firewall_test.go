package bootstrap

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestMergeCIDRs covers the allowed sources an nftables interval set takes only merged.
func TestMergeCIDRs(t *testing.T) {
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"one", []string{"198.51.100.7/32"}, []string{"198.51.100.7/32"}},
		{"a /32 inside a /24", []string{"198.51.100.7/32", "198.51.100.0/24"}, []string{"198.51.100.0/24"}},
		{"the /24 first", []string{"198.51.100.0/24", "198.51.100.7/32"}, []string{"198.51.100.0/24"}},
		{"duplicates", []string{"192.0.2.1/32", "192.0.2.1/32"}, []string{"192.0.2.1/32"}},
		{"adjacent halves stay", []string{"192.0.2.128/25", "192.0.2.0/25"}, []string{"192.0.2.0/25", "192.0.2.128/25"}},
		{"same address, wider later", []string{"10.0.0.0/16", "10.0.0.0/8", "10.1.2.3/32"}, []string{"10.0.0.0/8"}},
		{"disjoint, sorted", []string{"203.0.113.0/24", "192.0.2.0/24"}, []string{"192.0.2.0/24", "203.0.113.0/24"}},
		{"none", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mergeCIDRs(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := mergeCIDRs([]string{"2001:db8::/32"}); err == nil {
		t.Error("an IPv6 network was taken into an IPv4 set")
	}
}

// TestFirewallKeepsTheSSHPort: the host firewall keeps open the port Pulumi reaches sshd on, and
// no other SSH port; nft's own parser takes the result. A host on port 2222 locked out by its own
// firewall (port 22 only) would stop every later step.
func TestFirewallKeepsTheSSHPort(t *testing.T) {
	for _, c := range []struct {
		port, want string
	}{{"", "tcp dport 22 accept"}, {"2222", "tcp dport 2222 accept"}} {
		rules, err := RenderFirewall(FirewallData{Node: testWorker, PublicIPv4: "203.0.113.12", APIPort: 6443, SSHPort: c.port, PodCIDR: "172.16.0.0/12"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(rules, "\n\t\t"+c.want+"\n") || strings.Count(rules, "tcp dport") != 1 {
			t.Errorf("SSH port %q: want exactly %q:\n%s", c.port, c.want, rules)
		}
		nftCheck(t, rules)
	}
	for _, bad := range []string{"0", "65536", "22; accept", "ssh"} {
		if _, err := RenderFirewall(FirewallData{Node: testWorker, PublicIPv4: "203.0.113.12", APIPort: 6443, SSHPort: bad, PodCIDR: "172.16.0.0/12"}); err == nil {
			t.Errorf("SSH port %q rendered", bad)
		}
	}
}

// nftCheck runs nftables' parser on a rule set where nft and root are at hand (CI has both).
func nftCheck(t *testing.T, rules string) {
	t.Helper()
	nft := needTool(t, "nft")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root: nft --check needs it")
		}
		t.Skip("nft --check needs root")
	}
	path := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nft, "--check", "--file", path).CombinedOutput(); err != nil {
		t.Errorf("nft refuses the firewall: %v\n%s\n%s", err, out, rules)
	}
}

// TestPublicAPIAddress: the controllers' firewalls guard a public API address and leave a private
// one (RFC 1918, the shared space, link-local) unfiltered, as they leave every private address.
func TestPublicAPIAddress(t *testing.T) {
	for addr, guarded := range map[string]bool{
		"192.0.2.100": true, "147.75.194.93": true, "172.32.0.1": true, "100.128.0.1": true,
		"10.10.0.100": false, "172.16.0.100": false, "172.31.255.254": false, "192.168.1.1": false,
		"100.64.0.1": false, "169.254.1.5": false, "": false,
	} {
		if got := publicAPIAddress(addr) != ""; got != guarded {
			t.Errorf("publicAPIAddress(%q) guarded %v, want %v", addr, got, guarded)
		}
	}
	// Rendered: the API port at the API address from the private and pod networks, merged (the
	// default pod network is one of the private ranges, and nftables refuses overlapping elements).
	rules, err := RenderFirewall(FirewallData{Node: testController, PublicIPv4: "203.0.113.11", APIPort: 6443, APIAddress: "192.0.2.100",
		PrivateSources: apiSources("172.16.0.0/12"), PodCIDR: "172.16.0.0/12"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ip daddr != { 203.0.113.11, 192.0.2.100 } accept",
		"ip daddr 192.0.2.100 ip saddr { 10.0.0.0/8, 100.64.0.0/10, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16 } tcp dport 6443 accept"} {
		if !strings.Contains(rules, want) {
			t.Errorf("the firewall lacks %q:\n%s", want, rules)
		}
	}
	nftCheck(t, rules)
	// A controller without a public address: only the API address is guarded.
	rules, err = RenderFirewall(FirewallData{Node: testController, APIPort: 6443, APIAddress: "192.0.2.100",
		PrivateSources: apiSources("100.64.0.0/16"), PodCIDR: "100.64.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rules, "ip daddr != { 192.0.2.100 } accept") || strings.Contains(rules, "meta nfproto ipv4 accept") {
		t.Errorf("a controller without a public address does not guard the API address alone:\n%s", rules)
	}
	nftCheck(t, rules)
	if _, err := RenderFirewall(FirewallData{Node: testController, APIPort: 6443, APIAddress: "192.0.2.100/32", PrivateSources: apiSources("172.16.0.0/12")}); err == nil {
		t.Error("an API address with a prefix length was rendered")
	}
}

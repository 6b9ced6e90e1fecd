package tests

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// firewallMode is one way of reaching the API server, with the firewalls it renders.
type firewallMode struct {
	name string
	// edit changes the dev stack for the mode.
	edit func(t *testing.T, c map[string]any)
	// apiFromAllowed is whether the controller's API port answers the allowed source.
	apiFromAllowed bool
}

// firewallModes are the access modes: an allow-list (nested ranges included, which nftables
// only takes merged) and the private network only.
func firewallModes() []firewallMode {
	return []firewallMode{
		{name: "allowedCidrs", apiFromAllowed: true, edit: func(t *testing.T, c map[string]any) {
			set(t, c, "apiServer.allowedCidrs", []any{"198.51.100.0/24", "198.51.100.7/32", "192.0.2.0/25"})
		}},
		{name: "privateOnly", edit: func(t *testing.T, c map[string]any) {
			set(t, c, "apiServer", map[string]any{"privateOnly": true})
		}},
	}
}

// firewallsOf renders the dev stack in a mode and returns the controller's and a worker's firewall.
func firewallsOf(t *testing.T, m firewallMode) (controller, worker string) {
	t.Helper()
	c := devCluster(t)
	m.edit(t, c)
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return heredoc(t, stdin(t, r, "metalk8s-sv-controller-prepare"), "FIREWALL"),
		heredoc(t, stdin(t, r, "metalk8s-sv-worker-0-prepare"), "FIREWALL")
}

// nftCheck runs nft --check on a rule set and returns its output and error.
func nftCheck(t *testing.T, nft, rules string) ([]byte, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	return exec.Command(nft, "--check", "--file", path).CombinedOutput()
}

// TestFirewallEveryModeParses checks every rendered firewall with the real nftables parser in
// both access modes, and shows why nested allowed ranges are merged: nft refuses the set written
// as configured ("conflicting intervals specified", nftables 1.0.6 here).
func TestFirewallEveryModeParses(t *testing.T) {
	nft := needTool(t, "nft")
	needRoot(t)
	for _, m := range firewallModes() {
		ctrl, worker := firewallsOf(t, m)
		for name, rules := range map[string]string{"controller": ctrl, "worker": worker} {
			if out, err := nftCheck(t, nft, rules); err != nil {
				t.Errorf("%s, %s: nft refuses the firewall: %v\n%s\n%s", m.name, name, err, out, rules)
			}
		}
		if m.name != "allowedCidrs" {
			continue
		}
		if !strings.Contains(ctrl, "elements = { 192.0.2.0/25, 198.51.100.0/24 }") {
			t.Errorf("the allowed sources are not merged:\n%s", ctrl)
		}
		asConfigured := strings.Replace(ctrl, "elements = { 192.0.2.0/25, 198.51.100.0/24 }",
			"elements = { 198.51.100.0/24, 198.51.100.7/32, 192.0.2.0/25 }", 1)
		out, err := nftCheck(t, nft, asConfigured)
		if err == nil || !strings.Contains(string(out), "conflicting intervals") {
			t.Errorf("nft accepted the unmerged set (%v): merging proves nothing\n%s", err, out)
		}
	}
}

// needRoot skips (or fails in CI) where the test cannot use nftables and network namespaces.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI runs as root: nftables and network namespaces need it")
	}
	t.Skip("needs root (nftables, network namespaces)")
}

// Addresses of the firewall lab, all from the documentation ranges and private ranges inside
// namespaces of the test's own.
const (
	labNodeV6      = "2001:db8::11"
	labClientV4    = "203.0.113.99"
	labAllowedV4   = "198.51.100.7"
	labClientV6    = "2001:db8::99"
	labNodePrivate = "10.250.0.1"
	labClientPriv  = "10.250.0.2"
)

// labPorts are the ports the lab listens on: SSH, the API server and what must stay closed.
var labPorts = []int{22, 6443, 179, 2379, 2380, 5473, 9120, 10250, 10257, 10259}

// publicAddress is the address a rendered firewall protects.
var publicAddress = regexp.MustCompile(`ip daddr != (\S+) accept`)

// publicAndAPIAddress are the addresses a controller's firewall protects with a public API address.
var publicAndAPIAddress = regexp.MustCompile(`ip daddr != \{ (\S+), (\S+) \} accept`)

// TestFirewallLab loads each rendered firewall into the real nftables of a network namespace
// whose interface carries the node's public IPv4 address, a public IPv6 address (Metal gives every
// device one unless told otherwise), its link-local IPv6 address and a private address. Listeners
// on the control plane's ports accept both families on every address, as the API server does
// with bind-address 0.0.0.0. A second namespace dials every port: from an allowed source and
// from another one over IPv4, over IPv6 to the public and to the link-local address, and over the
// private network. Only SSH answers on the public addresses, plus the API port from the allowed
// source on the controller in the allowedCidrs mode; the private network is not filtered. IPv6
// connections at all need neighbour discovery through the firewall. Every namespace is removed.
func TestFirewallLab(t *testing.T) {
	nft := needTool(t, "nft")
	ip := needTool(t, "ip")
	needRoot(t)
	for _, m := range firewallModes() {
		ctrl, worker := firewallsOf(t, m)
		for _, node := range []struct {
			role  string
			rules string
			api   bool
		}{{"controller", ctrl, m.apiFromAllowed}, {"worker", worker, false}} {
			t.Run(m.name+"/"+node.role, func(t *testing.T) {
				lab := newFirewallLab(t, ip, nft, node.rules)
				var dials []labDial
				for _, port := range labPorts {
					ssh := port == 22
					dials = append(dials,
						labDial{from: labAllowedV4, to: lab.publicV4, port: port, want: ssh || (node.api && port == 6443)},
						labDial{from: labClientV4, to: lab.publicV4, port: port, want: ssh},
						labDial{from: labClientV6, to: labNodeV6, port: port, want: ssh},
						labDial{to: lab.linkLocal, port: port, want: ssh},
						labDial{from: labClientPriv, to: labNodePrivate, port: port, want: true})
				}
				lab.dialAll(t, dials)
			})
		}
	}
}

// TestFirewallLabAPIAddress loads the first controller's firewall of the dev stack with three
// controllers (a public API address, Metal's reserved /32) into the firewall lab, with the API
// address on the node's loopback as the health check holds it. At the API address only SSH
// answers everyone; the API port answers the allowed source and the private network (where the
// workers reach it from) in the allowedCidrs mode, the private network only with privateOnly; no
// other port answers anyone there, the private network included. The public address is guarded as
// before.
func TestFirewallLabAPIAddress(t *testing.T) {
	nft := needTool(t, "nft")
	ip := needTool(t, "ip")
	needRoot(t)
	for _, m := range firewallModes() {
		t.Run(m.name, func(t *testing.T) {
			c := devCluster(t)
			m.edit(t, c)
			set(t, c, "controller.count", 3)
			r := run(t, c, runOptions{})
			if r.err != nil {
				t.Fatal(r.err)
			}
			rules := heredoc(t, stdin(t, r, "metalk8s-sv-controller-prepare"), "FIREWALL")
			if out, err := nftCheck(t, nft, rules); err != nil {
				t.Fatalf("nft refuses the firewall: %v\n%s", err, out)
			}
			lab := newFirewallLab(t, ip, nft, rules)
			if lab.apiV4 == "" {
				t.Fatalf("the controller's firewall does not guard the API address:\n%s", rules)
			}
			var dials []labDial
			for _, port := range labPorts {
				ssh, api := port == 22, port == 6443
				dials = append(dials,
					labDial{from: labAllowedV4, to: lab.apiV4, port: port, want: ssh || (m.apiFromAllowed && api)},
					labDial{from: labClientV4, to: lab.apiV4, port: port, want: ssh},
					labDial{from: labClientPriv, to: lab.apiV4, port: port, want: ssh || api},
					labDial{from: labClientV4, to: lab.publicV4, port: port, want: ssh},
					labDial{from: labClientPriv, to: labNodePrivate, port: port, want: true})
			}
			lab.dialAll(t, dials)
		})
	}
}

// labDial is one connection the firewall lab makes: from a source (any when empty) to an address
// and port, and whether it must be accepted.
type labDial struct {
	from, to string
	port     int
	want     bool
}

// dialAll makes every connection at once (a dropped one waits for its timeout) and reports each
// that is answered when it must not be, or the other way round.
func (l *firewallLab) dialAll(t *testing.T, dials []labDial) {
	t.Helper()
	got, errs := make([]bool, len(dials)), make([]error, len(dials))
	var wg sync.WaitGroup
	for i, d := range dials {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = l.answers(d.from, d.to, d.port)
		}()
	}
	wg.Wait()
	for i, d := range dials {
		if errs[i] != nil {
			t.Errorf("dialing %s:%d from %q: %v", d.to, d.port, d.from, errs[i])
		} else if got[i] != d.want {
			t.Errorf("port %d on %s from %s: answered %v, want %v", d.port, d.to, d.from, got[i], d.want)
		}
	}
}

// firewallLab is a node namespace with the firewall loaded and listeners, and a client namespace.
type firewallLab struct {
	node, client string
	publicV4     string
	apiV4        string // the API address on the node's loopback, when its firewall guards one
	linkLocal    string // the node's link-local address with the client's zone
}

func newFirewallLab(t *testing.T, ip, nft, rules string) *firewallLab {
	t.Helper()
	m := publicAddress.FindStringSubmatch(rules)
	api := ""
	if pa := publicAndAPIAddress.FindStringSubmatch(rules); pa != nil {
		m, api = pa[:2], pa[2]
	}
	if m == nil {
		t.Fatalf("no public address in the firewall:\n%s", rules)
	}
	id := fmt.Sprintf("mk8sfw%d", os.Getpid()%100000)
	lab := &firewallLab{node: id + "n", client: id + "c", publicV4: m[1], apiV4: api}
	sh := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(ip, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	for _, ns := range []string{lab.node, lab.client} {
		sh("netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command(ip, "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("removing namespace %s: %v\n%s", ns, err, out)
			}
		})
	}
	sh("link", "add", "fwn", "netns", lab.node, "type", "veth", "peer", "name", "fwc", "netns", lab.client)
	for _, a := range [][]string{
		{lab.node, "fwn", lab.publicV4 + "/24"}, {lab.node, "fwn", labNodePrivate + "/24"},
		{lab.client, "fwc", labClientV4 + "/24"}, {lab.client, "fwc", labAllowedV4 + "/32"}, {lab.client, "fwc", labClientPriv + "/24"},
	} {
		sh("-n", a[0], "addr", "add", a[2], "dev", a[1])
	}
	sh("-n", lab.node, "addr", "add", labNodeV6+"/64", "dev", "fwn", "nodad")
	sh("-n", lab.client, "addr", "add", labClientV6+"/64", "dev", "fwc", "nodad")
	for _, ns := range []string{lab.node, lab.client} {
		sh("-n", ns, "link", "set", "lo", "up")
	}
	sh("-n", lab.node, "link", "set", "fwn", "up")
	sh("-n", lab.client, "link", "set", "fwc", "up")
	sh("-n", lab.node, "route", "add", labAllowedV4+"/32", "dev", "fwn")
	if api != "" {
		// The API address on the node's loopback, as the health check holds it, and the client's
		// route to it, as the routers would give it.
		sh("-n", lab.node, "addr", "add", api+"/32", "dev", "lo")
		sh("-n", lab.client, "route", "add", api+"/32", "dev", "fwc")
	}
	// The firewall replaces an older IPv4-only table of the same name.
	legacy := filepath.Join(t.TempDir(), "legacy.nft")
	if err := os.WriteFile(legacy, []byte("table ip metalk8s {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "firewall.nft")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{legacy, path, path} { // loading twice changes nothing
		if out, err := exec.Command(ip, "netns", "exec", lab.node, nft, "-f", f).CombinedOutput(); err != nil {
			t.Fatalf("nft -f %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	tables, err := exec.Command(ip, "netns", "exec", lab.node, nft, "list", "tables").CombinedOutput()
	if err != nil || strings.TrimSpace(string(tables)) != "table inet metalk8s" {
		t.Fatalf("tables after loading: %v\n%s", err, tables)
	}
	// The node's link-local address; the kernel gives it once the link is up, after DAD.
	re := regexp.MustCompile(`inet6 (fe80::[0-9a-f:]+)/64`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := sh("-n", lab.node, "-6", "addr", "show", "dev", "fwn", "scope", "link")
		if mm := re.FindStringSubmatch(out); mm != nil && !strings.Contains(out, "tentative") {
			lab.linkLocal = mm[1] + "%fwc"
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no link-local address on the node:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lab.listen(t)
	return lab
}

// inNetns runs fn on an OS thread of its own that has entered the namespace ns. Sockets keep the
// namespace they were created in. The thread is never unlocked, so Go discards it afterwards.
func inNetns(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// listen opens a dual-stack listener on every lab port in the node namespace; each accepts and
// closes connections until the test ends.
func (l *firewallLab) listen(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	// Cleanups run last first: the wait is registered before the closes, so it runs after them.
	t.Cleanup(wg.Wait)
	for _, port := range labPorts {
		var ln net.Listener
		err := inNetns(l.node, func() error {
			var err error
			ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
			return err
		})
		if err != nil {
			t.Fatalf("listening on %d: %v", port, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		t.Cleanup(func() { ln.Close() })
	}
}

// answers dials port on to from the client namespace, from the source address from (any when
// empty), and reports whether the connection was accepted. A dropped SYN runs into the timeout.
func (l *firewallLab) answers(from, to string, port int) (bool, error) {
	var ok bool
	err := inNetns(l.client, func() error {
		d := net.Dialer{Timeout: time.Second}
		if from != "" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
		}
		c, err := d.Dial("tcp", net.JoinHostPort(to, fmt.Sprint(port)))
		if err == nil {
			ok = true
			return c.Close()
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return nil
		}
		return err
	})
	return ok, err
}

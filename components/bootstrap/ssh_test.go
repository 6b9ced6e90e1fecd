package bootstrap

// TestStepsRunOverRealSSH runs what the program hands pulumi-command's remote.Command (each
// step's connection, command and standard input, as the engine records them) against real
// OpenSSH servers: two hosts in a network namespace only a bastion reaches, the bastion in
// another, and the client in a third (internal/sshlab). Each host's sshd gives its sessions the
// environment of a script-test node (the stand-ins on PATH, the node's scratch root), so every
// step of a first `pulumi up` runs there exactly as sent and must leave the node as the script
// harness's own run of the same script does.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"

	"github.com/metalk8s/metalk8s/internal/sshlab"
)

// sshTestTimeout bounds the whole test: every dial, command and wait in it.
const sshTestTimeout = 4 * time.Minute

// Where the lab's servers listen. The controller's sshd is on the default port, so the default
// is exercised too; the worker's and the bastion's are not.
const (
	controllerSSHPort = DefaultSSHPort
	workerSSHPort     = 2222
	bastionSSHPort    = 2200
)

// needSSHLab returns the lab's tools, or skips the test without them (fails it with CI=true,
// where scripts/test.sh installs them).
func needSSHLab(t *testing.T) sshlab.Tools {
	t.Helper()
	tools, err := sshlab.FindTools()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("required in CI (scripts/test.sh installs it): %v", err)
		}
		t.Skip(err)
	}
	return tools
}

// needTool returns the path of a program the test runs, or skips the test without it (fails it
// with CI=true).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: scripts/test.sh installs it", name)
		}
		t.Skipf("%s not installed (bash scripts/test.sh installs it)", name)
	}
	return path
}

// sshKey is a fresh ed25519 key: its OpenSSH PEM and its public half.
func sshKey(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), sshPub
}

// remoteStep is one recorded remote command.
type remoteStep struct {
	name, create, stdin string
	conn                sshlab.Connection
	// after are the remote steps it depends on; seq is the order the engine saw it in.
	after []string
	seq   int
}

// endpoint turns a recorded connection (or proxy) into the client's settings.
func endpoint(c *recordedConnection) sshlab.Endpoint {
	return sshlab.Endpoint{
		Host: c.Host, Port: int(c.Port), User: c.User, PrivateKey: c.PrivateKey, HostKey: c.HostKey,
		DialErrorLimit: int(c.DialErrorLimit), PerDialTimeout: int(c.PerDialTimeout),
	}
}

// stringInput is a recorded string input without its secret wrapper.
func stringInput(v resource.PropertyValue) string {
	v, _ = unwrap(v)
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// recordSteps registers a Bootstrap with args under the fake cloud and returns its remote steps in
// an order that honours their dependencies, as the engine runs them on a first `pulumi up`.
func recordSteps(t *testing.T, args BootstrapArgs) []remoteStep {
	t.Helper()
	cmds := recordedCommands(t, args, nil)
	byURN := map[string]string{}
	for name, r := range cmds {
		byURN[r.URN] = name
	}
	steps := map[string]*remoteStep{}
	for name, r := range cmds {
		// A step without a create command (a worker's upgrade steps) runs only when its inputs
		// change, never on a first pulumi up.
		if _, ok := r.Inputs["create"]; !ok {
			continue
		}
		rc := decodeConnection(t, r.Inputs["connection"])
		s := &remoteStep{name: name, create: stringInput(r.Inputs["create"]), stdin: stringInput(r.Inputs["stdin"]),
			conn: sshlab.Connection{Endpoint: endpoint(rc)}, seq: r.Seq}
		if rc.Proxy != nil {
			p := endpoint(rc.Proxy)
			s.conn.Proxy = &p
		}
		deps := slices.Clone(r.DependsOn)
		for _, urns := range r.PropertyDeps {
			deps = append(deps, urns...)
		}
		for _, u := range deps {
			dep, ok := byURN[u]
			if !ok {
				continue
			}
			if _, creates := cmds[dep].Inputs["create"]; creates && !slices.Contains(s.after, dep) {
				s.after = append(s.after, dep)
			}
		}
		steps[name] = s
	}
	var order []remoteStep
	done := map[string]bool{}
	for len(order) < len(steps) {
		var ready []*remoteStep
		for name, s := range steps {
			if !done[name] && !slices.ContainsFunc(s.after, func(d string) bool { return !done[d] }) {
				ready = append(ready, s)
			}
		}
		if len(ready) == 0 {
			t.Fatal("the remote steps' dependencies form a cycle")
		}
		slices.SortFunc(ready, func(a, b *remoteStep) int { return a.seq - b.seq })
		for _, s := range ready {
			done[s.name] = true
			order = append(order, *s)
		}
	}
	return order
}

// sshNode is a script-test node served by an sshd, and its twin, which the harness runs the same
// scripts on directly.
type sshNode struct {
	name        string
	far, twin   *node
	addr        netip.Addr
	port        int
	server      *sshlab.Server
	privateIPv4 string
}

// normalised is a node's snapshot and call log with its own scratch directory named BASE, so
// that two nodes' can be compared.
func (n *node) normalised(t *testing.T) (map[string]string, []string) {
	t.Helper()
	snap := map[string]string{}
	for k, v := range n.snapshot(t) {
		snap[k] = strings.ReplaceAll(v, n.base, "BASE")
	}
	var calls []string
	for _, c := range n.calls(t) {
		calls = append(calls, strings.ReplaceAll(c, n.base, "BASE"))
	}
	return snap, calls
}

func TestStepsRunOverRealSSH(t *testing.T) {
	tools := needSSHLab(t)
	ctx, cancel := context.WithTimeout(t.Context(), sshTestTimeout)
	defer cancel()
	lab, err := sshlab.Start(ctx, tools, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Error(err)
		}
	})
	hostsKey, hostsPub := sshKey(t)
	bastionKey, bastionPub := sshKey(t)
	wrongKey, _ := sshKey(t)

	nodes := []*sshNode{
		{name: testController, addr: sshlab.TargetAddrs[0], port: controllerSSHPort, privateIPv4: testPrivateIP},
		{name: testWorker, addr: sshlab.TargetAddrs[1], port: workerSSHPort, privateIPv4: "10.0.0.11"},
	}
	for _, n := range nodes {
		n.far, n.twin = newNode(t), newNode(t)
		n.server, err = lab.StartSSHD(lab.Target, n.addr, n.port, sshlab.ServerConfig{
			AuthorizedKeys: map[string][]ssh.PublicKey{"root": {hostsPub}},
			Env:            n.far.environ(),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	bastion, err := lab.StartSSHD(lab.Bastion, sshlab.BastionAddr, bastionSSHPort, sshlab.ServerConfig{
		AuthorizedKeys: map[string][]ssh.PublicKey{"root": {bastionPub}}, Forwarding: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	client := sshlab.Client{Dial: lab.Dial}
	nodeAt := func(c sshlab.Connection) *sshNode {
		for _, n := range nodes {
			if c.Host == n.addr.String() && c.Port == n.port {
				return n
			}
		}
		t.Fatalf("no lab host at %s:%d", c.Host, c.Port)
		return nil
	}

	args := func() BootstrapArgs {
		a := BootstrapArgs{
			Kubernetes: KubernetesArgs{Version: testVersion}, APIAccess: APIAccess{AllowedCIDRs: []string{"198.51.100.0/24"}},
			SSHPrivateKey: pulumi.String(hostsKey), TokenTTLMinutes: testTTLMinutes,
			Bastion: &Bastion{Address: sshlab.BastionAddr.String(), Port: bastionSSHPort, PrivateKey: pulumi.String(bastionKey)},
		}
		for i, n := range nodes {
			h := Host{Name: n.name, SSHAddress: pulumi.String(n.addr.String()), PrivateIPv4: pulumi.String(n.privateIPv4),
				PublicIPv4: pulumi.String(fmt.Sprintf("203.0.113.%d", 10+i))}
			if n.port != DefaultSSHPort {
				h.SSHPort = n.port
			}
			if i == 0 {
				a.Controller = h
			} else {
				a.Workers = append(a.Workers, h)
			}
		}
		return a
	}
	steps := recordSteps(t, args())
	var names []string
	for _, s := range steps {
		names = append(names, s.name)
	}
	t.Logf("remote steps in order: %s", strings.Join(names, ", "))
	// A first `pulumi up` runs exactly these, each after the ones it depends on.
	prefix := "c"
	want := []string{testController + "-guard", testController + "-prepare", testWorker + "-prepare", testController + "-init",
		testController + "-retire-tokens", testController + "-upgrade", testController + "-certs", testWorker + "-token", testWorker + "-join", testWorker + "-registered"}
	if len(steps) != len(want) {
		t.Fatalf("remote steps %v, want %v", names, want)
	}
	for _, w := range want {
		if !slices.Contains(names, prefix+"-"+w) {
			t.Fatalf("remote steps %v lack %s", names, w)
		}
	}
	before := func(a, b string) {
		if slices.Index(names, prefix+"-"+a) > slices.Index(names, prefix+"-"+b) {
			t.Errorf("%s runs after %s: %v", a, b, names)
		}
	}
	before(testController+"-guard", testController+"-prepare")
	before(testController+"-guard", testWorker+"-prepare")
	before(testController+"-init", testController+"-upgrade")
	before(testController+"-upgrade", testController+"-certs")
	before(testController+"-init", testController+"-retire-tokens")
	before(testController+"-upgrade", testWorker+"-token")
	before(testController+"-prepare", testController+"-init")
	before(testController+"-init", testWorker+"-token")
	before(testWorker+"-prepare", testWorker+"-join")
	before(testWorker+"-token", testWorker+"-join")
	before(testWorker+"-join", testWorker+"-registered")

	// Each session runs with the node's environment and nothing of the machine's: the command
	// the steps send, bash -s, finds the stand-ins first and HOME is the node's, so no profile of
	// the machine's root user is read.
	probe := `printf '%s\n' "$PATH" "$METALK8S_ROOT" "$HOME" "$(command -v apt-get)" "$EUID"`
	for _, n := range nodes {
		var s remoteStep
		for _, st := range steps {
			if st.name == prefix+"-"+n.name+"-prepare" {
				s = st
			}
		}
		r, err := client.Run(ctx, s.conn, s.create, probe)
		if err != nil || r.Exit != 0 {
			t.Fatalf("%s: probe: %v, exit %d, stderr:\n%s", n.name, err, r.Exit, r.Stderr)
		}
		wantOut := strings.Join([]string{n.far.bin + ":" + n.far.tools, n.far.root, n.far.base, filepath.Join(n.far.bin, "apt-get"), "0"}, "\n") + "\n"
		if r.Stdout != wantOut {
			t.Fatalf("%s: the session's environment is\n%s\nwant\n%s", n.name, r.Stdout, wantOut)
		}
	}

	for _, s := range steps {
		n := nodeAt(s.conn)
		if strings.HasSuffix(s.name, testController+"-upgrade") {
			// The controller's kubelet registers its Node at the version kubeadm init ran; the
			// control-plane upgrade step waits for it, at the version, before it decides there is
			// nothing to do.
			for _, c := range []*node{nodes[0].far, nodes[0].twin} {
				c.setState(t, "nodes/"+testController, "")
				c.setState(t, "kubelet-version/"+testController, "v"+testVersion)
			}
		}
		if strings.HasSuffix(s.name, "-registered") {
			// The worker's kubelet registers its Node with the API server; the stand-ins do not
			// model a kubelet, so the test does it, as workerRegistered does for the script tests.
			for _, c := range []*node{nodes[0].far, nodes[0].twin} {
				workerRegistered(t, c)
			}
		}
		start := time.Now()
		r, err := client.Run(ctx, s.conn, s.create, s.stdin)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		t.Logf("%s: over SSH on %s (%s:%d via %s:%d) in %v, exit %d", s.name, n.name, s.conn.Host, s.conn.Port,
			s.conn.Proxy.Host, s.conn.Proxy.Port, time.Since(start).Round(time.Millisecond), r.Exit)
		if r.Exit != 0 {
			t.Fatalf("%s: exit %d; stderr:\n%s", s.name, r.Exit, r.Stderr)
		}
		if s.create != "bash -s" {
			t.Fatalf("%s: create %q, want bash -s (the harness runs scripts as root with bash -s)", s.name, s.create)
		}
		local := n.twin.run(t, script{body: s.stdin})
		mustSucceed(t, local)
		if r.Stdout != local.stdout {
			t.Errorf("%s: standard output over SSH\n%q\nwant, as run directly\n%q", s.name, r.Stdout, local.stdout)
		}
		if strings.HasSuffix(s.name, "-init") {
			if admin, ok := n.far.read(t, adminConf); !ok || !strings.Contains(admin, "server: https://") || r.Stdout != "" {
				t.Errorf("%s: no admin kubeconfig on the controller, or standard output not empty:\n%s", s.name, r.Stdout)
			}
		}
	}
	for _, n := range nodes {
		farSnap, farCalls := n.far.normalised(t)
		twinSnap, twinCalls := n.twin.normalised(t)
		if d := diff(twinSnap, farSnap); d != "" {
			t.Errorf("%s: the node run over SSH differs from the one run directly:\n%s", n.name, d)
		}
		if !slices.Equal(farCalls, twinCalls) {
			t.Errorf("%s: calls over SSH\n%s\nwant, as run directly\n%s", n.name, strings.Join(farCalls, "\n"), strings.Join(twinCalls, "\n"))
		}
		t.Logf("%s: %d stand-in calls, %d files, the same over SSH as run directly", n.name, len(farCalls), len(farSnap))
	}
	// The effects the script tests check, on the nodes reached over SSH.
	cp, w := nodes[0].far, nodes[1].far
	wantCalls(t, cp.calls(t), "kubeadm init --config "+filepath.Join(cp.root, "etc/metalk8s/kubeadm-init.yaml")+" --skip-token-print", 1)
	wantCalls(t, cp.calls(t), "kubeadm join *", 0)
	wantCalls(t, w.calls(t), "kubeadm join --config "+filepath.Join(w.root, "etc/metalk8s/kubeadm-join.yaml"), 1)
	wantCalls(t, w.calls(t), "kubeadm init *", 0)
	// The worker's token step made its token; its registration deleted it.
	wantCalls(t, cp.calls(t), "kubectl * create -f -", 1)
	wantCalls(t, cp.calls(t), "kubectl * delete secret bootstrap-token-"+fakeTokenID(t, steps)+" --ignore-not-found", 1)
	if _, ok := cp.readState(t, "secrets/kube-system/bootstrap-token-"+fakeTokenID(t, steps)); ok {
		t.Error("the worker's join token outlives its registration")
	}
	wantAbsent(t, w, "etc/metalk8s/kubeadm-join.yaml")
	for _, n := range []*node{cp, w} {
		wantState(t, n, "dpkg/kubeadm", packageVersionWant)
		wantState(t, n, "enabled/kubelet", "")
	}
	// Once by the token step (a registered node needs no token), once by the registration.
	wantCalls(t, cp.calls(t), "kubectl * get node "+testWorker, 2)

	t.Run("refused", func(t *testing.T) {
		refusedConnections(t, ctx, lab, client, nodes, args, wrongKey)
	})
	t.Run("openssh", func(t *testing.T) {
		openSSHAgrees(t, ctx, lab, client, steps[0], probe, hostsKey, bastionKey)
	})
	if err := lab.Exited(); err != nil {
		t.Errorf("an sshd stopped during the test: %v", err)
	}
	for _, srv := range append([]*sshlab.Server{bastion}, nodes[0].server, nodes[1].server) {
		t.Logf("sshd %s:%d: %d log lines", srv.Addr, srv.Port, len(srv.LogLines()))
	}
}

// fakeTokenID is the worker's join token's ID in the recorded token step.
func fakeTokenID(t *testing.T, steps []remoteStep) string {
	t.Helper()
	for _, s := range steps {
		if strings.HasSuffix(s.name, "-token") {
			for _, line := range strings.Split(s.stdin, "\n") {
				if id, ok := strings.CutPrefix(strings.TrimSpace(line), "token-id: "); ok {
					return strings.Trim(id, `"'`)
				}
			}
		}
	}
	t.Fatal("no token-id in the token step")
	return ""
}

// refusedConnections registers the Bootstrap with one connection setting wrong at a time and
// runs its controller's preparation step as recorded: each must fail to connect, for the reason
// given, and run nothing on any node.
func refusedConnections(t *testing.T, ctx context.Context, lab *sshlab.Lab, client sshlab.Client, nodes []*sshNode, args func() BootstrapArgs, wrongKey string) {
	// One dial per stage: these fail the same way on every retry.
	client.MaxDials = 1
	cases := []struct {
		name, why string
		edit      func(*BootstrapArgs)
		step      string
	}{
		{name: "wrong key for the hosts", why: "proxy: dial: after 1 failed attempts: ssh: handshake failed: ssh: unable to authenticate", step: testController + "-prepare",
			edit: func(a *BootstrapArgs) { a.SSHPrivateKey = pulumi.String(wrongKey) }},
		{name: "wrong key for the bastion", why: "proxy: dial proxy: after 1 failed attempts: ssh: handshake failed: ssh: unable to authenticate", step: testController + "-prepare",
			edit: func(a *BootstrapArgs) { a.Bastion.PrivateKey = pulumi.String(wrongKey) }},
		{name: "wrong user", why: "proxy: dial: after 1 failed attempts: ssh: handshake failed: ssh: unable to authenticate", step: testWorker + "-join",
			edit: func(a *BootstrapArgs) { a.SSHUser, a.Bastion.User = "admin", "root" }},
		{name: "wrong bastion port", why: "proxy: dial proxy: after 1 failed attempts: dial tcp 198.51.100.2:2201: connect: connection refused", step: testController + "-prepare",
			edit: func(a *BootstrapArgs) { a.Bastion.Port = bastionSSHPort + 1 }},
		{name: "wrong bastion address", why: "proxy: dial proxy: after 1 failed attempts: dial tcp 192.0.2.10:2200: connect: network is unreachable", step: testController + "-prepare",
			edit: func(a *BootstrapArgs) { a.Bastion.Address = sshlab.TargetAddrs[0].String() }},
		{name: "wrong host port", why: `proxy: dial from proxy: after 1 failed attempts: ssh: rejected: connect failed ("Connection refused")`, step: testWorker + "-join",
			edit: func(a *BootstrapArgs) { a.Workers[0].SSHPort = workerSSHPort + 1 }},
		{name: "no bastion", why: "dial: after 1 failed attempts: dial tcp 192.0.2.10:22: connect: network is unreachable", step: testController + "-prepare",
			edit: func(a *BootstrapArgs) { a.Bastion = nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := args()
			tc.edit(&a)
			var step *remoteStep
			for _, s := range recordSteps(t, a) {
				if s.name == "c-"+tc.step {
					step = &s
				}
			}
			if step == nil {
				t.Fatalf("no step %s", tc.step)
			}
			var logs []int
			for _, n := range nodes {
				logs = append(logs, len(n.far.calls(t)))
			}
			start := time.Now()
			r, err := client.Run(ctx, step.conn, step.create, step.stdin)
			switch {
			case err == nil:
				t.Fatalf("ran (exit %d); stdout:\n%s", r.Exit, r.Stdout)
			case !strings.Contains(err.Error(), tc.why):
				t.Errorf("failed with %v, want %q", err, tc.why)
			}
			t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
			for i, n := range nodes {
				if got := len(n.far.calls(t)); got != logs[i] {
					t.Errorf("%s: %d stand-in calls made", n.name, got-logs[i])
				}
			}
		})
	}
}

// openSSHAgrees runs the probe through OpenSSH's own client (ssh -J, the bastion as jump host)
// from the client namespace: it must print what the Go client's session printed, and without
// -J it must fail to reach the host.
func openSSHAgrees(t *testing.T, ctx context.Context, lab *sshlab.Lab, client sshlab.Client, step remoteStep, probe, hostsKey, bastionKey string) {
	sshPath := needTool(t, "ssh")
	dir := t.TempDir()
	hostsFile, bastionFile := filepath.Join(dir, "hosts_key"), filepath.Join(dir, "bastion_key")
	for f, k := range map[string]string{hostsFile: hostsKey, bastionFile: bastionKey} {
		if err := os.WriteFile(f, []byte(k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// ssh -J hands -F to the ssh it starts for the jump host: both hops read this file.
	cfg := filepath.Join(dir, "ssh_config")
	text := strings.Join([]string{"Host *", "  IdentityFile " + hostsFile, "  IdentityFile " + bastionFile, "  IdentitiesOnly yes",
		"  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null", "  BatchMode yes", "  LogLevel ERROR", "  ConnectTimeout 10"}, "\n") + "\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := client.Run(ctx, step.conn, step.create, probe)
	if err != nil {
		t.Fatal(err)
	}
	c, p := step.conn, step.conn.Proxy
	run := func(jump bool) (string, string, error) {
		argv := []string{"netns", "exec", lab.Client, sshPath, "-F", cfg, "-p", strconv.Itoa(c.Port)}
		if jump {
			argv = append(argv, "-J", fmt.Sprintf("%s@%s:%d", p.User, p.Host, p.Port))
		}
		argv = append(argv, c.User+"@"+c.Host, step.create)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, needTool(t, "ip"), argv...)
		cmd.Stdin = strings.NewReader(probe)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	out, stderr, err := run(true)
	if err != nil {
		t.Fatalf("ssh -J: %v\n%s", err, stderr)
	}
	if out != want.Stdout {
		t.Errorf("ssh -J printed\n%s\nthe Go client's session\n%s", out, want.Stdout)
	}
	if _, stderr, err := run(false); err == nil || !strings.Contains(strings.ToLower(stderr), "network is unreachable") {
		t.Errorf("ssh without the jump host: %v\n%s", err, stderr)
	}
}

package bootstrap

// These tests execute the node scripts for real, with bash, in a scratch tree: METALK8S_ROOT is a
// fresh directory seeded like a new Ubuntu 24.04 server, and PATH holds only recorded stand-ins of
// the system commands (testdata/scripts) and a few real tools. They prove that every script
// succeeds on a fresh node, that a second run changes nothing, that a failing step stops the script
// and that running it again once the failure is gone converges on the state of a clean run.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// standinDir holds the stand-ins' sources: prelude.sh, shared by all, and NAME.sh for the
// stand-in of the command NAME.
const standinDir = "testdata/scripts"

// runTimeout bounds one script execution, so that a script that hangs fails its test.
const runTimeout = 60 * time.Second

// realTools are the real commands the scripts and the stand-ins may run. The scripts' PATH holds
// the stand-ins and these only, so a command that is neither fails the test instead of touching the
// machine running it.
var realTools = []string{
	"base64", "bash", "cat", "chmod", "cmp", "cp", "date", "dirname", "grep", "mkdir", "mktemp", "mv",
	"rm", "sed", "sort", "timeout", "tr", "wc",
}

// Values the scripts are rendered with.
const (
	// testVersion is the Kubernetes release installed.
	testVersion = "1.37.2"
	// testController and testWorker name the two nodes.
	testController = "cp-1"
	testWorker     = "worker-1"
	// testPrivateIP and testPublicIP are the controller's addresses.
	testPrivateIP = "10.0.0.10"
	testPublicIP  = "203.0.113.10"
	// testTokenID and testTokenSecret are the halves of the bootstrap token.
	testTokenID     = "abcdef"
	testTokenSecret = "0123456789abcdef"
	// testTTLMinutes is the token's lifetime.
	testTTLMinutes = 60
	// testCACert is the cluster CA certificate.
	testCACert = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdCBjZXJ0aWZpY2F0ZQ==\n-----END CERTIFICATE-----\n"
	// testCAKeyBody is the secret part of testCAKey.
	testCAKeyBody = "c2VjcmV0LWNhLWtleS1ib2R5"
	// testCAKey is the cluster CA key.
	testCAKey = "-----BEGIN EC PRIVATE KEY-----\n" + testCAKeyBody + "\n-----END EC PRIVATE KEY-----\n"
)

// secrets must never appear in a command line: other users of a node can read those.
var secrets = []string{testTokenSecret, testCAKeyBody}

// Files of a fresh Ubuntu 24.04 the scripts read.
const (
	// osRelease is /etc/os-release.
	osRelease = `PRETTY_NAME="Ubuntu 24.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.3 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
`
	// fstab is /etc/fstab, with the installer's swap file.
	fstab = "# /etc/fstab: static file system information.\n" +
		"UUID=5f2d0c38-5c3b-4b8e-9d0e-2f0a7c1e4b11 / ext4 defaults 0 1\n" +
		"UUID=A1B2-C3D4 /boot/efi vfat umask=0077 0 1\n" +
		"/swap.img\tnone\tswap\tsw\t0\t0\n"
	// swapCommented is fstab's swap line once disabled.
	swapCommented = "# /swap.img\tnone\tswap\tsw\t0\t0\n"
)

// script is one executable under test.
type script struct {
	// name is the file the script is installed as, for a helper run as a command.
	name string
	// body is the script's text.
	body string
	// args are the helper's arguments. A script without a name is piped to bash -s, as on a node.
	args []string
}

// result is what one execution of a script did.
type result struct {
	// code is bash's exit status.
	code int
	// stdout and stderr are what the script printed.
	stdout, stderr string
	// calls are the stand-in calls made, in order, as logged: "NAME ARG...".
	calls []string
}

// node is a scratch server: a root tree, the stand-ins' state and their log.
type node struct {
	// base holds everything; it is the scripts' working directory.
	base string
	// root is METALK8S_ROOT, the node's file system.
	root string
	// state is where stand-ins keep what is not a file of the node (packages, units, API objects).
	state string
	// bin holds the stand-ins; tools links to the real commands in realTools.
	bin, tools string
	// log is the stand-ins' call log; faults their injected failures.
	log, faults string
}

// newNode makes a node seeded like a fresh Ubuntu 24.04 server.
func newNode(t *testing.T) *node {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the scripts target Linux (GNU coreutils)")
	}
	base := t.TempDir()
	n := &node{
		base: base, root: filepath.Join(base, "root"), state: filepath.Join(base, "state"),
		bin: filepath.Join(base, "bin"), tools: filepath.Join(base, "tools"),
		log: filepath.Join(base, "calls.log"), faults: filepath.Join(base, "faults"),
	}
	for _, d := range []string{n.state, n.bin, n.tools} {
		mkdir(t, d)
	}
	n.installStandins(t)
	for _, name := range realTools {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("the script tests need %s: %v", name, err)
		}
		if err := os.Symlink(p, filepath.Join(n.tools, name)); err != nil {
			t.Fatal(err)
		}
	}
	n.write(t, "etc/os-release", osRelease, 0o644)
	n.write(t, "etc/fstab", fstab, 0o644)
	n.write(t, "etc/apt/sources.list.d/ubuntu.sources", "Types: deb\nURIs: http://archive.ubuntu.com/ubuntu/\nSuites: noble noble-updates\nComponents: main restricted universe multiverse\n", 0o644)
	for _, d := range []string{"etc/apt/keyrings", "etc/systemd/system", "usr/local/sbin", "var/lib"} {
		mkdir(t, filepath.Join(n.root, d))
	}
	return n
}

// installStandins writes every stand-in into bin: a shebang, the prelude and the command's file.
func (n *node) installStandins(t *testing.T) {
	t.Helper()
	prelude, err := os.ReadFile(filepath.Join(standinDir, "prelude.sh"))
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob(filepath.Join(standinDir, "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range sources {
		name := strings.TrimSuffix(filepath.Base(src), ".sh")
		if name == "prelude" {
			continue
		}
		body, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		text := "#!/usr/bin/env bash\n" + string(prelude) + "\n" + string(body)
		if err := os.WriteFile(filepath.Join(n.bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// mkdir creates a directory and its parents.
func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// write creates the node's file rel (below the root) with content and mode.
func (n *node) write(t *testing.T, rel, content string, mode fs.FileMode) {
	t.Helper()
	path := filepath.Join(n.root, rel)
	mkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// setState creates the stand-ins' state file rel with content.
func (n *node) setState(t *testing.T, rel, content string) {
	t.Helper()
	path := filepath.Join(n.state, rel)
	mkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// read returns the node's file rel (below the root), or "" and false when it does not exist.
func (n *node) read(t *testing.T, rel string) (string, bool) {
	t.Helper()
	return readFile(t, filepath.Join(n.root, rel))
}

// readState returns the stand-ins' state file rel, or "" and false when it does not exist.
func (n *node) readState(t *testing.T, rel string) (string, bool) {
	t.Helper()
	return readFile(t, filepath.Join(n.state, rel))
}

// readFile returns a file's content, or "" and false when it does not exist.
func readFile(t *testing.T, path string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// inject makes the stand-ins fail: each rule is "EXIT TIMES GLOB" (see prelude.sh).
func (n *node) inject(t *testing.T, rules ...string) {
	t.Helper()
	if err := os.WriteFile(n.faults, []byte(strings.Join(rules, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// clearFaults removes the injected failures and their counters.
func (n *node) clearFaults(t *testing.T) {
	t.Helper()
	files, err := filepath.Glob(n.faults + "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
}

// calls returns every call logged so far.
func (n *node) calls(t *testing.T) []string {
	t.Helper()
	text, _ := readFile(t, n.log)
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// environ is the environment the node's scripts run in: the stand-ins and the real tools of
// realTools only on PATH, and where the stand-ins find the node's root, their state and log.
func (n *node) environ() []string {
	return []string{
		"PATH=" + n.bin + ":" + n.tools,
		"METALK8S_ROOT=" + n.root,
		"STANDIN_STATE=" + n.state,
		"STANDIN_LOG=" + n.log,
		"STANDIN_FAULTS=" + n.faults,
		"HOME=" + n.base,
		"LC_ALL=C",
		"TZ=UTC",
	}
}

// run executes s on the node with bash, as on a server, within runTimeout.
func (n *node) run(t *testing.T, s script) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	before := len(n.calls(t))
	var cmd *exec.Cmd
	if s.name == "" {
		cmd = exec.CommandContext(ctx, "bash", "-s")
		cmd.Stdin = strings.NewReader(s.body)
	} else {
		path := filepath.Join(n.base, s.name)
		if err := os.WriteFile(path, []byte(s.body), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd = exec.CommandContext(ctx, path, s.args...)
	}
	cmd.Dir = n.base
	cmd.Env = n.environ()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the script did not finish within %v; stderr:\n%s", runTimeout, stderr.String())
	}
	r := result{stdout: stdout.String(), stderr: stderr.String(), calls: n.calls(t)[before:]}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	t.Logf("script run: exit %d, %d stand-in calls", r.code, len(r.calls))
	for _, c := range r.calls {
		for _, secret := range secrets {
			if strings.Contains(c, secret) {
				t.Errorf("a secret is on a command line: %s", c)
			}
		}
	}
	return r
}

// mustSucceed fails the test unless r exited 0.
func mustSucceed(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
}

// globPattern turns a shell glob ('*' matches anything, '/' included, as in [[ == ]]) into a
// regular expression matching a whole call.
func globPattern(glob string) *regexp.Regexp {
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(glob), `\*`, ".*") + "$")
}

// matching returns the calls matching glob.
func matching(calls []string, glob string) []string {
	re := globPattern(glob)
	var m []string
	for _, c := range calls {
		if re.MatchString(c) {
			m = append(m, c)
		}
	}
	return m
}

// lastIndex returns the index of the last call matching glob, or -1.
func lastIndex(calls []string, glob string) int {
	re := globPattern(glob)
	for i := len(calls) - 1; i >= 0; i-- {
		if re.MatchString(calls[i]) {
			return i
		}
	}
	return -1
}

// sleeps returns the durations the script slept, in order.
func sleeps(calls []string) []string {
	var d []string
	for _, c := range matching(calls, "sleep *") {
		d = append(d, strings.TrimPrefix(c, "sleep "))
	}
	return d
}

// verb returns a call's first argument that is not an option, skipping the values of
// kubectl's --kubeconfig and -n.
func verb(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--kubeconfig" || a == "-n":
			i++
		case !strings.HasPrefix(a, "-"):
			return a
		}
	}
	return ""
}

// stateChanging reports whether a logged call changes the node: installing or holding packages,
// fetching package lists, images or keys, changing units, kubeadm's init, join and reset,
// kubectl's writes, loading firewall rules or kernel modules, turning swap off, applying sysctls.
func stateChanging(call string) bool {
	f := strings.Fields(call)
	if len(f) == 0 {
		return false
	}
	args := f[1:]
	switch v := verb(args); f[0] {
	case "apt-get":
		return slices.Contains([]string{"install", "update", "upgrade", "dist-upgrade", "remove", "purge"}, v)
	case "apt-mark":
		return v == "hold" || v == "unhold"
	case "systemctl":
		return slices.Contains([]string{"start", "stop", "restart", "reload", "enable", "disable", "mask", "daemon-reload"}, v)
	case "kubeadm":
		joined := strings.Join(args, " ")
		return slices.Contains([]string{"init", "join", "reset"}, v) || strings.HasPrefix(joined, "config images pull") ||
			strings.HasPrefix(joined, "upgrade apply") || strings.HasPrefix(joined, "upgrade node") ||
			strings.HasPrefix(joined, "certs renew") || strings.HasPrefix(joined, "token create")
	case "kubectl":
		return slices.Contains([]string{"apply", "create", "replace", "patch", "delete", "drain", "cordon", "uncordon", "label", "annotate", "taint"}, v)
	case "nft":
		return v != "list"
	case "sysctl":
		return slices.Contains(args, "--system") || slices.Contains(args, "-w")
	case "modprobe", "swapoff", "gpg", "curl":
		return true
	}
	return false
}

// changes returns the state-changing calls among calls.
func changes(calls []string) []string {
	var c []string
	for _, call := range calls {
		if stateChanging(call) {
			c = append(c, call)
		}
	}
	return c
}

// expiration matches the token's expiry, which depends on when the script ran.
var expiration = regexp.MustCompile(`expiration: \S+`)

// snapshot maps every path below the node's root and the stand-ins' state to its type, mode and
// content, so that two snapshots differ when a file, directory, link or mode changed. The token's
// expiry time is left out.
func (n *node) snapshot(t *testing.T) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for _, top := range []string{n.root, n.state} {
		err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(n.base, path)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			entry := info.Mode().String()
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return err
				}
				entry += " -> " + target
			case info.Mode().IsRegular():
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				entry += "\n" + expiration.ReplaceAllString(string(b), "expiration: (time)")
			}
			snap[rel] = entry
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return snap
}

// diff describes how snapshot b differs from snapshot a, or returns "" when they are equal.
func diff(a, b map[string]string) string {
	var lines []string
	for p, v := range a {
		w, ok := b[p]
		switch {
		case !ok:
			lines = append(lines, "removed "+p)
		case v != w:
			lines = append(lines, fmt.Sprintf("changed %s:\n  was %q\n  now %q", p, v, w))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			lines = append(lines, "added "+p)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// firewallRules renders the host firewall of the controller or of the worker.
func firewallRules(t *testing.T, controller bool) string {
	t.Helper()
	fw := FirewallData{Node: testWorker, PublicIPv4: testPublicIP, APIPort: DefaultAPIPort}
	if controller {
		fw.Node, fw.APIAllowedCIDRs = testController, []string{"198.51.100.0/24"}
	}
	rules, err := RenderFirewall(fw)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// prepareScript renders the preparation script of the controller or of the worker.
func prepareScript(t *testing.T, controller bool) script {
	t.Helper()
	d := PrepareData{
		Node: testWorker, Controller: controller, Version: testVersion, Minor: minor(testVersion),
		PackageVersion: packageVersion(testVersion), ContainerdMinor: ContainerdMinor, Firewall: firewallRules(t, controller),
		ContainerdConfig: containerdConfig, ResetScript: resetScript,
	}
	if controller {
		d.Node, d.RemoveNodeScript = testController, removeNodeScript
	}
	body, err := RenderPrepare(d)
	if err != nil {
		t.Fatal(err)
	}
	return script{body: body}
}

// testSpec is the cluster the kubeadm configurations describe.
func testSpec() clusterSpec {
	return clusterSpec{
		Kubernetes: KubernetesArgs{
			Version: testVersion, APIPort: DefaultAPIPort, PodCIDR: DefaultPodCIDR,
			ServiceCIDR: DefaultServiceCIDR, DNSServiceIP: DefaultDNSServiceIP, DNSDomain: DefaultDNSDomain,
		},
		Access:         APIAccess{AllowedCIDRs: []string{"198.51.100.0/24"}},
		ControllerName: testController, ControllerPrivate: testPrivateIP, ControllerPublic: testPublicIP,
		Token: testTokenID + "." + testTokenSecret,
	}
}

// initConfig is the controller's kubeadm configuration.
func initConfig(t *testing.T) string {
	t.Helper()
	cfg, err := testSpec().InitConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// joinConfig is the worker's kubeadm configuration.
func joinConfig(t *testing.T) string {
	t.Helper()
	cfg, err := testSpec().JoinConfig(testWorker, "10.0.0.11", "sha256:"+strings.Repeat("ab", 32), map[string]string{"metalk8s.io/metallb-speaker": "true"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// initScript renders the controller's init script.
func initScript(t *testing.T) script {
	t.Helper()
	body, err := RenderInit(InitData{Node: testController, Endpoint: testSpec().Endpoint(), CACert: testCACert, CAKey: testCAKey, Config: initConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	return script{body: body}
}

// tokenScript renders the worker's token script.
func tokenScript(t *testing.T) script {
	t.Helper()
	body, err := RenderToken(TokenData{Worker: testWorker, TokenID: testTokenID, TokenSecret: testTokenSecret, TTLMinutes: testTTLMinutes})
	if err != nil {
		t.Fatal(err)
	}
	return script{body: body}
}

// joinScript renders the worker's join script.
func joinScript(t *testing.T) script {
	t.Helper()
	body, err := RenderJoin(JoinData{Node: testWorker, Endpoint: testSpec().Endpoint(), Config: joinConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	return script{body: body}
}

// registeredScript renders the worker's registration check.
func registeredScript(t *testing.T) script {
	t.Helper()
	body, err := RenderRegistered(RegisteredData{Worker: testWorker, TokenID: testTokenID})
	if err != nil {
		t.Fatal(err)
	}
	return script{body: body}
}

// retireTokensScript renders the controller's retirement of unused join tokens.
func retireTokensScript(t *testing.T) script {
	t.Helper()
	body, err := RenderRetireTokens(RetireTokensData{Node: testController})
	if err != nil {
		t.Fatal(err)
	}
	return script{body: body}
}

// tokenSecretDoc is a bootstrap token Secret as the kubectl stand-in keeps it: the document
// created, with its data as stringData.
func tokenSecretDoc(id, description string) string {
	doc := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bootstrap-token-" + id + "\n  namespace: kube-system\n" +
		"type: bootstrap.kubernetes.io/token\nstringData:\n"
	if description != "" {
		doc += "  description: " + description + "\n"
	}
	return doc + "  token-id: " + id + "\n  token-secret: " + strings.Repeat("x", 16) + "\n" +
		"  usage-bootstrap-authentication: \"true\"\n  usage-bootstrap-signing: \"true\"\n"
}

// The tokens a controller may hold, by ID: kubeadm init's, the one workers used to share, the
// worker's own and one the cluster's administrator made.
const (
	initTokenID, sharedTokenID, adminTokenID = "init00", "shared", "admin0"
)

// withTokens seeds an initialised controller holding every kind of token.
func withTokens(t *testing.T, n *node) {
	t.Helper()
	apiUp(t, n)
	for id, description := range map[string]string{
		initTokenID: initTokenDescription, sharedTokenID: sharedTokenDescription,
		testTokenID: workerTokenDescription + testWorker, adminTokenID: "",
	} {
		n.setState(t, "secrets/kube-system/bootstrap-token-"+id, tokenSecretDoc(id, description))
	}
}

// workerTokenIssued seeds the worker's own join token, as its token step makes it.
func workerTokenIssued(t *testing.T, n *node) {
	t.Helper()
	n.setState(t, "secrets/kube-system/bootstrap-token-"+testTokenID, tokenSecretDoc(testTokenID, workerTokenDescription+testWorker))
}

// checkRetired verifies that the unused tokens are gone and the others left as they were.
func checkRetired(t *testing.T, n *node, _ result) {
	t.Helper()
	for _, id := range []string{initTokenID, sharedTokenID} {
		if _, ok := n.readState(t, "secrets/kube-system/bootstrap-token-"+id); ok {
			t.Errorf("the unused token %s is still there", id)
		}
	}
	wantState(t, n, "secrets/kube-system/bootstrap-token-"+testTokenID, tokenSecretDoc(testTokenID, workerTokenDescription+testWorker))
	wantState(t, n, "secrets/kube-system/bootstrap-token-"+adminTokenID, tokenSecretDoc(adminTokenID, ""))
}

// checkTokenDeleted verifies that the registration deleted the worker's join token once the node
// was registered.
func checkTokenDeleted(t *testing.T, n *node, r result) {
	t.Helper()
	wantOrder(t, r.calls, "kubectl * get node "+testWorker, "kubectl * delete secret bootstrap-token-"+testTokenID+" --ignore-not-found")
	if _, ok := n.readState(t, "secrets/kube-system/bootstrap-token-"+testTokenID); ok {
		t.Error("the worker's join token outlives its registration")
	}
}

// removeNode is the helper the registration step's delete action runs on the controller.
func removeNode(*testing.T) script {
	return script{name: "metalk8s-remove-node", body: removeNodeScript, args: []string{testWorker}}
}

// reset is the helper the join step's delete action runs on a node.
func reset(*testing.T) script {
	return script{name: "metalk8s-reset", body: resetScript}
}

// adminConf is the controller's admin kubeconfig, as the stand-ins check it.
const adminConf = "etc/kubernetes/admin.conf"

// apiUp seeds an initialised controller: its admin kubeconfig and a running API server.
func apiUp(t *testing.T, n *node) {
	t.Helper()
	n.write(t, adminConf, "apiVersion: v1\nkind: Config\n", 0o600)
	n.write(t, "etc/kubernetes/manifests/kube-apiserver.yaml", "", 0o600)
}

// workerRegistered seeds the worker's Node object.
func workerRegistered(t *testing.T, n *node) { n.setState(t, "nodes/"+testWorker, "") }

// joined seeds a node whose join finished: its kubelet kubeconfig, a CNI configuration and the
// join script's finish mark.
func joined(t *testing.T, n *node) {
	t.Helper()
	cutShort(t, n)
	n.write(t, "etc/kubernetes/kubelet.conf", kubeconfigAt(testSpec().Endpoint()), 0o600)
	n.write(t, "etc/metalk8s/join.finished", "", 0o644)
}

// joinedElsewhere seeds a worker joined to a control plane that has since moved.
func joinedElsewhere(t *testing.T, n *node) {
	t.Helper()
	joined(t, n)
	n.write(t, "etc/kubernetes/kubelet.conf", kubeconfigAt("10.0.0.99:6443"), 0o600)
}

// kubeconfigAt is the part of a kubeadm kubeconfig the scripts read: its API server.
func kubeconfigAt(endpoint string) string {
	return "clusters:\n- cluster:\n    server: https://" + endpoint + "\n"
}

// cutShort seeds a node where kubeadm join wrote its kubelet kubeconfig, but the join script
// never saw it finish and the cluster does not know the node.
func cutShort(t *testing.T, n *node) {
	t.Helper()
	n.write(t, "etc/kubernetes/kubelet.conf", "kubelet\n", 0o600)
	n.write(t, "etc/kubernetes/pki/ca.crt", testCACert, 0o644)
	n.write(t, "etc/cni/net.d/10-flannel.conflist", "{}\n", 0o644)
}

// wantFile fails the test unless the node's file rel has content and mode.
func wantFile(t *testing.T, n *node, rel, content string, mode fs.FileMode) {
	t.Helper()
	got, ok := n.read(t, rel)
	if !ok {
		t.Errorf("/%s is missing", rel)
		return
	}
	if got != content {
		t.Errorf("/%s is\n%s\nwant\n%s", rel, got, content)
	}
	info, err := os.Stat(filepath.Join(n.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != mode {
		t.Errorf("/%s has mode %v, want %v", rel, info.Mode().Perm(), mode)
	}
}

// wantAbsent fails the test when the node's file rel exists.
func wantAbsent(t *testing.T, n *node, rel string) {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(n.root, rel)); err == nil {
		t.Errorf("/%s exists", rel)
	}
}

// wantState fails the test unless the stand-ins' state file rel has content.
func wantState(t *testing.T, n *node, rel, content string) {
	t.Helper()
	got, ok := n.readState(t, rel)
	switch {
	case !ok:
		t.Errorf("stand-in state %s is missing", rel)
	case got != content:
		t.Errorf("stand-in state %s is\n%s\nwant\n%s", rel, got, content)
	}
}

// wantCalls fails the test unless calls holds exactly count calls matching glob.
func wantCalls(t *testing.T, calls []string, glob string, count int) {
	t.Helper()
	if got := len(matching(calls, glob)); got != count {
		t.Errorf("%d calls %q, want %d; calls:\n%s", got, glob, count, strings.Join(calls, "\n"))
	}
}

// wantOrder fails the test unless a call matching first comes before one matching then.
func wantOrder(t *testing.T, calls []string, first, then string) {
	t.Helper()
	i, j := lastIndex(calls, first), lastIndex(calls, then)
	if i < 0 || j < 0 || i > j {
		t.Errorf("want %q before %q; calls:\n%s", first, then, strings.Join(calls, "\n"))
	}
}

// scriptCase is one script run on a node in a given state.
type scriptCase struct {
	// name names the case.
	name string
	// script returns what runs.
	script func(*testing.T) script
	// seed brings the fresh node into the state the script runs in; nil leaves it fresh.
	seed func(*testing.T, *node)
	// changes says whether the first run changes the node; if not, it may make no
	// state-changing call either.
	changes bool
	// check verifies the case's behaviour after the first run.
	check func(*testing.T, *node, result)
	// again verifies the case's behaviour after the second run.
	again func(*testing.T, *node, result)
}

// packageVersionWant is the Debian version the kubelet, kubeadm and kubectl must be installed at.
var packageVersionWant = packageVersion(testVersion)

// containerdWant is the containerd.io version a fresh node gets from the stand-in of Docker's
// repository for Ubuntu 24.04 (available in testdata/scripts/prelude.sh): the newest 2.2.
const containerdWant = "2.2.1-1~ubuntu.24.04~noble"

// containerdPreferences is the apt preferences file pinning containerd.io to ContainerdMinor.
const containerdPreferences = "Package: containerd.io\nPin: version " + ContainerdMinor + ".*\nPin-Priority: 1001\n"

// aptInstall begins every package installation: waiting up to 600 s for dpkg's lock, keeping the
// configuration files metalk8s wrote, allowed to move held packages to the pinned version.
const aptInstall = "apt-get install -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -y -q --allow-downgrades --allow-change-held-packages "

// holdAll holds the four pinned packages.
const holdAll = "apt-mark hold containerd.io kubelet kubeadm kubectl"

// checkPrepared verifies a prepared node: swap off, modules and sysctls applied, containerd 2.2
// running with metalk8s' configuration, apt pinned to containerd 2.2, the four packages installed
// at their version and held, the units enabled, the firewall loaded and the helper scripts
// installed.
func checkPrepared(controller bool) func(*testing.T, *node, result) {
	return func(t *testing.T, n *node, r result) {
		t.Helper()
		want := packageVersionWant
		install := aptInstall + "kubelet=" + want + " kubeadm=" + want + " kubectl=" + want
		wantCalls(t, r.calls, install, 1)
		wantCalls(t, r.calls, aptInstall+"containerd.io="+containerdWant, 1)
		wantCalls(t, r.calls, holdAll, 1)
		wantOrder(t, r.calls, "apt-get update *", "apt-get install *")
		wantOrder(t, r.calls, "apt-cache policy containerd.io", "apt-get install * containerd.io=*")
		wantOrder(t, r.calls, install, holdAll)
		wantFile(t, n, "etc/apt/preferences.d/metalk8s-containerd", containerdPreferences, 0o644)
		wantState(t, n, "hold/containerd.io", "")
		wantCalls(t, r.calls, "swapoff -a", 1)
		wantCalls(t, r.calls, "modprobe *", 2)
		wantCalls(t, r.calls, "nft -f "+filepath.Join(n.root, "etc/metalk8s/firewall.nft"), 1)
		for _, p := range []string{"kubelet", "kubeadm", "kubectl"} {
			wantState(t, n, "dpkg/"+p, want)
			wantState(t, n, "hold/"+p, "")
		}
		wantState(t, n, "dpkg/containerd.io", containerdWant)
		for _, u := range []string{"containerd", "kubelet", "metalk8s-firewall"} {
			wantState(t, n, "enabled/"+u, "")
		}
		wantFile(t, n, "etc/fstab", strings.Replace(fstab, "/swap.img\tnone\tswap\tsw\t0\t0\n", swapCommented, 1), 0o644)
		for _, m := range []string{"overlay", "br_netfilter"} {
			if info, err := os.Stat(filepath.Join(n.root, "sys/module", m)); err != nil || !info.IsDir() {
				t.Errorf("module %s is not loaded", m)
			}
		}
		wantFile(t, n, "etc/modules-load.d/metalk8s.conf", "overlay\nbr_netfilter\n", 0o644)
		sysctls := "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n"
		wantFile(t, n, "etc/sysctl.d/90-metalk8s.conf", sysctls, 0o644)
		wantState(t, n, "sysctl", sysctls)
		wantFile(t, n, "etc/apt/sources.list.d/docker.list", "deb [signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/ubuntu noble stable\n", 0o644)
		wantFile(t, n, "etc/apt/sources.list.d/kubernetes.list", "deb [signed-by=/etc/apt/keyrings/kubernetes-v1.37.gpg] https://pkgs.k8s.io/core:/stable:/v1.37/deb/ /\n", 0o644)
		wantFile(t, n, "etc/containerd/config.toml", containerdConfig, 0o644)
		wantState(t, n, "running/containerd", containerdConfig)
		rules := firewallRules(t, controller)
		wantFile(t, n, "etc/metalk8s/firewall.nft", rules, 0o644)
		wantState(t, n, "nftables", rules)
		wantFile(t, n, "usr/local/sbin/metalk8s-reset", resetScript, 0o755)
		if controller {
			wantFile(t, n, "usr/local/sbin/metalk8s-remove-node", removeNodeScript, 0o755)
		} else {
			wantAbsent(t, n, "usr/local/sbin/metalk8s-remove-node")
		}
	}
}

// checkInit verifies the controller's init: the CA and configuration in place, kubeadm init run
// once, and exactly the admin kubeconfig on standard output.
func checkInit(t *testing.T, n *node, r result) {
	t.Helper()
	cfg := filepath.Join(n.root, "etc/metalk8s/kubeadm-init.yaml")
	wantCalls(t, r.calls, "kubeadm init --config "+cfg+" --skip-token-print", 1)
	wantOrder(t, r.calls, "kubeadm config images pull --config "+cfg, "kubeadm init *")
	wantOrder(t, r.calls, "kubeadm init *", "kubectl --kubeconfig * get --raw /readyz")
	wantFile(t, n, "etc/kubernetes/pki/ca.crt", testCACert, 0o644)
	wantFile(t, n, "etc/kubernetes/pki/ca.key", testCAKey, 0o600)
	wantFile(t, n, "etc/metalk8s/kubeadm-init.yaml", initConfig(t), 0o600)
	checkAdminConfNotPrinted(t, n, r)
}

// checkAdminConfNotPrinted verifies that kubeadm made the controller's admin kubeconfig from the
// cluster CA and that the init script printed nothing (no copy of it goes to the state).
func checkAdminConfNotPrinted(t *testing.T, n *node, r result) {
	t.Helper()
	admin, ok := n.read(t, adminConf)
	if !ok {
		t.Fatalf("no /%s", adminConf)
	}
	if !strings.Contains(admin, base64.StdEncoding.EncodeToString([]byte(testCACert))) {
		t.Errorf("the admin kubeconfig does not trust the cluster CA:\n%s", admin)
	}
	if r.stdout != "" {
		t.Errorf("standard output is\n%q\nwant nothing", r.stdout)
	}
}

// checkToken verifies that the bootstrap token Secret came through standard input with the
// token's secret and an expiry testTTLMinutes from now.
func checkToken(t *testing.T, n *node, r result) {
	t.Helper()
	wantCalls(t, r.calls, "kubectl --kubeconfig "+filepath.Join(n.root, adminConf)+" create -f -", 1)
	secret, ok := n.readState(t, "secrets/kube-system/bootstrap-token-"+testTokenID)
	if !ok {
		t.Fatal("no bootstrap token Secret")
	}
	for _, want := range []string{"token-id: " + testTokenID, "token-secret: " + testTokenSecret, "type: bootstrap.kubernetes.io/token",
		"auth-extra-groups: " + nodeTokenGroup, "description: metalk8s join token of " + testWorker + "\n"} {
		if !strings.Contains(secret, want) {
			t.Errorf("the Secret lacks %q:\n%s", want, secret)
		}
	}
	m := regexp.MustCompile(`expiration: (\S+)`).FindStringSubmatch(secret)
	if m == nil {
		t.Fatalf("the Secret has no expiration:\n%s", secret)
	}
	exp, err := time.Parse(time.RFC3339, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < (testTTLMinutes-1)*time.Minute || d > testTTLMinutes*time.Minute {
		t.Errorf("the token expires in %v, want %d minutes", d, testTTLMinutes)
	}
	log, _ := readFile(t, n.log)
	if strings.Contains(log, testTokenSecret) {
		t.Errorf("the token secret is on a command line:\n%s", log)
	}
}

// checkJoined verifies the worker's join: the configuration in place and kubeadm join run once.
func checkJoined(t *testing.T, n *node, r result) {
	t.Helper()
	cfg := filepath.Join(n.root, "etc/metalk8s/kubeadm-join.yaml")
	wantCalls(t, r.calls, "kubeadm join --config "+cfg, 1)
	// A worker runs no control-plane component: it pulls no control-plane images.
	wantCalls(t, r.calls, "kubeadm config images *", 0)
	wantState(t, n, "joined-with", joinConfig(t))
	// The join file holds the join token: it is gone once the join is.
	wantAbsent(t, n, "etc/metalk8s/kubeadm-join.yaml")
	wantFile(t, n, "etc/kubernetes/kubelet.conf", kubeconfigAt(testSpec().Endpoint()), 0o600)
}

// noKubeadm verifies that the script left kubeadm alone.
func noKubeadm(t *testing.T, _ *node, r result) {
	t.Helper()
	wantCalls(t, r.calls, "kubeadm *", 0)
}

// checkRemoved verifies that the worker was drained, then deleted.
func checkRemoved(t *testing.T, n *node, r result) {
	t.Helper()
	wantOrder(t, r.calls, "kubectl * drain "+testWorker+" *", "kubectl * delete node "+testWorker+" --ignore-not-found")
	wantState(t, n, "drained/"+testWorker, "")
	if _, ok := n.readState(t, "nodes/"+testWorker); ok {
		t.Error("the worker's Node still exists")
	}
}

// notInCluster verifies that remove-node found no node and neither drained nor deleted anything.
func notInCluster(t *testing.T, _ *node, r result) {
	t.Helper()
	wantCalls(t, r.calls, "kubectl * get node "+testWorker, 1)
	wantCalls(t, r.calls, "kubectl * drain *", 0)
	wantCalls(t, r.calls, "kubectl * delete *", 0)
	if !strings.Contains(r.stderr, "not in the cluster") {
		t.Errorf("stderr does not say the node is gone:\n%s", r.stderr)
	}
}

// checkReset verifies that kubeadm reset ran and the CNI configuration is gone.
func checkReset(t *testing.T, n *node, r result) {
	t.Helper()
	wantCalls(t, r.calls, "kubeadm reset --force", 1)
	wantAbsent(t, n, "etc/kubernetes/kubelet.conf")
	wantAbsent(t, n, "etc/cni/net.d")
}

// scriptCases are every script, on the node state it is meant for and on the states it must
// leave alone.
func scriptCases() []scriptCase {
	return append([]scriptCase{
		{name: "prepare-controller", script: func(t *testing.T) script { return prepareScript(t, true) }, changes: true, check: checkPrepared(true)},
		{name: "prepare-worker", script: func(t *testing.T) script { return prepareScript(t, false) }, changes: true, check: checkPrepared(false)},
		// A node where containerd 2.3 was installed and held, running metalk8s' configuration:
		// the pin makes apt downgrade it to 2.2 (--allow-downgrades, --allow-change-held-packages)
		// and the configuration is kept (--force-confold) instead of a dpkg prompt on /dev/null.
		{name: "prepare-containerd-downgrade", script: func(t *testing.T) script { return prepareScript(t, false) }, seed: func(t *testing.T, n *node) {
			t.Helper()
			n.setState(t, "dpkg/containerd.io", "2.3.0-1~ubuntu.24.04~noble")
			n.setState(t, "hold/containerd.io", "")
			n.setState(t, "enabled/containerd", "")
			n.setState(t, "running/containerd", containerdConfig)
			n.write(t, "etc/containerd/config.toml", containerdConfig, 0o644)
		}, changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			checkPrepared(false)(t, n, r)
			wantCalls(t, r.calls, "systemctl restart containerd", 0)
		}},
		{name: "init", script: initScript, changes: true, check: checkInit, again: func(t *testing.T, n *node, r result) {
			t.Helper()
			noKubeadm(t, n, r)
			checkAdminConfNotPrinted(t, n, r)
		}},
		{name: "init-cut-short", script: initScript, seed: func(t *testing.T, n *node) {
			t.Helper()
			n.write(t, adminConf, "apiVersion: v1\nkind: Config\n", 0o600) // no API server answers
		}, changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubeadm reset --force", 1)
			checkInit(t, n, r)
		}, again: noKubeadm},
		{name: "token", script: tokenScript, seed: apiUp, changes: true, check: checkToken},
		// A registered node has its own credentials: no token is made for it.
		{name: "token-registered", script: tokenScript, seed: func(t *testing.T, n *node) {
			apiUp(t, n)
			workerRegistered(t, n)
		}, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * get secret *", 0)
			if !strings.Contains(r.stderr, testWorker+" is registered: it needs no join token") {
				t.Errorf("stderr does not say why no token is made:\n%s", r.stderr)
			}
		}},
		{name: "token-exists", script: tokenScript, seed: func(t *testing.T, n *node) {
			apiUp(t, n)
			workerTokenIssued(t, n)
		}, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * get secret bootstrap-token-"+testTokenID, 1)
		}},
		{name: "retire-tokens", script: retireTokensScript, seed: withTokens, changes: true, check: checkRetired},
		{name: "retire-tokens-none", script: retireTokensScript, seed: apiUp, check: func(t *testing.T, _ *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * get secrets *", 1)
		}},
		{name: "join", script: joinScript, changes: true, check: checkJoined, again: noKubeadm},
		{name: "join-already-joined", script: joinScript, seed: joined, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			noKubeadm(t, n, r)
			wantAbsent(t, n, "etc/metalk8s/kubeadm-join.yaml")
		}},
		{name: "join-cut-short", script: joinScript, seed: cutShort, changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubeadm reset --force", 1)
			checkJoined(t, n, r)
		}, again: noKubeadm},
		{name: "join-control-plane-moved", script: joinScript, seed: joinedElsewhere, changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubeadm reset --force", 1)
			wantOrder(t, r.calls, "kubeadm reset --force", "kubeadm join *")
			checkJoined(t, n, r)
		}, again: noKubeadm},
		{name: "registered", script: registeredScript, seed: func(t *testing.T, n *node) {
			apiUp(t, n)
			workerRegistered(t, n)
			workerTokenIssued(t, n)
		}, changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * get node "+testWorker, 1)
			checkTokenDeleted(t, n, r)
		}, again: func(t *testing.T, _ *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * delete *", 0)
		}},
		// A worker registered before it had a token of its own (or whose token expired): nothing
		// to delete.
		{name: "registered-no-token", script: registeredScript, seed: func(t *testing.T, n *node) {
			apiUp(t, n)
			workerRegistered(t, n)
		}, check: func(t *testing.T, _ *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * get node "+testWorker, 1)
		}},
		{name: "remove-node", script: removeNode, seed: func(t *testing.T, n *node) {
			apiUp(t, n)
			workerRegistered(t, n)
		}, changes: true, check: checkRemoved, again: notInCluster},
		{name: "remove-node-absent", script: removeNode, seed: apiUp, check: notInCluster},
		{name: "reset", script: reset, seed: joined, changes: true, check: checkReset},
		{name: "reset-nothing", script: reset, check: noKubeadm},
	}, renewalCases()...)
}

// scriptCaseNamed returns the scriptCase called name.
func scriptCaseNamed(t *testing.T, name string) scriptCase {
	t.Helper()
	for _, c := range allScriptCases() {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no script case %q", name)
	return scriptCase{}
}

// prepared returns a node in the case's starting state.
func (c scriptCase) prepared(t *testing.T) *node {
	t.Helper()
	n := newNode(t)
	if c.seed != nil {
		c.seed(t, n)
	}
	return n
}

// TestScriptsSucceedAndRunAgainAsNoOp runs every script twice on a fresh node: the first run
// succeeds and does its job, the second makes no state-changing call and changes no file.
func TestScriptsSucceedAndRunAgainAsNoOp(t *testing.T) {
	for _, c := range allScriptCases() {
		t.Run(c.name, func(t *testing.T) {
			n := c.prepared(t)
			s := c.script(t)
			fresh := n.snapshot(t)
			first := n.run(t, s)
			mustSucceed(t, first)
			switch made := changes(first.calls); {
			case c.changes && len(made) == 0:
				t.Error("the first run made no state-changing call")
			case !c.changes && len(made) > 0:
				t.Errorf("the first run made state-changing calls:\n%s", strings.Join(made, "\n"))
			}
			if d := diff(fresh, n.snapshot(t)); (d != "") != c.changes {
				t.Errorf("the first run changed the node: %v, want %v\n%s", d != "", c.changes, d)
			}
			c.check(t, n, first)
			done := n.snapshot(t)
			second := n.run(t, s)
			mustSucceed(t, second)
			if made := changes(second.calls); len(made) > 0 {
				t.Errorf("the second run made state-changing calls:\n%s", strings.Join(made, "\n"))
			}
			if d := diff(done, n.snapshot(t)); d != "" {
				t.Errorf("the second run changed the node:\n%s", d)
			}
			if c.again != nil {
				c.again(t, n, second)
			}
		})
	}
}

// failureCase makes one step of a script fail.
type failureCase struct {
	// name names the case; of names the scriptCase run.
	name, of string
	// faults are the stand-in failures injected, as "EXIT TIMES GLOB" rules (see prelude.sh).
	faults []string
	// breakNode, when set, makes the node itself fail a step; repair undoes it.
	breakNode, repair func(*testing.T, *node)
	// stopsAt is a glob of the last call the script must make: it was made attempts times and
	// no state-changing call follows it. Empty: the script made no state-changing call at all.
	stopsAt string
	// attempts is how many times the call matching stopsAt was made.
	attempts int
	// check verifies the case's behaviour after the failed run.
	check func(*testing.T, *node, result)
}

// stdoutEmpty verifies that the init script printed nothing: no half-made kubeconfig.
func stdoutEmpty(t *testing.T, _ *node, r result) {
	t.Helper()
	if r.stdout != "" {
		t.Errorf("standard output is %q, want nothing", r.stdout)
	}
}

// updateBackoff is how retry 10 waits between the attempts of apt-get update: about three minutes.
const updateBackoff = "2 4 8 16 30 30 30 30 30"

// backoff verifies that retry waited 2, 4, 8 then 16 seconds between its five attempts.
func backoff(t *testing.T, _ *node, r result) {
	t.Helper()
	if got := strings.Join(sleeps(r.calls), " "); got != "2 4 8 16" {
		t.Errorf("retry slept %q, want \"2 4 8 16\"", got)
	}
}

// blockDir replaces the directory rel with a file, so that writing below it fails.
func blockDir(rel string) func(*testing.T, *node) {
	return func(t *testing.T, n *node) {
		t.Helper()
		if err := os.RemoveAll(filepath.Join(n.root, rel)); err != nil {
			t.Fatal(err)
		}
		n.write(t, rel, "", 0o644)
	}
}

// unblockDir undoes blockDir.
func unblockDir(rel string) func(*testing.T, *node) {
	return func(t *testing.T, n *node) {
		t.Helper()
		if err := os.Remove(filepath.Join(n.root, rel)); err != nil {
			t.Fatal(err)
		}
	}
}

// failureCases are the failures each script must stop at.
func failureCases() []failureCase {
	kubeletInstall := "apt-get install * kubelet=*"
	return append([]failureCase{
		{name: "key download fails", of: "prepare-controller", faults: []string{"22 always curl *"}, stopsAt: "curl *", attempts: 5, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			backoff(t, n, r)
			wantAbsent(t, n, "etc/apt/keyrings/docker.gpg")
		}},
		{name: "key conversion fails", of: "prepare-controller", faults: []string{"2 always gpg *"}, stopsAt: "gpg *", attempts: 1},
		{name: "package lists fail", of: "prepare-controller", faults: []string{"100 always apt-get update *"}, stopsAt: "apt-get update *", attempts: 10, check: func(t *testing.T, _ *node, r result) {
			t.Helper()
			if got := strings.Join(sleeps(r.calls), " "); got != updateBackoff {
				t.Errorf("retry slept %q, want about three minutes, %q", got, updateBackoff)
			}
		}},
		{name: "containerd install fails", of: "prepare-controller", faults: []string{"100 always apt-get install * containerd.io=*"}, stopsAt: "apt-get install *", attempts: 5, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, kubeletInstall, 0)
			wantAbsent(t, n, "etc/containerd/config.toml")
		}},
		// A repository without containerd 2.2: the pin matches nothing and apt would take the
		// newest version; the script refuses before installing anything.
		{name: "no containerd 2.2 offered", of: "prepare-controller", breakNode: func(t *testing.T, n *node) {
			n.setState(t, "repo/containerd.io", "2.1.5-1~ubuntu.24.04~noble\n2.3.0-1~ubuntu.24.04~noble\n")
		}, repair: func(t *testing.T, n *node) {
			if err := os.RemoveAll(filepath.Join(n.state, "repo")); err != nil {
				t.Fatal(err)
			}
		}, stopsAt: "apt-get update *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "apt-cache policy containerd.io", 1)
			wantCalls(t, r.calls, "apt-get install *", 0)
			if _, ok := n.readState(t, "dpkg/containerd.io"); ok {
				t.Error("containerd.io is installed")
			}
			if want := "apt offers 2.3.0-1~ubuntu.24.04~noble, not 2.2.x; metalk8s needs containerd 2.2"; !strings.Contains(r.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
			}
		}},
		{name: "sysctl configuration cannot be written", of: "prepare-controller", breakNode: blockDir("etc/sysctl.d"), repair: unblockDir("etc/sysctl.d"), stopsAt: "modprobe br_netfilter", attempts: 1},
		{name: "containerd restart fails", of: "prepare-controller", faults: []string{"1 always systemctl restart containerd"}, stopsAt: "systemctl restart containerd", attempts: 1},
		{name: "sysctl fails", of: "prepare-controller", faults: []string{"1 always sysctl --system"}, stopsAt: "sysctl --system", attempts: 1},
		{name: "kubernetes install fails", of: "prepare-controller", faults: []string{"100 always " + kubeletInstall}, stopsAt: kubeletInstall, attempts: 5, check: func(t *testing.T, _ *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "apt-mark hold *", 0)
			wantCalls(t, r.calls, "systemctl enable kubelet", 0)
		}},
		{name: "hold fails", of: "prepare-controller", faults: []string{"100 always apt-mark hold *"}, stopsAt: "apt-mark hold *", attempts: 1},
		{name: "unit reload fails", of: "prepare-controller", faults: []string{"1 always systemctl daemon-reload"}, stopsAt: "systemctl daemon-reload", attempts: 1},
		{name: "firewall unit cannot be enabled", of: "prepare-worker", faults: []string{"1 always systemctl enable metalk8s-firewall"}, stopsAt: "systemctl enable metalk8s-firewall", attempts: 1},
		{name: "firewall fails to load", of: "prepare-worker", faults: []string{"1 always nft -f *"}, stopsAt: "nft -f *", attempts: 1, check: func(t *testing.T, n *node, _ result) {
			t.Helper()
			wantAbsent(t, n, "usr/local/sbin/metalk8s-reset")
		}},
		{name: "kubeadm init fails", of: "init", faults: []string{"1 always kubeadm init *"}, stopsAt: "kubeadm init *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			stdoutEmpty(t, n, r)
			wantCalls(t, r.calls, "kubectl *", 0)
			wantAbsent(t, n, adminConf)
		}},
		{name: "image pull fails", of: "init", faults: []string{"1 always kubeadm config images pull *"}, stopsAt: "kubeadm config images pull *", attempts: 5, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			stdoutEmpty(t, n, r)
			backoff(t, n, r)
		}},
		{name: "API server never ready", of: "init", faults: []string{"1 always kubectl * get --raw /readyz"}, stopsAt: "kubeadm init *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			stdoutEmpty(t, n, r)
			wantCalls(t, r.calls, "kubectl * get --raw /readyz", 61)
			if got := sleeps(r.calls); len(got) != 60 || slices.ContainsFunc(got, func(s string) bool { return s != "5" }) {
				t.Errorf("slept %v, want 60 times 5 seconds", got)
			}
		}},
		{name: "configuration cannot be written", of: "init", breakNode: blockDir("etc/metalk8s"), repair: unblockDir("etc/metalk8s"), check: stdoutEmpty},
		{name: "create fails", of: "token", faults: []string{"1 always kubectl * create -f -"}, stopsAt: "kubectl * create -f -", attempts: 1, check: func(t *testing.T, n *node, _ result) {
			t.Helper()
			if _, ok := n.readState(t, "secrets/kube-system/bootstrap-token-"+testTokenID); ok {
				t.Error("the Secret exists")
			}
		}},
		{name: "kubeadm join fails", of: "join", faults: []string{"1 always kubeadm join *"}, stopsAt: "kubeadm join *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantAbsent(t, n, "etc/kubernetes/kubelet.conf")
			// A failed join leaves no join token on the node either.
			wantAbsent(t, n, "etc/metalk8s/kubeadm-join.yaml")
			if strings.Contains(r.stderr, testWorker+" joined") {
				t.Errorf("stderr claims the node joined:\n%s", r.stderr)
			}
		}},
		{name: "configuration cannot be written", of: "join", breakNode: blockDir("etc/metalk8s"), repair: unblockDir("etc/metalk8s")},
		{name: "node never registers", of: "registered", breakNode: func(t *testing.T, n *node) {
			if err := os.Remove(filepath.Join(n.state, "nodes", testWorker)); err != nil {
				t.Fatal(err)
			}
		}, repair: workerRegistered, check: func(t *testing.T, _ *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * get node "+testWorker, 121)
			if got := len(sleeps(r.calls)); got != 120 {
				t.Errorf("slept %d times, want 120 (600 s)", got)
			}
		}},
		{name: "token deletion fails", of: "registered", faults: []string{"1 always kubectl * delete secret *"}, stopsAt: "kubectl * delete secret *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			if strings.Contains(r.stderr, "join token of "+testWorker+" is deleted") {
				t.Errorf("stderr claims the token is deleted:\n%s", r.stderr)
			}
		}},
		{name: "deletion fails", of: "retire-tokens", faults: []string{"1 always kubectl * delete secret *"}, stopsAt: "kubectl * delete secret *", attempts: 1},
		{name: "listing fails", of: "retire-tokens", faults: []string{"1 always kubectl * get secrets *"}, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * delete *", 0)
			wantState(t, n, "secrets/kube-system/bootstrap-token-"+sharedTokenID, tokenSecretDoc(sharedTokenID, sharedTokenDescription))
		}},
		{name: "drain fails", of: "remove-node", faults: []string{"1 always kubectl * drain *"}, stopsAt: "kubectl * drain *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * delete *", 0)
			wantState(t, n, "nodes/"+testWorker, "")
		}},
		{name: "kubeadm reset fails", of: "reset", faults: []string{"1 always kubeadm reset *"}, stopsAt: "kubeadm reset *", attempts: 1, check: func(t *testing.T, n *node, _ result) {
			t.Helper()
			wantFile(t, n, "etc/cni/net.d/10-flannel.conflist", "{}\n", 0o644)
		}},
	}, renewalFailures()...)
}

// cleanRuns caches, by scriptCase name, the snapshot of a node after one clean run of the case.
type cleanRuns map[string]map[string]string

// of returns the snapshot of a node after a clean run of c.
func (cr cleanRuns) of(t *testing.T, c scriptCase) map[string]string {
	t.Helper()
	if snap, ok := cr[c.name]; ok {
		return snap
	}
	n := c.prepared(t)
	mustSucceed(t, n.run(t, c.script(t)))
	cr[c.name] = n.snapshot(t)
	return cr[c.name]
}

// TestScriptsStopAtFirstErrorAndRecover makes one step of each script fail: the script exits
// non-zero and makes no state-changing call after the failing one. Once the failure is gone, a
// second run succeeds and leaves the node as a clean run does: nothing the failure interrupted
// is skipped.
func TestScriptsStopAtFirstErrorAndRecover(t *testing.T) {
	clean := cleanRuns{}
	for _, f := range append(failureCases(), upgradeFailureCases()...) {
		t.Run(f.of+"/"+f.name, func(t *testing.T) {
			c := scriptCaseNamed(t, f.of)
			n := c.prepared(t)
			s := c.script(t)
			if f.faults != nil {
				n.inject(t, f.faults...)
			}
			if f.breakNode != nil {
				f.breakNode(t, n)
			}
			r := n.run(t, s)
			if r.code == 0 {
				t.Errorf("exit 0 despite the failure; stderr:\n%s", r.stderr)
			}
			stop := -1
			if f.stopsAt != "" {
				stop = lastIndex(r.calls, f.stopsAt)
				if stop < 0 {
					t.Fatalf("no call %q; calls:\n%s", f.stopsAt, strings.Join(r.calls, "\n"))
				}
				wantCalls(t, r.calls, f.stopsAt, f.attempts)
			}
			if later := changes(r.calls[stop+1:]); len(later) > 0 {
				t.Errorf("state-changing calls after the failure:\n%s", strings.Join(later, "\n"))
			}
			if f.check != nil {
				f.check(t, n, r)
			}

			n.clearFaults(t)
			if f.repair != nil {
				f.repair(t, n)
			}
			mustSucceed(t, n.run(t, s))
			if d := diff(clean.of(t, c), n.snapshot(t)); d != "" {
				t.Errorf("after the failure and a successful run, the node differs from a clean run:\n%s", d)
			}
		})
	}
}

// TestScriptsRetryTransientFailures makes network steps fail a few times: retry waits with a
// growing delay, the script succeeds and leaves the node as a clean run does.
func TestScriptsRetryTransientFailures(t *testing.T) {
	cases := []struct {
		// name names the case; of names the scriptCase run.
		name, of string
		// fault is the "EXIT TIMES GLOB" rule injected; glob matches its call.
		fault, glob string
		// attempts is how often the call is made; slept the delays between them.
		attempts int
		slept    string
	}{
		{"package lists", "prepare-worker", "100 2 apt-get update *", "apt-get update *", 3, "2 4"},
		{"key download", "prepare-worker", "22 1 curl *pkgs.k8s.io*", "curl *pkgs.k8s.io*", 2, "2"},
		{"kubernetes install", "prepare-worker", "100 4 apt-get install * kubelet=*", "apt-get install * kubelet=*", 5, "2 4 8 16"},
		{"image pull", "init", "1 4 kubeadm config images pull *", "kubeadm config images pull *", 5, "2 4 8 16"},
	}
	clean := cleanRuns{}
	for _, tc := range cases {
		t.Run(tc.of+"/"+tc.name, func(t *testing.T) {
			c := scriptCaseNamed(t, tc.of)
			n := c.prepared(t)
			n.inject(t, tc.fault)
			r := n.run(t, c.script(t))
			mustSucceed(t, r)
			wantCalls(t, r.calls, tc.glob, tc.attempts)
			if got := strings.Join(sleeps(r.calls), " "); got != tc.slept {
				t.Errorf("slept %q, want %q", got, tc.slept)
			}
			if d := diff(clean.of(t, c), n.snapshot(t)); d != "" {
				t.Errorf("the node differs from a clean run:\n%s", d)
			}
		})
	}
}

// TestInitRefusesToMoveTheControlPlane runs the init script on a control plane initialised for
// another API port: it must fail, say why, and leave kubeadm and the control plane alone, so that
// no worker is reset to join a control plane that is not there.
func TestInitRefusesToMoveTheControlPlane(t *testing.T) {
	n := newNode(t)
	n.write(t, adminConf, kubeconfigAt(testPrivateIP+":7443"), 0o600)
	n.write(t, "etc/kubernetes/manifests/kube-apiserver.yaml", "", 0o600)
	n.write(t, "etc/metalk8s/init.finished", "", 0o644)
	before := n.snapshot(t)
	r := n.run(t, initScript(t))
	if r.code == 0 {
		t.Fatal("the init script accepted a control plane serving at another port")
	}
	if !strings.Contains(r.stderr, "serves at "+testPrivateIP+":7443, not at "+testSpec().Endpoint()) {
		t.Errorf("stderr does not say where the control plane serves and where it should:\n%s", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("a kubeconfig was printed: %q", r.stdout)
	}
	noKubeadm(t, n, r)
	if d := diff(before, n.snapshot(t)); d != "" {
		t.Errorf("the node changed:\n%s", d)
	}
}

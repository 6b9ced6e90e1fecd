package tests

// TestControlPlane runs a real control plane, without a kubelet, from the dev stack's rendered
// init configuration and the CA the program generated: etcd, kube-apiserver and
// kube-controller-manager with the command lines of the static Pods kubeadm writes for it, in a
// network namespace whose loopback carries the controller's addresses. Against it run kubeadm's
// init phases that talk to the API server, the rendered token, registration, token retirement and
// remove-node scripts (bash with the real kubectl), and kubeadm's own join discovery with the
// workers' rendered JoinConfigurations.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/realkube"
)

// scriptTimeout bounds one run of a rendered script against the control plane.
const scriptTimeout = 120 * time.Second

// stackNamed returns the realStack called name.
func stackNamed(t *testing.T, name string) realStack {
	t.Helper()
	for _, s := range realStacks() {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no stack %s", name)
	return realStack{}
}

// clusterFixture is the running control plane and what the tests run against it.
type clusterFixture struct {
	cp    *realkube.ControlPlane
	stack *renderedStack
	// root is the METALK8S_ROOT of the scripts: a scratch controller holding
	// etc/kubernetes/admin.conf.
	root string
	bash string
}

// script runs a rendered script with bash inside the control plane's namespace, with the real
// kubectl first on PATH; a script without args arrives on standard input, as on a node.
func (c *clusterFixture) script(body string, timeout time.Duration, args ...string) realkube.Result {
	return c.scriptOnPath("", body, timeout, args...)
}

// scriptOnPath is script with dir first on PATH.
func (c *clusterFixture) scriptOnPath(dir, body string, timeout time.Duration, args ...string) realkube.Result {
	var cmd *exec.Cmd
	if len(args) == 0 {
		cmd = c.cp.Command(c.bash, "-s")
		cmd.Stdin = strings.NewReader(body)
	} else {
		path := filepath.Join(c.root, "script.sh")
		if err := os.WriteFile(path, []byte(body), 0o700); err != nil {
			return realkube.Result{Err: err}
		}
		cmd = c.cp.Command(c.bash, append([]string{path}, args...)...)
	}
	cmd.Env = c.cp.Env("METALK8S_ROOT="+c.root, "LC_ALL=C")
	if dir != "" {
		for i, e := range cmd.Env {
			if p, ok := strings.CutPrefix(e, "PATH="); ok {
				cmd.Env[i] = "PATH=" + dir + ":" + p
			}
		}
	}
	return realkube.Run(cmd, timeout)
}

// kubectl runs the real kubectl as the cluster admin.
func (c *clusterFixture) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	r := c.cp.Kubectl(c.cp.Admin, args...)
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	return r.Stdout
}

// createNode creates a Node object, as a kubelet registering would: with its hostname label,
// which kubeadm's mark-control-plane waits for (apiclient.PatchNodeOnce in
// cmd/kubeadm/app/util/apiclient/idempotency.go).
func (c *clusterFixture) createNode(t *testing.T, name string) {
	t.Helper()
	node := "apiVersion: v1\nkind: Node\nmetadata:\n  name: " + name + "\n  labels:\n    kubernetes.io/hostname: " + name + "\n"
	if r := c.cp.KubectlStdin(c.cp.Admin, node, "create", "-f", "-"); r.Err != nil {
		t.Fatalf("%s", r)
	}
}

// discover runs kubeadm's token discovery (tools/kube/cmd/discover) on a JoinConfiguration.
func (c *clusterFixture) discover(t *testing.T, joinConfig string, timeout time.Duration) realkube.Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeadm-join.yaml")
	if err := os.WriteFile(path, []byte(joinConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return realkube.Run(c.cp.Command("discover", "-timeout", timeout.String(), path), timeout+30*time.Second)
}

// tokenSecret is what the tests read of a bootstrap token Secret.
type tokenSecret struct {
	Type string            `json:"type"`
	Data map[string]string `json:"data"`
}

func TestControlPlane(t *testing.T) {
	began := time.Now()
	tools := realkube.Need(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	dev := stackNamed(t, "dev").render(t)
	files := realkube.Generate(t, tools, dev.initConfig, &dev.ca)
	c := &clusterFixture{cp: realkube.Start(t, tools, files, dev.private, dev.public), stack: dev, root: t.TempDir(), bash: bash}
	t.Logf("%s ready after %v", c.cp.Describe(), time.Since(began).Round(time.Millisecond))
	admin, err := os.ReadFile(c.cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(c.root, "etc/kubernetes"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.root, "etc/kubernetes/admin.conf"), admin, 0o600); err != nil {
		t.Fatal(err)
	}
	defer func() { t.Logf("control-plane tests took %v", time.Since(began).Round(time.Millisecond)) }()

	// Subtests run in order: each builds on the cluster state the previous ones left.
	t.Run("admin kubeconfig", func(t *testing.T) {
		// admin.conf's group is bound to cluster-admin only through kubeadm:cluster-admins.
		if got := strings.TrimSpace(c.kubectl(t, "auth", "can-i", "*", "*")); got != "yes" {
			t.Errorf("admin.conf may not do everything: %q", got)
		}
	})
	t.Run("exported kubeconfig", func(t *testing.T) { c.exportedKubeconfig(t) })
	t.Run("init phases", func(t *testing.T) { c.initPhases(t, files.Config) })
	// Right after the init phases: kubeadm init's token lives a minute.
	t.Run("token retirement", func(t *testing.T) { c.retireTokens(t) })
	t.Run("guard", func(t *testing.T) { c.guard(t) })
	t.Run("mark-control-plane", func(t *testing.T) { c.markControlPlane(t, files.Config) })
	t.Run("join credentials", func(t *testing.T) { c.joinCredentials(t) })
	t.Run("registration and removal", func(t *testing.T) { c.registration(t) })
	t.Run("kubeadm upgrade", func(t *testing.T) { c.upgrade(t, files.Config) })
}

// exportedKubeconfig uses the stack's kubeconfig output, whose client certificate Pulumi signed
// with the cluster CA, against the API server: it reaches the server at the exported address
// (the API server's certificate names it), authenticates as metalk8s-admin in kubeadm's admin
// group, and may do everything through the binding kubeadm init makes for that group.
func (c *clusterFixture) exportedKubeconfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(fmt.Sprint(c.stack.r.kubeconfig.value)), 0o600); err != nil {
		t.Fatal(err)
	}
	who := c.cp.Kubectl(path, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	if who.Err != nil {
		t.Fatalf("%s", who)
	}
	if !strings.HasPrefix(who.Stdout, bootstrap.AdminUser+" ") || !strings.Contains(who.Stdout, bootstrap.AdminGroup) {
		t.Errorf("the exported kubeconfig authenticates as %q, want %s in %s", who.Stdout, bootstrap.AdminUser, bootstrap.AdminGroup)
	}
	if r := c.cp.Kubectl(path, "auth", "can-i", "*", "*"); r.Err != nil || strings.TrimSpace(r.Stdout) != "yes" {
		t.Errorf("the exported kubeconfig may not do everything: %s", r)
	}
}

// regexpFind returns the first group of pattern in s.
func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", pattern, s)
	}
	return m[1]
}

// initPhases runs kubeadm init's phases that talk to the API server, as the cluster admin, and
// checks what they made: the uploaded configuration, the bootstrap token, and the CoreDNS Service
// at the address the kubelets are told to use.
func (c *clusterFixture) initPhases(t *testing.T, config string) {
	for _, phase := range [][]string{{"upload-config", "all"}, {"bootstrap-token"}, {"addon", "coredns"}, {"addon", "kube-proxy"}} {
		r := c.cp.Kubeadm(append(append([]string{"init", "phase"}, phase...), "--config", config, "--kubeconfig", c.cp.Admin)...)
		if r.Err != nil {
			t.Fatalf("%s", r)
		}
		noWarnings(t, r)
	}
	var kubelet struct {
		ClusterDNS []string `json:"clusterDNS"`
	}
	if err := yaml.Unmarshal([]byte(c.kubectl(t, "-n", "kube-system", "get", "configmap", "kubelet-config", "-o", "jsonpath={.data.kubelet}")), &kubelet); err != nil {
		t.Fatal(err)
	}
	dnsIP := strings.TrimSpace(c.kubectl(t, "-n", "kube-system", "get", "service", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"))
	if len(kubelet.ClusterDNS) != 1 || kubelet.ClusterDNS[0] != dnsIP {
		t.Errorf("the kubelets resolve names at %v, CoreDNS's Service is at %s", kubelet.ClusterDNS, dnsIP)
	}
	var proxy struct {
		MetricsBindAddress string   `json:"metricsBindAddress"`
		HealthzBindAddress string   `json:"healthzBindAddress"`
		NodePortAddresses  []string `json:"nodePortAddresses"`
		ClusterCIDR        string   `json:"clusterCIDR"`
	}
	if err := yaml.Unmarshal([]byte(c.kubectl(t, "-n", "kube-system", "get", "configmap", "kube-proxy", "-o", `jsonpath={.data.config\.conf}`)), &proxy); err != nil {
		t.Fatal(err)
	}
	if proxy.MetricsBindAddress != "127.0.0.1:10249" || proxy.HealthzBindAddress != "127.0.0.1:10256" ||
		strings.Join(proxy.NodePortAddresses, ",") != "primary" || proxy.ClusterCIDR != c.stack.podCIDR {
		t.Errorf("kube-proxy's deployed configuration: %+v", proxy)
	}
	var cluster struct {
		ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	}
	if err := yaml.Unmarshal([]byte(c.kubectl(t, "-n", "kube-system", "get", "configmap", "kubeadm-config", "-o", "jsonpath={.data.ClusterConfiguration}")), &cluster); err != nil {
		t.Fatal(err)
	}
	if want := c.stack.private + ":" + c.stack.apiPort; cluster.ControlPlaneEndpoint != want {
		t.Errorf("uploaded controlPlaneEndpoint %s, want %s", cluster.ControlPlaneEndpoint, want)
	}
}

// nodeTaints returns a Node's taints as KEY:EFFECT.
func (c *clusterFixture) nodeTaints(t *testing.T, name string) []string {
	t.Helper()
	var node struct {
		Spec struct {
			Taints []struct{ Key, Effect string } `json:"taints"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(c.kubectl(t, "get", "node", name, "-o", "json")), &node); err != nil {
		t.Fatal(err)
	}
	var taints []string
	for _, tn := range node.Spec.Taints {
		taints = append(taints, tn.Key+":"+tn.Effect)
	}
	return taints
}

// markControlPlane runs kubeadm's mark-control-plane phase on the controller's Node (created as
// its kubelet would register it), with the dev stack's file and then with the one-node stack's:
// with workers the controller keeps the control-plane taint; alone it must take workloads.
func (c *clusterFixture) markControlPlane(t *testing.T, devConfig string) {
	const controlPlaneTaint = "node-role.kubernetes.io/control-plane:NoSchedule"
	oneNode := stackNamed(t, "one-node").render(t)
	oneNodeConfig := filepath.Join(t.TempDir(), "kubeadm-init.yaml")
	if err := os.WriteFile(oneNodeConfig, []byte(oneNode.initConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stack, config string
		tainted       bool
	}{{"dev", devConfig, true}, {"one-node", oneNodeConfig, false}} {
		c.createNode(t, "sv-controller")
		r := c.cp.KubeadmWithEtcKubernetes("init", "phase", "mark-control-plane", "--config", tc.config)
		if r.Err != nil {
			t.Fatalf("%s", r)
		}
		noWarnings(t, r)
		// Other taints (the node lifecycle controller's not-ready, for a Node without a kubelet)
		// are not kubeadm's.
		tainted := false
		for _, tn := range c.nodeTaints(t, "sv-controller") {
			tainted = tainted || tn == controlPlaneTaint
		}
		if tainted != tc.tainted {
			t.Errorf("%s stack: the controller has the %s taint: %v, want %v", tc.stack, controlPlaneTaint, tainted, tc.tainted)
		}
		c.kubectl(t, "delete", "node", "sv-controller")
	}
}

// discovery runs kubeadm's token discovery with the first worker's rendered JoinConfiguration: it
// must trust the API server through the token and the CA hash the program computed, and refuse
// a CA hash that is not the CA's.
func (c *clusterFixture) discovery(t *testing.T) {
	r := c.discover(t, c.stack.joinConfig, 60*time.Second)
	if r.Err != nil {
		t.Fatalf("discovery with the rendered join configuration failed:\n%s", r)
	}
	if want := "server https://" + c.stack.private + ":" + c.stack.apiPort; !strings.Contains(r.Stdout, want) {
		t.Errorf("discovery found %q, want %q", r.Stdout, want)
	}
	hash := regexpFind(t, c.stack.joinConfig, `(sha256:[0-9a-f]{64})`)
	wrong := strings.Replace(c.stack.joinConfig, hash, "sha256:"+strings.Repeat("0", 64), 1)
	r = c.discover(t, wrong, 20*time.Second)
	if r.Err == nil {
		t.Fatalf("discovery trusted the API server with a CA hash that is not the CA's:\n%s", r)
	}
	// kubeadm names the hash it found (pubkeypin.Set.CheckAny): the one the program computed.
	if !strings.Contains(r.Stderr, "none of the public keys") || !strings.Contains(r.Stderr, strings.TrimPrefix(hash, "sha256:")) {
		t.Errorf("discovery with a wrong CA hash failed for another reason:\n%s", r)
	}
	certHash, err := bootstrap.CACertHash(c.stack.ca.Cert)
	if err != nil || certHash != hash {
		t.Errorf("the join file pins %s, the CA's hash is %s (%v)", hash, certHash, err)
	}
}

// workerJoinToken is one worker's join token as its rendered scripts hold it.
type workerJoinToken struct {
	worker, id, secret string
	// tokenScript, joinConfig and registered are the worker's token step, the JoinConfiguration
	// its join step writes, and its registration step.
	tokenScript, joinConfig, registered string
}

// workerToken reads worker's join token from its rendered scripts.
func (c *clusterFixture) workerToken(t *testing.T, worker string) workerJoinToken {
	t.Helper()
	join := heredoc(t, c.stack.scripts["metalk8s-"+worker+"-join"], "KUBEADM")
	id, secret, _ := strings.Cut(regexpFind(t, join, `token: (\S+)`), ".")
	return workerJoinToken{worker: worker, id: id, secret: secret, joinConfig: join,
		tokenScript: c.stack.scripts["metalk8s-"+worker+"-token"], registered: c.stack.scripts["metalk8s-"+worker+"-registered"]}
}

// tokenSecretData reads a bootstrap token Secret's type and data, or reports that there is none.
func (c *clusterFixture) tokenSecretData(t *testing.T, id string) (map[string]string, bool) {
	t.Helper()
	r := c.cp.Kubectl(c.cp.Admin, "-n", "kube-system", "get", "secret", "bootstrap-token-"+id, "-o", "json", "--ignore-not-found")
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	if strings.TrimSpace(r.Stdout) == "" {
		return nil, false
	}
	var s tokenSecret
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatal(err)
	}
	data := map[string]string{"type": s.Type}
	for k, v := range s.Data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatal(err)
		}
		data[k] = string(b)
	}
	return data, true
}

// authenticatedAs asks the API server who a bearer token is (a SelfSubjectReview, which every
// authenticated user may create through system:basic-user): the user name, or the refusal.
func (c *clusterFixture) authenticatedAs(t *testing.T, token string) (string, realkube.Result) {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "token.conf")
	doc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://%s:%s\n    certificate-authority-data: %s\n"+
		"users:\n- name: u\n  user:\n    token: %s\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n",
		c.stack.private, c.stack.apiPort, base64.StdEncoding.EncodeToString([]byte(c.stack.ca.Cert)), token)
	if err := os.WriteFile(kubeconfig, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.cp.Kubectl(kubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	return strings.TrimSpace(r.Stdout), r
}

// refused fails the test unless the API server refuses the token and discovery with the
// worker's JoinConfiguration fails: a deleted or expired token is no credential. The bootstrap
// authenticator reads tokens from an informer and the bootstrap signer removes a token's
// signature from cluster-info asynchronously (pkg/controller/bootstrap/bootstrapsigner.go), so
// both are awaited, at most tokenGoneLimit.
func (c *clusterFixture) refused(t *testing.T, tok workerJoinToken, why string) {
	t.Helper()
	deadline := time.Now().Add(tokenGoneLimit)
	for {
		user, r := c.authenticatedAs(t, tok.id+"."+tok.secret)
		signed := c.kubectl(t, "-n", "kube-public", "get", "configmap", "cluster-info", "-o", "jsonpath={.data.jws-kubeconfig-"+tok.id+"}")
		if r.Err != nil && signed == "" {
			if !strings.Contains(r.Stderr, "Unauthorized") {
				t.Errorf("%s: the API server refuses %s's token for another reason:\n%s", why, tok.worker, r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s's token still authenticates (as %q) or signs cluster-info (%v) after %v", why, tok.worker, user, signed != "", tokenGoneLimit)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r := c.discover(t, tok.joinConfig, 15*time.Second)
	if r.Err == nil {
		t.Fatalf("%s: discovery trusts the cluster with %s's token:\n%s", why, tok.worker, r)
	}
	// kubeadm's token discovery (cmd/kubeadm/app/discovery/token/token.go, v1.37.2) names the
	// token whose signature it cannot find.
	if !strings.Contains(r.Stderr, `could not find a JWS signature in the cluster-info ConfigMap for token ID "`+tok.id+`"`) {
		t.Errorf("%s: discovery fails for another reason:\n%s", why, r)
	}
}

// tokenGoneLimit bounds the wait for the API server and the bootstrap signer to let go of a
// deleted or expired token.
const tokenGoneLimit = 30 * time.Second

// joinCredentials runs the rendered token scripts (bash with the real kubectl) and the
// registration that ends a worker's join. A worker's token step makes its own token, valid the
// stack's TTL, which authenticates as a node bootstrapper and which kubeadm's discovery with the
// worker's rendered JoinConfiguration accepts; it makes no other worker's token, and run again it
// changes nothing. Once the node is registered, the registration deletes the token: the API
// server refuses it and discovery fails; the token step run again then makes none. A token that
// expired (its step run with a clock that puts the expiry in the past) is refused the same way,
// and the controller manager's token cleaner deletes it. Months later, with every earlier token
// gone, a new worker's token step still makes a token that discovery accepts.
func (c *clusterFixture) joinCredentials(t *testing.T) {
	first, second := c.workerToken(t, "sv-worker-0"), c.workerToken(t, "sv-worker-1")
	if first.id == second.id || first.secret == second.secret {
		t.Fatalf("the workers share a join token half: %s and %s", first.id, second.id)
	}
	if r := c.script(first.tokenScript, scriptTimeout); r.Err != nil {
		t.Fatalf("token step of %s:\n%s", first.worker, r)
	}
	data, ok := c.tokenSecretData(t, first.id)
	if !ok {
		t.Fatalf("the token step of %s made no token", first.worker)
	}
	if data["type"] != "bootstrap.kubernetes.io/token" || data["token-id"] != first.id || data["token-secret"] != first.secret ||
		data["usage-bootstrap-authentication"] != "true" || data["usage-bootstrap-signing"] != "true" ||
		data["description"] != "metalk8s join token of "+first.worker {
		t.Errorf("the token Secret is not %s's join token: %v", first.worker, redact(data))
	}
	exp, err := time.Parse(time.RFC3339, data["expiration"])
	if err != nil {
		t.Fatalf("token expiration %q: %v", data["expiration"], err)
	}
	if d := time.Until(exp); d <= 59*time.Minute || d > 61*time.Minute {
		t.Errorf("the token expires in %v, want the dev stack's TTL, an hour", d)
	}
	if _, ok := c.tokenSecretData(t, second.id); ok {
		t.Errorf("the token step of %s made %s's token", first.worker, second.worker)
	}
	// The bootstrap authenticator names a token's user system:bootstrap:<id>
	// (plugin/pkg/auth/authenticator/token/bootstrap/bootstrap.go).
	if user, r := c.authenticatedAs(t, first.id+"."+first.secret); r.Err != nil || user != "system:bootstrap:"+first.id {
		t.Errorf("the API server does not authenticate %s's token as system:bootstrap:%s (%q):\n%s", first.worker, first.id, user, r)
	}
	if first.joinConfig != c.stack.joinConfig {
		t.Fatalf("the stack's first join configuration is not %s's", first.worker)
	}
	// Discovery with the worker's rendered JoinConfiguration trusts the cluster through this
	// token and the CA hash, and refuses another hash.
	c.discovery(t)
	version := func(id string) string {
		return c.kubectl(t, "-n", "kube-system", "get", "secret", "bootstrap-token-"+id, "-o", "jsonpath={.metadata.resourceVersion}")
	}
	before := version(first.id)
	if r := c.script(first.tokenScript, scriptTimeout); r.Err != nil {
		t.Fatalf("token step of %s run again:\n%s", first.worker, r)
	}
	if after := version(first.id); after != before {
		t.Errorf("the token step run again changed the token (resourceVersion %s -> %s)", before, after)
	}

	// The kubelet registers the Node; the registration step then deletes the token.
	c.createNode(t, first.worker)
	if r := c.script(first.registered, scriptTimeout); r.Err != nil {
		t.Fatalf("registration of %s:\n%s", first.worker, r)
	}
	if _, ok := c.tokenSecretData(t, first.id); ok {
		t.Errorf("%s's join token outlives its registration", first.worker)
	}
	c.refused(t, first, "after the registration")
	if r := c.script(first.registered, scriptTimeout); r.Err != nil {
		t.Errorf("registration of %s run again:\n%s", first.worker, r)
	}
	if r := c.script(first.tokenScript, scriptTimeout); r.Err != nil || !strings.Contains(r.Stderr, "needs no join token") {
		t.Errorf("token step of the registered %s:\n%s", first.worker, r)
	}
	if _, ok := c.tokenSecretData(t, first.id); ok {
		t.Errorf("the token step made a token for the registered %s", first.worker)
	}
	c.kubectl(t, "delete", "node", first.worker)

	// An expired token: the second worker's step runs with a clock that puts the expiry a minute
	// in the past.
	dir := t.TempDir()
	date, err := exec.LookPath("date")
	if err != nil {
		t.Fatal(err)
	}
	fake := fmt.Sprintf("#!%s\nexec %q -u -d '-1 minute' +%%Y-%%m-%%dT%%H:%%M:%%SZ\n", c.bash, date)
	if err := os.WriteFile(filepath.Join(dir, "date"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := c.scriptOnPath(dir, second.tokenScript, scriptTimeout); r.Err != nil {
		t.Fatalf("token step of %s with the clock behind:\n%s", second.worker, r)
	}
	c.refused(t, second, "expired")
	// The token cleaner (kube-controller-manager's tokencleaner, which kubeadm's manifest enables
	// with --controllers=*,bootstrapsigner,tokencleaner) deletes an expired token.
	deadline := time.Now().Add(tokenGoneLimit)
	for {
		if _, ok := c.tokenSecretData(t, second.id); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired token of %s is still there after %v", second.worker, tokenGoneLimit)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Months later: every earlier token is gone (kubeadm init's expired a minute after init and
	// was retired, the workers' were deleted or expired). A new worker's token step makes its
	// token, which discovery accepts.
	if r := c.script(second.tokenScript, scriptTimeout); r.Err != nil {
		t.Fatalf("token step of %s, added later:\n%s", second.worker, r)
	}
	if r := c.discover(t, second.joinConfig, 60*time.Second); r.Err != nil {
		t.Errorf("discovery refuses the token of %s, added later:\n%s", second.worker, r)
	}
	c.kubectl(t, "-n", "kube-system", "delete", "secret", "bootstrap-token-"+second.id)
}

// retireTokens runs the controller's token retirement on a cluster holding kubeadm init's token
// (made by the init phase bootstrap-token from the rendered configuration), the join token workers
// shared before each had its own (as token steps then made it), a worker's own token and one an
// administrator made: the first two go, the others stay; run again, it changes nothing.
func (c *clusterFixture) retireTokens(t *testing.T) {
	list := func() map[string]string {
		out := c.kubectl(t, "-n", "kube-system", "get", "secrets", "--field-selector", "type=bootstrap.kubernetes.io/token",
			"-o", `jsonpath={range .items[*]}{.metadata.name}{" "}{.data.description}{"\n"}{end}`)
		tokens := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			name, desc, _ := strings.Cut(line, " ")
			if name == "" {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(desc)
			if err != nil {
				t.Fatal(err)
			}
			tokens[name] = string(b)
		}
		return tokens
	}
	var initToken string
	for name, desc := range list() {
		if desc == "metalk8s init token, unused" {
			initToken = name
		}
	}
	if initToken == "" {
		t.Fatalf("kubeadm's bootstrap-token phase made no token from the rendered configuration: %v", list())
	}
	id := strings.TrimPrefix(initToken, "bootstrap-token-")
	data, _ := c.tokenSecretData(t, id)
	if exp, err := time.Parse(time.RFC3339, data["expiration"]); err != nil || time.Until(exp) > time.Minute {
		t.Errorf("kubeadm init's token expires at %q, want within a minute (%v)", data["expiration"], err)
	}
	for _, f := range []string{c.stack.initConfig, c.stack.scripts["metalk8s-sv-controller-init"]} {
		if strings.Contains(f, data["token-secret"]) {
			t.Errorf("kubeadm init's token %s is in a rendered file: its value must exist on the controller only", id)
		}
	}
	secret := func(id, description string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bootstrap-token-" + id + "\n  namespace: kube-system\n" +
			"type: bootstrap.kubernetes.io/token\nstringData:\n  description: " + description + "\n  token-id: " + id +
			"\n  token-secret: 0123456789abcdef\n  usage-bootstrap-authentication: \"true\"\n  usage-bootstrap-signing: \"true\"\n"
	}
	for id, desc := range map[string]string{"shared": "metalk8s join token", "w0own0": "metalk8s join token of sv-worker-0", "admin0": "made by an administrator"} {
		if r := c.cp.KubectlStdin(c.cp.Admin, secret(id, desc), "create", "-f", "-"); r.Err != nil {
			t.Fatalf("%s", r)
		}
	}
	script := c.stack.scripts["metalk8s-sv-controller-retire-tokens"]
	if r := c.script(script, scriptTimeout); r.Err != nil {
		t.Fatalf("token retirement:\n%s", r)
	}
	want := map[string]string{"bootstrap-token-w0own0": "metalk8s join token of sv-worker-0", "bootstrap-token-admin0": "made by an administrator"}
	if got := list(); !reflect.DeepEqual(got, want) {
		t.Errorf("tokens after the retirement %v, want %v", got, want)
	}
	r := c.script(script, scriptTimeout)
	if r.Err != nil || strings.Contains(r.Stderr, "deleted") {
		t.Errorf("token retirement run again:\n%s", r)
	}
	for _, id := range []string{"w0own0", "admin0"} {
		c.kubectl(t, "-n", "kube-system", "delete", "secret", "bootstrap-token-"+id)
	}
}

// redact hides the token secret in a message.
func redact(data map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range data {
		if k == "token-secret" {
			v = "(redacted)"
		}
		out[k] = v
	}
	return out
}

// registration runs the worker's registration step, which waits for its Node, and the remove-node
// helper its delete action runs, which drains and deletes it.
func (c *clusterFixture) registration(t *testing.T) {
	const worker = "sv-worker-0"
	registered := c.stack.scripts["metalk8s-"+worker+"-registered"]
	// No Node yet: the step keeps waiting (its own limit is minutes; the test's is seconds).
	if r := c.script(registered, 8*time.Second); !errors.Is(r.Err, realkube.ErrTimeout) {
		t.Errorf("the registration step did not wait for a Node that does not exist:\n%s", r)
	}
	c.createNode(t, worker)
	if r := c.script(registered, scriptTimeout); r.Err != nil {
		t.Fatalf("registration step with the Node registered:\n%s", r)
	}
	remove := heredoc(t, c.stack.scripts["metalk8s-sv-controller-prepare"], "REMOVE")
	r := c.script(remove, scriptTimeout, worker)
	if r.Err != nil {
		t.Fatalf("remove-node:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "drained") {
		t.Errorf("remove-node did not drain %s:\n%s", worker, r)
	}
	if out := c.cp.Kubectl(c.cp.Admin, "get", "node", worker); out.Err == nil || !strings.Contains(out.Stderr, "NotFound") {
		t.Errorf("%s still exists after remove-node:\n%s", worker, out)
	}
	r = c.script(remove, scriptTimeout, worker)
	if r.Err != nil || !strings.Contains(r.Stderr, "not in the cluster") {
		t.Errorf("remove-node on a node already gone:\n%s", r)
	}
}

// guard runs the controller's guard against the configuration kubeadm's upload-config phase
// wrote: the stack's own guard passes, and a guard asked for another version below the running
// one, another pod or service network or another DNS domain refuses, naming the setting. This is
// where the guard's reading of the ClusterConfiguration (networking.podSubnet, serviceSubnet,
// dnsDomain, kubernetesVersion, as kubeadm 1.37.2 marshals them) meets the real thing.
func (c *clusterFixture) guard(t *testing.T) {
	finished := filepath.Join(c.root, "etc/metalk8s/init.finished")
	if err := os.MkdirAll(filepath.Dir(finished), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(finished, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(finished)
	if r := c.script(c.stack.scripts["metalk8s-sv-controller-guard"], scriptTimeout); r.Err != nil {
		t.Fatalf("the stack's guard refuses the cluster kubeadm configured for it:\n%s", r)
	}
	port, _ := strconv.Atoi(c.stack.apiPort)
	base := bootstrap.GuardData{Node: "sv-controller", Version: config.DefaultKubernetesVersion, APIBindAddress: "0.0.0.0", APIPort: port,
		PodCIDR: c.stack.podCIDR, ServiceCIDR: c.stack.serviceCIDR, DNSDomain: c.stack.dnsDomain}
	for _, tc := range []struct {
		says string
		edit func(*bootstrap.GuardData)
	}{
		{"kubernetes.podCidr is 100.64.0.0/16, and the cluster runs with podSubnet " + c.stack.podCIDR, func(d *bootstrap.GuardData) { d.PodCIDR = "100.64.0.0/16" }},
		{"kubernetes.serviceCidr is 172.20.0.0/16, and the cluster runs with serviceSubnet " + c.stack.serviceCIDR, func(d *bootstrap.GuardData) { d.ServiceCIDR = "172.20.0.0/16" }},
		{"kubernetes.dnsDomain is k8s.example, and the cluster runs with dnsDomain " + c.stack.dnsDomain, func(d *bootstrap.GuardData) { d.DNSDomain = "k8s.example" }},
		{"older than the cluster, which runs v" + config.DefaultKubernetesVersion, func(d *bootstrap.GuardData) { d.Version = "1.37.1" }},
	} {
		d := base
		tc.edit(&d)
		body, err := bootstrap.RenderGuard(d)
		if err != nil {
			t.Fatal(err)
		}
		r := c.script(body, scriptTimeout)
		if r.Err == nil || !strings.Contains(r.Stderr, tc.says) {
			t.Errorf("the guard does not refuse with %q:\n%s", tc.says, r)
		}
	}
}

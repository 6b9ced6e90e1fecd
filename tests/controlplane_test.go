package tests

// TestControlPlane runs a real control plane, without a kubelet, from the dev stack's rendered
// init configuration and the CA the program generated: etcd, kube-apiserver and
// kube-controller-manager with the command lines of the static Pods kubeadm writes for it, in a
// network namespace whose loopback carries the controller's addresses. Against it run kubeadm's
// init phases that talk to the API server, the rendered token, registration and remove-node
// scripts (bash with the real kubectl), and kubeadm's own join discovery with a worker's rendered
// JoinConfiguration.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
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
	tokenID, tokenSecretValue, _ := strings.Cut(regexpFind(t, dev.joinConfig, `token: (\S+)`), ".")
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
	t.Run("guard", func(t *testing.T) { c.guard(t) })
	t.Run("mark-control-plane", func(t *testing.T) { c.markControlPlane(t, files.Config) })
	t.Run("discovery", func(t *testing.T) { c.discovery(t) })
	t.Run("token script", func(t *testing.T) { c.tokenScript(t, tokenID, tokenSecretValue) })
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

// tokenScript runs the rendered token script: on the token kubeadm init made it changes nothing;
// once that token is gone (its hour is over), five workers' token steps at once must all succeed
// and leave one valid token, which discovery then accepts.
func (c *clusterFixture) tokenScript(t *testing.T, id, secret string) {
	script := c.stack.scripts["metalk8s-sv-worker-0-token"]
	name := "bootstrap-token-" + id
	before := c.kubectl(t, "-n", "kube-system", "get", "secret", name, "-o", "jsonpath={.metadata.resourceVersion}")
	if r := c.script(script, scriptTimeout); r.Err != nil {
		t.Fatalf("token script on the init token:\n%s", r)
	}
	if after := c.kubectl(t, "-n", "kube-system", "get", "secret", name, "-o", "jsonpath={.metadata.resourceVersion}"); after != before {
		t.Errorf("the token script changed the token kubeadm init made (resourceVersion %s -> %s)", before, after)
	}
	// Workers' token steps started together reach the controller within moments of each other,
	// but on this machine one script can finish before the next starts. So each kubectl call of a
	// step waits (at most barrierLimit) until every step has made its call of the same rank: the
	// real kubectl then runs them as close together as the scripts allow. The window of the race
	// (kubectl apply's GET then POST of a missing Secret) is one API round trip: measured here, a
	// round of five steps hits it about one time in four (7 AlreadyExists in 30 rounds), so the
	// test runs tokenRounds rounds, each from a cluster where the token is gone.
	const parallel, tokenRounds = 5, 10
	failed := 0
	for round := range tokenRounds {
		c.kubectl(t, "-n", "kube-system", "delete", "secret", name, "--ignore-not-found")
		barrier := c.barrier(t, parallel)
		results := make([]realkube.Result, parallel)
		var wg sync.WaitGroup
		for i := range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = c.scriptOnPath(barrier, script, scriptTimeout)
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.Err != nil {
				failed++
				t.Errorf("round %d: token step %d of %d at once failed:\n%s", round+1, i+1, parallel, r)
			}
		}
	}
	t.Logf("%d of %d token steps (%d rounds of %d at once) failed", failed, parallel*tokenRounds, tokenRounds, parallel)
	var s tokenSecret
	if err := json.Unmarshal([]byte(c.kubectl(t, "-n", "kube-system", "get", "secret", name, "-o", "json")), &s); err != nil {
		t.Fatal(err)
	}
	data := map[string]string{}
	for k, v := range s.Data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatal(err)
		}
		data[k] = string(b)
	}
	if s.Type != "bootstrap.kubernetes.io/token" || data["token-id"] != id || data["token-secret"] != secret ||
		data["usage-bootstrap-authentication"] != "true" || data["usage-bootstrap-signing"] != "true" {
		t.Errorf("the token Secret is not the join token: type %s, data %v", s.Type, redact(data))
	}
	exp, err := time.Parse(time.RFC3339, data["expiration"])
	if err != nil {
		t.Fatalf("token expiration %q: %v", data["expiration"], err)
	}
	if d := time.Until(exp); d <= 0 || d > 61*time.Minute {
		t.Errorf("the token expires in %v", d)
	}
	if r := c.discover(t, c.stack.joinConfig, 60*time.Second); r.Err != nil {
		t.Errorf("discovery refuses the token the token script made:\n%s", r)
	}
}

// barrierLimit bounds how long a script's first kubectl call waits for the others'.
const barrierLimit = 20 * time.Second

// barrier returns a directory holding a kubectl that lines up the calls of n scripts (told apart
// by their PID, kubectl's parent): a script's k-th call runs the real kubectl once each of the n
// scripts has made its k-th call or exited, or after barrierLimit.
func (c *clusterFixture) barrier(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	arrived := filepath.Join(dir, "arrived")
	if err := os.Mkdir(arrived, 0o700); err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf(`#!%[1]s
arrived=%[2]q
k=0
while [ -e "$arrived/$PPID.$k" ]; do k=$((k + 1)); done
: >"$arrived/$PPID.$k"
for ((i = 0; i < %[3]d; i++)); do
  ready=0
  for first in "$arrived"/*.0; do
    pid=${first##*/}
    pid=${pid%%.0}
    if [ -e "$arrived/$pid.$k" ] || ! kill -0 "$pid" 2>/dev/null; then ready=$((ready + 1)); fi
  done
  [ "$ready" -ge %[4]d ] && break
  %[5]q 0.05
done
exec %[6]q "$@"
`, c.bash, arrived, int(barrierLimit/(50*time.Millisecond)), n, sleep, c.cp.Tools.Path("kubectl"))
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
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

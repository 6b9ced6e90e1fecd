package tests

// These tests run the real kubeadm v1.37.2 (built by scripts/kube-tools.sh, found through
// METALK8S_KUBE_TOOLS) on every kubeadm file the stacks below render, with the cluster CA the
// program generated: the file must validate, load with the loader of every subcommand a script
// hands it to, default as intended, and give static Pods, kubeconfigs and certificates that keep
// the control plane where the README says it is. Any warning kubeadm prints about a file fails.

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
	"github.com/metalk8s/metalk8s/internal/realkube"
)

// realStack is a stack configuration whose kubeadm artefacts the real tools check: an example
// stack (dev unless said) with edits.
type realStack struct {
	name  string
	edits map[string]any
	// stack is the example stack edited; controller and worker name the controller and the first
	// worker.
	stack, controller, worker string
	// private and public are the controller's addresses in the fake cloud.
	private, public string
	// apiPort is the API server's port.
	apiPort string
	// serviceCIDR, podCIDR and dnsDomain are the cluster networks.
	serviceCIDR, podCIDR, dnsDomain string
	// workers is the number of workers; privateOnly the API access mode.
	workers     int
	privateOnly bool
}

// realStacks are the dev stack and the variants that change what kubeadm is given: the private-only
// access mode, a one-node cluster, and non-default port, networks and domain.
func realStacks() []realStack {
	base := realStack{
		stack: "dev", controller: "sv-controller", worker: "sv-worker-0",
		private: "198.51.100.1", public: "203.0.113.11", apiPort: "6443",
		serviceCIDR: "192.168.0.0/16", podCIDR: "172.16.0.0/12", dnsDomain: "cluster.local", workers: 2,
	}
	privateOnly := base
	privateOnly.name, privateOnly.privateOnly = "private-only", true
	privateOnly.edits = map[string]any{"apiServer": map[string]any{"privateOnly": true}}
	oneNode := base
	oneNode.name, oneNode.workers = "one-node", 0
	oneNode.edits = map[string]any{"workers.count": 0}
	custom := base
	custom.name, custom.apiPort = "custom-network", "7443"
	custom.serviceCIDR, custom.podCIDR, custom.dnsDomain = "172.20.0.0/16", "100.64.0.0/16", "k8s.example"
	custom.edits = map[string]any{
		"kubernetes.apiPort": 7443, "kubernetes.serviceCidr": "172.20.0.0/16", "kubernetes.dnsServiceIp": "172.20.0.10",
		"kubernetes.podCidr": "100.64.0.0/16", "kubernetes.dnsDomain": "k8s.example",
	}
	base.name = "dev"
	// The servers mode's example stacks: own racks (private only, the controller without a public
	// address) and a provider (public, allow-listed).
	racks := realStack{
		name: "racks", stack: "racks", controller: "r1-controller", worker: "r1-worker-0",
		private: "10.10.1.10", apiPort: "6443", privateOnly: true, workers: 3,
		serviceCIDR: "192.168.0.0/16", podCIDR: "172.16.0.0/12", dnsDomain: "cluster.local",
	}
	provider := realStack{
		name: "provider", stack: "provider", controller: "bm-controller", worker: "bm-worker-0",
		private: "10.40.0.11", public: "203.0.113.11", apiPort: "6443", workers: 2,
		serviceCIDR: "192.168.0.0/16", podCIDR: "172.16.0.0/12", dnsDomain: "cluster.local",
	}
	return []realStack{base, privateOnly, oneNode, custom, racks, provider}
}

// renderedStack is a stack rendered with real key material.
type renderedStack struct {
	realStack
	r *result
	// scripts are every remote command's script (its standard input), and commands its create
	// and delete commands, by resource name.
	scripts, commands map[string]string
	// ca is the cluster CA the program generated, as the init script writes it.
	ca realkube.CA
	// initConfig and joinConfig are the kubeadm files of the controller and of the first worker.
	initConfig, joinConfig string
	// endpoint is the API server URL of the exported kubeconfig.
	endpoint *url.URL
}

// render runs the program for s with real keys and collects what the real tools check.
func (s realStack) render(t *testing.T) *renderedStack {
	t.Helper()
	c := stackCluster(t, s.stack)
	for k, v := range s.edits {
		set(t, c, k, v)
	}
	r := run(t, c, runOptions{tune: func(c *mockcloud.Cloud) { c.RealKeys = true }})
	if r.err != nil {
		t.Fatal(r.err)
	}
	rs := &renderedStack{realStack: s, r: r, scripts: map[string]string{}, commands: map[string]string{}}
	for _, cmd := range r.ofType(commandToken) {
		text := func(key string) string {
			v := input(cmd, key)
			if sv, ok := v.(secretValue); ok {
				v = sv.v
			}
			str, _ := v.(string)
			return str
		}
		rs.scripts[cmd.Name] = text("stdin")
		rs.commands[cmd.Name] = text("create") + "\n" + text("delete")
	}
	init := rs.scripts["metalk8s-"+s.controller+"-init"]
	rs.ca = realkube.CA{Cert: heredoc(t, init, "CACERT"), Key: heredoc(t, init, "CAKEY")}
	rs.initConfig = heredoc(t, init, "KUBEADM")
	if s.workers > 0 {
		rs.joinConfig = heredoc(t, rs.scripts["metalk8s-"+s.worker+"-join"], "KUBEADM")
	}
	u, err := url.Parse(fmt.Sprint(r.endpoint.value))
	if err != nil {
		t.Fatal(err)
	}
	rs.endpoint = u
	return rs
}

// forEachStack runs f for every stack, rendered, as a subtest.
func forEachStack(t *testing.T, f func(t *testing.T, tools realkube.Tools, s *renderedStack)) {
	tools := realkube.Need(t)
	for _, s := range realStacks() {
		t.Run(s.name, func(t *testing.T) { f(t, tools, s.render(t)) })
	}
}

// fileWrite is `update_file PATH MODE <<'DELIM'`: how a rendered script writes a file.
var fileWrite = regexp.MustCompile(`update_file (\S+) \d+ <<'(\w+)'`)

// writtenFiles returns the files a script writes, by their path on the node.
func writtenFiles(t *testing.T, script string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, m := range fileWrite.FindAllStringSubmatch(script, -1) {
		files[m[1]] = heredoc(t, script, m[2])
	}
	return files
}

// kubeadmCall matches kubeadm run as a command: first on its line, after retry N, or as the
// command substitution of an assignment (VAR=$(kubeadm ...)).
var kubeadmCall = regexp.MustCompile(`^\s*(?:\w+=\$\()?(?:retry \d+ )?kubeadm ((?:[^>|;&)]|&[^&])*)`)

// kubeadmMention is any other line that names a kubeadm subcommand: the parser must not miss one.
var kubeadmMention = regexp.MustCompile(`\bkubeadm (init|join|reset|config|token|upgrade|certs|kubeconfig)\b`)

// kubeadmCalls returns the kubeadm command lines of a script, each as its arguments, with $root
// (empty on a node) removed and quotes dropped. It fails the test on a line that names a kubeadm
// subcommand in a way it does not parse, other than in a comment or a log message.
func kubeadmCalls(t *testing.T, script string) [][]string {
	t.Helper()
	var calls [][]string
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if m := kubeadmCall.FindStringSubmatch(line); m != nil {
			calls = append(calls, shellWords(strings.ReplaceAll(m[1], "$root", "")))
			continue
		}
		if kubeadmMention.MatchString(line) && !strings.HasPrefix(trimmed, "#") && !strings.HasPrefix(trimmed, "log ") {
			t.Errorf("a kubeadm call this test does not parse: %s", line)
		}
	}
	return calls
}

// shellWords splits a command line as the shell does for the quoting the scripts use: words
// separated by blanks, '...' and "..." taken literally, the quotes removed.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// noWarnings fails the test for every warning in a kubeadm run's output.
func noWarnings(t *testing.T, r realkube.Result) {
	t.Helper()
	for _, w := range realkube.Warnings(r.Stdout + "\n" + r.Stderr) {
		t.Errorf("kubeadm warns (%s): %s", strings.Join(r.Args, " "), w)
	}
}

// TestRealKubeadmValidatesEveryFile runs `kubeadm config validate` on every kubeadm file a script
// writes, in every stack.
func TestRealKubeadmValidatesEveryFile(t *testing.T) {
	forEachStack(t, func(t *testing.T, tools realkube.Tools, s *renderedStack) {
		checked := 0
		for name, script := range s.scripts {
			for path, content := range writtenFiles(t, script) {
				if !strings.Contains(content, "apiVersion: kubeadm.k8s.io/") {
					continue
				}
				checked++
				f := filepath.Join(t.TempDir(), filepath.Base(path))
				if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				r := realkube.Run(tools.Command("kubeadm", "config", "validate", "--config", f), realkube.KubeadmTimeout)
				if r.Err != nil {
					t.Errorf("%s writes %s, which kubeadm refuses:\n%s", name, path, r)
				}
				noWarnings(t, r)
			}
		}
		if want := 1 + s.workers; checked != want {
			t.Errorf("checked %d kubeadm files, want %d (init and one join per worker)", checked, want)
		}
	})
}

// TestRealKubeadmLoadsWhatEachCallIsGiven finds every kubeadm call in every rendered script and
// runs the loader of that same subcommand on the file the call names (realkube.LoaderCheck says
// which real command loads it as the subcommand does, and where that was read in kubeadm's
// source), so that a file handed to a subcommand that cannot load it fails here.
func TestRealKubeadmLoadsWhatEachCallIsGiven(t *testing.T) {
	forEachStack(t, func(t *testing.T, tools realkube.Tools, s *renderedStack) {
		subcommands := map[string]bool{}
		initFiles := writtenFiles(t, s.scripts["metalk8s-"+s.controller+"-init"])
		for name, script := range s.scripts {
			files := writtenFiles(t, script)
			if name == "metalk8s-"+s.controller+"-certs" {
				// The certificate step runs after init, on the files init wrote.
				maps.Copy(files, initFiles)
			}
			for _, args := range kubeadmCalls(t, script+"\n"+s.commands[name]) {
				for i, a := range args {
					if a == "--config" && i+1 < len(args) {
						if _, ok := files[args[i+1]]; !ok {
							t.Errorf("%s: kubeadm %s names %s, which the script does not write", name, strings.Join(args, " "), args[i+1])
						}
					}
				}
				subcommands[strings.Join(args[:min(2, len(args))], " ")] = true
				r := tools.CheckInvocation(args, files, t.TempDir())
				if r.Err != nil {
					t.Errorf("%s runs kubeadm %s, which kubeadm refuses:\n%s", name, strings.Join(args, " "), r)
				}
				noWarnings(t, r)
			}
		}
		// The test would prove nothing if the parser found no calls.
		for _, want := range []string{"init --config", "config images", "reset --force", "certs check-expiration", "certs renew"} {
			if !subcommands[want] {
				t.Errorf("no kubeadm %s call found in the scripts; found %v", want, subcommands)
			}
		}
		if s.workers > 0 && !subcommands["join --config"] {
			t.Errorf("no kubeadm join call found in the scripts; found %v", subcommands)
		}
	})
}

// initDefaults are the fields of kubeadm's defaulted InitConfiguration the tests read.
type initDefaults struct {
	Kind             string `json:"kind"`
	LocalAPIEndpoint struct {
		AdvertiseAddress string `json:"advertiseAddress"`
		BindPort         int    `json:"bindPort"`
	} `json:"localAPIEndpoint"`
	NodeRegistration struct {
		Name      string `json:"name"`
		CRISocket string `json:"criSocket"`
		Taints    []struct {
			Key    string `json:"key"`
			Effect string `json:"effect"`
		} `json:"taints"`
	} `json:"nodeRegistration"`
	BootstrapTokens []struct {
		Token string `json:"token"`
		TTL   string `json:"ttl"`
	} `json:"bootstrapTokens"`
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	Networking           struct {
		ServiceSubnet string `json:"serviceSubnet"`
		PodSubnet     string `json:"podSubnet"`
		DNSDomain     string `json:"dnsDomain"`
	} `json:"networking"`
	Discovery struct {
		BootstrapToken struct {
			APIServerEndpoint string   `json:"apiServerEndpoint"`
			Token             string   `json:"token"`
			CACertHashes      []string `json:"caCertHashes"`
		} `json:"bootstrapToken"`
		TLSBootstrapToken string `json:"tlsBootstrapToken"`
	} `json:"discovery"`
}

// migrate returns the documents of a kubeadm file as kubeadm's own loader reads and defaults them:
// `kubeadm config migrate` loads the file with the loader init and join use
// (documentMapToInitConfiguration and documentMapToJoinConfiguration in
// k8s.io/kubernetes v1.37.2 cmd/kubeadm/app/util/config, dynamic defaults such as the
// control-plane taint included) and prints the result.
func migrate(t *testing.T, tools realkube.Tools, content string) []initDefaults {
	t.Helper()
	f := filepath.Join(t.TempDir(), "kubeadm.yaml")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	r := realkube.Run(tools.Command("kubeadm", "config", "migrate", "--old-config", f), realkube.KubeadmTimeout)
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	noWarnings(t, r)
	var docs []initDefaults
	for _, d := range realkube.SplitDocuments(r.Stdout) {
		var doc initDefaults
		if err := yaml.Unmarshal([]byte(d), &doc); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	return docs
}

// TestRealKubeadmDefaults reads the init and join files as kubeadm's loader defaults them. The
// controller keeps kubeadm's control-plane NoSchedule taint when there are workers; a one-node
// cluster must run workloads on it, so it must have no taint (nil taints mean kubeadm's default
// taint, an empty list means none: SetNodeRegistrationDynamicDefaults in
// cmd/kubeadm/app/util/config/initconfiguration.go).
func TestRealKubeadmDefaults(t *testing.T) {
	forEachStack(t, func(t *testing.T, tools realkube.Tools, s *renderedStack) {
		endpoint := s.private + ":" + s.apiPort
		var init, cluster *initDefaults
		for _, d := range migrate(t, tools, s.initConfig) {
			switch d.Kind {
			case "InitConfiguration":
				init = &d
			case "ClusterConfiguration":
				cluster = &d
			}
		}
		if init == nil || cluster == nil {
			t.Fatal("kubeadm's loader gave no InitConfiguration or ClusterConfiguration")
		}
		var taints []string
		for _, tn := range init.NodeRegistration.Taints {
			taints = append(taints, tn.Key+":"+tn.Effect)
		}
		wantTaints := []string{"node-role.kubernetes.io/control-plane:NoSchedule"}
		if s.workers == 0 {
			wantTaints = nil
		}
		if !slices.Equal(taints, wantTaints) {
			t.Errorf("the controller's taints as kubeadm defaults them: %v, want %v (%d workers)", taints, wantTaints, s.workers)
		}
		checks := []struct {
			what      string
			got, want any
		}{
			{"advertise address", init.LocalAPIEndpoint.AdvertiseAddress, s.private},
			{"API port", fmt.Sprint(init.LocalAPIEndpoint.BindPort), s.apiPort},
			{"node name", init.NodeRegistration.Name, s.controller},
			{"CRI socket", init.NodeRegistration.CRISocket, "unix:///run/containerd/containerd.sock"},
			{"bootstrap tokens", len(init.BootstrapTokens), 1},
			{"control plane endpoint", cluster.ControlPlaneEndpoint, endpoint},
			{"service subnet", cluster.Networking.ServiceSubnet, s.serviceCIDR},
			{"pod subnet", cluster.Networking.PodSubnet, s.podCIDR},
			{"DNS domain", cluster.Networking.DNSDomain, s.dnsDomain},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
			}
		}
		if s.workers == 0 {
			return
		}
		join := migrate(t, tools, s.joinConfig)
		if len(join) != 1 || join[0].Kind != "JoinConfiguration" {
			t.Fatalf("kubeadm's loader read the join file as %+v", join)
		}
		// The worker joins with a token of its own, not the one kubeadm init makes (which kubeadm
		// generates when it loads the file: the file holds no value for it).
		d := join[0].Discovery
		if d.BootstrapToken.APIServerEndpoint != endpoint || len(d.BootstrapToken.CACertHashes) != 1 ||
			d.BootstrapToken.Token == init.BootstrapTokens[0].Token || d.TLSBootstrapToken != d.BootstrapToken.Token ||
			!regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`).MatchString(d.BootstrapToken.Token) {
			t.Errorf("join discovery as kubeadm defaults it: %+v; want the worker's own token at %s, pinned to one CA hash", d, endpoint)
		}
		if strings.Contains(s.initConfig, init.BootstrapTokens[0].Token) {
			t.Error("the init file holds the value of kubeadm init's token")
		}
		if init.BootstrapTokens[0].TTL != "1m0s" {
			t.Errorf("the init token lives %s, want 1m0s", init.BootstrapTokens[0].TTL)
		}
	})
}

// TestRealKubeadmControlPlaneFiles has kubeadm write the certificates, kubeconfigs and static Pod
// manifests of every stack's controller, signed by the CA the program generated, and checks
// where each component listens.
func TestRealKubeadmControlPlaneFiles(t *testing.T) {
	forEachStack(t, func(t *testing.T, tools realkube.Tools, s *renderedStack) {
		f := realkube.Generate(t, tools, s.initConfig, &s.ca)
		for _, w := range f.Warnings() {
			t.Errorf("kubeadm warns: %s", w)
		}
		loopbackOrPrivate := func(component, flag string) {
			t.Helper()
			for _, u := range strings.Split(f.Flags(component)[flag], ",") {
				host := u
				if p, err := url.Parse(u); err == nil && p.Host != "" {
					host = p.Hostname()
				}
				if host != "127.0.0.1" && host != s.private {
					t.Errorf("%s --%s=%s: %s is neither loopback nor the private address", component, flag, f.Flags(component)[flag], host)
				}
			}
		}
		apiBind := "0.0.0.0" // reached on the public address, allow-listed by the host firewall
		if s.privateOnly {
			apiBind = s.private
		}
		api := f.Flags("kube-apiserver")
		checks := []struct {
			what      string
			got, want string
		}{
			{"kube-apiserver --advertise-address", api["advertise-address"], s.private},
			{"kube-apiserver --bind-address", api["bind-address"], apiBind},
			{"kube-apiserver --secure-port", api["secure-port"], s.apiPort},
			{"kube-apiserver --service-cluster-ip-range", api["service-cluster-ip-range"], s.serviceCIDR},
			{"kube-controller-manager --cluster-cidr", f.Flags("kube-controller-manager")["cluster-cidr"], s.podCIDR},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
		loopbackOrPrivate("etcd", "listen-client-urls")
		loopbackOrPrivate("etcd", "listen-peer-urls")
		loopbackOrPrivate("etcd", "listen-metrics-urls")
		loopbackOrPrivate("kube-apiserver", "etcd-servers")
		loopbackOrPrivate("kube-controller-manager", "bind-address")
		loopbackOrPrivate("kube-scheduler", "bind-address")
		if s.privateOnly {
			loopbackOrPrivate("kube-apiserver", "bind-address")
		}
		guardOnRealManifest(t, s, f)
		for _, conf := range []string{"admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"} {
			b, err := os.ReadFile(filepath.Join(f.KubeconfigDir, conf))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "server: https://"+s.private+":"+s.apiPort+"\n") {
				t.Errorf("%s does not reach the API server at its private address %s:%s:\n%s", conf, s.private, s.apiPort, b)
			}
		}
		checkServingCert(t, f, s)
	})
}

// checkServingCert checks the API server's certificate: signed by the program's CA, valid for the
// address of the exported kubeconfig and for the private address the nodes use.
func checkServingCert(t *testing.T, f *realkube.Files, s *renderedStack) {
	t.Helper()
	parse := func(path string) *x509.Certificate {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			t.Fatalf("%s: no PEM block", path)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	block, _ := pem.Decode([]byte(s.ca.Cert))
	if block == nil {
		t.Fatal("the init script's CA is not PEM")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := parse(filepath.Join(f.PKI, "ca.crt")); !got.Equal(ca) {
		t.Error("kubeadm replaced the program's CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	serving := parse(filepath.Join(f.PKI, "apiserver.crt"))
	if s.endpoint.Port() != s.apiPort {
		t.Errorf("the exported kubeconfig uses port %s, the API server serves %s", s.endpoint.Port(), s.apiPort)
	}
	for _, host := range []string{s.endpoint.Hostname(), s.private} {
		if net.ParseIP(host) == nil {
			t.Errorf("%s is not an address", host)
		}
		if _, err := serving.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("the API server's certificate does not verify for %s with the program's CA: %v (SANs %v)", host, err, serving.IPAddresses)
		}
	}
}

// guardOnRealManifest runs the stack's own guard on the kube-apiserver manifest the real kubeadm
// wrote for it: the guard must read the running bind address and port there and pass, and a guard
// rendered for the other access mode, or for another port, must refuse before it asks the API
// server anything. Only the version check's kubectl is a stand-in: it answers with the version
// the stack runs.
func guardOnRealManifest(t *testing.T, s *renderedStack, f *realkube.Files) {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join(f.ManifestDir, "kube-apiserver.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	root, bin := t.TempDir(), t.TempDir()
	for path, content := range map[string]string{
		"etc/metalk8s/init.finished":                   "",
		"etc/kubernetes/manifests/kube-apiserver.yaml": string(manifest),
	} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kubectl := "#!/bin/sh\nprintf 'kubernetesVersion: v%s\\n' " + config.DefaultKubernetesVersion + "\n"
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(kubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(body string) (string, error) {
		cmd := exec.Command("bash", "-s")
		cmd.Stdin = strings.NewReader(body)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "METALK8S_ROOT=" + root, "LC_ALL=C"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(s.scripts["metalk8s-"+s.controller+"-guard"]); err != nil {
		t.Errorf("the stack's guard refuses the control plane kubeadm wrote for it: %v\n%s", err, out)
	}
	port, _ := strconv.Atoi(s.apiPort)
	other := bootstrap.GuardData{Node: s.controller, Version: config.DefaultKubernetesVersion, APIPort: port, PrivateOnly: !s.privateOnly, APIBindAddress: s.private}
	if s.privateOnly {
		other.APIBindAddress = "0.0.0.0"
	}
	moved := bootstrap.GuardData{Node: s.controller, Version: config.DefaultKubernetesVersion, APIPort: port + 1, PrivateOnly: s.privateOnly, APIBindAddress: "0.0.0.0"}
	if s.privateOnly {
		moved.APIBindAddress = s.private
	}
	for what, d := range map[string]bootstrap.GuardData{"the other access mode": other, "another API port": moved} {
		body, err := bootstrap.RenderGuard(d)
		if err != nil {
			t.Fatal(err)
		}
		out, err := run(body)
		if err == nil || !strings.Contains(out, "kubeadm does not move a running control plane") {
			t.Errorf("the guard let %s through on the control plane kubeadm wrote (%v):\n%s", what, err, out)
		}
	}
}

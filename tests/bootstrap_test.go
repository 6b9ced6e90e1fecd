package tests

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	proxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	kubeadm "sigs.k8s.io/cluster-api/bootstrap/kubeadm/pkg/types/upstreamv1beta4"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/internal/kubecheck"
	"github.com/metalk8s/metalk8s/manifests"
)

// The golden files under testdata/bootstrap are every artefact rendered for the dev stack. After
// an intended change, regenerate them with:
//
//	go test ./tests -run TestBootstrapArtefacts -update
//
// and review the diff.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const commandToken = "command:remote:Command"

// stdin returns the script a remote command runs.
func stdin(t testing.TB, r *result, name string) string {
	t.Helper()
	v := input(r.byName(t, commandToken, name), "stdin")
	if s, ok := v.(secretValue); ok {
		v = s.v
	}
	str, ok := v.(string)
	if !ok {
		t.Fatalf("%s stdin is %#v", name, v)
	}
	return str
}

// heredoc returns the body of the here-document ended by delim in a script.
func heredoc(t testing.TB, script, delim string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<<'?` + delim + `'?[^\n]*\n(.*?)\n` + delim + `\n`)
	m := re.FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("no here-document %s", delim)
	}
	return m[1] + "\n"
}

// artefacts renders the dev stack and returns every artefact by golden file name.
func artefacts(t *testing.T) map[string]string {
	r := run(t, devCluster(t), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	a := map[string]string{
		"prepare-controller.sh": stdin(t, r, "metalk8s-sv-controller-prepare"),
		"prepare-worker.sh":     stdin(t, r, "metalk8s-sv-worker-0-prepare"),
		"init.sh":               stdin(t, r, "metalk8s-sv-controller-init"),
		"token.sh":              stdin(t, r, "metalk8s-sv-worker-0-token"),
		"join.sh":               stdin(t, r, "metalk8s-sv-worker-0-join"),
		"registered.sh":         stdin(t, r, "metalk8s-sv-worker-0-registered"),
		"retire-tokens.sh":      stdin(t, r, "metalk8s-sv-controller-retire-tokens"),
		"guard.sh":              stdin(t, r, "metalk8s-sv-controller-guard"),
		"upgrade-controller.sh": stdin(t, r, "metalk8s-sv-controller-upgrade"),
		"drain.sh":              stdin(t, r, "metalk8s-sv-worker-0-drain"),
		"upgrade-node.sh":       stdin(t, r, "metalk8s-sv-worker-0-upgrade"),
		"uncordon.sh":           stdin(t, r, "metalk8s-sv-worker-0-uncordon"),
	}
	a["firewall-controller.nft"] = heredoc(t, a["prepare-controller.sh"], "FIREWALL")
	a["firewall-worker.nft"] = heredoc(t, a["prepare-worker.sh"], "FIREWALL")
	a["kubeadm-init.yaml"] = heredoc(t, a["init.sh"], "KUBEADM")
	a["kubeadm-join.yaml"] = heredoc(t, a["join.sh"], "KUBEADM")
	a["metalk8s-reset"] = heredoc(t, a["prepare-worker.sh"], "RESET")
	a["metalk8s-remove-node"] = heredoc(t, a["prepare-controller.sh"], "REMOVE")
	a["calico-ready.sh"] = stdin(t, r, "metalk8s-calico-ready")
	a["calico-bird-template-guard.sh"] = stdin(t, r, "metalk8s-bird-template-guard")
	c := devCluster(t)
	set(t, c, "loadBalancer.mode", "bird-local-peer")
	if r := run(t, c, runOptions{}); r.err != nil {
		t.Fatal(r.err)
	} else {
		a["calico-bird-template.sh"] = stdin(t, r, "metalk8s-bird-template")
	}
	return a
}

// TestBootstrapArtefacts compares every rendered artefact of the dev stack with its golden file.
func TestBootstrapArtefacts(t *testing.T) {
	for name, got := range artefacts(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "bootstrap", name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./tests -run TestBootstrapArtefacts -update creates it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from its golden file; regenerate with -update and review the diff", name)
			}
		})
	}
}

// TestScriptsPassShellcheck runs shellcheck on every rendered script and every script shipped as is.
func TestScriptsPassShellcheck(t *testing.T) {
	shellcheck := needTool(t, "shellcheck")
	scripts := map[string]string{}
	for name, body := range artefacts(t) {
		if strings.HasSuffix(name, ".sh") || strings.HasPrefix(name, "metalk8s-") {
			scripts[name] = body
		}
	}
	for _, f := range []string{"bootstrap/reset.sh", "bootstrap/remove-node.sh"} {
		b, err := manifests.Bootstrap.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scripts[f] = string(b)
	}
	dir := t.TempDir()
	for name, body := range scripts {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", path).CombinedOutput()
			if err != nil {
				t.Errorf("shellcheck %s:\n%s", name, out)
			}
		})
	}
}

// TestKubeadmConfigurationIsStrict decodes the dev stack's kubeadm files strictly into the upstream
// v1beta4, kubelet and kube-proxy types and checks the settings that keep the control plane private.
func TestKubeadmConfigurationIsStrict(t *testing.T) {
	a := artefacts(t)
	docs, err := kubecheck.Check([]byte(a["kubeadm-init.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := kubecheck.CheckKinds([]byte(a["kubeadm-init.yaml"]), kubecheck.KindInit, kubecheck.KindCluster, kubecheck.KindKubelet, kubecheck.KindKubeProxy); err != nil {
		t.Fatal(err)
	}
	if err := kubecheck.CheckKinds([]byte(a["kubeadm-join.yaml"]), kubecheck.KindJoin); err != nil {
		t.Fatal(err)
	}
	private, public := "198.51.100.1", "203.0.113.11" // the fake cloud's controller addresses
	if len(docs) != 4 {
		t.Fatalf("%d documents", len(docs))
	}
	var init *kubeadm.InitConfiguration
	var cluster *kubeadm.ClusterConfiguration
	var kubelet *kubeletv1beta1.KubeletConfiguration
	var proxy *proxyv1alpha1.KubeProxyConfiguration
	for _, d := range docs {
		switch o := d.Object.(type) {
		case *kubeadm.InitConfiguration:
			init = o
		case *kubeadm.ClusterConfiguration:
			cluster = o
		case *kubeletv1beta1.KubeletConfiguration:
			kubelet = o
		case *proxyv1alpha1.KubeProxyConfiguration:
			proxy = o
		}
	}
	args := func(list []kubeadm.Arg) map[string]string {
		m := map[string]string{}
		for _, a := range list {
			m[a.Name] = a.Value
		}
		return m
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"advertise address", init.LocalAPIEndpoint.AdvertiseAddress, private},
		{"API port", init.LocalAPIEndpoint.BindPort, int32(6443)},
		{"kubelet node-ip", args(init.NodeRegistration.KubeletExtraArgs)["node-ip"], private},
		{"kubelet address", args(init.NodeRegistration.KubeletExtraArgs)["address"], private},
		{"node name", init.NodeRegistration.Name, "sv-controller"},
		{"control plane endpoint", cluster.ControlPlaneEndpoint, private + ":6443"},
		{"version", cluster.KubernetesVersion, "v1.37.2"},
		{"pod subnet", cluster.Networking.PodSubnet, "172.16.0.0/12"},
		{"service subnet", cluster.Networking.ServiceSubnet, "192.168.0.0/16"},
		{"DNS domain", cluster.Networking.DNSDomain, "cluster.local"},
		{"certificate SANs", strings.Join(cluster.APIServer.CertSANs, ","), private + "," + public},
		{"API server bind (allow-listed on the public address)", args(cluster.APIServer.ExtraArgs)["bind-address"], "0.0.0.0"},
		{"controller-manager bind", args(cluster.ControllerManager.ExtraArgs)["bind-address"], "127.0.0.1"},
		{"scheduler bind", args(cluster.Scheduler.ExtraArgs)["bind-address"], "127.0.0.1"},
		{"etcd clients", args(cluster.Etcd.Local.ExtraArgs)["listen-client-urls"], "https://127.0.0.1:2379,https://" + private + ":2379"},
		{"etcd peers", args(cluster.Etcd.Local.ExtraArgs)["listen-peer-urls"], "https://" + private + ":2380"},
		{"etcd metrics", args(cluster.Etcd.Local.ExtraArgs)["listen-metrics-urls"], "http://127.0.0.1:2381"},
		{"cgroup driver", kubelet.CgroupDriver, "systemd"},
		{"cluster DNS", strings.Join(kubelet.ClusterDNS, ","), "192.168.0.10"},
		{"cluster domain", kubelet.ClusterDomain, "cluster.local"},
		{"kubelet healthz", kubelet.HealthzBindAddress, "127.0.0.1"},
		{"kube-proxy metrics", proxy.MetricsBindAddress, "127.0.0.1:10249"},
		{"kube-proxy healthz", proxy.HealthzBindAddress, "127.0.0.1:10256"},
		{"NodePorts", strings.Join(proxy.NodePortAddresses, ","), "primary"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	join := a["kubeadm-join.yaml"]
	hash := regexp.MustCompile(`sha256:[0-9a-f]{64}`).FindString(join)
	if hash == "" || !strings.Contains(join, "apiServerEndpoint: "+private+":6443") {
		t.Errorf("join discovery: %s", join)
	}
	certHash := caHashOfDevStack(t)
	if hash != certHash {
		t.Errorf("join CA hash %s, want the hash of the generated CA %s", hash, certHash)
	}
}

// caHashOfDevStack computes the discovery hash of the CA certificate the fake cloud returned.
func caHashOfDevStack(t *testing.T) string {
	r := run(t, devCluster(t), runOptions{})
	cert := r.byName(t, "tls:index/selfSignedCert:SelfSignedCert", "metalk8s-ca")
	h, err := bootstrap.CACertHash(plain(cert.Outputs["certPem"]).(string))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestFirewallRules checks the rules that close the control plane on the public address.
func TestFirewallRules(t *testing.T) {
	a := artefacts(t)
	ctrl, worker := a["firewall-controller.nft"], a["firewall-worker.nft"]
	for _, fw := range []string{ctrl, worker} {
		// One inet table filters both families; the IPv4-only table of older releases is removed.
		// IPv6 keeps neighbour discovery and the ICMPv6 errors: without packet-too-big a path with a
		// smaller MTU stalls every large transfer.
		for _, want := range []string{"ip daddr != 203.0.113.", "tcp dport 22 accept", "counter drop", "policy accept",
			"table inet metalk8s {", "delete table ip metalk8s", "packet-too-big", "nd-neighbor-solicit, nd-neighbor-advert",
			"iif \"lo\" accept"} {
			if !strings.Contains(fw, want) {
				t.Errorf("firewall lacks %q:\n%s", want, fw)
			}
		}
		// Every other port, etcd's and the kubelet's among them, falls to the final drop: no rule
		// may accept them on the public address.
		for _, port := range []string{"2379", "2380", "10250", "10257", "10259"} {
			if strings.Contains(fw, "dport "+port) {
				t.Errorf("firewall mentions port %s:\n%s", port, fw)
			}
		}
	}
	if !strings.Contains(ctrl, "198.51.100.7/32") || !strings.Contains(ctrl, "ip saddr @api_sources tcp dport 6443 accept") {
		t.Errorf("controller firewall does not allow-list the API server:\n%s", ctrl)
	}
	if strings.Contains(worker, "6443") {
		t.Errorf("worker firewall opens the API port:\n%s", worker)
	}
	// On a worker, SSH is the only port accepted on the public address.
	if n := strings.Count(worker, "dport"); n != 1 {
		t.Errorf("worker firewall has %d port rules, want only SSH:\n%s", n, worker)
	}
	// Pods cannot reach the metadata service.
	for _, fw := range []string{ctrl, worker} {
		if !strings.Contains(fw, "192.80.8.124/32") || !strings.Contains(fw, "ip saddr 172.16.0.0/12 ip daddr @pod_blocked counter reject") ||
			!strings.Contains(fw, "hook forward") {
			t.Errorf("firewall does not keep pods from the metadata service:\n%s", fw)
		}
	}
}

// TestFirewallRulesParse checks the rendered rules with the real nftables parser (nft -c, which
// changes nothing).
func TestFirewallRulesParse(t *testing.T) {
	nft := needTool(t, "nft")
	dir := t.TempDir()
	for name, body := range artefacts(t) {
		if !strings.HasSuffix(name, ".nft") {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(nft, "--check", "--file", path)
		if os.Geteuid() != 0 {
			cmd = exec.Command("sudo", "--non-interactive", nft, "--check", "--file", path)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("nft rejects %s: %v\n%s", name, err, out)
		}
	}
	broken := filepath.Join(dir, "broken.nft")
	if err := os.WriteFile(broken, []byte("table ip t {\n\tchain c {\n\t\tip saddr 10.0.0.0/33 drop\n\t}\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(nft, "--check", "--file", broken).Run(); err == nil && os.Geteuid() == 0 {
		t.Error("nft accepted a broken rule set: the check proves nothing")
	}
}

// TestPrivateOnly checks the private-only mode: the API server binds the private address, the
// kubeconfig and SSH use private addresses, and nothing opens the API port publicly.
func TestPrivateOnly(t *testing.T) {
	c := devCluster(t)
	set(t, c, "apiServer", map[string]any{"privateOnly": true})
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	init := stdin(t, r, "metalk8s-sv-controller-init")
	cfg := heredoc(t, init, "KUBEADM")
	if !regexp.MustCompile(`name: bind-address\s+value: 198\.51\.100\.1\n`).MatchString(cfg) {
		t.Errorf("API server does not bind the private address:\n%s", cfg)
	}
	if strings.Contains(cfg, "203.0.113.") {
		t.Errorf("public address in the private-only configuration:\n%s", cfg)
	}
	fw := heredoc(t, stdin(t, r, "metalk8s-sv-controller-prepare"), "FIREWALL")
	if strings.Contains(fw, "6443") {
		t.Errorf("private-only firewall opens the API port:\n%s", fw)
	}
	for _, cmd := range r.ofType(commandToken) {
		conn := input(cmd, "connection").(secretValue).v.(map[string]any)
		if host := conn["host"].(string); !strings.HasPrefix(host, "198.51.100.") {
			t.Errorf("%s connects to %s, not a private address", cmd.Name, host)
		}
	}
	if !r.kubeconfig.secret || !strings.Contains(r.kubeconfig.value.(string), "server: https://198.51.100.1:6443") {
		t.Errorf("kubeconfig (secret=%v) does not use the private address:\n%v", r.kubeconfig.secret, r.kubeconfig.value)
	}
}

// TestKubeconfig checks that the kubeconfig read back from the controller is a secret and points
// at the address Pulumi reaches: the public one in the allow-list mode.
func TestKubeconfig(t *testing.T) {
	r := run(t, devCluster(t), runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	kc, ok := r.kubeconfig.value.(string)
	if !ok || !r.kubeconfig.secret {
		t.Fatalf("kubeconfig %#v secret=%v", r.kubeconfig.value, r.kubeconfig.secret)
	}
	if !strings.Contains(kc, "server: https://203.0.113.11:6443") || strings.Contains(kc, "198.51.100.1:6443") {
		t.Errorf("kubeconfig server not rewritten to the public address:\n%s", kc)
	}
	if !strings.Contains(kc, "client-key-data") {
		t.Errorf("kubeconfig lost its credentials:\n%s", kc)
	}
	if r.endpoint.value != "https://203.0.113.11:6443" {
		t.Errorf("API endpoint %v", r.endpoint.value)
	}
	init := r.byName(t, commandToken, "metalk8s-sv-controller-init")
	if !contains(init.AdditionalSecretOutputs, "stdout") {
		t.Errorf("init stdout (the kubeconfig) is not declared secret: %v", init.AdditionalSecretOutputs)
	}
	if input(init, "logging") != "stderr" {
		t.Errorf("init logs its stdout (the kubeconfig): logging=%v", input(init, "logging"))
	}
	provider := r.byName(t, "pulumi:providers:kubernetes", "metalk8s")
	if _, ok := input(provider, "kubeconfig").(secretValue); !ok {
		t.Errorf("provider kubeconfig input is not secret")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

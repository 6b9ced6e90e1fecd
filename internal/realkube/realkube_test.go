package realkube

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

const (
	initFile = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.0.2.1
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  name: node-a
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
`
	joinFile = `apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 192.0.2.1:6443
    token: abcdef.0123456789abcdef
    unsafeSkipCAVerification: true
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  name: node-b
`
)

// TestLoaderCheck shows that each check accepts what its subcommand loads and refuses what it
// cannot: the same file is accepted by one subcommand and refused by another.
func TestLoaderCheck(t *testing.T) {
	tl := Need(t)
	files := map[string]string{"/etc/init.yaml": initFile, "/etc/join.yaml": joinFile}
	cases := []struct {
		args string
		// refusal is part of kubeadm's error, or "" when the file loads.
		refusal string
	}{
		{"config images pull --config /etc/init.yaml", ""},
		{"config images pull --config /etc/join.yaml", "no InitConfiguration or ClusterConfiguration kind was found"},
		{"init --config /etc/init.yaml --skip-token-print", ""},
		{"init --config /etc/join.yaml --skip-token-print", "no InitConfiguration or ClusterConfiguration kind was found"},
		{"init --config /etc/init.yaml --pod-network-cidr=10.0.0.0/8", "can not mix '--config' with arguments"},
		{"join --config /etc/join.yaml", ""},
		{"join --config /etc/init.yaml", "no JoinConfiguration found"},
		{"join --config=/etc/join.yaml", ""},
		{"reset --force", ""},
		{"reset --forse", "unknown flag: --forse"},
		{"config validate --config /etc/join.yaml", ""},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			r := tl.CheckInvocation(strings.Fields(c.args), files, t.TempDir())
			switch {
			case c.refusal == "" && r.Err != nil:
				t.Errorf("refused:\n%s", r)
			case c.refusal != "" && r.Err == nil:
				t.Errorf("accepted, want %q:\n%s", c.refusal, r)
			case c.refusal != "" && !strings.Contains(r.Stderr, c.refusal):
				t.Errorf("refused for another reason than %q:\n%s", c.refusal, r)
			}
		})
	}
	if r := tl.CheckInvocation([]string{"token", "create"}, nil, t.TempDir()); r.Err == nil || !strings.Contains(r.Err.Error(), "no loader check") {
		t.Errorf("a subcommand without a known loader was checked: %s", r)
	}
}

// TestPhases reads the workflows' phases from kubeadm's help.
func TestPhases(t *testing.T) {
	tl := Need(t)
	for command, want := range map[string][]string{
		"init":  {"preflight", "certs", "kubeconfig", "etcd", "control-plane", "upload-config", "bootstrap-token", "addon"},
		"join":  {"preflight", "kubelet-start"},
		"reset": {"preflight", "cleanup-node"},
	} {
		got, err := tl.Phases(command)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range want {
			if !strings.Contains(","+strings.Join(got, ",")+",", ","+p+",") {
				t.Errorf("kubeadm %s phases %v lack %s", command, got, p)
			}
		}
		for _, p := range got {
			if strings.Contains(p, "/") {
				t.Errorf("kubeadm %s: %s is a sub-phase", command, p)
			}
		}
	}
}

func TestWarnings(t *testing.T) {
	out := "ok\n" +
		`W1201 21:21:23.681902   30179 utils.go:69] The recommended value for "clusterDNS" in "KubeletConfiguration" is: [192.168.0.10]` + "\n" +
		"I1201 21:21:23.681902   30179 info.go:1] fine\n" +
		"\t[WARNING Hostname]: hostname \"x\" could not be reached\n" +
		"[preflight] WARNING: something\n"
	got := Warnings(out)
	if len(got) != 3 || !strings.Contains(got[0], "clusterDNS") || !strings.Contains(got[1], "Hostname") || !strings.Contains(got[2], "something") {
		t.Errorf("warnings %q", got)
	}
	if w := Warnings("[init] Using Kubernetes version: v1.37.2\n"); len(w) != 0 {
		t.Errorf("warnings in a clean output: %q", w)
	}
}

func TestMoveDirs(t *testing.T) {
	moved, err := MoveDirs(initFile+"---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n", "/s/pki", "/s/etcd")
	if err != nil {
		t.Fatal(err)
	}
	docs := SplitDocuments(moved)
	if len(docs) != 3 {
		t.Fatalf("%d documents:\n%s", len(docs), moved)
	}
	var cluster struct {
		Kind              string `json:"kind"`
		CertificatesDir   string `json:"certificatesDir"`
		KubernetesVersion string `json:"kubernetesVersion"`
		Etcd              struct {
			Local struct {
				DataDir string `json:"dataDir"`
			} `json:"local"`
		} `json:"etcd"`
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &cluster); err != nil {
		t.Fatal(err)
	}
	if cluster.Kind != "ClusterConfiguration" || cluster.CertificatesDir != "/s/pki" || cluster.Etcd.Local.DataDir != "/s/etcd" || cluster.KubernetesVersion != "v1.37.2" {
		t.Errorf("moved ClusterConfiguration %+v", cluster)
	}
	if docs[0] != strings.SplitN(initFile, "---\n", 2)[0] || !strings.Contains(docs[2], "KubeletConfiguration") {
		t.Errorf("other documents changed:\n%s", moved)
	}
	if _, err := MoveDirs(joinFile, "/p", "/e"); err == nil {
		t.Error("a file without ClusterConfiguration was accepted")
	}
}

// TestRunTimeout shows that a command out of time is killed with everything it started.
func TestRunTimeout(t *testing.T) {
	start := time.Now()
	r := Run(exec.Command("bash", "-c", "sleep 30 & sleep 30; wait"), 300*time.Millisecond)
	if !errors.Is(r.Err, ErrTimeout) {
		t.Errorf("err %v", r.Err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run returned after %v", d)
	}
}

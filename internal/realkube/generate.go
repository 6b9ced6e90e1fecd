package realkube

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// CA is a cluster CA: PEM certificate and key.
type CA struct{ Cert, Key string }

// Files are what kubeadm init writes before it starts anything, written in a scratch directory.
type Files struct {
	// Dir holds everything below.
	Dir string
	// Config is the copy of the kubeadm configuration the phases ran on: the original with
	// certificatesDir and the local etcd's dataDir moved into Dir (kubeadm refuses --cert-dir
	// next to --config).
	Config string
	// PKI is the certificates directory, KubeconfigDir holds admin.conf, super-admin.conf,
	// kubelet.conf, controller-manager.conf and scheduler.conf, and ManifestDir the static Pod
	// manifests etcd.yaml, kube-apiserver.yaml, kube-controller-manager.yaml, kube-scheduler.yaml.
	PKI, KubeconfigDir, ManifestDir string
	// Manifests are the static Pods, by component name (etcd, kube-apiserver, ...).
	Manifests map[string]*corev1.Pod
	// Runs are the kubeadm phases run, with their output.
	Runs []Result
}

// Warnings returns every warning kubeadm printed while writing the files.
func (f *Files) Warnings() []string {
	var w []string
	for _, r := range f.Runs {
		w = append(w, Warnings(r.Stdout+"\n"+r.Stderr)...)
	}
	return w
}

// Generate runs kubeadm init's phases that write files, certs all, kubeconfig all, control-plane
// all and etcd local, on config (a kubeadm file holding an InitConfiguration and a
// ClusterConfiguration), in a scratch directory. With ca, kubeadm signs everything with that CA,
// as it does on a node where ca.crt and ca.key are in place before init; without, it makes one.
// The manifest phases run with --dry-run and KUBEADM_INIT_DRYRUN_DIR, which makes kubeadm write
// them there instead of /etc/kubernetes/manifests.
func Generate(t testing.TB, tl Tools, config string, ca *CA) *Files {
	t.Helper()
	dir := t.TempDir()
	f := &Files{
		Dir: dir, Config: filepath.Join(dir, "kubeadm.yaml"), PKI: filepath.Join(dir, "pki"),
		KubeconfigDir: filepath.Join(dir, "kubernetes"), ManifestDir: filepath.Join(dir, "manifests"),
		Manifests: map[string]*corev1.Pod{},
	}
	moved, err := MoveDirs(config, f.PKI, filepath.Join(dir, "etcd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{f.PKI, f.KubeconfigDir, f.ManifestDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(f.Config, moved, 0o600)
	if ca != nil {
		write(filepath.Join(f.PKI, "ca.crt"), ca.Cert, 0o644)
		write(filepath.Join(f.PKI, "ca.key"), ca.Key, 0o600)
	}
	phase := func(dryRun bool, args ...string) {
		args = append(append([]string{"init", "phase"}, args...), "--config", f.Config)
		cmd := tl.Command("kubeadm", args...)
		if dryRun {
			cmd.Args = append(cmd.Args, "--dry-run")
			cmd.Env = append(os.Environ(), "KUBEADM_INIT_DRYRUN_DIR="+f.ManifestDir)
		}
		r := Run(cmd, KubeadmTimeout)
		f.Runs = append(f.Runs, r)
		if r.Err != nil {
			t.Fatalf("%s", r)
		}
	}
	phase(false, "certs", "all")
	phase(false, "kubeconfig", "all", "--kubeconfig-dir", f.KubeconfigDir)
	phase(true, "control-plane", "all")
	phase(true, "etcd", "local")
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		b, err := os.ReadFile(filepath.Join(f.ManifestDir, name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var pod corev1.Pod
		if err := yaml.UnmarshalStrict(b, &pod); err != nil {
			t.Fatalf("%s.yaml: %v", name, err)
		}
		if len(pod.Spec.Containers) != 1 {
			t.Fatalf("%s.yaml: %d containers", name, len(pod.Spec.Containers))
		}
		f.Manifests[name] = &pod
	}
	return f
}

// Flags returns a static Pod's command-line flags, --name=value, by name.
func (f *Files) Flags(component string) map[string]string {
	m := map[string]string{}
	for _, a := range f.Manifests[component].Spec.Containers[0].Command[1:] {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		m[k] = v
	}
	return m
}

// MoveDirs returns a kubeadm file whose ClusterConfiguration keeps its certificates in pki and
// its local etcd's data in etcdData; the other documents are kept as they are.
func MoveDirs(config, pki, etcdData string) (string, error) {
	docs := SplitDocuments(config)
	found := false
	for i, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			return "", err
		}
		if m["kind"] != "ClusterConfiguration" {
			continue
		}
		found = true
		m["certificatesDir"] = pki
		etcd, _ := m["etcd"].(map[string]any)
		if etcd == nil {
			etcd = map[string]any{}
			m["etcd"] = etcd
		}
		local, _ := etcd["local"].(map[string]any)
		if local == nil {
			local = map[string]any{}
			etcd["local"] = local
		}
		local["dataDir"] = etcdData
		b, err := yaml.Marshal(m)
		if err != nil {
			return "", err
		}
		docs[i] = string(b)
	}
	if !found {
		return "", fmt.Errorf("no ClusterConfiguration in the kubeadm file")
	}
	return strings.Join(docs, "---\n"), nil
}

// SplitDocuments splits a multi-document YAML file on its "---" lines.
func SplitDocuments(s string) []string {
	var docs []string
	for _, d := range strings.Split("\n"+s, "\n---\n") {
		if d = strings.TrimPrefix(d, "\n"); strings.TrimSpace(d) != "" {
			if !strings.HasSuffix(d, "\n") {
				d += "\n"
			}
			docs = append(docs, d)
		}
	}
	return docs
}

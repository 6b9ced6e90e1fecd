package bootstrap

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/metalk8s/metalk8s/internal/realkube"
)

// TestRenewalWithRealKubeadm runs metalk8s-renew-certs with the real kubeadm v1.37.2 and a real
// control plane (etcd, kube-apiserver, kube-controller-manager from kubeadm's static Pods) on a PKI
// kubeadm made (init phase certs all, kubeconfig all). Facts it relies on, checked by running
// kubeadm here and read in k8s.io/kubernetes v1.37.2 cmd/kubeadm/app/cmd/certs.go and
// phases/certs/renewal/manager.go:
//   - `certs check-expiration --config F -o jsonpath=...` prints each certificate's name,
//     expirationDate (RFC 3339) and missing (CertificateExpirationInfo, output.kubeadm.k8s.io/v1alpha3);
//     residualTime comes out as a float (3.1535974e+07), which is why the helper reads the date;
//   - `certs renew all --config F` renews, unconditionally, every leaf certificate of the PKI and
//     the client certificates of admin.conf, super-admin.conf, controller-manager.conf and
//     scheduler.conf below /etc/kubernetes (fixed, no flag), signed by the CA in certificatesDir;
//     neither the CAs nor kubelet.conf; it tells to restart the control-plane components;
//   - certificates live a year, so a threshold of 400 days makes every one of them due.
//
// kubeadm reads the kubeconfigs at /etc/kubernetes: the helper runs in the control plane's network
// namespace, whose mount namespace is its own, with an overlay over /etc holding the scratch files.
func TestRenewalWithRealKubeadm(t *testing.T) {
	tools := realkube.Need(t)
	f := realkube.Generate(t, tools, initConfig(t), nil)
	cp := realkube.Start(t, tools, f, testPrivateIP, testPublicIP)
	upper, work := filepath.Join(f.Dir, "upper"), filepath.Join(f.Dir, "work")
	etc := func(rel string) string { return filepath.Join(upper, rel) }
	for _, d := range []string{etc("kubernetes/manifests"), etc("metalk8s"), etc("usr"), work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err == nil {
			err = os.WriteFile(to, b, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, conf := range []string{"admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"} {
		copyFile(filepath.Join(f.KubeconfigDir, conf), etc("kubernetes/"+conf))
	}
	for name := range f.Manifests {
		copyFile(filepath.Join(f.ManifestDir, name+".yaml"), etc("kubernetes/manifests/"+name+".yaml"))
	}
	copyFile(f.Config, etc("metalk8s/kubeadm-init.yaml"))
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	run := func(days int) realkube.Result {
		t.Helper()
		helper, err := RenderRenewalHelper(RenewalData{Node: testController, Days: days})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(f.Dir, "metalk8s-renew-certs")
		if err := os.WriteFile(path, []byte(helper), 0o700); err != nil {
			t.Fatal(err)
		}
		mount := `mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc || exit; shift 2; exec "$@"`
		cmd := cp.Netns.Command("/bin/sh", "-c", mount, "sh", upper, work, bash, path)
		cmd.Env = cp.Env("METALK8S_ROOT=")
		return realkube.Run(cmd, 3*time.Minute)
	}
	adminCert := func() *x509.Certificate {
		t.Helper()
		b, err := os.ReadFile(etc("kubernetes/admin.conf"))
		if err != nil {
			t.Fatal(err)
		}
		var kc struct {
			Users []struct {
				User struct {
					Data string `json:"client-certificate-data"`
				} `json:"user"`
			} `json:"users"`
		}
		if err := yaml.Unmarshal(b, &kc); err != nil || len(kc.Users) != 1 {
			t.Fatalf("admin.conf: %v", err)
		}
		return parseCert(t, kc.Users[0].User.Data)
	}
	serving := func() *x509.Certificate {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(f.PKI, "apiserver.crt"))
		if err != nil {
			t.Fatal(err)
		}
		return parseCert(t, base64.StdEncoding.EncodeToString(b))
	}
	before, servingBefore := adminCert(), serving()
	// kubeadm's NotBefore has one-second precision: a renewal in the same second would look alike.
	time.Sleep(1100 * time.Millisecond)

	began := time.Now()
	r := run(400)
	if r.Err != nil {
		t.Fatalf("renewal with a 400-day threshold:\n%s", r)
	}
	t.Logf("renewal with the control plane stopped and started again took %v", time.Since(began).Round(time.Millisecond))
	if !strings.Contains(r.Stderr, "renewing kubeadm's certificates: admin.conf apiserver") {
		t.Errorf("the helper did not say what was due:\n%s", r.Stderr)
	}
	after := adminCert()
	if after.Equal(before) || !after.NotAfter.After(before.NotAfter) {
		t.Errorf("admin.conf keeps its client certificate (valid until %v, was %v)", after.NotAfter, before.NotAfter)
	}
	if s := serving(); s.Equal(servingBefore) {
		t.Error("the API server's certificate was not renewed")
	}
	ca, err := os.ReadFile(filepath.Join(f.PKI, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	if _, err := after.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the renewed admin certificate is not a client certificate of the cluster CA: %v", err)
	}
	// The renewed kubeconfig works against the API server (the helper waited for /readyz with it).
	if k := cp.Kubectl(etc("kubernetes/admin.conf"), "auth", "can-i", "*", "*"); k.Err != nil || strings.TrimSpace(k.Stdout) != "yes" {
		t.Errorf("the renewed admin.conf may not do everything:\n%s", k)
	}
	for name := range f.Manifests {
		if _, err := os.Stat(etc("kubernetes/manifests/" + name + ".yaml")); err != nil {
			t.Errorf("%s's manifest is not back: %v", name, err)
		}
	}

	r = run(testRenewalDays)
	if r.Err != nil || !strings.Contains(r.Stderr, "valid for more than 30 days") {
		t.Fatalf("second run with a 30-day threshold:\n%s", r)
	}
	if again := adminCert(); !again.Equal(after) {
		t.Error("the second run renewed certificates valid for a year")
	}
}

// parseCert decodes a base64 PEM certificate.
func parseCert(t *testing.T, b64 string) *x509.Certificate {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

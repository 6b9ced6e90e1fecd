package bootstrap

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/internal/realkube"
)

// haSpec is testSpec with an API address and a certificate key.
func haSpec() clusterSpec {
	s := testSpec()
	s.APIAddress = "203.0.113.100"
	s.CertificateKey = strings.Repeat("0123456789abcdef", 4)
	return s
}

// TestHAConfigurationsWithRealKubeadm runs the real kubeadm on the kubeadm files of a control
// plane with an API address:
//   - the first controller's file and a joining controller's file pass kubeadm config validate
//     without a warning (kubeadm join's loader cannot run offline on a control-plane join: its
//     check-etcd phase runs discovery against the cluster);
//   - the API server certificate kubeadm writes names the API address and APIName (and the
//     first controller's addresses), and etcd, left to kubeadm's defaults, listens on the
//     private address and loopback only, as the single controller's explicit flags do;
//   - on a control plane running from those files, kubeadm init phase upload-certs, as a
//     controller's token step runs it, uploads the control-plane certificates without printing
//     the key, and the Secret kubeadm-certs decrypts with the configuration's key (AES-GCM with
//     the nonce first, as kubeadm's EncryptBytes writes it).
func TestHAConfigurationsWithRealKubeadm(t *testing.T) {
	tools := realkube.Need(t)
	spec := haSpec()
	initCfg, err := spec.InitConfig()
	if err != nil {
		t.Fatal(err)
	}
	joinCfg, err := spec.ControlPlaneJoinConfig("cp2", "10.0.0.20", "sha256:"+strings.Repeat("ab", 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, cfg := range map[string]string{"init.yaml": initCfg, "join.yaml": joinCfg} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		r := realkube.Run(tools.Command("kubeadm", "config", "validate", "--config", path), realkube.KubeadmTimeout)
		if r.Err != nil || len(realkube.Warnings(r.Stdout+"\n"+r.Stderr)) > 0 {
			t.Errorf("kubeadm config validate %s:\n%s", name, r)
		}
	}
	f := realkube.Generate(t, tools, initCfg, nil)
	pemBytes, err := os.ReadFile(filepath.Join(f.PKI, "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	for _, want := range []string{spec.APIAddress, testPrivateIP, testPublicIP} {
		if !slices.Contains(ips, want) {
			t.Errorf("the API server certificate names %v, not %s", ips, want)
		}
	}
	if !slices.Contains(cert.DNSNames, APIName) {
		t.Errorf("the API server certificate names %v, not %s", cert.DNSNames, APIName)
	}
	etcd := f.Flags("etcd")
	for flag, want := range map[string]string{
		"listen-client-urls":          "https://127.0.0.1:2379,https://" + testPrivateIP + ":2379",
		"advertise-client-urls":       "https://" + testPrivateIP + ":2379",
		"listen-peer-urls":            "https://" + testPrivateIP + ":2380",
		"initial-advertise-peer-urls": "https://" + testPrivateIP + ":2380",
		"listen-metrics-urls":         "http://127.0.0.1:2381",
	} {
		if etcd[flag] != want {
			t.Errorf("etcd --%s=%q, want %q", flag, etcd[flag], want)
		}
	}
	if got := f.Flags("kube-apiserver")["bind-address"]; got != "0.0.0.0" {
		t.Errorf("the API server binds %q: it must answer at the API address on loopback too", got)
	}

	// On the controller, /etc/hosts maps APIName to its own private address (the init script's
	// map_api_name): the kubeconfigs kubeadm wrote name APIName, so here they name the address.
	confs, _ := filepath.Glob(filepath.Join(f.KubeconfigDir, "*.conf"))
	for _, c := range confs {
		b, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "server: https://"+APIName+":6443") {
			continue // the controller manager's and the scheduler's name the local API server
		}
		b = []byte(strings.ReplaceAll(string(b), "https://"+APIName+":", "https://"+testPrivateIP+":"))
		if err := os.WriteFile(c, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cp := realkube.Start(t, tools, f, testPrivateIP, testPublicIP)
	r := cp.Kubeadm("init", "phase", "upload-certs", "--upload-certs", "--skip-certificate-key-print", "--config", f.Config, "--kubeconfig", cp.Admin)
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	if strings.Contains(r.Stdout+r.Stderr, spec.CertificateKey) {
		t.Errorf("upload-certs printed the certificate key:\n%s", r)
	}
	r = cp.Kubectl(cp.Admin, "-n", "kube-system", "get", "secret", "kubeadm-certs", "-o", "jsonpath={.data.ca\\.key}")
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	sealed, err := decodeBase64(strings.TrimSpace(r.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(spec.CertificateKey)
	blockCipher, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(blockCipher)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) < gcm.NonceSize() {
		t.Fatalf("kubeadm-certs ca.key is %d bytes", len(sealed))
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
	if err != nil {
		t.Fatalf("kubeadm-certs ca.key does not decrypt with the configuration's key: %v", err)
	}
	caKey, err := os.ReadFile(filepath.Join(f.PKI, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != string(caKey) {
		t.Error("kubeadm-certs holds another CA key than the controller's")
	}
}

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

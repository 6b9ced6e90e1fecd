package bootstrap

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testRenewalDays is the renewal threshold the certificate step is rendered with.
const testRenewalDays = 30

// renewHelper is where the certificate step installs the renewal helper.
const renewHelper = "usr/local/sbin/metalk8s-renew-certs"

// certsScript renders the controller's certificate step.
func certsScript(t *testing.T) script {
	t.Helper()
	body, err := RenderRenewal(RenewalData{Node: testController, Days: testRenewalDays})
	if err != nil {
		t.Fatal(err)
	}
	return script{body: body}
}

// initialised seeds a controller after init: the API server up, kubeadm's configuration and the
// admin kubeconfig with its first client certificate, every certificate expiring in days.
func initialised(days int) func(*testing.T, *node) {
	return func(t *testing.T, n *node) {
		t.Helper()
		n.write(t, "etc/kubernetes/manifests/kube-apiserver.yaml", "", 0o600)
		n.write(t, "etc/kubernetes/manifests/etcd.yaml", "", 0o600)
		n.write(t, "etc/kubernetes/pki/ca.crt", testCACert, 0o644)
		n.write(t, "etc/kubernetes/pki/ca.key", testCAKey, 0o600)
		n.write(t, "etc/metalk8s/kubeadm-init.yaml", initConfig(t), 0o600)
		n.write(t, adminConf, kubeconfigAt(testSpec().Endpoint())+adminUser(0), 0o600)
		n.setState(t, "certs-expire", time.Now().UTC().AddDate(0, 0, days).Format("2006-01-02T00:00:00Z"))
	}
}

// adminUser is the user part of the stand-in's admin kubeconfig, with client certificate n.
func adminUser(n int) string {
	return "users:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: " +
		base64.StdEncoding.EncodeToString([]byte("renewed "+string(rune('0'+n)))) + "\n"
}

// checkTimer verifies the helper and the daily timer: installed, loaded and enabled.
func checkTimer(t *testing.T, n *node, r result) {
	t.Helper()
	helper, err := RenderRenewalHelper(RenewalData{Node: testController, Days: testRenewalDays})
	if err != nil {
		t.Fatal(err)
	}
	wantFile(t, n, renewHelper, helper, 0o755)
	for _, u := range []string{"metalk8s-renew-certs.service", "metalk8s-renew-certs.timer"} {
		if _, ok := n.read(t, "etc/systemd/system/"+u); !ok {
			t.Errorf("%s is not installed", u)
		}
		if _, ok := n.readState(t, "loaded/"+u); !ok {
			t.Errorf("systemd has not loaded %s", u)
		}
	}
	wantState(t, n, "enabled/metalk8s-renew-certs.timer", "")
	wantOrder(t, r.calls, "systemctl daemon-reload", "systemctl enable --now metalk8s-renew-certs.timer")
	if timer, _ := n.read(t, "etc/systemd/system/metalk8s-renew-certs.timer"); !strings.Contains(timer, "OnCalendar=daily") {
		t.Errorf("the timer does not run daily:\n%s", timer)
	}
}

// checkAdmin verifies that the controller's own admin.conf holds client certificate n (kubeadm
// renews it with the others; the steps that run on the controller use it) and that the step
// printed nothing: the exported kubeconfig is Pulumi's, not this file.
func checkAdmin(n int) func(*testing.T, *node, result) {
	return func(t *testing.T, nd *node, r result) {
		t.Helper()
		if admin, _ := nd.read(t, adminConf); !strings.HasSuffix(admin, adminUser(n)) {
			t.Errorf("admin.conf does not hold client certificate %d:\n%s", n, admin)
		}
		if r.stdout != "" {
			t.Errorf("standard output is\n%s\nwant nothing", r.stdout)
		}
	}
}

// checkRenewed verifies a renewal: kubeadm renewed every certificate once, then the control-plane
// Pods were stopped (manifests parked for the kubelet's 20-second file check) and started again,
// the API server answered, and admin.conf holds a new client certificate.
func checkRenewed(t *testing.T, n *node, r result) {
	t.Helper()
	cfg := filepath.Join(n.root, "etc/metalk8s/kubeadm-init.yaml")
	wantCalls(t, r.calls, "kubeadm certs renew all --config "+cfg, 1)
	wantOrder(t, r.calls, "kubeadm certs check-expiration *", "kubeadm certs renew all *")
	wantOrder(t, r.calls, "kubeadm certs renew all *", "sleep 20")
	wantOrder(t, r.calls, "sleep 20", "kubectl * get --raw /readyz")
	for _, m := range []string{"kube-apiserver.yaml", "etcd.yaml"} {
		wantFile(t, n, "etc/kubernetes/manifests/"+m, "", 0o600)
	}
	wantAbsent(t, n, "etc/kubernetes/manifests-parked/etcd.yaml")
	checkTimer(t, n, r)
	checkAdmin(1)(t, n, r)
}

// noRenewal verifies that the step left the certificates and the control plane alone.
func noRenewal(t *testing.T, _ *node, r result) {
	t.Helper()
	wantCalls(t, r.calls, "kubeadm certs check-expiration *", 1)
	wantCalls(t, r.calls, "kubeadm certs renew *", 0)
	wantCalls(t, r.calls, "sleep *", 0)
}

// renewalCases are the certificate step on a controller whose certificates are due (10 days
// left), on one whose certificates are fresh, and on one where a renewal was cut short while the
// control plane was stopped. Every second run finds the certificates valid for a year: a no-op.
func renewalCases() []scriptCase {
	return []scriptCase{
		{name: "certs-due", script: certsScript, seed: initialised(10), changes: true, check: checkRenewed, again: func(t *testing.T, n *node, r result) {
			t.Helper()
			noRenewal(t, n, r)
			checkAdmin(1)(t, n, r)
		}},
		{name: "certs-fresh", script: certsScript, seed: initialised(365), changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			noRenewal(t, n, r)
			checkTimer(t, n, r)
			checkAdmin(0)(t, n, r)
		}, again: noRenewal},
		{name: "certs-cut-short", script: certsScript, seed: func(t *testing.T, n *node) {
			t.Helper()
			initialised(365)(t, n)
			n.write(t, "etc/kubernetes/manifests-parked/kube-apiserver.yaml", "", 0o600)
			if err := removeFile(n, "etc/kubernetes/manifests/kube-apiserver.yaml"); err != nil {
				t.Fatal(err)
			}
		}, changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			noRenewal(t, n, r)
			wantFile(t, n, "etc/kubernetes/manifests/kube-apiserver.yaml", "", 0o600)
			wantAbsent(t, n, "etc/kubernetes/manifests-parked/kube-apiserver.yaml")
		}, again: noRenewal},
	}
}

// renewalFailures stop the certificate step; when kubeadm fails, the control plane keeps running.
func renewalFailures() []failureCase {
	running := func(t *testing.T, n *node, r result) {
		t.Helper()
		stdoutEmpty(t, n, r)
		wantFile(t, n, "etc/kubernetes/manifests/kube-apiserver.yaml", "", 0o600)
		wantCalls(t, r.calls, "sleep *", 0)
	}
	return []failureCase{
		{name: "expiry check fails", of: "certs-due", faults: []string{"1 always kubeadm certs check-expiration *"}, stopsAt: "systemctl enable *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			running(t, n, r)
			wantCalls(t, r.calls, "kubeadm certs renew *", 0)
		}},
		{name: "renewal fails", of: "certs-due", faults: []string{"1 always kubeadm certs renew all *"}, stopsAt: "kubeadm certs renew all *", attempts: 1, check: running},
		{name: "timer cannot be enabled", of: "certs-due", faults: []string{"1 always systemctl enable *"}, stopsAt: "systemctl enable *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			running(t, n, r)
			wantCalls(t, r.calls, "kubeadm *", 0)
		}},
		{name: "API server does not come back", of: "certs-due", faults: []string{"1 always kubectl * get --raw /readyz"}, stopsAt: "kubeadm certs renew all *", attempts: 1, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			stdoutEmpty(t, n, r)
			wantCalls(t, r.calls, "kubectl * get --raw /readyz", 61)
		}},
	}
}

// removeFile removes the node's file rel.
func removeFile(n *node, rel string) error { return os.Remove(filepath.Join(n.root, rel)) }

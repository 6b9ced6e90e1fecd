package tests

// The control plane's upgrade step against the real kubeadm: the kubeadm commands of the rendered
// <controller>-upgrade script run, as the script writes them, on the running control plane of
// TestControlPlane, with the controller machine around it (realkube.Controller: the files kubeadm
// wrote, the kubelet's files, the Node, its heartbeat and the mirror Pods a kubelet would make).
// Only v1.37.2 is built here, so the upgrade runs to the version the cluster runs (what the step
// does after a failed run, and what kubeadm does for a patch release but for the images), and
// the refusals run for the versions kubeadm refuses; an upgrade to a newer patch cannot run
// offline (no v1.37.3 binaries, no images).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/realkube"
)

// upgradePreflightOffline are the checks of kubeadm upgrade apply's preflight that need the
// machine's kubelet binary and container runtime, neither of which exists here
// (RunUpgradeChecks in cmd/kubeadm/app/preflight/checks.go, v1.37.2: SystemVerification runs
// `kubelet --version`, ContainerRuntimeVersion connects to nodeRegistration's CRI socket). The
// test passes them to --ignore-preflight-errors, the one flag beside --dry-run the script does
// not pass; kubeadm then prints them as [WARNING NAME] lines, and no other warning is allowed.
var upgradePreflightOffline = []string{"SystemVerification", "ContainerRuntimeVersion"}

// dryRunWarnings are the klog warnings kubeadm upgrade apply --dry-run prints whatever the
// cluster: WriteKubeletConfigFiles (cmd/kubeadm/app/phases/upgrade/postupgrade.go) always names
// the directory of its kubelet config backup, and in a dry run looks for instance-config.yaml in
// the dry-run directory, which the control-plane phase has removed by then
// (DryRunStaticPodUpgrade in staticpods.go: defer os.RemoveAll of that directory).
var dryRunWarnings = []string{"for kubelet config. To override it set the environment variable KUBEADM_UPGRADE_DRYRUN_DIR",
	"instance-config.yaml was not found. Creating a new one with defaults"}

// upgradeCalls returns the kubeadm calls of the rendered control-plane upgrade script, with its
// $target variable replaced by the value the script sets.
func upgradeCalls(t *testing.T, script string) [][]string {
	t.Helper()
	target := regexpFind(t, script, `(?m)^target=(\S+)$`)
	calls := kubeadmCalls(t, script)
	for _, call := range calls {
		for i, a := range call {
			call[i] = strings.ReplaceAll(a, "$target", target)
		}
	}
	return calls
}

// upgrade runs the rendered control-plane upgrade's kubeadm commands on the controller: plan as
// the script calls it, apply as the script calls it plus --dry-run (and the offline preflight
// checks ignored), then apply --dry-run to each version kubeadm refuses, whose refusal the
// kubeadm stand-in of the script tests must make too.
func (c *clusterFixture) upgrade(t *testing.T, kubeadmConfig string) {
	began := time.Now()
	script := c.stack.scripts["metalk8s-sv-controller-upgrade"]
	calls := upgradeCalls(t, script)
	target := "v" + config.DefaultKubernetesVersion
	// The calls run below are the script's own, flags included: only their order and version
	// are checked here.
	if len(calls) != 2 || len(calls[0]) < 3 || len(calls[1]) < 3 || strings.Join(calls[0][:3], " ") != "upgrade plan "+target ||
		strings.Join(calls[1][:3], " ") != "upgrade apply "+target {
		t.Fatalf("the upgrade script runs kubeadm %q, want upgrade plan %s, then upgrade apply %s", calls, target, target)
	}
	ctl := c.cp.StartController(t, "sv-controller", kubeadmConfig)
	defer c.kubectl(t, "delete", "node", "sv-controller")
	dryRunDir := filepath.Join(t.TempDir(), "dryrun")
	// KUBEADM_UPGRADE_DRYRUN_DIR keeps what the dry run writes in the scratch directory
	// (constants.GetDryRunDir; without it kubeadm makes a directory in /etc/kubernetes/tmp and
	// warns). An environment variable, not a flag: the command line stays the script's.
	env := []string{"KUBEADM_UPGRADE_DRYRUN_DIR=" + dryRunDir}
	configMap := func() string {
		return c.kubectl(t, "-n", "kube-system", "get", "configmap", "kubeadm-config", "-o", "jsonpath={.metadata.resourceVersion}")
	}
	before := configMap()

	// Plan: never a dry run (runPlan in cmd/kubeadm/app/cmd/upgrade/plan.go passes dryRun=false
	// to enforceRequirements, common.go): it reads kubeadm-config, the Node through kubelet.conf's
	// name, the API server's mirror Pod, runs the health checks (CreateJob: a real Job that must
	// complete; ControlPlaneNodesReady; the static Pod manifests on disk) and the CoreDNS
	// migration check on the Deployment and Corefile the addon phase made.
	r := ctl.Kubeadm(nil, calls[0]...)
	if r.Err != nil {
		t.Errorf("kubeadm %s, as the upgrade script runs it:\n%s", strings.Join(calls[0], " "), r)
	}
	noWarnings(t, r)
	// Printed by GetAvailableUpgrades (phases/upgrade/compute.go); the plan is empty, since the
	// cluster runs the target (the version offered is the one argument, OfflineVersionGetter).
	for _, line := range []string{"[upgrade] Running cluster health checks", "[upgrade/versions] Cluster version: " + config.DefaultKubernetesVersion,
		"[upgrade/versions] kubeadm version: " + target, "[upgrade/versions] Target version: " + target} {
		if !strings.Contains(r.Stdout, line) {
			t.Errorf("kubeadm upgrade plan did not print %q:\n%s", line, r.Stdout)
		}
	}
	t.Logf("kubeadm %s: ok after %v", strings.Join(calls[0], " "), time.Since(began).Round(time.Millisecond))

	apply := func(version string) realkube.Result {
		args := append(append([]string{}, calls[1]...), "--dry-run", "--ignore-preflight-errors="+strings.Join(upgradePreflightOffline, ","))
		args[2] = version
		return ctl.Kubeadm(env, args...)
	}
	// Apply --dry-run: every phase runs against a client that prints its writes
	// (getClient in common.go: reads go to the real API server).
	began = time.Now()
	r = apply(target)
	if r.Err != nil {
		t.Fatalf("kubeadm %s --dry-run, as the upgrade script runs it:\n%s", strings.Join(calls[1], " "), r)
	}
	c.onlyOfflineWarnings(t, r)
	// Printed by enforceVersionPolicies and the phases (cmd/phases/upgrade/apply/preflight.go,
	// controlplane.go; the command's RunE in cmd/upgrade/apply.go).
	for _, line := range []string{
		`[upgrade/preflight] You have chosen to upgrade the cluster version to "` + target + `"`,
		`[dryrun] Would upgrade your static Pod-hosted control plane to version "` + target + `"`,
		`[dryrun] Would write file "/etc/kubernetes/manifests/kube-apiserver.yaml"`,
		"image: registry.k8s.io/kube-apiserver:" + target,
		"image: registry.k8s.io/kube-controller-manager:" + target,
		"[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!",
		"[upgrade/successful] Finished dryrunning successfully!",
	} {
		if !strings.Contains(r.Stdout, line) {
			t.Errorf("kubeadm upgrade apply --dry-run did not print %q", line)
		}
	}
	if strings.Contains(r.Stdout, "SUCCESS! A control plane node of your cluster was upgraded") {
		t.Errorf("the dry run says it upgraded the control plane")
	}
	if after := configMap(); after != before {
		t.Errorf("the dry run changed kubeadm-config (resourceVersion %s -> %s)", before, after)
	}
	t.Logf("kubeadm %s --dry-run: ok after %v", strings.Join(calls[1], " "), time.Since(began).Round(time.Millisecond))

	// The versions kubeadm apply refuses, each with its own message (EnforceVersionPolicies in
	// phases/upgrade/policy.go; NormalizeKubernetesVersion in util/config/common.go for a version
	// below MinimumControlPlaneVersion, v1.36.0 for kubeadm v1.37.2). A patch downgrade within the
	// minor (v1.37.1) it accepts: there the guard is what refuses (guard subtest).
	stand := c.kubeadmStandin(t, regexpFind(t, script, `(?m)^want=(\S+)$`))
	for _, tc := range []struct {
		version, says string
	}{
		{"v1.39.0", `Specified version to upgrade to "v1.39.0" is too high; kubeadm can upgrade only 1 minor version at a time`},
		{"v1.38.0", `Specified version to upgrade to "v1.38.0" is at least one minor release higher than the kubeadm minor release (38 > 37). Such an upgrade is not supported`},
		{"v1.37.3", `Specified version to upgrade to "v1.37.3" is higher than the kubeadm version "v1.37.2". Upgrade kubeadm first using the tool you used to install kubeadm`},
		{"v1.36.0", `Kubeadm version v1.37.2 can only be used to upgrade to Kubernetes version 1.37`},
		{"v1.35.9", `this version of kubeadm only supports deploying clusters with the control plane version >= 1.36.0. Current version: v1.35.9`},
		{"v1.37.1", ""},
	} {
		r := apply(tc.version)
		switch {
		case tc.says == "" && r.Err != nil:
			t.Errorf("kubeadm upgrade apply %s --dry-run refused:\n%s", tc.version, r)
		case tc.says != "" && r.Err == nil:
			t.Errorf("kubeadm upgrade apply %s --dry-run accepted, want %q", tc.version, tc.says)
		case tc.says != "" && !strings.Contains(r.Stderr, tc.says):
			t.Errorf("kubeadm upgrade apply %s --dry-run refused for another reason than %q:\n%s", tc.version, tc.says, r.Stderr)
		}
		// The stand-in, given the same cluster (kubeadm-config at the running version) and
		// kubeadm package, must refuse the same versions with the same message.
		s := stand(tc.version)
		switch {
		case tc.says == "" && s.Err != nil:
			t.Errorf("the kubeadm stand-in refuses upgrade apply %s --yes, which kubeadm accepts:\n%s", tc.version, s)
		case tc.says != "" && (s.Err == nil || !strings.Contains(s.Stderr, tc.says)):
			t.Errorf("the kubeadm stand-in does not refuse upgrade apply %s --yes with kubeadm's %q:\n%s", tc.version, tc.says, s)
		}
	}
	if after := configMap(); after != before {
		t.Errorf("the refused upgrades changed kubeadm-config (resourceVersion %s -> %s)", before, after)
	}
	if err := ctl.Err(); err != nil {
		t.Errorf("the controller's kubelet heartbeat failed: %v", err)
	}
}

// onlyOfflineWarnings fails the test for every warning of an apply --dry-run but the ignored
// offline preflight checks and the dry run's own, and fails it if an ignored check did not warn.
func (c *clusterFixture) onlyOfflineWarnings(t *testing.T, r realkube.Result) {
	t.Helper()
	seen := map[string]bool{}
	for _, w := range realkube.Warnings(r.Stdout + "\n" + r.Stderr) {
		allowed := false
		for _, check := range upgradePreflightOffline {
			if strings.Contains(w, "[WARNING "+check+"]") {
				allowed, seen[check] = true, true
			}
		}
		for _, d := range dryRunWarnings {
			allowed = allowed || strings.Contains(w, d)
		}
		if !allowed {
			t.Errorf("kubeadm upgrade apply --dry-run warns: %s", w)
		}
	}
	for _, check := range upgradePreflightOffline {
		if !seen[check] {
			t.Errorf("the %s preflight check did not fail offline: it needs no --ignore-preflight-errors any more", check)
		}
	}
}

// kubeadmStandinDir holds the script tests' stand-ins.
const kubeadmStandinDir = "../components/bootstrap/testdata/scripts"

// kubeadmStandin returns a function running the script tests' kubeadm stand-in (its prelude and
// kubeadm.sh, as components/bootstrap's harness installs them) as the upgrade script calls it,
// kubeadm upgrade apply VERSION --yes, on a node whose cluster runs the version kubeadm-config
// holds and whose kubeadm package is the configured version's.
func (c *clusterFixture) kubeadmStandin(t *testing.T, pkg string) func(version string) realkube.Result {
	t.Helper()
	prelude, err := os.ReadFile(filepath.Join(kubeadmStandinDir, "prelude.sh"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(kubeadmStandinDir, "kubeadm.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kubeadm")
	if err := os.WriteFile(bin, []byte("#!/usr/bin/env bash\n"+string(prelude)+"\n"+string(body)), 0o755); err != nil {
		t.Fatal(err)
	}
	running := regexpFind(t, c.kubectl(t, "-n", "kube-system", "get", "configmap", "kubeadm-config", "-o", "jsonpath={.data.ClusterConfiguration}"),
		`(?m)^kubernetesVersion: (\S+)$`)
	return func(version string) realkube.Result {
		root, state := filepath.Join(t.TempDir(), "root"), filepath.Join(t.TempDir(), "state")
		for path, content := range map[string]string{
			filepath.Join(root, "etc/kubernetes/admin.conf"):                    "admin",
			filepath.Join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"): "",
			filepath.Join(state, "kubeadm-config"):                              "kubernetesVersion: " + running + "\n",
			filepath.Join(state, "dpkg/kubeadm"):                                pkg,
		} {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(bin, "upgrade", "apply", version, "--yes")
		cmd.Env = append(os.Environ(), "METALK8S_ROOT="+root, "STANDIN_STATE="+state, "STANDIN_LOG="+filepath.Join(state, "log"))
		return realkube.Run(cmd, 30*time.Second)
	}
}

package bootstrap

// The upgrade scripts in the script harness (see scripts_test.go): the guard, the control plane's
// upgrade, and a worker's drain, upgrade and uncordon, on nodes seeded as a running cluster.
//
// What kubeadm v1.37.2 does, read in k8s.io/kubernetes@v1.37.2/cmd/kubeadm and relied on here
// (the kubeadm stand-in models it, TestKubeadmUpgradeStandin checks the stand-in refuses it):
//   - "upgrade apply" takes the target version as its one argument, mandatory unless a config
//     file gives it (cmd/upgrade/common.go, enforceRequirements: ValidateExactArgNumber); without
//     --yes (-y, -f or --dry-run) it asks "Are you sure you want to proceed?" on standard input
//     (cmd/phases/upgrade/apply/preflight.go, InteractivelyConfirmAction), which fails on
//     /dev/null; it refuses a target more than one minor above the cluster's and one above its
//     own version (phases/upgrade/policy.go, EnforceVersionPolicies; skippable only with --force
//     or --ignore-preflight-errors); it renews the certificates of the components it upgrades
//     by default (--certificate-renewal defaults to true).
//   - "upgrade plan" takes at most one argument, the version ("plan [version]").
//   - "upgrade node" takes no argument (cobra.NoArgs, cmd/upgrade/node.go); on a node without a
//     control plane it uses /etc/kubernetes/kubelet.conf.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metalk8s/metalk8s/internal/realkube"
)

// Versions of the upgrade cases: the cluster runs testVersion and moves to upgradeVersion (the
// next minor) or patchVersion.
const (
	upgradeVersion = "1.38.0"
	patchVersion   = "1.37.3"
)

// upgradeScript renders one of the upgrade scripts for node at version.
func upgradeScript(render func(UpgradeData) (string, error), node, version string) func(*testing.T) script {
	return func(t *testing.T) script {
		t.Helper()
		body, err := render(UpgradeData{Node: node, Version: version, PackageVersion: packageVersion(version)})
		if err != nil {
			t.Fatal(err)
		}
		return script{body: body}
	}
}

// guardScript renders the guard for version.
func guardScript(version string) func(*testing.T) script {
	return func(t *testing.T) script {
		t.Helper()
		body, err := RenderGuard(GuardData{Node: testController, Version: version, APIBindAddress: "0.0.0.0", APIPort: 6443})
		if err != nil {
			t.Fatal(err)
		}
		return script{body: body}
	}
}

// kubernetesRepo seeds the pkgs.k8s.io repository of version's minor, as the preparation step
// writes it when kubernetes.version changes.
func kubernetesRepo(t *testing.T, n *node, version string) {
	t.Helper()
	m := minor(version)
	n.write(t, "etc/apt/keyrings/kubernetes-"+m+".gpg", "key\n", 0o644)
	n.write(t, "etc/apt/sources.list.d/kubernetes.list", "deb [signed-by=/etc/apt/keyrings/kubernetes-"+m+".gpg] https://pkgs.k8s.io/core:/stable:/"+m+"/deb/ /\n", 0o644)
}

// runningNode seeds name's packages at version, held, and its Node object with a kubelet
// reporting version, Ready; this machine is name.
func runningNode(t *testing.T, n *node, name, version string) {
	t.Helper()
	for _, p := range []string{"kubelet", "kubeadm", "kubectl"} {
		n.setState(t, "dpkg/"+p, packageVersion(version))
		n.setState(t, "hold/"+p, "")
	}
	n.setState(t, "hostname", name)
	n.setState(t, "nodes/"+name, "")
	n.setState(t, "kubelet-version/"+name, "v"+version)
	// The stand-ins' API server answers while its static pod manifest exists.
	n.write(t, "etc/kubernetes/manifests/kube-apiserver.yaml", "", 0o600)
}

// controllerAt seeds a controller initialised at version whose repository offers target.
func controllerAt(version, target string) func(*testing.T, *node) {
	return func(t *testing.T, n *node) {
		t.Helper()
		apiUp(t, n)
		n.write(t, "etc/metalk8s/init.finished", "", 0o644)
		n.setState(t, "kubeadm-config", "kubernetesVersion: v"+version+"\n")
		runningNode(t, n, testController, version)
		kubernetesRepo(t, n, target)
	}
}

// workerAt seeds a worker joined at version whose repository offers target.
func workerAt(version, target string) func(*testing.T, *node) {
	return func(t *testing.T, n *node) {
		t.Helper()
		joined(t, n)
		runningNode(t, n, testWorker, version)
		kubernetesRepo(t, n, target)
	}
}

// workerOnController seeds the controller's view of the worker: registered, its kubelet at version.
func workerOnController(version string) func(*testing.T, *node) {
	return func(t *testing.T, n *node) {
		t.Helper()
		controllerAt(upgradeVersion, upgradeVersion)(t, n)
		n.setState(t, "nodes/"+testWorker, "")
		n.setState(t, "kubelet-version/"+testWorker, "v"+version)
	}
}

// checkControllerUpgraded verifies kubeadm's order on the controller: kubeadm first, plan, apply,
// then the kubelet and kubectl, the restart, and the node Ready at the version.
func checkControllerUpgraded(version string) func(*testing.T, *node, result) {
	return func(t *testing.T, n *node, r result) {
		t.Helper()
		want := packageVersion(version)
		kubeadm := "apt-get install * --allow-change-held-packages kubeadm=" + want
		kubelet := "apt-get install * --allow-change-held-packages kubelet=" + want + " kubectl=" + want
		wantCalls(t, r.calls, kubeadm, 1)
		wantCalls(t, r.calls, "kubeadm upgrade plan v"+version, 1)
		wantCalls(t, r.calls, "kubeadm upgrade apply v"+version+" --yes", 1)
		wantCalls(t, r.calls, kubelet, 1)
		wantOrder(t, r.calls, "apt-get update *", kubeadm)
		wantOrder(t, r.calls, kubeadm, "kubeadm upgrade plan *")
		wantOrder(t, r.calls, "kubeadm upgrade plan *", "kubeadm upgrade apply *")
		wantOrder(t, r.calls, "kubeadm upgrade apply *", kubelet)
		wantOrder(t, r.calls, kubelet, "systemctl restart kubelet")
		wantOrder(t, r.calls, "systemctl daemon-reload", "systemctl restart kubelet")
		wantState(t, n, "kubeadm-config", "kubernetesVersion: v"+version+"\n")
		wantState(t, n, "kubelet-version/"+testController, "v"+version)
		for _, p := range []string{"kubelet", "kubeadm", "kubectl"} {
			wantState(t, n, "dpkg/"+p, want)
			wantState(t, n, "hold/"+p, "")
		}
		// apt-get install --allow-downgrades is never passed: an upgrade step cannot downgrade.
		wantCalls(t, r.calls, "apt-get install *--allow-downgrades*", 0)
	}
}

// checkNodeUpgraded verifies a worker's upgrade: kubeadm, kubeadm upgrade node, kubelet and
// kubectl, restart, Ready at the version.
func checkNodeUpgraded(t *testing.T, n *node, r result) {
	t.Helper()
	want := packageVersion(upgradeVersion)
	kubeadm := "apt-get install * kubeadm=" + want
	kubelet := "apt-get install * kubelet=" + want + " kubectl=" + want
	wantOrder(t, r.calls, kubeadm, "kubeadm upgrade node")
	wantOrder(t, r.calls, "kubeadm upgrade node", kubelet)
	wantOrder(t, r.calls, kubelet, "systemctl restart kubelet")
	wantCalls(t, r.calls, "kubeadm upgrade node", 1)
	wantCalls(t, r.calls, "kubeadm upgrade apply *", 0)
	wantState(t, n, "kubelet-version/"+testWorker, "v"+upgradeVersion)
	for _, p := range []string{"kubelet", "kubeadm", "kubectl"} {
		wantState(t, n, "dpkg/"+p, want)
		wantState(t, n, "hold/"+p, "")
	}
	// The kubelet reached the API server with its own credentials, never the admin's.
	wantCalls(t, r.calls, "kubectl --kubeconfig *admin.conf*", 0)
}

// upgradeScriptCases are the upgrade scripts on the node states they are meant for, and on those
// they must leave alone.
func upgradeScriptCases() []scriptCase {
	leavesAlone := func(t *testing.T, _ *node, r result) {
		t.Helper()
		if !strings.Contains(r.stderr, "already") && !strings.Contains(r.stderr, "nothing to") && !strings.Contains(r.stderr, "joins at") && !strings.Contains(r.stderr, "was not drained") {
			t.Errorf("stderr does not say why nothing is done:\n%s", r.stderr)
		}
	}
	return []scriptCase{
		// A version change runs the preparation again on every node: on one in the cluster it
		// leaves the Kubernetes packages to the upgrade steps (and sets up the new repository).
		{name: "prepare-joined-worker", script: func(t *testing.T) script {
			t.Helper()
			d := PrepareData{
				Node: testWorker, Version: upgradeVersion, Minor: minor(upgradeVersion), PackageVersion: packageVersion(upgradeVersion),
				ContainerdMinor: ContainerdMinor, Firewall: firewallRules(t, false), ContainerdConfig: containerdConfig, ResetScript: resetScript,
			}
			body, err := RenderPrepare(d)
			if err != nil {
				t.Fatal(err)
			}
			return script{body: body}
		}, seed: workerAt(testVersion, testVersion), changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "apt-get install * kubelet=*", 0)
			wantCalls(t, r.calls, "apt-get install * kubeadm=*", 0)
			for _, p := range []string{"kubelet", "kubeadm", "kubectl"} {
				wantState(t, n, "dpkg/"+p, packageVersionWant)
			}
			wantFile(t, n, "etc/apt/sources.list.d/kubernetes.list", "deb [signed-by=/etc/apt/keyrings/kubernetes-v1.38.gpg] https://pkgs.k8s.io/core:/stable:/v1.38/deb/ /\n", 0o644)
			if !strings.Contains(r.stderr, "left to the upgrade steps") {
				t.Errorf("stderr does not say the packages are left to the upgrade steps:\n%s", r.stderr)
			}
		}},
		{name: "guard-fresh", script: guardScript(upgradeVersion), check: leavesAlone},
		{name: "guard-minor", script: guardScript(upgradeVersion), seed: controllerAt(testVersion, testVersion), check: noKubeadm},
		{name: "guard-patch", script: guardScript(patchVersion), seed: controllerAt(testVersion, testVersion), check: noKubeadm},
		{name: "guard-same", script: guardScript(testVersion), seed: controllerAt(testVersion, testVersion), check: noKubeadm},
		{name: "upgrade-controller-minor", script: upgradeScript(RenderUpgradeController, testController, upgradeVersion),
			seed: controllerAt(testVersion, upgradeVersion), changes: true, check: checkControllerUpgraded(upgradeVersion), again: leavesAlone},
		// A patch release upgrades the control plane too (kubeadm upgrade apply), not only the packages.
		{name: "upgrade-controller-patch", script: upgradeScript(RenderUpgradeController, testController, patchVersion),
			seed: controllerAt(testVersion, patchVersion), changes: true, check: checkControllerUpgraded(patchVersion), again: leavesAlone},
		// A cluster initialised at the version: nothing to do.
		{name: "upgrade-controller-at-version", script: upgradeScript(RenderUpgradeController, testController, testVersion),
			seed: controllerAt(testVersion, testVersion), check: leavesAlone},
		{name: "drain", script: upgradeScript(RenderDrain, testWorker, upgradeVersion), seed: workerOnController(testVersion), changes: true,
			check: func(t *testing.T, n *node, r result) {
				t.Helper()
				wantOrder(t, r.calls, "kubectl * annotate node "+testWorker+" --overwrite metalk8s.io/upgrading=v"+upgradeVersion, "kubectl * drain "+testWorker+" *")
				wantCalls(t, r.calls, "kubectl * drain "+testWorker+" --ignore-daemonsets --delete-emptydir-data --grace-period=60 --timeout=300s", 1)
				wantCalls(t, r.calls, "kubectl * drain * --force*", 0)
				wantState(t, n, "drained/"+testWorker, "")
				wantState(t, n, "annotations/"+testWorker+"/metalk8s.io/drained", "v"+upgradeVersion)
			}, again: leavesAlone},
		// A node someone cordoned is drained but not marked for the uncordon.
		{name: "drain-cordoned-by-hand", script: upgradeScript(RenderDrain, testWorker, upgradeVersion), seed: func(t *testing.T, n *node) {
			t.Helper()
			workerOnController(testVersion)(t, n)
			n.setState(t, "drained/"+testWorker, "")
		}, changes: true, check: func(t *testing.T, _ *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * annotate node * metalk8s.io/upgrading=*", 0)
		}},
		{name: "drain-at-version", script: upgradeScript(RenderDrain, testWorker, upgradeVersion), seed: workerOnController(upgradeVersion), check: leavesAlone},
		{name: "drain-not-joined", script: upgradeScript(RenderDrain, testWorker, upgradeVersion), seed: controllerAt(upgradeVersion, upgradeVersion), check: leavesAlone},
		{name: "upgrade-node", script: upgradeScript(RenderUpgradeNode, testWorker, upgradeVersion), seed: workerAt(testVersion, upgradeVersion),
			changes: true, check: checkNodeUpgraded, again: leavesAlone},
		{name: "upgrade-node-at-version", script: upgradeScript(RenderUpgradeNode, testWorker, upgradeVersion), seed: workerAt(upgradeVersion, upgradeVersion), check: leavesAlone},
		// A worker not joined yet joins at the version: its preparation installed it.
		{name: "upgrade-node-not-joined", script: upgradeScript(RenderUpgradeNode, testWorker, upgradeVersion), check: leavesAlone},
		{name: "uncordon", script: upgradeScript(RenderUncordon, testWorker, upgradeVersion), seed: func(t *testing.T, n *node) {
			t.Helper()
			workerOnController(upgradeVersion)(t, n)
			n.setState(t, "drained/"+testWorker, "")
			n.setState(t, "annotations/"+testWorker+"/metalk8s.io/upgrading", "v"+upgradeVersion)
			n.setState(t, "annotations/"+testWorker+"/metalk8s.io/drained", "v"+upgradeVersion)
		}, changes: true, check: func(t *testing.T, n *node, r result) {
			t.Helper()
			wantCalls(t, r.calls, "kubectl * uncordon "+testWorker, 1)
			if _, ok := n.readState(t, "drained/"+testWorker); ok {
				t.Error("the worker is still cordoned")
			}
			for _, a := range []string{"upgrading", "drained"} {
				if _, ok := n.readState(t, "annotations/"+testWorker+"/metalk8s.io/"+a); ok {
					t.Errorf("the worker keeps its %s annotation", a)
				}
			}
		}, again: leavesAlone},
	}
}

// allScriptCases are the scripts of scripts_test.go and the upgrade scripts.
func allScriptCases() []scriptCase { return append(scriptCases(), upgradeScriptCases()...) }

// stepNamed verifies that stderr names the node and the step that stopped.
func stepNamed(name, step string) func(*testing.T, *node, result) {
	return func(t *testing.T, _ *node, r result) {
		t.Helper()
		if want := name + ": " + step + " step (Kubernetes " + upgradeVersion + ") stopped: "; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
}

// upgradeFailureCases are the failures each upgrade script must stop at.
func upgradeFailureCases() []failureCase {
	// notReady makes the node named report NotReady; its repair removes every such mark.
	notReady := func(name string) (func(*testing.T, *node), func(*testing.T, *node)) {
		return func(t *testing.T, n *node) { n.setState(t, "notready/"+name, "") },
			func(t *testing.T, n *node) {
				if err := os.RemoveAll(filepath.Join(n.state, "notready")); err != nil {
					t.Fatal(err)
				}
			}
	}
	ctrlBreak, ctrlRepair := notReady(testController)
	nodeBreak, nodeRepair := notReady(testWorker)
	return []failureCase{
		{name: "kubeadm upgrade apply fails", of: "upgrade-controller-minor", faults: []string{"1 always kubeadm upgrade apply *"}, stopsAt: "kubeadm upgrade apply *", attempts: 1,
			check: func(t *testing.T, n *node, r result) {
				t.Helper()
				stepNamed(testController, "control-plane upgrade")(t, n, r)
				wantState(t, n, "kubeadm-config", "kubernetesVersion: v"+testVersion+"\n")
				wantState(t, n, "dpkg/kubelet", packageVersionWant)
			}},
		{name: "kubeadm install fails", of: "upgrade-controller-minor", faults: []string{"100 always apt-get install * kubeadm=*"}, stopsAt: "apt-get install * kubeadm=*", attempts: 5,
			check: func(t *testing.T, n *node, r result) {
				t.Helper()
				wantCalls(t, r.calls, "kubeadm upgrade *", 0)
				backoff(t, n, r)
			}},
		{name: "node never Ready at the version", of: "upgrade-controller-minor", breakNode: ctrlBreak, repair: ctrlRepair, stopsAt: "systemctl restart kubelet", attempts: 1,
			check: func(t *testing.T, n *node, r result) {
				t.Helper()
				if got := len(sleeps(r.calls)); got != 60 {
					t.Errorf("slept %d times, want 60 (300 s)", got)
				}
			}},
		{name: "drain fails", of: "drain", faults: []string{"1 always kubectl * drain *"}, stopsAt: "kubectl * drain *", attempts: 1,
			check: func(t *testing.T, n *node, r result) {
				t.Helper()
				stepNamed(testWorker, "drain")(t, n, r)
				if _, ok := n.readState(t, "annotations/"+testWorker+"/metalk8s.io/drained"); ok {
					t.Error("the worker is marked drained")
				}
			}},
		{name: "kubeadm upgrade node fails", of: "upgrade-node", faults: []string{"1 always kubeadm upgrade node"}, stopsAt: "kubeadm upgrade node", attempts: 1,
			check: func(t *testing.T, n *node, r result) {
				t.Helper()
				stepNamed(testWorker, "node upgrade")(t, n, r)
				wantState(t, n, "dpkg/kubelet", packageVersionWant)
				wantState(t, n, "kubelet-version/"+testWorker, "v"+testVersion)
			}},
		{name: "kubelet restart fails", of: "upgrade-node", faults: []string{"1 always systemctl restart kubelet"}, stopsAt: "systemctl restart kubelet", attempts: 1,
			check: stepNamed(testWorker, "node upgrade")},
		{name: "node never Ready at the version", of: "upgrade-node", breakNode: nodeBreak, repair: nodeRepair, stopsAt: "systemctl restart kubelet", attempts: 1},
		{name: "node never Ready", of: "uncordon", breakNode: nodeBreak, repair: nodeRepair,
			check: func(t *testing.T, n *node, r result) {
				t.Helper()
				stepNamed(testWorker, "uncordon")(t, n, r)
				wantState(t, n, "drained/"+testWorker, "")
			}},
	}
}

// TestGuardRefuses runs the guard on a cluster running testVersion with versions it must refuse:
// it fails before anything changes, naming the configured and the running version.
func TestGuardRefuses(t *testing.T) {
	for _, c := range []struct {
		// version is configured; says is what stderr must hold.
		version, says string
	}{
		{"1.36.9", "kubernetes.version 1.36.9 is older than the cluster, which runs v1.37.2: kubeadm does not downgrade; set kubernetes.version to 1.37.2 or newer"},
		{"1.37.1", "kubernetes.version 1.37.1 is older than the cluster, which runs v1.37.2"},
		{"1.39.0", "kubernetes.version 1.39.0 skips a minor release: the cluster runs v1.37.2 and kubeadm upgrades one minor at a time; upgrade to 1.38.x first"},
		{"1.40.1", "kubernetes.version 1.40.1 skips a minor release: the cluster runs v1.37.2"},
	} {
		t.Run(c.version, func(t *testing.T) {
			n := newNode(t)
			controllerAt(testVersion, testVersion)(t, n)
			before := n.snapshot(t)
			r := n.run(t, guardScript(c.version)(t))
			if r.code == 0 {
				t.Fatalf("the guard accepted %s on a cluster running %s", c.version, testVersion)
			}
			if !strings.Contains(r.stderr, c.says) {
				t.Errorf("stderr does not say %q:\n%s", c.says, r.stderr)
			}
			if made := changes(r.calls); len(made) > 0 {
				t.Errorf("the guard made state-changing calls:\n%s", strings.Join(made, "\n"))
			}
			if d := diff(before, n.snapshot(t)); d != "" {
				t.Errorf("the node changed:\n%s", d)
			}
		})
	}
	// An initialised control plane whose API server does not answer: the guard cannot tell the
	// running version and refuses, after a bounded wait.
	t.Run("API down", func(t *testing.T) {
		n := newNode(t)
		controllerAt(testVersion, testVersion)(t, n)
		if err := os.Remove(filepath.Join(n.root, "etc/kubernetes/manifests/kube-apiserver.yaml")); err != nil {
			t.Fatal(err)
		}
		r := n.run(t, guardScript(upgradeVersion)(t))
		if r.code == 0 {
			t.Fatal("the guard passed without reading the running version")
		}
		if got := len(sleeps(r.calls)); got != 24 {
			t.Errorf("slept %d times, want 24 (120 s)", got)
		}
	})
}

// TestUpgradeRollsOutAcrossNodes runs the whole chain as `pulumi up` orders it on a controller and
// a worker of a cluster at testVersion: the guard, the control plane, then the worker's drain,
// upgrade and uncordon. A second `pulumi up` after a failure on the worker resumes it: the
// control plane is not upgraded again.
func TestUpgradeRollsOutAcrossNodes(t *testing.T) {
	ctrl, worker := newNode(t), newNode(t)
	controllerAt(testVersion, upgradeVersion)(t, ctrl)
	ctrl.setState(t, "nodes/"+testWorker, "")
	ctrl.setState(t, "kubelet-version/"+testWorker, "v"+testVersion)
	workerAt(testVersion, upgradeVersion)(t, worker)
	// The worker's kubelet reports to the controller's API server: mirror what the worker's
	// kubelet reports into the controller's view after the worker's steps.
	mirror := func() {
		v, _ := worker.readState(t, "kubelet-version/"+testWorker)
		ctrl.setState(t, "kubelet-version/"+testWorker, v)
	}
	mustSucceed(t, ctrl.run(t, guardScript(upgradeVersion)(t)))
	mustSucceed(t, ctrl.run(t, upgradeScript(RenderUpgradeController, testController, upgradeVersion)(t)))
	mustSucceed(t, ctrl.run(t, upgradeScript(RenderDrain, testWorker, upgradeVersion)(t)))
	worker.inject(t, "1 always kubeadm upgrade node")
	if r := worker.run(t, upgradeScript(RenderUpgradeNode, testWorker, upgradeVersion)(t)); r.code == 0 {
		t.Fatal("the worker's upgrade succeeded despite the failure")
	}
	mirror()
	wantState(t, ctrl, "drained/"+testWorker, "") // stays out of scheduling while it is not upgraded
	worker.clearFaults(t)
	// The next `pulumi up`: the steps that succeeded kept their new inputs and do not run; the
	// failed one runs again, then the uncordon.
	mustSucceed(t, worker.run(t, upgradeScript(RenderUpgradeNode, testWorker, upgradeVersion)(t)))
	mirror()
	mustSucceed(t, ctrl.run(t, upgradeScript(RenderUncordon, testWorker, upgradeVersion)(t)))
	wantState(t, ctrl, "kubelet-version/"+testWorker, "v"+upgradeVersion)
	if _, ok := ctrl.readState(t, "drained/"+testWorker); ok {
		t.Error("the worker is still cordoned")
	}
	// Every step run once more is a no-op.
	for _, s := range []struct {
		n *node
		s func(*testing.T) script
	}{
		{ctrl, guardScript(upgradeVersion)}, {ctrl, upgradeScript(RenderUpgradeController, testController, upgradeVersion)},
		{ctrl, upgradeScript(RenderDrain, testWorker, upgradeVersion)}, {worker, upgradeScript(RenderUpgradeNode, testWorker, upgradeVersion)},
		{ctrl, upgradeScript(RenderUncordon, testWorker, upgradeVersion)},
	} {
		r := s.n.run(t, s.s(t))
		mustSucceed(t, r)
		if made := changes(r.calls); len(made) > 0 {
			t.Errorf("a step run again changed something:\n%s", strings.Join(made, "\n"))
		}
	}
	// Once upgraded, a downgrade back to testVersion is refused.
	if r := ctrl.run(t, guardScript(testVersion)(t)); r.code == 0 || !strings.Contains(r.stderr, "runs v"+upgradeVersion) {
		t.Errorf("the guard accepted going back to %s: exit %d\n%s", testVersion, r.code, r.stderr)
	}
}

// TestKubeadmUpgradeStandin checks that the kubeadm stand-in refuses what kubeadm v1.37.2 refuses
// of its upgrade commands (see the top of this file), so that a script passing here does not fail
// on a node for one of these reasons.
func TestKubeadmUpgradeStandin(t *testing.T) {
	for _, c := range []struct {
		// name describes the call; command is run; ok says whether kubeadm accepts it.
		name, command string
		ok            bool
	}{
		{"apply with --yes", "kubeadm upgrade apply v1.38.0 --yes", true},
		{"apply without a version", "kubeadm upgrade apply --yes", false},
		{"apply without --yes", "kubeadm upgrade apply v1.38.0", false},
		{"apply skipping a minor", "kubeadm upgrade apply v1.39.0 --yes", false},
		{"apply above kubeadm's version", "kubeadm upgrade apply v1.38.1 --yes", false},
		{"plan with a version", "kubeadm upgrade plan v1.38.0", true},
		{"node", "kubeadm upgrade node", true},
		{"node with a version", "kubeadm upgrade node v1.38.0", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t)
			controllerAt(testVersion, upgradeVersion)(t, n)
			n.setState(t, "dpkg/kubeadm", packageVersion(upgradeVersion))
			n.write(t, "etc/kubernetes/kubelet.conf", kubeconfigAt(testSpec().Endpoint()), 0o600)
			r := n.runStandin(t, c.command+" </dev/null")
			if (r.code == 0) != c.ok {
				t.Errorf("%s: exit %d, kubeadm accepts it: %v\n%s", c.command, r.code, c.ok, r.stderr)
			}
		})
	}
}

// TestUpgradeScriptsPassShellcheck runs shellcheck on every upgrade script as rendered.
func TestUpgradeScriptsPassShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("shellcheck is required in CI")
		}
		t.Skip("shellcheck not installed")
	}
	for name, s := range map[string]func(*testing.T) script{
		"guard": guardScript(upgradeVersion), "upgrade-controller": upgradeScript(RenderUpgradeController, testController, upgradeVersion),
		"drain": upgradeScript(RenderDrain, testWorker, upgradeVersion), "upgrade-node": upgradeScript(RenderUpgradeNode, testWorker, upgradeVersion),
		"uncordon": upgradeScript(RenderUncordon, testWorker, upgradeVersion),
	} {
		path := filepath.Join(t.TempDir(), name+".sh")
		if err := os.WriteFile(path, []byte(s(t).body), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := realkube.Run(exec.Command(shellcheck, "--shell=bash", "--severity=style", path), 60*time.Second); r.Err != nil {
			t.Errorf("%s: shellcheck:\n%s", name, r)
		}
	}
}

// apiServerManifest is the part of kubeadm's kube-apiserver static Pod manifest the guard reads:
// one "- --flag=value" line per flag under the container's command, as kubeadm 1.37.2 writes it
// (tests/realkube_test.go runs the guard on the manifest the real kubeadm writes).
func apiServerManifest(bind string, port int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --advertise-address=%s\n    - --bind-address=%s\n    - --secure-port=%d\n", testPrivateIP, bind, port)
}

// TestGuardRefusesAccessChanges: a running control plane keeps the bind address, port and
// certificate names it was initialised with, so the guard refuses a switch of apiServer's access
// mode and a new kubernetes.apiPort before any step runs, naming what runs and what is asked; the
// mode it runs passes on to the version check.
func TestGuardRefusesAccessChanges(t *testing.T) {
	for _, c := range []struct {
		name           string
		runningBind    string
		runningPort    int
		privateOnly    bool
		port           int
		refused, names string
	}{
		{"allow-list kept", "0.0.0.0", 6443, false, 6443, "", ""},
		{"private kept", testPrivateIP, 6443, true, 6443, "", ""},
		{"allow-list to private", "0.0.0.0", 6443, true, 6443, "runs bound to 0.0.0.0", "apiServer.privateOnly (bound to " + testPrivateIP + ")"},
		{"private to allow-list", testPrivateIP, 6443, false, 6443, "runs bound to " + testPrivateIP, "apiServer.allowedCidrs"},
		{"port moved", "0.0.0.0", 6443, false, 7443, "serves on port 6443", "kubernetes.apiPort is 7443"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t)
			controllerAt(testVersion, testVersion)(t, n)
			n.write(t, "etc/kubernetes/manifests/kube-apiserver.yaml", apiServerManifest(c.runningBind, c.runningPort), 0o600)
			bind := "0.0.0.0"
			if c.privateOnly {
				bind = testPrivateIP
			}
			body, err := RenderGuard(GuardData{Node: testController, Version: testVersion, APIBindAddress: bind, PrivateOnly: c.privateOnly, APIPort: c.port})
			if err != nil {
				t.Fatal(err)
			}
			r := n.run(t, script{body: body})
			if c.refused == "" {
				mustSucceed(t, r)
				return
			}
			if r.code == 0 {
				t.Fatal("the guard let the change through")
			}
			if !strings.Contains(r.stderr, c.refused) || !strings.Contains(r.stderr, c.names) {
				t.Errorf("the refusal does not say %q and %q:\n%s", c.refused, c.names, r.stderr)
			}
			if ch := changes(r.calls); len(ch) > 0 {
				t.Errorf("the guard changed something: %v", ch)
			}
			wantCalls(t, r.calls, "kubectl *", 0)
		})
	}
}

// TestGuardRefusesAnotherControlPlaneEndpoint: the guard compares the controlPlaneEndpoint the
// running cluster's ClusterConfiguration holds (kubeadm's marshalled v1beta4 ClusterConfiguration
// has it as a top-level key, as tests/realkube_test.go reads it from the real kubeadm) with the
// one the configuration asks for, and refuses a change either way before any step runs.
func TestGuardRefusesAnotherControlPlaneEndpoint(t *testing.T) {
	ha := APIName + ":6443"
	single := testPrivateIP + ":6443"
	for _, c := range []struct {
		name, running, want string
		refused             bool
	}{
		{"one controller kept", single, single, false},
		{"API address kept", ha, ha, false},
		{"API address added", single, ha, true},
		{"API address removed", ha, single, true},
		// A ClusterConfiguration without the key (not one kubeadm wrote) says nothing.
		{"unknown", "", ha, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t)
			controllerAt(testVersion, testVersion)(t, n)
			cfg := "kubernetesVersion: v" + testVersion + "\n"
			if c.running != "" {
				cfg += "controlPlaneEndpoint: " + c.running + "\n"
			}
			n.setState(t, "kubeadm-config", cfg)
			body, err := RenderGuard(GuardData{Node: testController, Version: testVersion, APIBindAddress: "0.0.0.0", APIPort: 6443, ControlPlaneEndpoint: c.want})
			if err != nil {
				t.Fatal(err)
			}
			before := n.snapshot(t)
			r := n.run(t, script{body: body})
			if !c.refused {
				mustSucceed(t, r)
				return
			}
			if r.code == 0 {
				t.Fatal("the guard let the control plane's address change")
			}
			for _, s := range []string{"the control plane's address is " + c.want, "the cluster was made with " + c.running} {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("the refusal does not say %q:\n%s", s, r.stderr)
				}
			}
			if d := diff(before, n.snapshot(t)); d != "" {
				t.Errorf("the node changed:\n%s", d)
			}
		})
	}
}

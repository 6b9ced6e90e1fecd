package tests

import (
	"fmt"
	"strings"
	"testing"
)

// upgradeRun runs the dev stack with workers workers, at version, upgrading parallelism workers at
// once (0: the default).
func upgradeRun(t *testing.T, workers, parallelism int, version string) *result {
	t.Helper()
	c := devCluster(t)
	set(t, c, "workers.count", workers)
	set(t, c, "kubernetes.version", version)
	if parallelism > 0 {
		set(t, c, "kubernetes.upgradeParallelism", parallelism)
	}
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r
}

// TestUpgradeChainOrder checks the order a version change runs the upgrade steps in: the control
// plane after init, then the workers in batches of kubernetes.upgradeParallelism, each batch's
// drains after every uncordon of the batch before, each worker drained, upgraded, uncordoned.
func TestUpgradeChainOrder(t *testing.T) {
	for _, tc := range []struct {
		// parallelism is set (0: the default, 1); batches are the workers' batches, in order.
		parallelism int
		batches     [][]int
	}{
		{0, [][]int{{0}, {1}, {2}, {3}, {4}}},
		{2, [][]int{{0, 1}, {2, 3}, {4}}},
		{5, [][]int{{0, 1, 2, 3, 4}}},
	} {
		t.Run(fmt.Sprint("parallelism ", tc.parallelism), func(t *testing.T) {
			r := upgradeRun(t, 5, tc.parallelism, "1.37.2")
			// The setting changes only the order of the steps, which Pulumi does not run again for it.
			if got := effect(upgradeRun(t, 5, 0, "1.37.2"), r); len(got) > 0 {
				t.Errorf("changing the parallelism changes inputs:\n%s", strings.Join(got, "\n"))
			}
			cmd := func(name string) string { return r.byName(t, commandToken, "metalk8s-"+name).URN }
			direct := func(name string) []string { return r.byName(t, commandToken, "metalk8s-"+name).DependsOn }
			worker := func(i int, step string) string { return "sv-worker-" + itoa(i) + "-" + step }
			if !contains(direct("sv-controller-upgrade"), cmd("sv-controller-init")) {
				t.Error("the control plane's upgrade does not wait for init")
			}
			before := []string{"sv-controller-upgrade"}
			for _, batch := range tc.batches {
				var next []string
				for _, i := range batch {
					drain := direct(worker(i, "drain"))
					for _, b := range before {
						if !contains(drain, cmd(b)) {
							t.Errorf("%s does not wait for %s", worker(i, "drain"), b)
						}
					}
					// Nothing of the same batch or a later one comes first.
					for d := range r.closure(cmd(worker(i, "drain"))) {
						for _, j := range batch {
							if j != i && strings.Contains(d, "metalk8s-sv-worker-"+itoa(j)+"-") {
								t.Errorf("%s waits for %s of its own batch", worker(i, "drain"), d[strings.LastIndex(d, "::")+2:])
							}
						}
					}
					if !contains(direct(worker(i, "upgrade")), cmd(worker(i, "drain"))) {
						t.Errorf("%s does not wait for its drain", worker(i, "upgrade"))
					}
					if !contains(direct(worker(i, "uncordon")), cmd(worker(i, "upgrade"))) {
						t.Errorf("%s does not wait for its upgrade", worker(i, "uncordon"))
					}
					next = append(next, worker(i, "uncordon"))
				}
				before = next
			}
		})
	}
}

// TestUpgradeStepsCommands checks what each upgrade step runs where: the guard and the control
// plane's upgrade on the controller when created too; a worker's drain and uncordon on the
// controller, its upgrade on the worker, and these three only on an update (no create command): a
// worker created joins at the configured version.
func TestUpgradeStepsCommands(t *testing.T) {
	r := upgradeRun(t, 2, 0, "1.37.2")
	controller := input(r.byName(t, commandToken, "metalk8s-sv-controller-init"), "connection")
	worker := input(r.byName(t, commandToken, "metalk8s-sv-worker-1-join"), "connection")
	for _, c := range []struct {
		// step names the command; creates says whether it has a create command; on is the
		// connection it must use.
		step    string
		creates bool
		on      any
	}{
		{"sv-controller-guard", true, controller},
		{"sv-controller-upgrade", true, controller},
		{"sv-worker-1-drain", false, controller},
		{"sv-worker-1-upgrade", false, worker},
		{"sv-worker-1-uncordon", false, controller},
	} {
		res := r.byName(t, commandToken, "metalk8s-"+c.step)
		if got := input(res, "create") != nil; got != c.creates {
			t.Errorf("%s: has a create command: %v, want %v", c.step, got, c.creates)
		}
		if !c.creates && input(res, "update") != "bash -s" {
			t.Errorf("%s: update command %v, want bash -s", c.step, input(res, "update"))
		}
		if fmt.Sprint(input(res, "connection")) != fmt.Sprint(c.on) {
			t.Errorf("%s runs on the wrong host", c.step)
		}
	}
}

// TestEverythingWaitsForTheGuard checks that every remote step and every Kubernetes object waits
// for the guard, which does not wait for any other step: a guard that refuses the version (its
// script fails, see TestGuardRefuses in components/bootstrap) leaves every node as it was, because
// Pulumi runs nothing that depends on a resource that failed.
func TestEverythingWaitsForTheGuard(t *testing.T) {
	r := upgradeRun(t, 3, 0, "1.37.2")
	guard := r.byName(t, commandToken, "metalk8s-sv-controller-guard")
	for d := range r.closure(guard.URN) {
		if strings.Contains(d, commandToken) {
			t.Errorf("the guard waits for %s", d)
		}
	}
	count := 0
	for _, res := range r.cloud.Resources() {
		if res.URN == guard.URN || !(res.Type == commandToken || strings.HasPrefix(res.Type, "kubernetes:")) {
			continue
		}
		if res.Type == "pulumi:providers:kubernetes" {
			continue
		}
		if !r.closure(res.URN)[guard.URN] {
			t.Errorf("%s %s does not wait for the guard", shortType(res.Type), res.Name)
		}
		count++
	}
	if count < 20 {
		t.Errorf("only %d steps and objects checked", count)
	}
}

// TestWorkerAddedAfterUpgradeJoinsAtTheVersion adds a worker to a cluster upgraded to 1.38.0: its
// preparation installs 1.38.0 (on a node not in a cluster yet, see prepare.sh), and its join waits
// for the control plane's upgrade, so that its kubelet never runs ahead of the API server.
func TestWorkerAddedAfterUpgradeJoinsAtTheVersion(t *testing.T) {
	before := upgradeRun(t, 2, 0, "1.38.0")
	after := upgradeRun(t, 3, 0, "1.38.0")
	got := effect(before, after)
	want := prefixed("+ ", nodeResources("sv-worker-2", false)...)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("adding a worker after the upgrade:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	prepare := fmt.Sprint(input(after.byName(t, commandToken, "metalk8s-sv-worker-2-prepare"), "stdin"))
	if !strings.Contains(prepare, "want=1.38.0-1.1\n") || !strings.Contains(prepare, "pkgs.k8s.io/core:/stable:/v1.38/deb/") {
		t.Error("the new worker's preparation does not install 1.38.0")
	}
	join := after.byName(t, commandToken, "metalk8s-sv-worker-2-join")
	if !after.closure(join.URN)[after.byName(t, commandToken, "metalk8s-sv-controller-upgrade").URN] {
		t.Error("the new worker's join does not wait for the control plane's upgrade")
	}
}

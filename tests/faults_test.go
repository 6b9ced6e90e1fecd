package tests

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// faultCause is the injected failure. It names no resource, so that an error naming the node and
// the step can only come from the program or the engine, not from the fault itself.
const faultCause = "connection reset by peer"

// faultCase is one resource made to fail by the fake (mockcloud.Cloud.FailOn).
type faultCase struct {
	// name describes the fault.
	name string
	// fail is the name of the resource whose registration fails.
	fail string
	// node and step must both appear in the run's error.
	node, step string
	// survivors are the failing node's own resources that must still be registered, by short
	// type and name: those that do not wait for the failed one.
	survivors []string
	// waiting are resources of other nodes or of the cluster that wait for the failed one and
	// must not be registered.
	waiting []string
}

// faultCases fail one worker of three: its join step, or its device.
func faultCases() []faultCase {
	return []faultCase{
		{name: "join step of sv-worker-1", fail: "metalk8s-sv-worker-1-join", node: "sv-worker-1", step: "join",
			survivors: []string{
				"BgpSession metalk8s-sv-worker-1-bgp", "Command metalk8s-sv-worker-1-prepare", "Command metalk8s-sv-worker-1-token",
				"ConfigGroup metalk8s-sv-worker-1-bgp-peers", "Device metalk8s-sv-worker-1",
				"RandomPassword metalk8s-sv-worker-1-token-id", "RandomPassword metalk8s-sv-worker-1-token-secret",
			},
			// The next worker's upgrade steps wait for this one's (they do nothing when created).
			waiting: upgradeSteps("sv-worker-2")},
		// Every step of the node waits for its machine, the token step included (it runs again
		// when the machine is replaced).
		{name: "device sv-worker-1", fail: "metalk8s-sv-worker-1", node: "sv-worker-1", step: "device",
			// The pool of private ranges is checked against every node's addresses: without the
			// device there is nothing to check it against, and MetalLB must not hand it out.
			waiting: append(upgradeSteps("sv-worker-2"), "ConfigGroup metalk8s-pool-metal-private")},
	}
}

// upgradeSteps are a worker's drain, upgrade and uncordon steps.
func upgradeSteps(worker string) []string {
	return prefixed("Command metalk8s-"+worker+"-", "drain", "upgrade", "uncordon")
}

// faultRun runs the dev stack with three workers, failing the resource named fail when set.
func faultRun(t *testing.T, fail string) *result {
	t.Helper()
	c := devCluster(t)
	set(t, c, "workers.count", 3)
	return run(t, c, runOptions{tune: func(cloud *mockcloud.Cloud) {
		if fail != "" {
			cloud.FailOn[fail] = errors.New(faultCause)
		}
	}})
}

// TestFaults fails one worker's join step, then one worker's device, with an error that names
// nothing. The run must fail with an error that carries the cause and names the node and the step,
// and everything that does not depend on the failed resource must still be registered, with the
// inputs it has in a healthy run: the other workers' devices and every step, the control plane,
// Calico and MetalLB. The failed node's steps that wait for the failed resource must not run.
func TestFaults(t *testing.T) {
	healthy := faultRun(t, "")
	if healthy.err != nil {
		t.Fatal(healthy.err)
	}
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := faultRun(t, tc.fail)
			if r.err == nil {
				t.Fatal("the run succeeded although a resource failed")
			}
			t.Run("error carries the cause", func(t *testing.T) {
				if !strings.Contains(r.err.Error(), faultCause) {
					t.Errorf("error %q lost the cause %q", r.err, faultCause)
				}
			})
			t.Run("error names the node and the step", func(t *testing.T) {
				msg := strings.ToLower(r.err.Error())
				if !strings.Contains(msg, tc.node) || !strings.Contains(msg, tc.step) {
					t.Errorf("error %q does not name the node %s and the step %s", r.err, tc.node, tc.step)
				}
			})
			t.Run("the rest is registered", func(t *testing.T) {
				got := map[string]map[string]any{}
				var failedNode []string
				for _, res := range r.cloud.Resources() {
					id := shortType(res.Type) + " " + res.Name
					got[id] = plainMap(res)
					if strings.Contains(res.Name, tc.node) {
						failedNode = append(failedNode, id)
					}
				}
				others := 0
				for _, res := range healthy.cloud.Resources() {
					if strings.Contains(res.Name, tc.node) {
						continue
					}
					others++
					id := shortType(res.Type) + " " + res.Name
					in, ok := got[id]
					switch {
					case slices.Contains(tc.waiting, id):
						if ok {
							t.Errorf("%s registered although it waits for the failed %s", id, tc.step)
						}
					case !ok:
						t.Errorf("%s not registered", id)
					case !reflect.DeepEqual(in, plainMap(res)):
						t.Errorf("%s: inputs differ from a healthy run", id)
					}
				}
				if others < 40 {
					t.Errorf("only %d resources outside %s checked", others, tc.node)
				}
				sort.Strings(failedNode)
				if !reflect.DeepEqual(failedNode, tc.survivors) {
					t.Errorf("%s's resources registered: %v, want %v", tc.node, failedNode, tc.survivors)
				}
			})
		})
	}
}

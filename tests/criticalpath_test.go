package tests

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/internal/graph"
)

// TestCriticalPathDoesNotGrow checks that the longest chain of slow steps is the same for 3, 50
// and 500 nodes, and that it holds no worker: workers join beside it, not in it.
func TestCriticalPathDoesNotGrow(t *testing.T) {
	for _, mode := range []string{"calico", "bird-local-peer"} {
		var depths []int
		for _, workers := range []int{2, 49, 499} {
			c := devCluster(t)
			set(t, c, "workers.count", workers)
			set(t, c, "loadBalancer.mode", mode)
			r := run(t, c, runOptions{})
			if r.err != nil {
				t.Fatal(r.err)
			}
			path := graph.CriticalPath(r.cloud.Resources())
			var names []string
			for _, s := range path {
				names = append(names, s.Name)
				if strings.Contains(s.Name, "-worker-") {
					t.Errorf("%s, %d workers: %s is on the critical path", mode, workers, s.Name)
				}
			}
			t.Logf("%s, %d nodes: %d steps: %s", mode, workers+1, len(path), strings.Join(names, " → "))
			depths = append(depths, len(path))
		}
		if depths[0] != depths[1] || depths[1] != depths[2] {
			t.Errorf("%s: critical path grows with the cluster: %v", mode, depths)
		}
	}
}

// TestNoAvoidableWait checks that no Kubernetes object waits for a worker it does not concern,
// and no worker step that runs when created waits for another worker.
func TestNoAvoidableWait(t *testing.T) {
	c := devCluster(t)
	set(t, c, "workers.count", 4)
	set(t, c, "loadBalancer.mode", "bird-local-peer")
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	workers := []string{"sv-worker-0", "sv-worker-1", "sv-worker-2", "sv-worker-3"}
	for _, res := range r.cloud.Resources() {
		own := ""
		for _, w := range workers {
			if strings.Contains(res.Name, "-"+w+"-") || strings.HasSuffix(res.Name, "-"+w) {
				own = w
			}
		}
		kube := strings.HasPrefix(res.Type, "kubernetes:")
		if !kube && own == "" {
			continue
		}
		// A worker's upgrade steps wait for the batch before by design; they have no create
		// command, so a cluster being created does not wait for them (TestUpgradeChainOrder).
		if _, creates := res.Inputs["create"]; res.Type == commandToken && !creates {
			continue
		}
		for d := range r.closure(res.URN) {
			for _, w := range workers {
				// A pool of ranges written out is checked against every node's addresses, so it
				// waits for every device (and for nothing else of a worker).
				if res.Name == "metalk8s-pool-metal-private" && strings.HasSuffix(d, "$equinix:metal/device:Device::metalk8s-"+w) {
					continue
				}
				if w != own && strings.Contains(d, "::metalk8s-"+w) {
					t.Errorf("%s %s waits for %s", res.Type, res.Name, d[strings.LastIndex(d, "::")+2:])
				}
			}
		}
	}
}

// TestScriptsWaitForConditions checks every remote script: waits poll a condition with a time
// limit (wait_for) and network operations retry a bounded number of times (retry); no script
// sleeps a fixed time of its own.
func TestScriptsWaitForConditions(t *testing.T) {
	lib := regexp.MustCompile(`(?s)\n(retry|wait_for)\(\) \{\n.*?\n\}\n`)
	waitCall := regexp.MustCompile(`wait_for (\S+) `)
	retryCall := regexp.MustCompile(`retry (\S+) `)
	comments := regexp.MustCompile(`(?m)^\s*#.*$`)
	for name, body := range artefacts(t) {
		if !strings.HasSuffix(name, ".sh") {
			continue
		}
		own := comments.ReplaceAllString(lib.ReplaceAllString(body, "\n"), "")
		if strings.Contains(own, "sleep ") {
			t.Errorf("%s sleeps a fixed time outside retry and wait_for", name)
		}
		for _, m := range waitCall.FindAllStringSubmatch(own, -1) {
			if n, err := strconv.Atoi(m[1]); err != nil || n <= 0 || n > 1800 {
				t.Errorf("%s: wait_for limit %q is not a bound of at most 30 minutes", name, m[1])
			}
		}
		for _, m := range retryCall.FindAllStringSubmatch(own, -1) {
			if n, err := strconv.Atoi(m[1]); err != nil || n <= 0 || n > 10 {
				t.Errorf("%s: retry count %q is not a bound of at most 10", name, m[1])
			}
		}
	}
}

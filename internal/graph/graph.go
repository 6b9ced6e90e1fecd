// Package graph measures the resource graph the program registers: which steps are slow (they
// wait on machines or on the cluster) and the longest chain of them, the critical path between
// `pulumi up` and a working LoadBalancer.
package graph

import (
	"sort"
	"strings"

	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// Slow reports whether a resource waits on a machine or on the cluster: a device, a remote
// command that runs when created, a chart, or any Kubernetes object (the API server must answer). Cloud API objects
// (projects, sessions, IP blocks, keys) and local ones (keys, passwords) are not slow.
func Slow(r *mockcloud.Resource) bool {
	switch {
	case !r.Custom && r.Type != "kubernetes:yaml/v2:ConfigGroup":
		return false // components group; their children are counted
	case r.Type == "command:remote:Command":
		// A command without a create command (an upgrade step) does nothing when it is created.
		_, creates := r.Inputs["create"]
		return creates
	case r.Type == "equinix:metal/device:Device":
		return true
	case strings.HasPrefix(r.Type, "pulumi:providers:"):
		return false
	case strings.HasPrefix(r.Type, "kubernetes:"):
		return true
	}
	return false
}

// Dependencies are the URNs a resource waits for: explicit and input dependencies, and its
// provider (a reference is "<urn>::<id>").
func Dependencies(r *mockcloud.Resource) []string {
	deps := append([]string{}, r.DependsOn...)
	for _, ds := range r.PropertyDeps {
		deps = append(deps, ds...)
	}
	if i := strings.LastIndex(r.Provider, "::"); i > 0 {
		deps = append(deps, r.Provider[:i])
	}
	return deps
}

// CriticalPath is the longest chain of slow steps, first step first. Among chains of equal
// length the one whose names sort first is chosen, so the answer is stable.
func CriticalPath(rs []*mockcloud.Resource) []*mockcloud.Resource {
	byURN := make(map[string]*mockcloud.Resource, len(rs))
	for _, r := range rs {
		byURN[r.URN] = r
	}
	type best struct {
		depth int
		next  string // the dependency the chain continues with
	}
	memo := make(map[string]best, len(rs))
	var walk func(urn string, visiting map[string]bool) best
	walk = func(urn string, visiting map[string]bool) best {
		if b, ok := memo[urn]; ok {
			return b
		}
		r, ok := byURN[urn]
		if !ok || visiting[urn] {
			return best{}
		}
		visiting[urn] = true
		var b best
		deps := Dependencies(r)
		sort.Strings(deps)
		for _, d := range deps {
			if db := walk(d, visiting); db.depth > b.depth || (db.depth == b.depth && db.depth > 0 && b.next == "") {
				b = best{depth: db.depth, next: d}
			}
		}
		if Slow(r) {
			b.depth++
		}
		delete(visiting, urn)
		memo[urn] = b
		return b
	}
	var top string
	var topDepth int
	urns := make([]string, 0, len(rs))
	for _, r := range rs {
		urns = append(urns, r.URN)
	}
	sort.Strings(urns)
	for _, u := range urns {
		if b := walk(u, map[string]bool{}); b.depth > topDepth {
			top, topDepth = u, b.depth
		}
	}
	var chain []*mockcloud.Resource
	for u := top; u != ""; u = memo[u].next {
		if r := byURN[u]; Slow(r) {
			chain = append(chain, r)
		}
	}
	// The walk goes from the last step back to the first.
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain
}

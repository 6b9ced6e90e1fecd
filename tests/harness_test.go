// Package tests runs the whole metalk8s program under the Pulumi mock engine, with a fake of the
// clouds (internal/mockcloud) standing in for Equinix Metal. The program's own logic runs as is.
package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
	"github.com/metalk8s/metalk8s/internal/stackfile"
	"github.com/metalk8s/metalk8s/program"
)

// devCluster returns the dev stack's metalk8s:cluster object, to be changed by a test.
func devCluster(t testing.TB) map[string]any {
	t.Helper()
	return stackCluster(t, "dev")
}

// stackCluster returns the metalk8s:cluster object of the example stack Pulumi.<stack>.yaml (its
// encrypted values replaced by offline placeholders), to be changed by a test.
func stackCluster(t testing.TB, stack string) map[string]any {
	t.Helper()
	sf, err := stackfile.Load("..", "metalk8s", stack)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(sf.Values[config.Key]), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var pathPart = regexp.MustCompile(`^([A-Za-z0-9]+)(?:\[(\d+)\])?$`)

// set writes v at a dotted path such as workers.count or elasticIps[0].type, creating objects on
// the way. A nil v deletes the key.
func set(t testing.TB, m map[string]any, path string, v any) {
	t.Helper()
	parts := strings.Split(path, ".")
	cur := m
	for i, p := range parts {
		g := pathPart.FindStringSubmatch(p)
		if g == nil {
			t.Fatalf("bad path %q", path)
		}
		last := i == len(parts)-1
		if g[2] == "" {
			if last {
				if v == nil {
					delete(cur, g[1])
				} else {
					cur[g[1]] = v
				}
				return
			}
			next, ok := cur[g[1]].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[g[1]] = next
			}
			cur = next
			continue
		}
		list, _ := cur[g[1]].([]any)
		idx, _ := strconv.Atoi(g[2])
		for len(list) <= idx {
			list = append(list, map[string]any{})
		}
		cur[g[1]] = list
		if last {
			list[idx] = v
			return
		}
		cur = list[idx].(map[string]any)
	}
}

// result is one run of the program.
type result struct {
	cloud *mockcloud.Cloud
	err   error
	// out and the awaited values exist only for a valid configuration.
	out   *program.Outputs
	nodes []awaited
	eips  map[string]awaited
	key   awaited
	proj  awaited
	// kubeconfig and endpoint are the bootstrap's outputs.
	kubeconfig, endpoint awaited
	// index holds the registered resources by URN, built on first use.
	index map[string]*mockcloud.Resource
}

// awaited is a resolved output.
type awaited struct {
	value  any
	known  bool
	secret bool
}

func await(ctx context.Context, o pulumi.Output) (awaited, error) {
	r, err := internals.UnsafeAwaitOutput(ctx, o)
	return awaited{r.Value, r.Known, r.Secret}, err
}

// runOptions select the fake's behaviour.
type runOptions struct {
	preview bool
	site    mockcloud.Site
	tune    func(*mockcloud.Cloud)
}

// runRaw runs the program with a raw metalk8s:cluster value.
func runRaw(t testing.TB, raw string, o runOptions) *result {
	t.Helper()
	if o.site == "" {
		o.site = mockcloud.SiteIBX
	}
	cloud := mockcloud.New(o.preview, o.site)
	if o.tune != nil {
		o.tune(cloud)
	}
	res := &result{cloud: cloud, eips: map[string]awaited{}}
	cfgMap := map[string]string{config.Key: raw}
	res.err = cloud.Run(func(ctx *pulumi.Context) error {
		out, err := program.Program(ctx)
		if err != nil {
			return err
		}
		res.out = out
		if s := out.Servers; s != nil {
			for _, n := range s.Nodes {
				a, err := await(ctx.Context(), n.Info)
				if err != nil {
					return fmt.Errorf("node %s: %w", n.Name, err)
				}
				res.nodes = append(res.nodes, a)
			}
			if res.kubeconfig, err = await(ctx.Context(), s.Kubeconfig); err != nil {
				return err
			}
			res.endpoint, err = await(ctx.Context(), s.APIEndpoint)
			return err
		}
		for _, n := range out.Cluster.Nodes {
			a, err := await(ctx.Context(), n.Info)
			if err != nil {
				return fmt.Errorf("node %s: %w", n.Hostname, err)
			}
			res.nodes = append(res.nodes, a)
		}
		for _, e := range out.Cluster.ElasticIPs {
			if res.eips[e.Name], err = await(ctx.Context(), e.CIDR); err != nil {
				return err
			}
		}
		if res.key, err = await(ctx.Context(), out.Cluster.SSHPrivateKey); err != nil {
			return err
		}
		if res.proj, err = await(ctx.Context(), out.Cluster.ProjectID); err != nil {
			return err
		}
		if res.kubeconfig, err = await(ctx.Context(), out.Cluster.Kubeconfig); err != nil {
			return err
		}
		res.endpoint, err = await(ctx.Context(), out.Cluster.APIEndpoint)
		return err
	}, "metalk8s", "dev", cfgMap, nil)
	return res
}

// run runs the program with a cluster object.
func run(t testing.TB, cluster map[string]any, o runOptions) *result {
	t.Helper()
	raw, err := json.Marshal(cluster)
	if err != nil {
		t.Fatal(err)
	}
	return runRaw(t, string(raw), o)
}

// ofType returns the registered resources of a type, by URN order.
func (r *result) ofType(typ string) []*mockcloud.Resource {
	var out []*mockcloud.Resource
	for _, res := range r.cloud.Resources() {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// byName finds one registered resource.
func (r *result) byName(t testing.TB, typ, name string) *mockcloud.Resource {
	t.Helper()
	for _, res := range r.ofType(typ) {
		if res.Name == name {
			return res
		}
	}
	t.Fatalf("no %s named %s", typ, name)
	return nil
}

// plain turns a property value into plain Go values; secrets become secretValue and unknowns unknownValue.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return secretValue{plain(v.SecretValue().Element)}
	case v.IsComputed():
		return unknownValue{}
	case v.IsOutput():
		o := v.OutputValue()
		switch {
		case !o.Known:
			return unknownValue{}
		case o.Secret:
			return secretValue{plain(o.Element)}
		}
		return plain(o.Element)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = plain(e)
		}
		return m
	case v.IsArray():
		var l []any
		for _, e := range v.ArrayValue() {
			l = append(l, plain(e))
		}
		return l
	}
	return v.V
}

type secretValue struct{ v any }
type unknownValue struct{}

// input is a resource input as a plain value.
func input(r *mockcloud.Resource, key string) any {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok {
		return nil
	}
	return plain(v)
}

// Aliases used by the output test.
type pulumiContext = pulumi.Context

var programProgram = program.Program

// awaitInput waits for one stack output.
func awaitInput(ctx *pulumi.Context, v pulumi.Input) (awaited, error) {
	a, err := await(ctx.Context(), pulumi.ToOutput(v))
	if err != nil {
		return a, err
	}
	// Typed values (topology.Node, ...) carry json tags; compare them as plain JSON values.
	if a.known && a.value != nil {
		b, err := json.Marshal(a.value)
		if err != nil {
			return a, err
		}
		var plain any
		if err := json.Unmarshal(b, &plain); err != nil {
			return a, err
		}
		a.value = plain
	}
	return a, nil
}

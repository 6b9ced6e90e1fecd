package tests

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/internal/mockcloud"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// TestEnginesRecordTheSame runs the same deployment in process (the SDK's mock monitor) and
// through the engine served over gRPC, and checks that both record the same registrations, reads
// and function calls and give the program the same outputs: tests and benchmarks may use either.
func TestEnginesRecordTheSame(t *testing.T) {
	in := run(t, devCluster(t), runOptions{})
	rpc := run(t, devCluster(t), runOptions{tune: func(c *mockcloud.Cloud) { c.Loopback = true }})
	if in.err != nil || rpc.err != nil {
		t.Fatalf("in process: %v; over gRPC: %v", in.err, rpc.err)
	}
	a, b := in.cloud.Resources(), rpc.cloud.Resources()
	if len(a) != len(b) {
		t.Fatalf("%d registrations in process, %d over gRPC", len(a), len(b))
	}
	for i := range a {
		if x, y := bare(a[i]), bare(b[i]); !reflect.DeepEqual(x, y) {
			t.Errorf("%s:\n in process %+v\n over gRPC  %+v", a[i].URN, x, y)
		}
		if !resource.NewProperty(a[i].Inputs).DeepEquals(resource.NewProperty(b[i].Inputs)) {
			t.Errorf("%s: inputs differ", a[i].URN)
		}
		if !resource.NewProperty(a[i].Outputs).DeepEquals(resource.NewProperty(b[i].Outputs)) {
			t.Errorf("%s: outputs differ", a[i].URN)
		}
	}
	ia, ib := in.cloud.Invokes(), rpc.cloud.Invokes()
	if len(ia) != len(ib) {
		t.Fatalf("%d function calls in process, %d over gRPC", len(ia), len(ib))
	}
	key := func(v mockcloud.Invoke) string { return v.Token + " " + v.Args["deviceId"].String() }
	slices.SortFunc(ia, func(p, q mockcloud.Invoke) int { return strings.Compare(key(p), key(q)) })
	slices.SortFunc(ib, func(p, q mockcloud.Invoke) int { return strings.Compare(key(p), key(q)) })
	for i := range ia {
		if ia[i].Token != ib[i].Token || !resource.NewProperty(ia[i].Args).DeepEquals(resource.NewProperty(ib[i].Args)) {
			t.Errorf("call %d: in process %s %v, over gRPC %s %v", i, ia[i].Token, ia[i].Args, ib[i].Token, ib[i].Args)
		}
	}
	if !reflect.DeepEqual(in.kubeconfig, rpc.kubeconfig) || !reflect.DeepEqual(in.nodes, rpc.nodes) ||
		!reflect.DeepEqual(in.eips, rpc.eips) || !reflect.DeepEqual(in.endpoint, rpc.endpoint) {
		t.Error("the program's outputs differ between the two engines")
	}
}

// bare is a registration without its property maps and its arrival order, lists sorted.
func bare(r *mockcloud.Resource) mockcloud.Resource {
	c := *r
	c.Inputs, c.Outputs, c.Seq = nil, nil, 0
	c.DependsOn = slices.Sorted(slices.Values(c.DependsOn))
	c.PropertyDeps = map[string][]string{}
	for k, v := range r.PropertyDeps {
		c.PropertyDeps[k] = slices.Sorted(slices.Values(v))
	}
	return c
}

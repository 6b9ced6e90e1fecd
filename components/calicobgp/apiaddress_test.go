package calicobgp

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	apiv3 "github.com/projectcalico/api/pkg/apis/projectcalico/v3"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	sigsjson "sigs.k8s.io/json"

	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// configGroups runs the component in a simulated deployment and returns its ConfigGroups by
// name, or the run's error.
func configGroups(t *testing.T, args CalicoBGPArgs) (map[string]*mockcloud.Resource, error) {
	t.Helper()
	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	err := cloud.Run(func(ctx *pulumi.Context) error {
		provider, err := kubernetes.NewProvider(ctx, "k", nil)
		if err != nil {
			return err
		}
		node := topology.Node{Name: "cp1", Role: string(topology.RoleController), PrivateIPv4: "10.0.0.1", PrivateGateway: "10.0.0.0",
			BGPPeers: []topology.BGPPeer{{PeerIPs: []string{"169.254.255.1", "169.254.255.2"}, PeerASN: 65530, Multihop: true}}}
		args.Provider, args.Shell = provider, shell{template: fixture(t, v331Fixture)}
		args.Nodes = []Node{{Name: node.Name, Info: pulumi.ToOutput(node).(topology.NodeOutput)}}
		_, err = NewCalicoBGP(ctx, "c", &args)
		return err
	}, "p", "s", nil, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]*mockcloud.Resource{}
	for _, r := range cloud.Resources() {
		if r.Type == "kubernetes:yaml/v2:ConfigGroup" {
			out[r.Name] = r
		}
	}
	return out, nil
}

// groupObjects decodes the objects of a ConfigGroup into T, refusing unknown fields.
func groupObjects[T any](t *testing.T, r *mockcloud.Resource) []T {
	t.Helper()
	list := r.Inputs[resource.PropertyKey("objs")]
	if !list.IsArray() {
		t.Fatalf("%s: objs %v", r.Name, list)
	}
	var out []T
	for _, o := range list.ArrayValue() {
		b, err := json.Marshal(o.Mappable())
		if err != nil {
			t.Fatal(err)
		}
		var v T
		if strict, err := sigsjson.UnmarshalStrict(b, &v); err != nil || len(strict) > 0 {
			t.Fatalf("%s: %s: %v %v", r.Name, b, err, strict)
		}
		out = append(out, v)
	}
	return out
}

// TestAPIAddressObjects: with an API address, CalicoBGP creates the disabled IPPool over its /32,
// once the router filter is there, and the router filter's first rule rejects the /32 learnt from
// a BGP peer, before the pod network's rule; without one, neither; an API address that is not an
// IPv4 address fails the run naming APIAddress.
func TestAPIAddressObjects(t *testing.T) {
	podRule := apiv3.BGPFilterRuleV4{CIDR: "172.16.0.0/12", MatchOperator: apiv3.In, Action: apiv3.Reject}
	apiRule := apiv3.BGPFilterRuleV4{CIDR: "192.0.2.100/32", MatchOperator: apiv3.Equal, Source: apiv3.BGPFilterSourceRemotePeers, Action: apiv3.Reject}
	pool := apiv3.IPPool{Spec: apiv3.IPPoolSpec{CIDR: "192.0.2.100/32", Disabled: true}}
	pool.APIVersion, pool.Kind, pool.Name = "projectcalico.org/v3", "IPPool", APIAddressPoolName
	for _, tc := range []struct {
		name    string
		address pulumi.StringInput
		mode    topology.LoadBalancerMode
		rules   []apiv3.BGPFilterRuleV4
		pool    bool
		err     string
	}{
		{name: "no API address", rules: []apiv3.BGPFilterRuleV4{podRule}},
		{name: "API address", address: pulumi.String("192.0.2.100"), rules: []apiv3.BGPFilterRuleV4{apiRule, podRule}, pool: true},
		{name: "API address, bird-local-peer", address: pulumi.String("192.0.2.100"), mode: topology.ModeBirdLocalPeer,
			rules: []apiv3.BGPFilterRuleV4{apiRule, podRule}, pool: true},
		{name: "API address known later", address: pulumi.String("192.0.2.100").ToStringOutput(), rules: []apiv3.BGPFilterRuleV4{apiRule, podRule}, pool: true},
		{name: "prefix length", address: pulumi.String("192.0.2.100/32"), err: `APIAddress: address "192.0.2.100/32" is not an IPv4 address`},
		{name: "IPv6", address: pulumi.String("2001:db8::1"), err: `APIAddress: address "2001:db8::1" is not an IPv4 address`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groups, err := configGroups(t, CalicoBGPArgs{PodCIDR: "172.16.0.0/12", APIAddress: tc.address, Mode: tc.mode,
				Pools: []topology.LoadBalancerPool{{Name: "p", CIDRs: []pulumi.StringInput{pulumi.String("192.0.2.0/30")}}}})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			filterGroup := groups["c-bgp-filter"]
			if filterGroup == nil {
				t.Fatal("no BGPFilter group")
			}
			filters := groupObjects[apiv3.BGPFilter](t, filterGroup)
			if len(filters) != 1 || filters[0].Name != TorFilterName || !reflect.DeepEqual(filters[0].Spec.ExportV4, tc.rules) ||
				filters[0].Spec.ImportV4 != nil {
				t.Errorf("BGPFilter %+v, want %s with the export rules %+v", filters, TorFilterName, tc.rules)
			}
			poolGroup := groups["c-api-address-ippool"]
			if !tc.pool {
				if poolGroup != nil {
					t.Errorf("an API address IPPool without an API address: %v", poolGroup.Inputs)
				}
				return
			}
			if poolGroup == nil {
				t.Fatal("no API address IPPool group")
			}
			if pools := groupObjects[apiv3.IPPool](t, poolGroup); !reflect.DeepEqual(pools, []apiv3.IPPool{pool}) {
				t.Errorf("API address IPPools %+v, want %+v", pools, pool)
			}
			if !slices.Contains(poolGroup.DependsOn, filterGroup.URN) {
				t.Errorf("the API address IPPool does not wait for the filter: %v", poolGroup.DependsOn)
			}
			// The router peers still name the one filter that carries the rule.
			for name, g := range groups {
				if !strings.HasSuffix(name, "-bgp-peers") {
					continue
				}
				for _, p := range groupObjects[apiv3.BGPPeer](t, g) {
					if !slices.Equal(p.Spec.Filters, []string{TorFilterName}) {
						t.Errorf("router peer %s: filters %v", p.Name, p.Spec.Filters)
					}
				}
			}
		})
	}
}

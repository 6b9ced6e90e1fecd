package tests

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	apiv3 "github.com/projectcalico/api/pkg/apis/projectcalico/v3"
	sigsjson "sigs.k8s.io/json"

	"github.com/metalk8s/metalk8s/components/calicobgp"
	"github.com/metalk8s/metalk8s/internal/crdcheck"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

const configGroupToken = "kubernetes:yaml/v2:ConfigGroup"

// objs returns the objects a ConfigGroup applies.
func objs(t testing.TB, r *result, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	list, _ := input(r.byName(t, configGroupToken, name), "objs").([]any)
	for _, o := range list {
		m, ok := o.(map[string]any)
		if !ok {
			t.Fatalf("%s: object %#v", name, o)
		}
		out = append(out, m)
	}
	return out
}

// allObjs returns every object of every ConfigGroup.
func allObjs(t testing.TB, r *result) []map[string]any {
	var out []map[string]any
	for _, cg := range r.ofType(configGroupToken) {
		out = append(out, objs(t, r, cg.Name)...)
	}
	return out
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// modeRun runs the dev stack in a mode at a kind of site, with an MD5 password when md5 is set.
func modeRun(t *testing.T, mode string, site mockcloud.Site, md5 bool) *result {
	t.Helper()
	c := devCluster(t)
	set(t, c, "loadBalancer.mode", mode)
	if md5 {
		set(t, c, "bgp.md5Password", "Md5Marker7f3a")
	}
	r := run(t, c, runOptions{site: site})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r
}

// TestCalicoPeers checks the exact BGPPeer set in both modes at both kinds of site.
func TestCalicoPeers(t *testing.T) {
	for _, mode := range []string{"calico", "bird-local-peer"} {
		for _, site := range []mockcloud.Site{mockcloud.SiteIBX, mockcloud.SiteLegacy} {
			t.Run(mode+"/"+string(site), func(t *testing.T) {
				r := modeRun(t, mode, site, false)
				var got []string
				for _, o := range allObjs(t, r) {
					if o["kind"] != "BGPPeer" || o["apiVersion"] != "projectcalico.org/v3" {
						continue
					}
					got = append(got, fmt.Sprintf("%s node=%v sel=%v peer=%v as=%v via=%v filters=%v", path(o, "metadata", "name"),
						path(o, "spec", "node"), path(o, "spec", "nodeSelector"), path(o, "spec", "peerIP"),
						path(o, "spec", "asNumber"), path(o, "spec", "reachableBy"), path(o, "spec", "filters")))
				}
				sort.Strings(got)
				var want []string
				for i, node := range []string{"sv-controller", "sv-worker-0", "sv-worker-1"} {
					gateway := fmt.Sprintf("198.51.100.%d", 2*i) // the fake cloud's private gateways
					if site == mockcloud.SiteLegacy {
						want = append(want, fmt.Sprintf("%s-tor-1 node=%s sel=<nil> peer=%s as=65530 via=<nil> filters=[metalk8s-tor]", node, node, gateway))
						continue
					}
					for n, ip := range []string{"169.254.255.1", "169.254.255.2"} {
						want = append(want, fmt.Sprintf("%s-tor-%d node=%s sel=<nil> peer=%s as=65530 via=%s filters=[metalk8s-tor]", node, n+1, node, ip, gateway))
					}
				}
				if mode == "bird-local-peer" {
					want = append(want, "metallb-speaker node=<nil> sel=metalk8s.io/metallb-speaker == 'true' peer=127.0.0.1 as=65480 via=<nil> filters=<nil>")
				}
				sort.Strings(want)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("BGPPeers:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
				}
			})
		}
	}
}

// TestCalicoKeepsPodsOffTheRouters checks, in both modes, how the pod network is kept off the
// top-of-rack routers without touching the node-to-node mesh: the pod pool of the operator's
// Installation is exported over BGP (disableBGPExport false), and one BGPFilter, named by every
// router BGPPeer and by no other, rejects the pod network on export, and nothing else.
//
// Facts relied on, read in projectcalico/calico (tags v3.26.0 ... v3.31.7):
//   - BGPFilter (exportV4/importV4 rules of cidr, matchOperator, action) first appears in v3.26.0
//     (api/pkg/apis/projectcalico/v3/bgpfilter.go, BGPPeer.spec.filters); the rule fields source
//     and interface come in v3.27.0, prefixLength in v3.29.0. The Calico docs (3.28 reference,
//     BGP filter) say the first matching rule's action is taken and unmatched routes go on.
//   - In 3.31.7 confd renders each exportV4 rule (confd/pkg/resource/template/template_funcs.go,
//     filterStatement) as `if ((net ~ CIDR)) then { reject; }` for In and `net = CIDR` for Equal;
//     a rule with a cidr and no matchOperator is an error ("operator not included in BGPFilter").
//     In matches the pod CIDR and every /26 block inside it; Equal would match only the /12.
//   - bird.cfg.template of 3.31.7 calls the filter functions of a global or node-specific peer's
//     spec.filters before calico_export_to_bgp_peers() in its export filter; the Mesh_ protocols
//     call only calico_export_to_bgp_peers(true), whose first step reject_disabled_pools() rejects
//     a pool with disableBGPExport on every peer, the mesh included (bird_ipam.cfg.template).
//
// The network-namespace lab (TestBGPLab) runs the same objects in BIRD.
func TestCalicoKeepsPodsOffTheRouters(t *testing.T) {
	for _, mode := range []string{"calico", "bird-local-peer"} {
		t.Run(mode, func(t *testing.T) {
			r := modeRun(t, mode, mockcloud.SiteIBX, false)
			values := input(r.byName(t, "kubernetes:helm.sh/v3:Release", "metalk8s-calico"), "values").(map[string]any)
			pools := asList(path(values, "installation", "calicoNetwork", "ipPools"))
			if len(pools) != 1 {
				t.Fatalf("Installation IP pools %v", pools)
			}
			if pool := pools[0].(map[string]any); pool["cidr"] != "172.16.0.0/12" || pool["disableBGPExport"] != false || pool["encapsulation"] != "IPIP" {
				t.Errorf("pod pool %v: want 172.16.0.0/12, IPIP, disableBGPExport false", pool)
			}

			group := objs(t, r, "metalk8s-bgp-filter")
			if len(group) != 1 {
				t.Fatalf("BGPFilter objects %v", group)
			}
			var filter apiv3.BGPFilter
			if err := strictInto(group[0], &filter); err != nil {
				t.Fatal(err)
			}
			want := apiv3.BGPFilterSpec{ExportV4: []apiv3.BGPFilterRuleV4{{CIDR: "172.16.0.0/12", MatchOperator: apiv3.In, Action: apiv3.Reject}}}
			if filter.APIVersion != "projectcalico.org/v3" || filter.Kind != "BGPFilter" || filter.Name != calicobgp.TorFilterName || !reflect.DeepEqual(filter.Spec, want) {
				t.Errorf("BGPFilter %+v, want %s with spec %+v", filter, calicobgp.TorFilterName, want)
			}

			// The LoadBalancer ranges must still reach the routers: no rule of the filter covers them.
			ranges := []string{r.eips["public"].value.(string), "10.99.110.128/25", r.eips["global"].value.(string)}
			for _, rule := range filter.Spec.ExportV4 {
				reject := netip.MustParsePrefix(rule.CIDR)
				for _, lb := range ranges {
					if p := netip.MustParsePrefix(lb); reject.Overlaps(p) {
						t.Errorf("filter rule %+v also rejects the LoadBalancer range %s", rule, lb)
					}
				}
			}

			routers, others := 0, 0
			for _, o := range allObjs(t, r) {
				if o["kind"] != "BGPPeer" || o["apiVersion"] != "projectcalico.org/v3" {
					continue
				}
				filters := path(o, "spec", "filters")
				if path(o, "spec", "peerIP") == calicobgp.LoopbackPeerIP {
					others++
					if filters != nil {
						t.Errorf("the 127.0.0.1 peer carries filters %v", filters)
					}
					continue
				}
				routers++
				if !reflect.DeepEqual(filters, []any{calicobgp.TorFilterName}) {
					t.Errorf("router peer %v: filters %v, want [%s]", path(o, "metadata", "name"), filters, calicobgp.TorFilterName)
				}
			}
			if routers != 6 {
				t.Errorf("%d router peers, want 6", routers)
			}
			if wantOthers := map[string]int{"calico": 0, "bird-local-peer": 1}[mode]; others != wantOthers {
				t.Errorf("%d 127.0.0.1 peers, want %d", others, wantOthers)
			}
		})
	}
}

// TestCalicoAnnouncement checks BGPConfiguration in both modes, and that disabled IPPools over
// the LoadBalancer ranges exist only in bird-local-peer.
func TestCalicoAnnouncement(t *testing.T) {
	for _, mode := range []string{"calico", "bird-local-peer"} {
		t.Run(mode, func(t *testing.T) {
			r := modeRun(t, mode, mockcloud.SiteIBX, false)
			ranges := []any{r.eips["public"].value, "10.99.110.128/25", r.eips["global"].value}
			cfg := objs(t, r, "metalk8s-bgp-configuration")
			if len(cfg) != 1 || path(cfg[0], "metadata", "name") != "default" {
				t.Fatalf("BGPConfiguration objects %v", cfg)
			}
			spec := cfg[0]["spec"].(map[string]any)
			if spec["asNumber"] != 65000.0 || spec["nodeToNodeMeshEnabled"] != true {
				t.Errorf("BGPConfiguration spec %v", spec)
			}
			var announced []any
			for _, b := range asList(spec["serviceLoadBalancerIPs"]) {
				announced = append(announced, b.(map[string]any)["cidr"])
			}
			var pools []any
			for _, o := range allObjs(t, r) {
				if o["kind"] == "IPPool" {
					if path(o, "spec", "disabled") != true {
						t.Errorf("IPPool %v is not disabled", o)
					}
					pools = append(pools, path(o, "spec", "cidr"))
				}
			}
			if mode == "calico" {
				if !reflect.DeepEqual(announced, ranges) || len(pools) != 0 {
					t.Errorf("announced %v (want %v), IPPools %v (want none)", announced, ranges, pools)
				}
				if len(r.ofType("kubernetes:core/v1:ConfigMap")) != 0 {
					t.Error("bird-templates published in calico mode")
				}
				return
			}
			if len(announced) != 0 || !reflect.DeepEqual(pools, ranges) {
				t.Errorf("announced %v (want none), IPPools %v (want %v)", announced, pools, ranges)
			}
			cm := r.byName(t, "kubernetes:core/v1:ConfigMap", "metalk8s-bird-templates")
			if path(input(cm, "metadata").(map[string]any), "namespace") != calicobgp.OperatorNamespace || path(input(cm, "metadata").(map[string]any), "name") != "bird-templates" {
				t.Errorf("bird-templates metadata %v", input(cm, "metadata"))
			}
		})
	}
}

// TestLocalPeerWarns checks that bird-local-peer, kept as the guide's legacy design, warns (the
// plan prints it, pulumi shows the logged warning), that calico does not, and that in both modes
// the published BIRD template is checked against the Calico version before the chart moves.
func TestLocalPeerWarns(t *testing.T) {
	for _, mode := range []string{"calico", "bird-local-peer"} {
		t.Run(mode, func(t *testing.T) {
			r := modeRun(t, mode, mockcloud.SiteIBX, false)
			want := map[string][]string{"calico": nil, "bird-local-peer": {calicobgp.LocalPeerWarning}}[mode]
			if !reflect.DeepEqual(r.out.Warnings, want) {
				t.Errorf("warnings %q, want %q", r.out.Warnings, want)
			}
			guard := stdin(t, r, "metalk8s-bird-template-guard")
			if !strings.Contains(guard, `if [ "$published" = "3.31" ]`) || !strings.Contains(guard, "Calico 3.31.7") {
				t.Errorf("the check before the chart does not expect a 3.31 template for 3.31.7:\n%s", guard)
			}
		})
	}
	c := devCluster(t)
	set(t, c, "calico.version", "3.32.1")
	r := run(t, c, runOptions{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if guard := stdin(t, r, "metalk8s-bird-template-guard"); !strings.Contains(guard, `if [ "$published" = "3.32" ]`) {
		t.Errorf("the check for 3.32.1 does not expect a 3.32 template:\n%s", guard)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestCalicoMD5 checks that the routers' password reaches Calico only through a Secret reference.
func TestCalicoMD5(t *testing.T) {
	r := modeRun(t, "calico", mockcloud.SiteIBX, true)
	secret := r.byName(t, "kubernetes:core/v1:Secret", "metalk8s-bgp-password")
	// The password must be secret: the whole map or its one value.
	switch data := input(secret, "stringData").(type) {
	case secretValue:
		if !reflect.DeepEqual(data.v, map[string]any{"password": "Md5Marker7f3a"}) {
			t.Errorf("Secret data %v", data.v)
		}
	case map[string]any:
		if s, ok := data["password"].(secretValue); !ok || s.v != "Md5Marker7f3a" {
			t.Errorf("Secret data is not secret: %#v", data["password"])
		}
	default:
		t.Errorf("Secret stringData %#v", data)
	}
	peers := 0
	for _, o := range allObjs(t, r) {
		if o["kind"] != "BGPPeer" {
			continue
		}
		peers++
		ref := path(o, "spec", "password", "secretKeyRef")
		if !reflect.DeepEqual(ref, map[string]any{"name": "metalk8s-bgp-password", "key": "password"}) {
			t.Errorf("%v: password %v", path(o, "metadata", "name"), ref)
		}
	}
	if peers != 6 {
		t.Errorf("%d peers", peers)
	}
	for _, res := range r.cloud.Resources() {
		for k := range res.Inputs {
			leakScan(t, res.Type+" "+res.Name+" "+string(k), input(res, string(k)), map[string]string{"MD5 password": "Md5Marker7f3a"})
		}
	}
	binding := r.byName(t, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "metalk8s-bgp-password")
	if got := fmt.Sprint(input(binding, "subjects")); !strings.Contains(got, "calico-node") {
		t.Errorf("calico-node may not read the password: %s", got)
	}
}

// TestLoadBalancerOrder checks that nothing is applied before what it needs: Calico's objects
// after its readiness wait (itself after the chart and the control plane), the 127.0.0.1 peer after
// the edited BIRD template, MetalLB after Calico, the ingress after its pool.
func TestLoadBalancerOrder(t *testing.T) {
	r := modeRun(t, "bird-local-peer", mockcloud.SiteIBX, true)
	need := func(typ, name, depType, depName string) {
		t.Helper()
		if !r.closure(r.byName(t, typ, name).URN)[r.byName(t, depType, depName).URN] {
			t.Errorf("%s does not wait for %s", name, depName)
		}
	}
	const cg, cmd, rel = configGroupToken, commandToken, "kubernetes:helm.sh/v3:Release"
	need(cmd, "metalk8s-calico-ready", rel, "metalk8s-calico")
	need(rel, "metalk8s-calico", cmd, "metalk8s-sv-controller-init")
	// The chart moves only once the published BIRD template is known to suit the new version.
	need(rel, "metalk8s-calico", cmd, "metalk8s-bird-template-guard")
	need(cmd, "metalk8s-bird-template-guard", cmd, "metalk8s-sv-controller-init")
	need(cmd, "metalk8s-calico-ready", cmd, "metalk8s-sv-controller-init")
	for _, name := range []string{"metalk8s-bgp-configuration", "metalk8s-loadbalancer-ippools", "metalk8s-sv-worker-0-bgp-peers", "metalk8s-bgp-filter"} {
		need(cg, name, cmd, "metalk8s-calico-ready")
	}
	// A router peer naming a filter confd cannot find yet would export the pod network.
	for _, node := range []string{"sv-controller", "sv-worker-0", "sv-worker-1"} {
		need(cg, "metalk8s-"+node+"-bgp-peers", cg, "metalk8s-bgp-filter")
	}
	need(cg, "metalk8s-sv-worker-0-bgp-peers", "kubernetes:core/v1:Secret", "metalk8s-bgp-password")
	need(cmd, "metalk8s-bird-template", cmd, "metalk8s-calico-ready")
	need("kubernetes:core/v1:ConfigMap", "metalk8s-bird-templates", cmd, "metalk8s-bird-template")
	need(cg, "metalk8s-metallb-peer", "kubernetes:core/v1:ConfigMap", "metalk8s-bird-templates")
	need(rel, "metalk8s-metallb", cmd, "metalk8s-calico-ready")
	need(cg, "metalk8s-pool-metal-public", rel, "metalk8s-metallb")
	need(cg, "metalk8s-bgp", rel, "metalk8s-metallb")
	need(rel, "metalk8s-ingress", cg, "metalk8s-pool-metal-public")
	// Calico's install does not wait for the workers to join.
	for d := range r.closure(r.byName(t, rel, "metalk8s-calico").URN) {
		if strings.Contains(d, "-worker-") {
			t.Errorf("the Calico chart waits for %s", d)
		}
	}
}

// TestMetalLBChain follows the whole chain in both modes: elastic IPs to pools, to Calico, to the
// MetalLB peering (bird-local-peer only), to the ingress annotation; and the stack outputs.
func TestMetalLBChain(t *testing.T) {
	for _, mode := range []string{"calico", "bird-local-peer"} {
		t.Run(mode, func(t *testing.T) {
			r := modeRun(t, mode, mockcloud.SiteIBX, false)
			public, global := r.eips["public"].value.(string), r.eips["global"].value.(string)
			want := map[string][]any{
				"metal-public":  {public},
				"metal-private": {"10.99.110.128/25"},
				"metal-global":  {global},
			}
			auto := map[string]bool{"metal-public": true, "metal-private": false, "metal-global": false}
			for name, cidrs := range want {
				o := objs(t, r, "metalk8s-pool-"+name)
				if len(o) != 1 || o[0]["kind"] != "IPAddressPool" || path(o[0], "metadata", "name") != name {
					t.Fatalf("pool %s objects %v", name, o)
				}
				if got := path(o[0], "spec", "addresses"); !reflect.DeepEqual(got, cidrs) {
					t.Errorf("pool %s addresses %v, want %v", name, got, cidrs)
				}
				if got := path(o[0], "spec", "autoAssign"); got != auto[name] {
					t.Errorf("pool %s autoAssign %v", name, got)
				}
			}
			values := input(r.byName(t, "kubernetes:helm.sh/v3:Release", "metalk8s-metallb"), "values").(map[string]any)
			speakers := path(values, "speaker", "enabled")
			peering := r.ofType(configGroupToken)
			hasPeering := false
			for _, p := range peering {
				hasPeering = hasPeering || p.Name == "metalk8s-bgp"
			}
			if mode == "calico" {
				if speakers != false || hasPeering {
					t.Errorf("calico mode: speakers %v, MetalLB peering %v", speakers, hasPeering)
				}
			} else {
				if speakers != true || path(values, "speaker", "frr", "enabled") != false ||
					path(values, "speaker", "nodeSelector", "metalk8s.io/metallb-speaker") != "true" {
					t.Errorf("bird-local-peer speakers: %v", values["speaker"])
				}
				bgp := objs(t, r, "metalk8s-bgp")
				if len(bgp) != 2 {
					t.Fatalf("MetalLB peering objects %v", bgp)
				}
				peer, adv := bgp[0], bgp[1]
				if peer["kind"] != "BGPPeer" || peer["apiVersion"] != "metallb.io/v1beta2" ||
					path(peer, "spec", "myASN") != 65480.0 || path(peer, "spec", "peerASN") != 65000.0 ||
					path(peer, "spec", "peerAddress") != "127.0.0.1" {
					t.Errorf("MetalLB BGPPeer %v", peer)
				}
				if got := path(adv, "spec", "ipAddressPools"); !reflect.DeepEqual(got, []any{"metal-public", "metal-private", "metal-global"}) {
					t.Errorf("BGPAdvertisement pools %v", got)
				}
			}
			ingress := input(r.byName(t, "kubernetes:helm.sh/v3:Release", "metalk8s-ingress"), "values").(map[string]any)
			if got := path(ingress, "service", "annotations", "metallb.io/address-pool"); got != "metal-public" {
				t.Errorf("ingress pool annotation %v", got)
			}
			if got := path(ingress, "service", "type"); got != "LoadBalancer" {
				t.Errorf("ingress service type %v", got)
			}
			if strings.Contains(fmt.Sprint(ingress), "metallb.universe.tf") {
				t.Error("the ingress uses the old annotation")
			}
		})
	}
}

// TestStackOutputs checks every stack output of the dev stack: present, typed, secret where it must be.
func TestStackOutputs(t *testing.T) {
	c := devCluster(t)
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	outputs := map[string]awaited{}
	var mu sync.Mutex
	err = cloud.Run(func(ctx *pulumiContext) error {
		out, err := programProgram(ctx)
		if err != nil {
			return err
		}
		for k, v := range out.Map() {
			a, err := awaitInput(ctx, v)
			if err != nil {
				return err
			}
			mu.Lock()
			outputs[k] = a
			mu.Unlock()
		}
		return nil
	}, "metalk8s", "dev", map[string]string{"metalk8s:cluster": string(raw)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantSecret := map[string]bool{"kubeconfig": true, "sshPrivateKey": true}
	for _, k := range []string{"projectId", "localAsn", "controllerPublicIpv4", "controllerPrivateIpv4", "nodes", "elasticIps",
		"sshPublicKey", "sshPrivateKey", "kubeconfig", "apiEndpoint", "loadBalancerMode", "pools", "announcedByCalico", "ingressAddress"} {
		a, ok := outputs[k]
		if !ok || !a.known || a.value == nil {
			t.Errorf("output %s missing or unknown: %+v", k, a)
			continue
		}
		if a.secret != wantSecret[k] {
			t.Errorf("output %s secret=%v", k, a.secret)
		}
	}
	if got := outputs["ingressAddress"].value; got != strings.Split(outputs["elasticIps"].value.(map[string]any)["public"].(string), "/")[0] {
		t.Errorf("ingress address %v is not the first address of the public block %v", got, outputs["elasticIps"].value)
	}
	if got := outputs["controllerPublicIpv4"].value; got != "203.0.113.11" {
		t.Errorf("controller public IPv4 %v", got)
	}
}

// TestCalicoObjectsRoundTrip decodes every Calico object the program applies strictly into the
// upstream projectcalico.org/v3 types: unknown or misspelt fields are errors.
func TestCalicoObjectsRoundTrip(t *testing.T) {
	var checked int
	for _, mode := range []string{"calico", "bird-local-peer"} {
		r := modeRun(t, mode, mockcloud.SiteIBX, true)
		for _, o := range allObjs(t, r) {
			if o["apiVersion"] != "projectcalico.org/v3" {
				continue
			}
			if err := strictCalico(o); err != nil {
				t.Errorf("%s %v: %v", o["kind"], path(o, "metadata", "name"), err)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d Calico objects checked", checked)
	}
	misspelt := map[string]any{"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"peerIp": "169.254.255.1", "asNumber": 65530}}
	if err := strictCalico(misspelt); err == nil {
		t.Error("a misspelt field (peerIp) was accepted")
	}
}

// strictCalico decodes a Calico object into its upstream type, rejecting unknown fields.
func strictCalico(o map[string]any) error {
	targets := map[string]any{"BGPPeer": &apiv3.BGPPeer{}, "BGPConfiguration": &apiv3.BGPConfiguration{},
		"IPPool": &apiv3.IPPool{}, "BGPFilter": &apiv3.BGPFilter{}}
	into, ok := targets[fmt.Sprint(o["kind"])]
	if !ok {
		return fmt.Errorf("unexpected kind %v", o["kind"])
	}
	return strictInto(o, into)
}

// strictInto decodes an object into a typed value, rejecting unknown, misspelt and duplicate fields.
func strictInto(o map[string]any, into any) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(b, into)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return fmt.Errorf("%v", strict)
	}
	return nil
}

// TestMetalLBObjectsMatchTheCRDs validates every MetalLB object against the CRD schemas of the
// pinned MetalLB module.
func TestMetalLBObjectsMatchTheCRDs(t *testing.T) {
	schemas, err := crdcheck.LoadMetalLB()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, mode := range []string{"calico", "bird-local-peer"} {
		r := modeRun(t, mode, mockcloud.SiteIBX, false)
		for _, o := range allObjs(t, r) {
			if !strings.HasPrefix(fmt.Sprint(o["apiVersion"]), "metallb.io/") {
				continue
			}
			if err := schemas.Validate(o); err != nil {
				t.Errorf("%v", err)
			}
			checked++
		}
	}
	if checked != 3+3+2 {
		t.Errorf("%d MetalLB objects checked, want 8", checked)
	}
}

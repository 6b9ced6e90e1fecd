// Package bgplab runs BGP speakers in Linux network namespaces to check, with real daemons, what
// the program's Calico objects do to routes: each node's BIRD (Debian's BIRD 1.6, the generation
// calico-node ships) is configured as Calico 3.31's confd would configure it for those objects,
// top-of-rack routers are gobgpd or BIRD, and MetalLB's native speaker is stood in for by gobgpd.
//
// The BIRD configuration is rendered by this package from the typed projectcalico.org/v3 objects,
// following the semantics of calico-node 3.31.7's confd templates (bird.cfg.template,
// bird_aggr.cfg.template, bird_ipam.cfg.template) and of the confd code that feeds them (read in
// projectcalico/calico at v3.31.7). Whatever the objects hold that this package does not model is
// an error, never silently dropped, so that the lab cannot pass by ignoring a change.
//
// Known differences from calico-node, each irrelevant to the routes checked:
//   - krt_tunnel, the Calico-only BIRD attribute that sends IPIP routes through tunl0, is left
//     out (Debian's BIRD does not know it): routes to other nodes' pod blocks reach the kernel
//     with the underlay next hop instead of the tunnel;
//   - BIRD runs without -R (calico-node starts it in graceful-restart recovery);
//   - per-service /32 advertisements of Calico's route generator (services are not modelled),
//     communities and MD5 passwords are not modelled.
package bgplab

import (
	"cmp"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strings"

	apiv3 "github.com/projectcalico/api/pkg/apis/projectcalico/v3"
)

// ExcludeLabel is the node label that makes calico-node stop advertising the global service
// ranges from the node (it still keeps routes in them out of the kernel).
const ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

// defaultASN is Calico's node ASN when BGPConfiguration sets none.
const defaultASN = 64512

// defaultBlockSize is Calico's IPv4 IPAM block size.
const defaultBlockSize = 26

// Node is one Calico node.
type Node struct {
	// Name is the Kubernetes node name.
	Name string
	// Address is the node's IPv4 address with its network (Calico's BGP ipv4Address, autodetected
	// from the node's InternalIP), e.g. 198.51.100.1/31.
	Address netip.Prefix
	// Labels are the node's labels, which BGPPeer node selectors match.
	Labels map[string]string
}

// Calico is the Calico state one cluster's BIRD configurations are rendered from.
type Calico struct {
	// Config is the BGPConfiguration named default.
	Config apiv3.BGPConfiguration
	// Peers are every BGPPeer.
	Peers []apiv3.BGPPeer
	// Filters are every BGPFilter.
	Filters []apiv3.BGPFilter
	// Pools are every IPPool, the operator's included.
	Pools []apiv3.IPPool
	// PassiveLoopback says the published bird.cfg.template makes BIRD passive towards
	// 127.0.0.1 (metalk8s's edit of the stock template, calicobgp.InsertPassiveLoopback).
	PassiveLoopback bool
	// Nodes are every node of the cluster, in the order IPAM gives them blocks.
	Nodes []Node
}

// Blocks returns the IPAM blocks affine to a node: the node's index-th block of every enabled
// pool whose node selector matches it (Calico's IPAM hands out blocks on demand; the lab gives
// each node one per pool, in node order).
func (c Calico) Blocks(node string) ([]netip.Prefix, error) {
	i := slices.IndexFunc(c.Nodes, func(n Node) bool { return n.Name == node })
	if i < 0 {
		return nil, fmt.Errorf("no node %q", node)
	}
	var blocks []netip.Prefix
	for _, p := range c.Pools {
		if p.Spec.Disabled {
			continue
		}
		if ok, err := selects(p.Spec.NodeSelector, c.Nodes[i].Labels, true); err != nil {
			return nil, fmt.Errorf("IPPool %s: %w", p.Name, err)
		} else if !ok {
			continue
		}
		cidr, err := netip.ParsePrefix(p.Spec.CIDR)
		if err != nil {
			return nil, fmt.Errorf("IPPool %s: %w", p.Name, err)
		}
		size := defaultBlockSize
		if p.Spec.BlockSize != 0 {
			size = p.Spec.BlockSize
		}
		if size < cidr.Bits() || size > 32 || (size-cidr.Bits() < 31 && i >= 1<<(size-cidr.Bits())) {
			return nil, fmt.Errorf("IPPool %s: no block %d of size /%d in %s", p.Name, i, size, cidr)
		}
		start := cidr.Masked().Addr().As4()
		n := uint32(start[0])<<24 | uint32(start[1])<<16 | uint32(start[2])<<8 | uint32(start[3])
		n += uint32(i) << (32 - size)
		addr := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		blocks = append(blocks, netip.PrefixFrom(addr, size))
	}
	return blocks, nil
}

// checkModelled fails when v, with the fields this package models set to their zero values
// (by clear), still holds something: a field the lab would otherwise ignore.
func checkModelled[T any](what string, v T, clear func(*T)) error {
	clear(&v)
	var zero T
	if !reflect.DeepEqual(v, zero) {
		return fmt.Errorf("%s sets fields the BGP lab does not model: %+v", what, v)
	}
	return nil
}

// check reports whatever the objects hold that the lab does not model.
func (c Calico) check() error {
	var errs []string
	add := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	add(checkModelled("BGPConfiguration "+c.Config.Name, c.Config.Spec, func(s *apiv3.BGPConfigurationSpec) {
		s.ASNumber, s.NodeToNodeMeshEnabled, s.LogSeverityScreen = nil, nil, ""
		s.ServiceLoadBalancerIPs, s.ServiceExternalIPs, s.ServiceClusterIPs = nil, nil, nil
		s.ServiceLoadBalancerAggregation = nil
	}))
	for _, p := range c.Peers {
		add(checkModelled("BGPPeer "+p.Name, p.Spec, func(s *apiv3.BGPPeerSpec) {
			s.Node, s.NodeSelector, s.PeerIP, s.ASNumber, s.SourceAddress, s.ReachableBy, s.Filters = "", "", "", 0, "", "", nil
		}))
	}
	for _, f := range c.Filters {
		add(checkModelled("BGPFilter "+f.Name, f.Spec, func(s *apiv3.BGPFilterSpec) { s.ExportV4, s.ImportV4 = nil, nil }))
	}
	for _, p := range c.Pools {
		add(checkModelled("IPPool "+p.Name, p.Spec, func(s *apiv3.IPPoolSpec) {
			s.CIDR, s.IPIPMode, s.VXLANMode, s.NATOutgoing, s.Disabled, s.DisableBGPExport = "", "", "", false, false, false
			s.NodeSelector, s.BlockSize, s.AllowedUses, s.AssignmentMode = "", 0, nil, nil
		}))
		if p.Spec.IPIPMode == apiv3.IPIPModeCrossSubnet {
			errs = append(errs, fmt.Sprintf("IPPool %s: ipipMode CrossSubnet is not modelled", p.Name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("bgplab: %s", strings.Join(errs, "; "))
	}
	return nil
}

// selectorTerm is one term of the Calico selectors the lab understands: all(), has(k), k == 'v'
// and k != 'v', joined by &&.
var selectorTerm = regexp.MustCompile(`^(?:(all\(\))|has\(([\w./-]+)\)|([\w./-]+)\s*(==|!=)\s*'([^']*)')$`)

// selects evaluates a Calico selector on labels; empty means emptyMatches.
func selects(selector string, labels map[string]string, emptyMatches bool) (bool, error) {
	if strings.TrimSpace(selector) == "" {
		return emptyMatches, nil
	}
	for _, term := range strings.Split(selector, "&&") {
		m := selectorTerm.FindStringSubmatch(strings.TrimSpace(term))
		switch {
		case m == nil:
			return false, fmt.Errorf("selector %q: term %q is not modelled", selector, term)
		case m[1] != "":
		case m[2] != "":
			if _, ok := labels[m[2]]; !ok {
				return false, nil
			}
		case m[4] == "==":
			if v, ok := labels[m[3]]; !ok || v != m[5] {
				return false, nil
			}
		default:
			if v, ok := labels[m[3]]; ok && v == m[5] {
				return false, nil
			}
		}
	}
	return true, nil
}

// birdPeer is one BGP protocol of a node's configuration.
type birdPeer struct {
	// Name is the BIRD protocol name, as confd names it: Mesh_, Global_ or Node_ and the address.
	Name string
	// IP and ASN are the neighbour's.
	IP  netip.Addr
	ASN uint32
	// Mesh says it is a node-to-node mesh session (no filters, export as internal).
	Mesh bool
	// SourceAddress is the local address of the session, if any.
	SourceAddress netip.Addr
	// ImportFilters and ExportFilters are the BIRD functions of the peer's BGPFilters.
	ImportFilters, ExportFilters []string
	// Internal says the peer is in the node's AS.
	Internal bool
	// Passive says BIRD waits for the neighbour to connect.
	Passive bool
}

// birdPool is an IP pool as confd hands it to bird_ipam.cfg.template.
type birdPool struct {
	CIDR             netip.Prefix
	DisableBGPExport bool
	// VXLAN: routes in the pool are never programmed by BIRD (Felix does).
	VXLAN bool
	// Tunnel is the krt_tunnel confd would set ("tunl0" for IPIP, "" otherwise); not rendered.
	Tunnel string
}

// birdRoute is a static route to a peer.
type birdRoute struct {
	Dst netip.Prefix
	Via netip.Addr
}

// birdConfig is everything a node's bird.cfg is rendered from.
type birdConfig struct {
	Node         string
	Address      netip.Addr
	Network      netip.Prefix
	ASN          uint32
	Filters      []birdFilter
	MeshEnabled  bool
	Peers        []birdPeer
	Blocks       []netip.Prefix
	StaticRoutes []netip.Prefix
	RejectCIDRs  []netip.Prefix
	PeerRoutes   []birdRoute
	Pools        []birdPool
}

// birdFilter is one BGPFilter as BIRD functions.
type birdFilter struct {
	Name           string
	Import, Export birdFunction
}

// birdFunction is a BIRD function: its quoted name and its statements.
type birdFunction struct {
	Name  string
	Rules []string
}

// protocolID is confd's protocol suffix for a peer address: dots become underscores.
func protocolID(ip netip.Addr) string { return strings.ReplaceAll(ip.String(), ".", "_") }

// filterFunction is confd's BIRD function name for a BGPFilter direction (names short enough
// for BIRD's 64-character symbols; longer ones confd hashes, which the lab refuses).
func filterFunction(filter, direction string) (string, error) {
	name := "bgp_" + filter + "_" + direction + "FilterV4"
	if len(name) > 64 {
		return "", fmt.Errorf("BGPFilter %s: name too long for the lab", filter)
	}
	return "'" + name + "'", nil
}

// filterRule renders one BGPFilter rule as confd's filterStatement does: the conditions on cidr
// (with its match operator and prefix length), source and interface, joined by &&, then the action.
func filterRule(r apiv3.BGPFilterRuleV4) (string, error) {
	var action string
	switch r.Action {
	case apiv3.Accept, apiv3.Reject:
		action = strings.ToLower(string(r.Action)) + ";"
	default:
		return "", fmt.Errorf("action %q", r.Action)
	}
	var conds []string
	if r.CIDR != "" {
		op, ok := map[apiv3.BGPFilterMatchOperator]string{apiv3.Equal: "=", apiv3.NotEqual: "!=", apiv3.In: "~", apiv3.NotIn: "!~"}[r.MatchOperator]
		if !ok {
			// confd refuses a cidr without a (known) operator.
			return "", fmt.Errorf("cidr %s with matchOperator %q", r.CIDR, r.MatchOperator)
		}
		cidr, err := netip.ParsePrefix(r.CIDR)
		if err != nil || !cidr.Addr().Is4() {
			return "", fmt.Errorf("cidr %q", r.CIDR)
		}
		net := cidr.String()
		if r.PrefixLength != nil {
			lo, hi := int32(cidr.Bits()), int32(32)
			if r.PrefixLength.Min != nil {
				lo = max(lo, *r.PrefixLength.Min)
			}
			if r.PrefixLength.Max != nil {
				hi = min(hi, *r.PrefixLength.Max)
			}
			net = fmt.Sprintf("[ %s{%d,%d} ]", cidr, lo, hi)
		}
		conds = append(conds, fmt.Sprintf("(net %s %s)", op, net))
	}
	switch r.Source {
	case "":
	case apiv3.BGPFilterSourceRemotePeers:
		conds = append(conds, "((defined(source))&&(source ~ [ RTS_BGP ]))")
	default:
		return "", fmt.Errorf("source %q", r.Source)
	}
	if r.Interface != "" {
		conds = append(conds, fmt.Sprintf("((defined(ifname))&&(ifname ~ %q))", r.Interface))
	}
	if len(conds) == 0 {
		return action, nil
	}
	return fmt.Sprintf("if (%s) then { %s }", strings.Join(conds, "&&"), action), nil
}

// globalRanges are the service ranges BGPConfiguration makes every node announce (static
// routes) and keep out of its kernel (reject routes): the cluster and external IP ranges and,
// unless aggregation is disabled, the LoadBalancer ranges; single addresses (/32) are left to the
// per-service route generator (confd client.go, filterNonSingleIPsFromCIDRs).
func (c Calico) globalRanges() ([]netip.Prefix, error) {
	var cidrs []string
	s := c.Config.Spec
	for _, b := range s.ServiceClusterIPs {
		cidrs = append(cidrs, b.CIDR)
	}
	for _, b := range s.ServiceExternalIPs {
		cidrs = append(cidrs, b.CIDR)
	}
	if s.ServiceLoadBalancerAggregation == nil || *s.ServiceLoadBalancerAggregation == apiv3.ServiceLoadBalancerAggregationEnabled {
		for _, b := range s.ServiceLoadBalancerIPs {
			cidrs = append(cidrs, b.CIDR)
		}
	}
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("BGPConfiguration: service range %q is not an IPv4 CIDR", c)
		}
		if p.Bits() < 32 && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// peerFor turns a BGPPeer into the node's protocol, or reports false when it does not apply.
func (c Calico) peerFor(n Node, p apiv3.BGPPeer, asn uint32, global bool) (birdPeer, error) {
	ip, err := netip.ParseAddr(p.Spec.PeerIP)
	if err != nil || !ip.Is4() {
		return birdPeer{}, fmt.Errorf("BGPPeer %s: peerIP %q (with a port or not IPv4) is not modelled", p.Name, p.Spec.PeerIP)
	}
	bp := birdPeer{IP: ip, ASN: uint32(p.Spec.ASNumber), Name: "Node_" + protocolID(ip)}
	if global {
		bp.Name = "Global_" + protocolID(ip)
	}
	bp.Internal = bp.ASN == asn
	switch p.Spec.SourceAddress {
	case "", apiv3.SourceAddressUseNodeIP:
		// confd defaults an empty sourceAddress to UseNodeIP.
		bp.SourceAddress = n.Address.Addr()
	case apiv3.SourceAddressNone:
	default:
		return birdPeer{}, fmt.Errorf("BGPPeer %s: sourceAddress %q", p.Name, p.Spec.SourceAddress)
	}
	for _, name := range p.Spec.Filters {
		i := slices.IndexFunc(c.Filters, func(f apiv3.BGPFilter) bool { return f.Name == name })
		if i < 0 {
			// bird.cfg.template tests `exists` on the filter's key and skips a missing one.
			continue
		}
		if len(c.Filters[i].Spec.ImportV4) > 0 {
			fn, err := filterFunction(name, "import")
			if err != nil {
				return birdPeer{}, err
			}
			bp.ImportFilters = append(bp.ImportFilters, fn)
		}
		if len(c.Filters[i].Spec.ExportV4) > 0 {
			fn, err := filterFunction(name, "export")
			if err != nil {
				return birdPeer{}, err
			}
			bp.ExportFilters = append(bp.ExportFilters, fn)
		}
	}
	// A global peer that is itself a Calico node peers one way only; not the case for peers
	// given by address here unless the address is a node's.
	if global && slices.ContainsFunc(c.Nodes, func(o Node) bool { return o.Address.Addr() == ip }) && ip.String() > n.Address.Addr().String() {
		bp.Passive = true
	}
	if c.PassiveLoopback && ip == netip.MustParseAddr("127.0.0.1") {
		bp.Passive = true
	}
	return bp, nil
}

// config computes a node's BIRD configuration data.
func (c Calico) config(node string) (birdConfig, error) {
	if err := c.check(); err != nil {
		return birdConfig{}, err
	}
	i := slices.IndexFunc(c.Nodes, func(n Node) bool { return n.Name == node })
	if i < 0 {
		return birdConfig{}, fmt.Errorf("bgplab: no node %q", node)
	}
	n := c.Nodes[i]
	if !n.Address.Addr().Is4() {
		return birdConfig{}, fmt.Errorf("bgplab: node %s: address %s is not IPv4", n.Name, n.Address)
	}
	asn := uint32(defaultASN)
	if c.Config.Spec.ASNumber != nil {
		asn = uint32(*c.Config.Spec.ASNumber)
	}
	bc := birdConfig{Node: n.Name, Address: n.Address.Addr(), Network: n.Address.Masked(), ASN: asn,
		MeshEnabled: c.Config.Spec.NodeToNodeMeshEnabled == nil || *c.Config.Spec.NodeToNodeMeshEnabled}

	// BGPFilter functions, in the order confd lists them (by name).
	filters := slices.Clone(c.Filters)
	slices.SortFunc(filters, func(a, b apiv3.BGPFilter) int { return cmp.Compare(a.Name, b.Name) })
	for _, f := range filters {
		bf := birdFilter{Name: f.Name}
		for dir, rules := range map[string][]apiv3.BGPFilterRuleV4{"import": f.Spec.ImportV4, "export": f.Spec.ExportV4} {
			if len(rules) == 0 {
				continue
			}
			name, err := filterFunction(f.Name, dir)
			if err != nil {
				return birdConfig{}, err
			}
			fn := birdFunction{Name: name}
			for _, r := range rules {
				stmt, err := filterRule(r)
				if err != nil {
					return birdConfig{}, fmt.Errorf("bgplab: BGPFilter %s: %w", f.Name, err)
				}
				fn.Rules = append(fn.Rules, stmt)
			}
			if dir == "import" {
				bf.Import = fn
			} else {
				bf.Export = fn
			}
		}
		bc.Filters = append(bc.Filters, bf)
	}

	// The mesh: every other node, by node name; a node waits for the nodes whose address is
	// higher, which dial it.
	if bc.MeshEnabled {
		others := slices.Clone(c.Nodes)
		slices.SortFunc(others, func(a, b Node) int { return cmp.Compare(a.Name, b.Name) })
		for _, o := range others {
			if o.Address.Addr() == n.Address.Addr() {
				continue
			}
			bc.Peers = append(bc.Peers, birdPeer{
				Name: "Mesh_" + protocolID(o.Address.Addr()), IP: o.Address.Addr(), ASN: asn, Mesh: true, Internal: true,
				SourceAddress: n.Address.Addr(),
				// Go templates compare the address strings (`gt $onode_ip $node_ip`).
				Passive: o.Address.Addr().String() > n.Address.Addr().String(),
			})
		}
	}

	// Global peers first, then the node's own; a node-specific peer to an address that already
	// has a global peer is dropped, and no node peers with itself (confd updatePeersV1).
	var global, specific []birdPeer
	seen := map[netip.Addr]bool{}
	for _, pass := range []bool{true, false} {
		for _, p := range c.Peers {
			isGlobal := p.Spec.Node == "" && p.Spec.NodeSelector == ""
			if isGlobal != pass {
				continue
			}
			applies := isGlobal || p.Spec.Node == n.Name
			if !isGlobal && p.Spec.NodeSelector != "" {
				ok, err := selects(p.Spec.NodeSelector, n.Labels, false)
				if err != nil {
					return birdConfig{}, fmt.Errorf("bgplab: BGPPeer %s: %w", p.Name, err)
				}
				applies = applies || ok
			}
			if !applies {
				continue
			}
			bp, err := c.peerFor(n, p, asn, isGlobal)
			if err != nil {
				return birdConfig{}, fmt.Errorf("bgplab: %w", err)
			}
			if bp.IP == n.Address.Addr() {
				continue
			}
			if seen[bp.IP] {
				if isGlobal {
					return birdConfig{}, fmt.Errorf("bgplab: BGPPeer %s: a second peering with %s is not modelled", p.Name, bp.IP)
				}
				continue
			}
			seen[bp.IP] = true
			if p.Spec.ReachableBy != "" {
				via, err := netip.ParseAddr(p.Spec.ReachableBy)
				if err != nil || !via.Is4() {
					return birdConfig{}, fmt.Errorf("bgplab: BGPPeer %s: reachableBy %q", p.Name, p.Spec.ReachableBy)
				}
				bc.PeerRoutes = append(bc.PeerRoutes, birdRoute{Dst: netip.PrefixFrom(bp.IP, 32), Via: via})
			}
			if isGlobal {
				global = append(global, bp)
			} else {
				specific = append(specific, bp)
			}
		}
	}
	byAddr := func(a, b birdPeer) int { return cmp.Compare(a.IP.String(), b.IP.String()) }
	slices.SortFunc(global, byAddr)
	slices.SortFunc(specific, byAddr)
	bc.Peers = append(append(bc.Peers, global...), specific...)

	blocks, err := c.Blocks(n.Name)
	if err != nil {
		return birdConfig{}, fmt.Errorf("bgplab: %w", err)
	}
	for _, b := range blocks {
		if b.Bits() < 32 {
			bc.Blocks = append(bc.Blocks, b)
		}
	}
	ranges, err := c.globalRanges()
	if err != nil {
		return birdConfig{}, fmt.Errorf("bgplab: %w", err)
	}
	bc.RejectCIDRs = ranges
	if n.Labels[ExcludeLabel] != "true" {
		bc.StaticRoutes = ranges
	}
	pools := slices.Clone(c.Pools)
	slices.SortFunc(pools, func(a, b apiv3.IPPool) int { return cmp.Compare(a.Spec.CIDR, b.Spec.CIDR) })
	for _, p := range pools {
		cidr, err := netip.ParsePrefix(p.Spec.CIDR)
		if err != nil || !cidr.Addr().Is4() {
			return birdConfig{}, fmt.Errorf("bgplab: IPPool %s: cidr %q", p.Name, p.Spec.CIDR)
		}
		bp := birdPool{CIDR: cidr, DisableBGPExport: p.Spec.DisableBGPExport}
		switch p.Spec.VXLANMode {
		case "", apiv3.VXLANModeNever:
		default:
			bp.VXLAN = true
		}
		if p.Spec.IPIPMode == apiv3.IPIPModeAlways {
			bp.Tunnel = "tunl0"
		}
		bc.Pools = append(bc.Pools, bp)
	}
	return bc, nil
}

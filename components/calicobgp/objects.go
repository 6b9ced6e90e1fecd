package calicobgp

import (
	"fmt"

	apiv3 "github.com/projectcalico/api/pkg/apis/projectcalico/v3"
	"github.com/projectcalico/api/pkg/lib/numorstring"
	corev1 "k8s.io/api/core/v1"

	"github.com/metalk8s/metalk8s/components/topology"
)

// The Calico objects are built from the upstream projectcalico.org/v3 Go types, then handed to
// pulumi-kubernetes as plain objects.
const apiVersion = "projectcalico.org/v3"

// md5Secret names the Secret (in CalicoNamespace) and key holding the routers' MD5 password.
const (
	md5SecretName = "metalk8s-bgp-password"
	md5SecretKey  = "password"
)

// BGPConfiguration is the cluster-wide BGP configuration: the nodes' ASN, the node-to-node mesh
// and, when Calico announces them, the LoadBalancer ranges.
func BGPConfiguration(asn int, announce []string) apiv3.BGPConfiguration {
	mesh := true
	as := numorstring.ASNumber(asn)
	c := apiv3.BGPConfiguration{Spec: apiv3.BGPConfigurationSpec{
		LogSeverityScreen:     "Info",
		NodeToNodeMeshEnabled: &mesh,
		ASNumber:              &as,
	}}
	c.APIVersion, c.Kind, c.Name = apiVersion, "BGPConfiguration", "default"
	for _, cidr := range announce {
		c.Spec.ServiceLoadBalancerIPs = append(c.Spec.ServiceLoadBalancerIPs, apiv3.ServiceLoadBalancerIPBlock{CIDR: cidr})
	}
	return c
}

// TorFilterName names the BGPFilter every top-of-rack BGPPeer carries.
const TorFilterName = "metalk8s-tor"

// TorFilter keeps the pod network off the top-of-rack routers and only them: an export rule
// rejects every route inside podCIDR (matchOperator In: the pod CIDR itself and every block in
// it). Only BGPPeers that name it in spec.filters apply it; the node-to-node mesh has no filters
// and keeps carrying each node's pod blocks to the others. Everything else (the LoadBalancer
// ranges) goes on to Calico's own export filter unchanged.
//
// With an API address (apiAddress, an IPv4 address; "" for none) a first rule rejects its /32
// when the node learnt it from a BGP peer (source RemotePeers: confd's filterStatement writes
// `(defined(source))&&(source ~ [ RTS_BGP ])`), so that a controller sends the routers the
// address only while it holds it on its own loopback, not the copies the other controllers send
// it over the mesh.
func TorFilter(podCIDR, apiAddress string) apiv3.BGPFilter {
	var rules []apiv3.BGPFilterRuleV4
	if apiAddress != "" {
		rules = append(rules, APIAddressRule(apiAddress))
	}
	rules = append(rules, apiv3.BGPFilterRuleV4{CIDR: podCIDR, MatchOperator: apiv3.In, Action: apiv3.Reject})
	f := apiv3.BGPFilter{Spec: apiv3.BGPFilterSpec{ExportV4: rules}}
	f.APIVersion, f.Kind, f.Name = apiVersion, "BGPFilter", TorFilterName
	return f
}

// APIAddressRule is the export rule of TorFilter that rejects the API address's /32 when it was
// learnt from a BGP peer.
func APIAddressRule(apiAddress string) apiv3.BGPFilterRuleV4 {
	return apiv3.BGPFilterRuleV4{CIDR: apiAddress + "/32", MatchOperator: apiv3.Equal,
		Source: apiv3.BGPFilterSourceRemotePeers, Action: apiv3.Reject}
}

// APIAddressPoolName names the disabled IPPool over the API address.
const APIAddressPoolName = "metalk8s-api-address"

// APIAddressIPPool is a disabled pool over the API address's /32: Calico assigns nothing from it,
// but its export filter then lets the address through to the routers from the controllers that
// hold it on their loopback (BIRD's `protocol direct` takes it from there).
func APIAddressIPPool(apiAddress string) apiv3.IPPool {
	p := apiv3.IPPool{Spec: apiv3.IPPoolSpec{CIDR: apiAddress + "/32", Disabled: true}}
	p.APIVersion, p.Kind, p.Name = apiVersion, "IPPool", APIAddressPoolName
	return p
}

// TorPeerName names a node's n-th (from 1) top-of-rack peer.
func TorPeerName(node string, n int) string { return fmt.Sprintf("%s-tor-%d", node, n) }

// Passwords says which key of the password Secret a session uses.
type Passwords struct {
	// Shared is set when the cluster-wide password exists: sessions whose group says MD5Enabled
	// use it.
	Shared bool
	// Own are the keys of sessions with a password of their own (topology.PeerPasswordKey).
	Own map[string]bool
}

// key is the Secret key of node's session with peerIP, or "" for a session without password.
func (p Passwords) key(node string, group topology.BGPPeer, peerIP string) string {
	if k := topology.PeerPasswordKey(node, peerIP); p.Own[k] {
		return k
	}
	if p.Shared && group.MD5Enabled {
		return md5SecretKey
	}
	return ""
}

// TorPeers are one BGPPeer per top-of-rack address of a node: one at older sites (the private
// gateway), two at newer ones (169.254.255.1 and .2). Sessions come from the node's own address;
// multihop peers (the link-local ones) are reached through the private gateway. Every one carries
// TorFilter, so the routers never learn the pod network. A session with a password reads it from
// the key of the password Secret that passwords gives it.
func TorPeers(n topology.Node, passwords Passwords) []apiv3.BGPPeer {
	var peers []apiv3.BGPPeer
	for _, group := range n.BGPPeers {
		for _, ip := range group.PeerIPs {
			p := apiv3.BGPPeer{Spec: apiv3.BGPPeerSpec{
				Node:          n.Name,
				PeerIP:        ip,
				ASNumber:      numorstring.ASNumber(group.PeerASN),
				SourceAddress: apiv3.SourceAddressUseNodeIP,
				Filters:       []string{TorFilterName},
			}}
			p.APIVersion, p.Kind, p.Name = apiVersion, "BGPPeer", TorPeerName(n.Name, len(peers)+1)
			if group.Multihop {
				p.Spec.ReachableBy = n.PrivateGateway
			}
			if key := passwords.key(n.Name, group, ip); key != "" {
				p.Spec.Password = &apiv3.BGPPassword{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: md5SecretName},
					Key:                  key,
				}}
			}
			peers = append(peers, p)
		}
	}
	return peers
}

// LoopbackPeer is the passive session with the node's MetalLB speaker on 127.0.0.1, only on the
// nodes labelled to run one: a node without a speaker would otherwise wait for it forever and
// keep calico-node unready (the guide's controller).
func LoopbackPeer(metallbASN int) apiv3.BGPPeer {
	p := apiv3.BGPPeer{Spec: apiv3.BGPPeerSpec{
		NodeSelector: fmt.Sprintf("%s == '%s'", topology.SpeakerLabel, topology.SpeakerLabelValue),
		PeerIP:       LoopbackPeerIP,
		ASNumber:     numorstring.ASNumber(metallbASN),
	}}
	p.APIVersion, p.Kind, p.Name = apiVersion, "BGPPeer", "metallb-speaker"
	return p
}

// LoadBalancerIPPool is a disabled pool over a LoadBalancer range: Calico assigns nothing from
// it, but its export filter then lets the speakers' routes for the range through to the routers.
func LoadBalancerIPPool(name, cidr string) apiv3.IPPool {
	p := apiv3.IPPool{Spec: apiv3.IPPoolSpec{CIDR: cidr, Disabled: true}}
	p.APIVersion, p.Kind, p.Name = apiVersion, "IPPool", name
	return p
}

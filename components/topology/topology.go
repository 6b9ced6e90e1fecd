// Package topology holds the plain description of a cluster's machines and their BGP peers that
// flows between components. It knows nothing of Equinix Metal: any producer of hosts and BGP
// neighbours (MetalCluster today, another provider tomorrow) can feed the Kubernetes components.
package topology

import (
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Role of a node in the cluster.
type Role string

// Node roles.
const (
	RoleController Role = "controller"
	RoleWorker     Role = "worker"
)

// Node is one machine of the cluster as the Kubernetes layer needs it.
type Node struct {
	// Name is the hostname, which is also the Kubernetes node name.
	Name string `pulumi:"name" json:"name"`
	// Role is controller or worker.
	Role string `pulumi:"role" json:"role"`
	// ID is the machine's identifier at its provider (the Metal device ID).
	ID string `pulumi:"id" json:"id"`
	// PublicIPv4 is the address SSH reaches.
	PublicIPv4 string `pulumi:"publicIpv4" json:"publicIpv4"`
	// PrivateIPv4 is the address Kubernetes and BGP use.
	PrivateIPv4 string `pulumi:"privateIpv4" json:"privateIpv4"`
	// PrivateGateway is the private network's gateway, through which the link-local peers are reached.
	PrivateGateway string `pulumi:"privateGateway" json:"privateGateway"`
	// BGPPeers are the node's upstream BGP neighbours, one entry per address family.
	BGPPeers []BGPPeer `pulumi:"bgpPeers" json:"bgpPeers"`
}

// BGPPeer is one group of upstream routers a node peers with.
type BGPPeer struct {
	// PeerIPs are the routers' addresses: one (a private /31 gateway) or two (169.254.255.1 and .2).
	PeerIPs []string `pulumi:"peerIps" json:"peerIps"`
	// PeerASN is the routers' ASN.
	PeerASN int `pulumi:"peerAsn" json:"peerAsn"`
	// CustomerIP is the node address the sessions must come from.
	CustomerIP string `pulumi:"customerIp" json:"customerIp"`
	// CustomerASN is the node's own ASN.
	CustomerASN int `pulumi:"customerAsn" json:"customerAsn"`
	// MD5Enabled says whether the sessions need the project's MD5 password.
	MD5Enabled bool `pulumi:"md5Enabled" json:"md5Enabled"`
	// Multihop is true when the routers are not on the node's own link (the link-local peers).
	Multihop bool `pulumi:"multihop" json:"multihop"`
}

// PeerPasswordKey is the key under which a node's BGP password for the router peerIP is kept when
// routers have passwords of their own (each node's session is a separate TCP connection, so each
// may have its own MD5 key). Keys are valid Secret data keys: node names and IPv4 addresses hold
// only letters, digits, '-' and '.'.
func PeerPasswordKey(node, peerIP string) string { return node + "_" + peerIP }

// NodeOutput is an output of Node.
type NodeOutput struct{ *pulumi.OutputState }

// ElementType is Node.
func (NodeOutput) ElementType() reflect.Type { return reflect.TypeOf((*Node)(nil)).Elem() }

// Name is the node's hostname.
func (o NodeOutput) Name() pulumi.StringOutput {
	return o.ApplyT(func(n Node) string { return n.Name }).(pulumi.StringOutput)
}

// ID is the node's provider identifier.
func (o NodeOutput) ID() pulumi.StringOutput {
	return o.ApplyT(func(n Node) string { return n.ID }).(pulumi.StringOutput)
}

// PublicIPv4 is the node's public address.
func (o NodeOutput) PublicIPv4() pulumi.StringOutput {
	return o.ApplyT(func(n Node) string { return n.PublicIPv4 }).(pulumi.StringOutput)
}

// PrivateIPv4 is the node's private address.
func (o NodeOutput) PrivateIPv4() pulumi.StringOutput {
	return o.ApplyT(func(n Node) string { return n.PrivateIPv4 }).(pulumi.StringOutput)
}

// BGPPeers are the node's upstream neighbours.
func (o NodeOutput) BGPPeers() BGPPeerArrayOutput {
	return o.ApplyT(func(n Node) []BGPPeer { return n.BGPPeers }).(BGPPeerArrayOutput)
}

// BGPPeerArrayOutput is an output of []BGPPeer.
type BGPPeerArrayOutput struct{ *pulumi.OutputState }

// ElementType is []BGPPeer.
func (BGPPeerArrayOutput) ElementType() reflect.Type { return reflect.TypeOf((*[]BGPPeer)(nil)).Elem() }

func init() {
	pulumi.RegisterOutputType(NodeOutput{})
	pulumi.RegisterOutputType(BGPPeerArrayOutput{})
}

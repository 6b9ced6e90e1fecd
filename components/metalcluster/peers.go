package metalcluster

import (
	"errors"
	"fmt"

	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/topology"
)

// ErrNoIPv4Neighbors means Metal reported no IPv4 BGP neighbour for a device, which happens when
// BGP is not enabled on the project or the session does not exist yet.
var ErrNoIPv4Neighbors = errors.New("no IPv4 BGP neighbours")

// PeersFromNeighbors maps Metal's neighbour data to the node's upstream peers. Only IPv4 is used:
// every node has exactly one IPv4 session. The MD5 password is deliberately not carried over.
func PeersFromNeighbors(ns []metal.GetDeviceBgpNeighborsBgpNeighbor) ([]topology.BGPPeer, error) {
	var peers []topology.BGPPeer
	for _, n := range ns {
		if n.AddressFamily != 4 {
			continue
		}
		if len(n.PeerIps) == 0 {
			return nil, fmt.Errorf("IPv4 neighbour of %s lists no peer IPs", n.CustomerIp)
		}
		peers = append(peers, topology.BGPPeer{
			PeerIPs:     append([]string(nil), n.PeerIps...),
			PeerASN:     n.PeerAs,
			CustomerIP:  n.CustomerIp,
			CustomerASN: n.CustomerAs,
			MD5Enabled:  n.Md5Enabled,
			Multihop:    n.Multihop,
		})
	}
	if len(peers) == 0 {
		return nil, ErrNoIPv4Neighbors
	}
	return peers, nil
}

// privateGateway finds the gateway of the device's private IPv4 network.
func privateGateway(networks []metal.DeviceNetwork) (string, error) {
	for _, n := range networks {
		if n.Family == 4 && !n.Public {
			return n.Gateway, nil
		}
	}
	return "", errors.New("device has no private IPv4 network")
}

// ErrProjectBGPMismatch means Metal's neighbour data shows another local ASN or MD5 setting
// than the Args: an existing project keeps the BGP configuration it was given, and the nodes'
// sessions would never come up with the other one.
var ErrProjectBGPMismatch = errors.New("the project's BGP configuration differs from the arguments")

// projectBGP is what the project's BGP configuration must be, as the neighbour data shows it.
type projectBGP struct {
	// asn is the local ASN every neighbour must report as the customer ASN.
	asn int
	// md5 is whether the sessions must use a password.
	md5 bool
}

// check compares one node's IPv4 peers with the expected configuration and names what differs.
func (want projectBGP) check(peers []topology.BGPPeer) error {
	var errs []error
	for _, p := range peers {
		if p.CustomerASN != want.asn {
			errs = append(errs, fmt.Errorf("%w: Metal reports local ASN %d for %s, LocalASN is %d; "+
				"the ASN of an existing project cannot change: set it to the project's", ErrProjectBGPMismatch, p.CustomerASN, p.CustomerIP, want.asn))
		}
		if p.MD5Enabled != want.md5 {
			errs = append(errs, fmt.Errorf("%w: Metal reports MD5 %s for %s, MD5Password is %s",
				ErrProjectBGPMismatch, onOff(p.MD5Enabled), p.CustomerIP, setOrNot(want.md5)))
		}
	}
	return errors.Join(errs...)
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func setOrNot(b bool) string {
	if b {
		return "set"
	}
	return "not set"
}

// describeNode assembles the node description from the device and its neighbours, and checks
// that the neighbours show the project's BGP configuration as the Args give it.
func describeNode(hostname string, role topology.Role, id, public, private string,
	networks []metal.DeviceNetwork, nb metal.GetDeviceBgpNeighborsResult, want projectBGP) (topology.Node, error) {
	gw, err := privateGateway(networks)
	if err != nil {
		return topology.Node{}, fmt.Errorf("%s: %w", hostname, err)
	}
	peers, err := PeersFromNeighbors(nb.BgpNeighbors)
	if err != nil {
		return topology.Node{}, fmt.Errorf("%s: %w", hostname, err)
	}
	if err := want.check(peers); err != nil {
		return topology.Node{}, fmt.Errorf("node %s: %w", hostname, err)
	}
	return topology.Node{
		Name: hostname, Role: string(role), ID: id,
		PublicIPv4: public, PrivateIPv4: private, PrivateGateway: gw, BGPPeers: peers,
	}, nil
}

package metallbpools

import (
	metallbv1beta1 "go.universe.tf/metallb/api/v1beta1"
	metallbv1beta2 "go.universe.tf/metallb/api/v1beta2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metalk8s/metalk8s/components/topology"
)

// API versions of the MetalLB objects, as served by the CRDs of the pinned version.
const (
	poolAPIVersion = "metallb.io/v1beta1"
	peerAPIVersion = "metallb.io/v1beta2"
	// PeerName and AdvertisementName name the objects of ModeBirdLocalPeer.
	PeerName          = "node-bird"
	AdvertisementName = "metalk8s-pools"
)

// IPAddressPool is one pool of addresses MetalLB assigns to services.
func IPAddressPool(name string, cidrs []string, autoAssign bool) metallbv1beta1.IPAddressPool {
	p := metallbv1beta1.IPAddressPool{
		TypeMeta:   metav1.TypeMeta{APIVersion: poolAPIVersion, Kind: "IPAddressPool"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec:       metallbv1beta1.IPAddressPoolSpec{Addresses: cidrs, AutoAssign: &autoAssign},
	}
	return p
}

// speakerNodes selects the nodes labelled to run a speaker.
func speakerNodes() []metav1.LabelSelector {
	return []metav1.LabelSelector{{MatchLabels: map[string]string{topology.SpeakerLabel: topology.SpeakerLabelValue}}}
}

// LocalBGPPeer is the speakers' session with their own node's BIRD on 127.0.0.1.
func LocalBGPPeer(metallbASN, localASN int) metallbv1beta2.BGPPeer {
	return metallbv1beta2.BGPPeer{
		TypeMeta:   metav1.TypeMeta{APIVersion: peerAPIVersion, Kind: "BGPPeer"},
		ObjectMeta: metav1.ObjectMeta{Name: PeerName, Namespace: Namespace},
		Spec: metallbv1beta2.BGPPeerSpec{
			MyASN:         uint32(metallbASN),
			ASN:           uint32(localASN),
			Address:       "127.0.0.1",
			NodeSelectors: speakerNodes(),
		},
	}
}

// BGPAdvertisement announces the pools to the speakers' peer.
func BGPAdvertisement(pools []string) metallbv1beta1.BGPAdvertisement {
	return metallbv1beta1.BGPAdvertisement{
		TypeMeta:   metav1.TypeMeta{APIVersion: poolAPIVersion, Kind: "BGPAdvertisement"},
		ObjectMeta: metav1.ObjectMeta{Name: AdvertisementName, Namespace: Namespace},
		Spec: metallbv1beta1.BGPAdvertisementSpec{
			IPAddressPools: pools,
			Peers:          []string{PeerName},
			NodeSelectors:  speakerNodes(),
		},
	}
}

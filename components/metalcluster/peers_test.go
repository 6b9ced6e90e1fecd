package metalcluster

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/topology"
)

func TestPeersFromNeighbors(t *testing.T) {
	ibx := metal.GetDeviceBgpNeighborsBgpNeighbor{
		AddressFamily: 4, CustomerAs: 65000, CustomerIp: "10.67.50.3", PeerAs: 65530, Multihop: true,
		PeerIps: []string{"169.254.255.1", "169.254.255.2"}, Md5Enabled: true, Md5Password: "secret",
	}
	legacy := metal.GetDeviceBgpNeighborsBgpNeighbor{
		AddressFamily: 4, CustomerAs: 65000, CustomerIp: "10.99.14.7", PeerAs: 65530, PeerIps: []string{"10.99.14.6"},
	}
	v6 := metal.GetDeviceBgpNeighborsBgpNeighbor{AddressFamily: 6, PeerIps: []string{"fc00::1"}, PeerAs: 65530}
	cases := []struct {
		name string
		in   []metal.GetDeviceBgpNeighborsBgpNeighbor
		want []topology.BGPPeer
		err  error
	}{
		{"newer site: two link-local peers", []metal.GetDeviceBgpNeighborsBgpNeighbor{ibx}, []topology.BGPPeer{{
			PeerIPs: []string{"169.254.255.1", "169.254.255.2"}, PeerASN: 65530, CustomerIP: "10.67.50.3",
			CustomerASN: 65000, MD5Enabled: true, Multihop: true,
		}}, nil},
		{"older site: the private gateway", []metal.GetDeviceBgpNeighborsBgpNeighbor{legacy}, []topology.BGPPeer{{
			PeerIPs: []string{"10.99.14.6"}, PeerASN: 65530, CustomerIP: "10.99.14.7", CustomerASN: 65000,
		}}, nil},
		{"IPv6 ignored", []metal.GetDeviceBgpNeighborsBgpNeighbor{v6, legacy}, []topology.BGPPeer{{
			PeerIPs: []string{"10.99.14.6"}, PeerASN: 65530, CustomerIP: "10.99.14.7", CustomerASN: 65000,
		}}, nil},
		{"no neighbours", nil, nil, ErrNoIPv4Neighbors},
		{"only IPv6", []metal.GetDeviceBgpNeighborsBgpNeighbor{v6}, nil, ErrNoIPv4Neighbors},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PeersFromNeighbors(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := PeersFromNeighbors([]metal.GetDeviceBgpNeighborsBgpNeighbor{{AddressFamily: 4}}); err == nil {
		t.Error("an IPv4 neighbour without peer IPs was accepted")
	}
}

func TestPrivateGateway(t *testing.T) {
	nets := []metal.DeviceNetwork{
		{Address: "147.75.1.3", Family: 4, Public: true, Gateway: "147.75.1.2"},
		{Address: "2604::1", Family: 6, Public: true, Gateway: "2604::"},
		{Address: "10.99.14.7", Family: 4, Public: false, Gateway: "10.99.14.6"},
	}
	if gw, err := privateGateway(nets); err != nil || gw != "10.99.14.6" {
		t.Errorf("gateway %q, %v", gw, err)
	}
	if _, err := privateGateway(nets[:2]); err == nil {
		t.Error("no private network accepted")
	}
}

func TestArgsValidation(t *testing.T) {
	err := MetalClusterArgs{WorkerCount: -1, ElasticIPs: []ElasticIPArgs{{Name: "a", Type: "x", Quantity: 1}, {Name: "a", Type: metal.IpBlockTypePublicIPv4, Quantity: 3}}}.validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"Metro", "OrganizationID", "WorkerCount -1", "ElasticIPs[0].Type", "ElasticIPs[1].Name", "Kubernetes.Version", "APIAccess"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error misses %s:\n%v", want, err)
		}
	}
}

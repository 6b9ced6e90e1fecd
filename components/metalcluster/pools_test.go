package metalcluster

import (
	"errors"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/components/topology"
)

// TestCheckRange covers what only the cloud knows about a LoadBalancer range: the nodes' own
// addresses, the metadata service and the other pools' ranges (reserved blocks among them).
func TestCheckRange(t *testing.T) {
	nodes := []any{
		[]any{"sv-controller", "10.67.50.3", "147.75.1.11"},
		[]any{"sv-worker-0", "10.67.50.5", "147.75.1.13"},
	}
	ranges := []any{
		[]any{"metal-public", "147.75.194.92/30"},
		[]any{"metal-private", "10.99.110.128/25"},
	}
	cases := []struct {
		name, pool, cidr string
		self             int
		want             []string // each must appear in the error; none means accepted
	}{
		{"free private range", "metal-private", "10.99.110.128/25", 1, nil},
		{"free block", "metal-public", "147.75.194.92/30", 0, nil},
		{"holds a node's private address", "metal-private", "10.67.50.0/28", 1,
			[]string{"pool metal-private", "10.67.50.0/28", "sv-controller's private address 10.67.50.3", "sv-worker-0's private address 10.67.50.5"}},
		{"holds a node's public address", "metal-private", "147.75.1.12/31", 1, []string{"sv-worker-0's public address 147.75.1.13"}},
		{"holds the metadata service", "metal-private", "192.80.8.0/24", 1, []string{"metadata service 192.80.8.124"}},
		{"overlaps a block's range", "metal-private", "147.75.194.0/24", 1, []string{"overlaps pool metal-public range 147.75.194.92/30"}},
		{"not a range", "metal-private", "10.0.0.1", 1, []string{"pool metal-private", `"10.0.0.1"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkRange(tc.pool, tc.cidr, tc.self, nodes, ranges)
			if len(tc.want) == 0 {
				if err != nil || got != tc.cidr {
					t.Fatalf("%s refused: %q, %v", tc.cidr, got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s accepted", tc.cidr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestProjectBGPCheck covers the neighbour data of an existing project whose ASN or MD5 setting
// is not what the arguments say.
func TestProjectBGPCheck(t *testing.T) {
	peer := func(asn int, md5 bool) []topology.BGPPeer {
		return []topology.BGPPeer{{CustomerIP: "10.67.50.3", CustomerASN: asn, MD5Enabled: md5, PeerASN: 65530}}
	}
	cases := []struct {
		name  string
		want  projectBGP
		peers []topology.BGPPeer
		says  []string
	}{
		{"matching, no password", projectBGP{asn: 65000}, peer(65000, false), nil},
		{"matching, password", projectBGP{asn: 64600, md5: true}, peer(64600, true), nil},
		{"other ASN", projectBGP{asn: 64600}, peer(65000, false), []string{"local ASN 65000", "LocalASN is 64600", "10.67.50.3"}},
		{"password set, project has none", projectBGP{asn: 65000, md5: true}, peer(65000, false), []string{"MD5 disabled", "MD5Password is set"}},
		{"password unset, project has one", projectBGP{asn: 65000}, peer(65000, true), []string{"MD5 enabled", "MD5Password is not set"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.want.check(tc.peers)
			if len(tc.says) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrProjectBGPMismatch) {
				t.Fatalf("error %v is not ErrProjectBGPMismatch", err)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q:\n%v", s, err)
				}
			}
		})
	}
}

package bootstrap

import (
	"reflect"
	"testing"
)

// TestMergeCIDRs covers the allowed sources an nftables interval set takes only merged.
func TestMergeCIDRs(t *testing.T) {
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"one", []string{"198.51.100.7/32"}, []string{"198.51.100.7/32"}},
		{"a /32 inside a /24", []string{"198.51.100.7/32", "198.51.100.0/24"}, []string{"198.51.100.0/24"}},
		{"the /24 first", []string{"198.51.100.0/24", "198.51.100.7/32"}, []string{"198.51.100.0/24"}},
		{"duplicates", []string{"192.0.2.1/32", "192.0.2.1/32"}, []string{"192.0.2.1/32"}},
		{"adjacent halves stay", []string{"192.0.2.128/25", "192.0.2.0/25"}, []string{"192.0.2.0/25", "192.0.2.128/25"}},
		{"same address, wider later", []string{"10.0.0.0/16", "10.0.0.0/8", "10.1.2.3/32"}, []string{"10.0.0.0/8"}},
		{"disjoint, sorted", []string{"203.0.113.0/24", "192.0.2.0/24"}, []string{"192.0.2.0/24", "203.0.113.0/24"}},
		{"none", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mergeCIDRs(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := mergeCIDRs([]string{"2001:db8::/32"}); err == nil {
		t.Error("an IPv6 network was taken into an IPv4 set")
	}
}

package bootstrap

import (
	"fmt"
	"net/netip"
)

// What kubeadm v1.37.2 does with the cluster's networks.
const (
	// dnsServiceIndex is where CoreDNS's Service lives in the service range: kubeadm's GetDNSIP
	// (cmd/kubeadm/app/constants/constants.go) takes the network address plus 10, whatever the
	// kubelets are told; a different clusterDNS only earns a warning, and cluster DNS then
	// answers nowhere.
	dnsServiceIndex = 10
)

// DNSServiceIP is the address kubeadm gives CoreDNS's Service in an IPv4 service range: the 10th
// address after the network address (192.168.0.10 in 192.168.0.0/16). It fails for a range that
// is not an IPv4 CIDR or is too small to hold that address.
func DNSServiceIP(serviceCIDR string) (string, error) {
	p, err := netip.ParsePrefix(serviceCIDR)
	if err != nil || !p.Addr().Is4() {
		return "", fmt.Errorf("%q is not an IPv4 CIDR", serviceCIDR)
	}
	a := p.Masked().Addr()
	for range dnsServiceIndex {
		a = a.Next()
	}
	if !p.Contains(a) {
		return "", fmt.Errorf("%s is too small to hold CoreDNS's address (the network address + %d)", p.Masked(), dnsServiceIndex)
	}
	return a.String(), nil
}

package bootstrap

import (
	"fmt"
	"net/netip"
	"slices"
)

// mergeCIDRs returns the smallest list of IPv4 networks covering the same addresses as cidrs,
// sorted: duplicates and networks inside another one are dropped. An nftables interval set
// refuses elements that overlap ("conflicting intervals specified"), so a /24 and a /32 inside
// it, both allow-listed, would leave a node without its firewall.
func mergeCIDRs(cidrs []string) ([]string, error) {
	prefixes := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("%q is not an IPv4 CIDR", c)
		}
		prefixes = append(prefixes, p.Masked())
	}
	// Wider networks first at the same address, so that a network inside one kept before it is
	// always met after it.
	slices.SortFunc(prefixes, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	var out []string
	var last netip.Prefix
	for _, p := range prefixes {
		if last.IsValid() && last.Contains(p.Addr()) && last.Bits() <= p.Bits() {
			continue
		}
		last = p
		out = append(out, p.String())
	}
	return out, nil
}

// privateNetworks are the IPv4 ranges no router forwards across the Internet (RFC 1918, the
// shared address space of RFC 6598, link-local): a worker reaches the API address from its
// private address in one of them, and an API address inside one is not filtered, as no private
// address is.
var privateNetworks = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
}

// publicAPIAddress is the API address the controllers' firewalls guard: the address when it is
// public, "" when there is none or it is private.
func publicAPIAddress(a string) string {
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return ""
	}
	for _, p := range privateNetworks {
		if p.Contains(ip) {
			return ""
		}
	}
	return a
}

// apiSources are the sources that may reach the API port at a public API address besides the
// allowed ones: the private networks and the pod network.
func apiSources(podCIDR string) []string {
	out := []string{podCIDR}
	for _, p := range privateNetworks {
		out = append(out, p.String())
	}
	return out
}

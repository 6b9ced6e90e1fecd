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

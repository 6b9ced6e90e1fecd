package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/metalk8s/metalk8s/components/metal"
)

// Rules of the Equinix Metal API (and of the equinix provider in front of it) that the program
// checks before anything exists: once the project or the devices are created, Metal refusing a
// value leaves a half-built stack.
const (
	// MinMetalASN and MaxMetalASN bound the project ASN on Metal: the 2-byte private range. The
	// provider decodes customer_as and peer_as of getDeviceBgpNeighbors as 32-bit signed integers,
	// so a 4-byte private ASN (4200000000 and up) makes every neighbour read fail after the
	// devices exist.
	MinMetalASN = 64512
	MaxMetalASN = 65534
	// MinMD5Length and MaxMD5Length bound Metal's BGP password.
	MinMD5Length = 10
	MaxMD5Length = 20
	// maxProjectNameLength is Metal's limit on a project name, in characters.
	maxProjectNameLength = 80
)

// globalBlockQuantities are the sizes Metal reserves a global_ipv4 block in.
var globalBlockQuantities = []int{1, 2, 4}

// validateMetal checks the rules Metal enforces on the project, the BGP settings and the blocks.
func (c *Cluster) validateMetal(v *collector) {
	if asn := *c.BGP.ASN; privateASN(asn) && asn != TorASN && (asn < MinMetalASN || asn > MaxMetalASN) {
		v.add("bgp.asn", asn, "must be a 2-byte private ASN, %d-%d, on Equinix Metal: the provider reads the "+
			"nodes' BGP neighbours as 32-bit signed numbers, so a 4-byte ASN fails after the devices exist", MinMetalASN, MaxMetalASN)
	}
	if p := c.BGP.MD5Password; p != "" {
		if problem := md5Problem(p); problem != "" {
			v.add("bgp.md5Password", redacted, "Equinix Metal accepts %d to %d letters and digits with at least one "+
				"lower-case letter, one upper-case letter and one digit; this one %s", MinMD5Length, MaxMD5Length, problem)
		}
	}
	for i, b := range c.ElasticIPs {
		if b.Type == string(metal.IpBlockTypeGlobalIPv4) && !containsInt(globalBlockQuantities, b.Quantity) {
			v.add(fmt.Sprintf("elasticIps[%d].quantity", i), b.Quantity, "must be 1, 2 or 4 for a global_ipv4 block (the sizes Equinix Metal reserves)")
		}
	}
	if c.Project.ID == "" && utf8.RuneCountInString(c.Project.Name) > maxProjectNameLength {
		v.add("project.name", c.Project.Name, "must be at most %d characters (it has %d)", maxProjectNameLength, utf8.RuneCountInString(c.Project.Name))
	}
	metadata := netip.MustParseAddr(metal.MetadataIPv4)
	for i, p := range c.LoadBalancer.Pools {
		for j, cidr := range p.CIDRs {
			if prefix, err := netip.ParsePrefix(cidr); err == nil && prefix.Contains(metadata) {
				v.add(fmt.Sprintf("loadBalancer.pools[%d].cidrs[%d]", i, j), cidr,
					"holds Equinix Metal's metadata service %s, which every device must keep reaching", metadata)
			}
		}
	}
}

// md5Problem says what is wrong with a BGP password by Metal's rules, or "".
func md5Problem(p string) string {
	var lower, upper, digit bool
	for _, r := range p {
		switch {
		case r < unicode.MaxASCII && unicode.IsLower(r):
			lower = true
		case r < unicode.MaxASCII && unicode.IsUpper(r):
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		default:
			return "holds a character that is neither"
		}
	}
	var missing []string
	if n := utf8.RuneCountInString(p); n < MinMD5Length || n > MaxMD5Length {
		return "is shorter or longer than that"
	}
	if !lower {
		missing = append(missing, "a lower-case letter")
	}
	if !upper {
		missing = append(missing, "an upper-case letter")
	}
	if !digit {
		missing = append(missing, "a digit")
	}
	if len(missing) > 0 {
		return "lacks " + strings.Join(missing, ", ")
	}
	return ""
}

func containsInt(list []int, n int) bool {
	for _, e := range list {
		if e == n {
			return true
		}
	}
	return false
}

// releasePattern is an exact release MAJOR.MINOR.PATCH whose numbers have no leading zeros: the
// charts and package repositories are keyed by the release as published, and 3.031.7 is none.
var releasePattern = regexp.MustCompile(`^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$`)

// Oldest releases with what the program uses.
var (
	// MinCalicoVersion: BGPPeer.spec.reachableBy (3.25) and BGPFilter with BGPPeer.spec.filters
	// (3.26) in projectcalico.org/v3.
	MinCalicoVersion = [3]int{3, 26, 0}
	// MinMetalLBVersion: the metallb.io/v1beta1 and v1beta2 CRDs (0.13.2, the first release
	// configured by custom resources) and the metallb.io/ annotation prefix services use to ask for
	// a pool (0.14.9; earlier releases only read metallb.universe.tf/).
	MinMetalLBVersion = [3]int{0, 14, 9}
)

// parseRelease splits an exact release into its numbers.
func parseRelease(s string) ([3]int, bool) {
	m := releasePattern.FindStringSubmatch(s)
	if m == nil {
		return [3]int{}, false
	}
	var r [3]int
	for i := range r {
		r[i], _ = strconv.Atoi(m[i+1])
	}
	return r, true
}

// olderThan reports whether release a comes before b.
func olderThan(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func releaseString(r [3]int) string { return fmt.Sprintf("%d.%d.%d", r[0], r[1], r[2]) }

// validateComponentVersions checks the Calico and MetalLB releases: exact, without leading zeros,
// of the major line the program is written for, and new enough for the objects it creates.
func (c *Cluster) validateComponentVersions(v *collector) {
	for _, comp := range []struct {
		key, value, name string
		major            int
		min              [3]int
		def              string
	}{
		{"calico.version", c.Calico.Version, "Calico", 3, MinCalicoVersion, DefaultCalicoVersion},
		{"metallb.version", c.MetalLB.Version, "MetalLB", 0, MinMetalLBVersion, DefaultMetalLBVersion},
	} {
		r, ok := parseRelease(comp.value)
		switch {
		case !ok || r[0] != comp.major:
			v.add(comp.key, comp.value, "must be a %s release %d.MINOR.PATCH without leading zeros, such as %s", comp.name, comp.major, comp.def)
		case olderThan(r, comp.min):
			v.add(comp.key, comp.value, "must be %s or newer (the first %s release with every object this program creates)", releaseString(comp.min), comp.name)
		case comp.key == "calico.version" && comp.value == "3.32.0":
			v.add(comp.key, comp.value, "lacks the operator RBAC LoadBalancer IPAM needs; use 3.32.1 or %s", DefaultCalicoVersion)
		}
	}
}

package bootstrap

import (
	"fmt"
	"net/netip"
)

// What kubeadm v1.37.2 does with the cluster's networks, and what it refuses: a broken rule fails
// the init step, once the machines exist; these let callers refuse it before.
const (
	// dnsServiceIndex is where CoreDNS's Service lives in the service range: kubeadm's GetDNSIP
	// (cmd/kubeadm/app/constants/constants.go) takes the network address plus 10, whatever the
	// kubelets are told; a different clusterDNS only earns a warning, and cluster DNS then
	// answers nowhere.
	dnsServiceIndex = 10
	// MaxServiceHostBits bounds the service range from above: ValidateServiceSubnetSize
	// (cmd/kubeadm/app/apis/kubeadm/validation/validation.go) refuses more host bits than
	// constants.MaximumBitsForServiceSubnet, 20, so /12 is the widest IPv4 range. (kube-apiserver
	// v1.37 applies the same limit only with the MultiCIDRServiceAllocator gate off, which is
	// locked on; it needs 8 addresses, fewer than kubeadm.)
	MaxServiceHostBits = 20
	// MinServiceAddresses bounds it from below: ValidateIPNetFromString refuses a range of fewer
	// addresses than constants.MinimumAddressesInServiceSubnet, 10, counting every address of the
	// CIDR (k8s.io/utils/net RangeSize, 0 for a /31 or /32), so /28 is the narrowest.
	MinServiceAddresses = 10
	// NodeCIDRMask is the size of each node's pod range: kubeadm leaves kube-controller-manager's
	// node-cidr-mask-size-ipv4 unset (metalk8s does too), and ValidatePodSubnetNodeMask checks the
	// pod range against its default, 24 (getClusterNodeMask): a longer pod prefix is refused.
	// (Its other floor, constants.MinimumAddressesInPodSubnet, 14 addresses, is below a /24.)
	NodeCIDRMask = 24
	// MaxPodNodeMaskDiff bounds the pod range from above: ValidatePodSubnetNodeMask refuses a
	// node mask more than constants.PodSubnetNodeMaskMaxDiff, 16, bits longer than the pod
	// range's, so /8 is the widest.
	MaxPodNodeMaskDiff = 16
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

// ServiceCIDRProblem says why kubeadm refuses an IPv4 service range, or returns "".
func ServiceCIDRProblem(p netip.Prefix) string {
	hostBits := 32 - p.Bits()
	addresses := 0
	if hostBits < 31 {
		addresses = 1 << hostBits
	}
	switch {
	case hostBits > MaxServiceHostBits:
		return fmt.Sprintf("is too large: kubeadm accepts at most %d host bits, a /%d", MaxServiceHostBits, 32-MaxServiceHostBits)
	case addresses < MinServiceAddresses:
		return fmt.Sprintf("is too small: kubeadm needs at least %d addresses (CoreDNS takes the network address + 10), a /28", MinServiceAddresses)
	}
	return ""
}

// PodCIDRProblem says why kubeadm refuses an IPv4 pod range, or returns "".
func PodCIDRProblem(p netip.Prefix) string {
	switch {
	case p.Bits() > NodeCIDRMask:
		return fmt.Sprintf("is smaller than one node's pod range, a /%d: kubeadm needs a /%d or wider", NodeCIDRMask, NodeCIDRMask)
	case NodeCIDRMask-p.Bits() > MaxPodNodeMaskDiff:
		return fmt.Sprintf("is too large: kubeadm allows at most %d bits between it and the nodes' /%d, so a /%d or narrower", MaxPodNodeMaskDiff, NodeCIDRMask, NodeCIDRMask-MaxPodNodeMaskDiff)
	}
	return ""
}

package config

import (
	"net/netip"

	"github.com/metalk8s/metalk8s/components/bootstrap"
)

// validateKubeadm refuses what kubeadm would refuse or silently get wrong, before any machine
// exists: kubeadm runs only once the controller is up.
func (c *Cluster) validateKubeadm(v *collector) {
	c.validateDNSServiceIP(v)
}

// validateDNSServiceIP accepts only the address kubeadm gives CoreDNS's Service: kubeadm puts it
// at the 10th address after the service range's network address whatever the kubelets are told,
// so any other clusterDNS leaves every pod without DNS.
func (c *Cluster) validateDNSServiceIP(v *collector) {
	k := c.Kubernetes
	if k.DNSServiceIP == "" {
		return // the service range has no such address: its own check says so
	}
	if a, err := netip.ParseAddr(k.DNSServiceIP); err != nil || !a.Is4() {
		v.add("kubernetes.dnsServiceIp", k.DNSServiceIP, "must be an IPv4 address")
		return
	}
	want, err := bootstrap.DNSServiceIP(k.ServiceCIDR)
	if err != nil {
		return // kubernetes.serviceCidr is reported
	}
	if k.DNSServiceIP != want {
		v.add("kubernetes.dnsServiceIp", k.DNSServiceIP, "must be %s, the 10th address of kubernetes.serviceCidr %s: kubeadm always puts CoreDNS's Service there (leave it unset to get it)", want, k.ServiceCIDR)
	}
}

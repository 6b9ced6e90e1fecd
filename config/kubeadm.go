package config

import (
	"net/netip"

	"github.com/metalk8s/metalk8s/components/bootstrap"
)

// validateKubeadm refuses what kubeadm would refuse or silently get wrong, before any machine
// exists: kubeadm runs only once the controller is up.
func (c *Cluster) validateKubeadm(v *collector) {
	c.validateDNSServiceIP(v)
	c.validateNetworkSizes(v)
}

// validateNetworkSizes refuses the pod and service ranges kubeadm's own validation refuses (the
// rules and their sources are in components/bootstrap/networks.go): kubeadm init would stop on
// them with the controller already paid for.
func (c *Cluster) validateNetworkSizes(v *collector) {
	for _, n := range []struct {
		key, cidr string
		problem   func(netip.Prefix) string
	}{
		{"kubernetes.podCidr", c.Kubernetes.PodCIDR, bootstrap.PodCIDRProblem},
		{"kubernetes.serviceCidr", c.Kubernetes.ServiceCIDR, bootstrap.ServiceCIDRProblem},
	} {
		p, err := netip.ParsePrefix(n.cidr)
		if err != nil || !p.Addr().Is4() {
			continue // validateKubernetes reports it
		}
		if why := n.problem(p); why != "" {
			v.add(n.key, n.cidr, "%s", why)
		}
	}
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

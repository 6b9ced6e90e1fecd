package bootstrap

import (
	"strings"
	"testing"
)

// TestDNSServiceIP: kubeadm v1.37.2's GetDNSIP (cmd/kubeadm/app/constants/constants.go) gives
// CoreDNS's Service the network address + 10 (k8s.io/utils/net GetIndexedIP), and fails when the
// range does not hold it.
func TestDNSServiceIP(t *testing.T) {
	for _, c := range []struct{ cidr, want string }{
		{DefaultServiceCIDR, DefaultDNSServiceIP},
		{"192.168.0.0/16", "192.168.0.10"},
		{"10.96.0.0/12", "10.96.0.10"},
		{"100.65.4.0/22", "100.65.4.10"},
		{"192.168.0.0/28", "192.168.0.10"},
		{"192.168.0.16/28", "192.168.0.26"},
		{"192.168.0.0/29", ""},
		{"192.168.0.0/32", ""},
		{"fd00::/108", ""},
		{"nonsense", ""},
	} {
		got, err := DNSServiceIP(c.cidr)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%s: %s, want an error", c.cidr, got)
		case c.want != "" && (err != nil || got != c.want):
			t.Errorf("%s: %s (%v), want %s", c.cidr, got, err, c.want)
		}
	}
}

// TestKubernetesArgsDNSServiceIP checks that Bootstrap derives the DNS address from the service
// range and refuses any other.
func TestKubernetesArgsDNSServiceIP(t *testing.T) {
	k := BootstrapArgs{Kubernetes: KubernetesArgs{Version: testVersion, ServiceCIDR: "100.65.0.0/16"}}.withDefaults().Kubernetes
	if k.DNSServiceIP != "100.65.0.10" {
		t.Errorf("DNSServiceIP defaults to %q with 100.65.0.0/16, want 100.65.0.10", k.DNSServiceIP)
	}
	for _, c := range []struct {
		args    KubernetesArgs
		refused bool
	}{
		{KubernetesArgs{Version: testVersion}, false},
		{KubernetesArgs{Version: testVersion, DNSServiceIP: "192.168.0.10"}, false},
		{KubernetesArgs{Version: testVersion, ServiceCIDR: "100.65.0.0/16", DNSServiceIP: "100.65.0.10"}, false},
		{KubernetesArgs{Version: testVersion, DNSServiceIP: "192.168.0.53"}, true},
		{KubernetesArgs{Version: testVersion, ServiceCIDR: "100.65.0.0/16", DNSServiceIP: "192.168.0.10"}, true},
	} {
		err := c.args.Validate()
		if (err != nil) != c.refused {
			t.Errorf("%+v: error %v, want refused %v", c.args, err, c.refused)
		}
		if err != nil && !strings.Contains(err.Error(), "Kubernetes.DNSServiceIP") {
			t.Errorf("%+v: %v does not name Kubernetes.DNSServiceIP", c.args, err)
		}
	}
}

// TestNetworkSizes: the IPv4 range sizes kubeadm v1.37.2 accepts (ValidateServiceSubnetSize,
// ValidateIPNetFromString with MinimumAddressesInServiceSubnet, ValidatePodSubnetNodeMask with
// the node mask's default 24 and PodSubnetNodeMaskMaxDiff, in
// cmd/kubeadm/app/apis/kubeadm/validation/validation.go). The boundaries were run through the
// real `kubeadm config validate`: service /12 and /28 pass, /11 and /29 fail; pod /24 and /8
// pass, /25 and /7 fail. Validate refuses the same, naming the field.
func TestNetworkSizes(t *testing.T) {
	for _, c := range []struct {
		pod, svc string
		refused  string // the field refused, "" when accepted
	}{
		{"172.16.0.0/12", "192.168.0.0/16", ""},
		{"172.16.0.0/12", "100.64.0.0/12", ""},
		{"172.16.0.0/12", "100.64.0.0/11", "Kubernetes.ServiceCIDR"},
		{"172.16.0.0/12", "192.168.0.0/28", ""},
		{"172.16.0.0/12", "192.168.0.0/29", "Kubernetes.ServiceCIDR"},
		{"172.16.0.0/12", "192.168.0.0/31", "Kubernetes.ServiceCIDR"},
		{"172.16.0.0/12", "192.168.0.0/32", "Kubernetes.ServiceCIDR"},
		{"172.16.0.0/24", "192.168.0.0/16", ""},
		{"172.16.0.0/25", "192.168.0.0/16", "Kubernetes.PodCIDR"},
		{"172.16.0.0/32", "192.168.0.0/16", "Kubernetes.PodCIDR"},
		{"100.0.0.0/8", "192.168.0.0/16", ""},
		{"100.0.0.0/7", "192.168.0.0/16", "Kubernetes.PodCIDR"},
		{"0.0.0.0/0", "192.168.0.0/16", "Kubernetes.PodCIDR"},
	} {
		err := KubernetesArgs{Version: testVersion, PodCIDR: c.pod, ServiceCIDR: c.svc}.Validate()
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("pod %s, service %s: refused (%v), kubeadm accepts it", c.pod, c.svc, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("pod %s, service %s: %v, want %s refused", c.pod, c.svc, err, c.refused)
		}
	}
}

package config

import (
	"fmt"
	"net/netip"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/topology"
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

// controllerListeners are the TCP ports the cluster itself listens on at the controller, on some
// address: the API server binds its port there too, so none of them may be kubernetes.apiPort.
// Each says where it was checked.
var controllerListeners = map[int]string{
	22: "SSH",
	// calico-node runs on every node with host networking; its BIRD speaks BGP on 179.
	179: "Calico's BIRD (BGP)",
	// The etcd flags of the rendered ClusterConfiguration (components/bootstrap/kubeadm.go).
	2379: "etcd",
	2380: "etcd peers",
	2381: "etcd metrics",
	// Calico Typha, host networking: TyphaPort 5473 and the default health port 9098 in
	// tigera/operator pkg/render/typha.go (TYPHA_HEALTHPORT).
	5473: "Calico Typha",
	9098: "Calico Typha's health check",
	// Felix in calico-node, host networking: FelixConfiguration healthPort, default 9099
	// (github.com/projectcalico/api pkg/apis/projectcalico/v3/felixconfig.go).
	9099: "Calico Felix's health check",
	// The kubelet's defaults (pkg/kubelet/apis/config/v1beta1/defaults.go of k8s.io/kubernetes
	// v1.37.2): port 10250, healthzPort 10248; the rendered file sets only healthzBindAddress.
	10248: "the kubelet's health check",
	10250: "the kubelet",
	// The rendered KubeProxyConfiguration's metricsBindAddress and healthzBindAddress.
	10249: "kube-proxy's metrics",
	10256: "kube-proxy's health check",
	// The secure ports of kubeadm v1.37.2's static Pods (constants.KubeControllerManagerPort,
	// KubeSchedulerPort in cmd/kubeadm/app/constants/constants.go).
	10257: "kube-controller-manager",
	10259: "kube-scheduler",
}

// speakerListeners are what a MetalLB v0.16.2 speaker opens, with host networking
// (charts/metallb/templates/speaker.yaml, values.yaml of the go.universe.tf/metallb module):
// prometheus.metricsPort 9120, speaker.livenessProbe.port 17472 (--health-probe-port) and
// speaker.memberlist.mlBindPort 7946. The speakers run only where loadBalancer.mode is
// bird-local-peer; they are scheduled on the labelled workers, and refusing their ports keeps a
// controller given that label safe.
var speakerListeners = map[int]string{
	7946:  "MetalLB's speaker (memberlist)",
	9120:  "MetalLB's speaker (metrics)",
	17472: "MetalLB's speaker (health check)",
}

// controllerListener names what already listens on port at the controller.
func (c *Cluster) controllerListener(port int) (string, bool) {
	if c.Servers != nil {
		if port == c.Servers.Controller.SSHPort {
			return "sshd (servers.controller.sshPort)", true
		}
		for i, srv := range c.Servers.Controllers {
			if port == srv.SSHPort {
				return fmt.Sprintf("sshd (servers.controllers[%d].sshPort)", i), true
			}
		}
	}
	if owner, ok := controllerListeners[port]; ok {
		return owner, true
	}
	if c.LoadBalancer.Mode == string(topology.ModeBirdLocalPeer) {
		owner, ok := speakerListeners[port]
		return owner, ok
	}
	return "", false
}

package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/metalk8s/metalk8s/components/topology"
)

// Limits and fixed facts the validation enforces.
const (
	// MaxWorkers bounds the worker count: one kubeadm controller without HA is not sized beyond it,
	// and a typo such as 2000 instead of 20 should not order two thousand servers.
	MaxWorkers = 1000
	// TorASN is the ASN of Equinix Metal's top-of-rack routers; the project may not use it.
	TorASN = 65530
	// MinKubernetesMinor is the oldest minor that reads kubeadm.k8s.io/v1beta4 configuration.
	MinKubernetesMinor = 31
	// maxBlockQuantity is the largest elastic block this program reserves (a /24).
	maxBlockQuantity = 256
)

var (
	metroPattern   = regexp.MustCompile(`^[a-z]{2}$`)
	planPattern    = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9_-]+)+$`)
	namePattern    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$`)
	versionPattern = regexp.MustCompile(`^1\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$`)
	uuidPattern    = regexp.MustCompile(`(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	dnsPattern     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

	// Node preparation installs packages with apt from pkgs.k8s.io, so only Ubuntu images qualify.
	supportedOS = []string{"ubuntu_22_04", "ubuntu_24_04"}

	// Networks the node addresses live in: Metal's private addresses come from 10.0.0.0/8, and the
	// newer sites' top-of-rack peers are link-local. Pod or service ranges there would shadow them.
	reservedNetworks = []struct {
		prefix    netip.Prefix
		why       string
		metalOnly bool
	}{
		{netip.MustParsePrefix("10.0.0.0/8"), "Equinix Metal's private network", true},
		{netip.MustParsePrefix("169.254.0.0/16"), "the link-local top-of-rack peers", false},
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback", false},
	}
)

// Validate returns every problem of a defaulted configuration, or nil.
func (c *Cluster) Validate() Errors {
	var v collector
	if c.Servers != nil {
		for _, k := range c.metalKeysSet() {
			v.add(k, nil, "is an Equinix Metal key, and %s.servers chooses the servers mode, which takes none: remove one of the two", Key)
		}
		owned := c.validateServers(&v)
		c.validateKubernetes(&v)
		c.validateNodeNetworks(&v, owned)
		c.validateKubeadm(&v)
		c.validateAPIServer(&v)
		c.validateBGP(&v)
		c.validateLoadBalancer(&v)
		c.validateServerPools(&v, owned)
		return v.errs
	}
	c.validateProject(&v)
	c.validateMachines(&v)
	c.validateKubernetes(&v)
	c.validateKubeadm(&v)
	c.validateAPIServer(&v)
	c.validateBGP(&v)
	c.validateElasticIPs(&v)
	c.validateSSH(&v)
	c.validateLoadBalancer(&v)
	c.validateMetal(&v)
	return v.errs
}

func (c *Cluster) validateProject(v *collector) {
	p := c.Project
	switch {
	case p.ID != "":
		if !uuidPattern.MatchString(p.ID) {
			v.add("project.id", p.ID, "must be a project UUID")
		}
		if p.OrganizationID != "" || p.Name != "" {
			v.add("project.id", p.ID, "set either project.id (use an existing project) or project.name and project.organizationId (create one), not both")
		}
	case p.OrganizationID == "":
		v.add("project.organizationId", nil, "required when project.id is not set: the organisation that will own the new project")
	case !uuidPattern.MatchString(p.OrganizationID):
		v.add("project.organizationId", p.OrganizationID, "must be an organisation UUID")
	}
	if p.ID == "" && strings.TrimSpace(p.Name) != p.Name {
		v.add("project.name", p.Name, "must have no leading or trailing spaces")
	}
}

func (c *Cluster) validateMachines(v *collector) {
	if !metroPattern.MatchString(c.Metro) {
		v.add("metro", c.Metro, "must be a two-letter Equinix Metal metro code such as sv, da or ny")
	}
	if !slices.Contains(supportedOS, c.OperatingSystem) {
		v.add("operatingSystem", c.OperatingSystem, "must be one of %s (node preparation uses Ubuntu's apt)", strings.Join(supportedOS, ", "))
	}
	if c.BillingCycle != "hourly" && c.BillingCycle != "monthly" {
		v.add("billingCycle", c.BillingCycle, "must be hourly or monthly")
	}
	if !planPattern.MatchString(c.Controller.Plan) {
		v.add("controller.plan", c.Controller.Plan, "must be a Metal plan slug such as c3.small.x86")
	}
	if n := *c.Controller.Count; n != 1 && n != 3 && n != 5 {
		v.add("controller.count", n, "must be 1, 3 or 5: etcd needs an odd number of members")
	}
	if !planPattern.MatchString(c.Workers.Plan) {
		v.add("workers.plan", c.Workers.Plan, "must be a Metal plan slug such as c3.small.x86")
	}
	if n := *c.Workers.Count; n < 0 || n > MaxWorkers {
		v.add("workers.count", n, "must be between 0 and %d", MaxWorkers)
	}
}

func (c *Cluster) validateKubernetes(v *collector) {
	k := c.Kubernetes
	if m := versionPattern.FindStringSubmatch(k.Version); m == nil {
		v.add("kubernetes.version", k.Version, "must be an exact release MAJOR.MINOR.PATCH such as %s (no leading v)", DefaultKubernetesVersion)
	} else if minor, _ := strconv.Atoi(m[1]); minor < MinKubernetesMinor {
		v.add("kubernetes.version", k.Version, "must be 1.%d or newer (kubeadm configuration v1beta4)", MinKubernetesMinor)
	}
	if k.UpgradeParallelism < 1 || k.UpgradeParallelism > MaxWorkers {
		v.add("kubernetes.upgradeParallelism", k.UpgradeParallelism, "must be between 1 and %d", MaxWorkers)
	}
	if k.APIPort < 1 || k.APIPort > 65535 {
		v.add("kubernetes.apiPort", k.APIPort, "must be a TCP port, 1 to 65535")
	} else if owner, taken := c.controllerListener(k.APIPort); taken {
		v.add("kubernetes.apiPort", k.APIPort, "is used by %s on the controller", owner)
	} else if k.APIPort >= nodePortMin && k.APIPort <= nodePortMax {
		// kube-proxy opens NodePorts on the controller's private address, where the kubelets reach
		// the API server: a service could take its port.
		v.add("kubernetes.apiPort", k.APIPort, "is in the NodePort range %d-%d", nodePortMin, nodePortMax)
	}
	// kubeadm's leaf certificates live 365 days: at 365 or more every run would renew them.
	if k.CertRenewalDays < 1 || k.CertRenewalDays > 364 {
		v.add("kubernetes.certRenewalDays", k.CertRenewalDays, "must be 1 to 364 (kubeadm's certificates live 365 days)")
	}
	if !dnsPattern.MatchString(k.DNSDomain) || len(k.DNSDomain) > 253 {
		v.add("kubernetes.dnsDomain", k.DNSDomain, "must be a lower-case DNS domain such as cluster.local")
	}
	pod, podOK := parseCIDR(v, "kubernetes.podCidr", k.PodCIDR)
	svc, svcOK := parseCIDR(v, "kubernetes.serviceCidr", k.ServiceCIDR)
	if podOK && svcOK && pod.Overlaps(svc) {
		v.add("kubernetes.serviceCidr", k.ServiceCIDR, "overlaps kubernetes.podCidr %s", k.PodCIDR)
	}
	for _, r := range []struct {
		key    string
		prefix netip.Prefix
		ok     bool
	}{{"kubernetes.podCidr", pod, podOK}, {"kubernetes.serviceCidr", svc, svcOK}} {
		if !r.ok {
			continue
		}
		for _, n := range reservedNetworks {
			if c.Servers != nil && n.metalOnly {
				continue
			}
			if r.prefix.Overlaps(n.prefix) {
				v.add(r.key, r.prefix.String(), "overlaps %s %s", n.why, n.prefix)
			}
		}
	}
}

func (c *Cluster) validateAPIServer(v *collector) {
	a := c.APIServer
	switch {
	case a.PrivateOnly && len(a.AllowedCIDRs) > 0:
		v.add("apiServer", nil, "set either apiServer.allowedCidrs or apiServer.privateOnly, not both")
	case !a.PrivateOnly && len(a.AllowedCIDRs) == 0:
		v.add("apiServer", nil, "choose how Pulumi reaches the API server: apiServer.allowedCidrs lists the "+
			"sources allowed on the controller's public address (for example your own address/32), or "+
			"apiServer.privateOnly: true when Pulumi runs inside the servers' private network")
	}
	for i, cidr := range a.AllowedCIDRs {
		parseCIDR(v, fmt.Sprintf("apiServer.allowedCidrs[%d]", i), cidr)
	}
}

// The default NodePort range of kube-apiserver (--service-node-port-range).
const (
	nodePortMin = 30000
	nodePortMax = 32767
)

func (c *Cluster) validateBGP(v *collector) {
	asn, asnKey := c.LocalASN(), "bgp.asn"
	if c.Servers != nil {
		asnKey = "servers.asn"
	}
	switch {
	case c.Servers != nil:
		// validateServers checks servers.asn; the routers' ASN is the user's.
	case !privateASN(asn):
		v.add("bgp.asn", asn, "must be a private ASN, %d-%d on Equinix Metal", MinMetalASN, MaxMetalASN)
	case asn == TorASN:
		v.add("bgp.asn", asn, "is the top-of-rack routers' ASN; the nodes need their own")
	}
	switch m := *c.MetalLB.ASN; {
	case !privateASN(m):
		v.add("metallb.asn", m, "must be a private ASN: 64512-65534 or 4200000000-4294967294")
	case m == TorASN && c.Servers == nil:
		v.add("metallb.asn", m, "is the top-of-rack routers' ASN")
	case m == asn:
		v.add("metallb.asn", m, "equals %s: the speakers' session with the node's BIRD must be eBGP", asnKey)
	}
}

// checkName checks a name that names resources and must be unique among its kind, and records it.
func checkName(v *collector, key, name string, seen map[string]bool, kind string) {
	switch {
	case !namePattern.MatchString(name):
		v.add(key, name, "must be 1 to 40 lower-case letters, digits or '-', starting and ending with a letter or digit")
	case seen[name]:
		v.add(key, name, "is used by another %s", kind)
	}
	seen[name] = true
}

// privateASN reports whether asn is in the 16-bit or 32-bit private ranges (RFC 6996).
func privateASN(asn int64) bool {
	return (asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294)
}

func (c *Cluster) validateElasticIPs(v *collector) {
	seen := map[string]bool{}
	for i, b := range c.ElasticIPs {
		at := fmt.Sprintf("elasticIps[%d]", i)
		checkName(v, at+".name", b.Name, seen, "elastic IP block")
		switch b.Type {
		case "public_ipv4":
			if b.Metro != "" && b.Metro != c.Metro {
				v.add(at+".metro", b.Metro, "must be empty or the cluster's metro %q: the nodes can only announce public addresses of their own metro", c.Metro)
			}
		case "global_ipv4":
			if b.Metro != "" {
				v.add(at+".metro", b.Metro, "must be empty for a global_ipv4 block (global addresses belong to no metro)")
			}
		default:
			v.add(at+".type", b.Type, "must be public_ipv4 or global_ipv4")
		}
		if b.Quantity < 1 || b.Quantity > maxBlockQuantity || b.Quantity&(b.Quantity-1) != 0 {
			v.add(at+".quantity", b.Quantity, "must be a power of two from 1 to %d", maxBlockQuantity)
		}
	}
}

func (c *Cluster) validateSSH(v *collector) {
	if c.SSH.PrivateKey != "" {
		checkPrivateKey(v, "ssh.privateKey", c.SSH.PrivateKey)
	}
}

// checkPrivateKey refuses what Pulumi cannot log in with; the key itself is never shown.
func checkPrivateKey(v *collector, key, pem string) {
	if _, err := ssh.ParseRawPrivateKey([]byte(pem)); err != nil {
		detail := "must be an unencrypted OpenSSH or PEM private key"
		if _, ok := err.(*ssh.PassphraseMissingError); ok {
			detail = "is protected by a passphrase; Pulumi needs an unencrypted key (kept as a secret)"
		}
		v.add(key, redacted, "%s", detail)
	}
}

// parseCIDR parses an IPv4 network written in canonical form (no host bits set).
func parseCIDR(v *collector, key, s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil || !p.Addr().Is4():
		v.add(key, s, "must be an IPv4 CIDR such as 172.16.0.0/12")
		return p, false
	case p != p.Masked():
		v.add(key, s, "has host bits set; the network is %s", p.Masked())
		return p, false
	}
	return p, true
}

// nonUnicast are the IPv4 ranges a LoadBalancer pool may not touch: "this network", loopback,
// link-local (the newer sites' routers live there), multicast and the reserved class E.
var nonUnicast = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"), netip.MustParsePrefix("240.0.0.0/4"),
}

// overlapsNonUnicast names the first non-unicast range p overlaps, if any. It compares whole
// ranges, not p's first address: 169.0.0.0/8 contains the link-local routers.
func overlapsNonUnicast(p netip.Prefix) (netip.Prefix, bool) {
	for _, n := range nonUnicast {
		if p.Overlaps(n) {
			return n, true
		}
	}
	return netip.Prefix{}, false
}

func (c *Cluster) validateLoadBalancer(v *collector) {
	lb := c.LoadBalancer
	if lb.Mode != string(topology.ModeCalico) && lb.Mode != string(topology.ModeBirdLocalPeer) {
		v.add("loadBalancer.mode", lb.Mode, "must be %s (Calico announces the ranges) or %s (MetalLB speakers peer with the node's BIRD)", topology.ModeCalico, topology.ModeBirdLocalPeer)
	}
	c.validateComponentVersions(v)
	blocks := map[string]bool{}
	for _, b := range c.ElasticIPs {
		blocks[b.Name] = true
	}
	// Ranges that pool addresses must not overlap: each other, the pod and the service network.
	type taken struct {
		key    string
		prefix netip.Prefix
	}
	var ranges []taken
	for _, k := range []struct{ key, cidr string }{{"kubernetes.podCidr", c.Kubernetes.PodCIDR}, {"kubernetes.serviceCidr", c.Kubernetes.ServiceCIDR}} {
		if p, err := netip.ParsePrefix(k.cidr); err == nil {
			ranges = append(ranges, taken{k.key, p.Masked()})
		}
	}
	names := map[string]bool{}
	usedBlocks := map[string]string{}
	for i, p := range lb.Pools {
		at := fmt.Sprintf("loadBalancer.pools[%d]", i)
		checkName(v, at+".name", p.Name, names, "pool")
		switch {
		case p.ElasticIP != "" && c.Servers != nil:
			v.add(at+".elasticIp", p.ElasticIP, "the servers mode has no elastic IP blocks: give the pool's ranges as cidrs")
		case c.Servers != nil && len(p.CIDRs) == 0:
			v.add(at+".cidrs", nil, "required: the ranges (your own or routed to you by your provider) the pool hands out")
		case p.ElasticIP != "" && len(p.CIDRs) > 0:
			v.add(at, nil, "set elasticIp or cidrs, not both")
		case p.ElasticIP == "" && len(p.CIDRs) == 0:
			v.add(at, nil, "set elasticIp (a block of elasticIps) or cidrs (private ranges)")
		case p.ElasticIP != "" && !blocks[p.ElasticIP]:
			v.add(at+".elasticIp", p.ElasticIP, "names no block of elasticIps")
		case p.ElasticIP != "" && usedBlocks[p.ElasticIP] != "":
			v.add(at+".elasticIp", p.ElasticIP, "is already the pool %s", usedBlocks[p.ElasticIP])
		}
		if p.ElasticIP != "" {
			usedBlocks[p.ElasticIP] = p.Name
		}
		for j, cidr := range p.CIDRs {
			key := fmt.Sprintf("%s.cidrs[%d]", at, j)
			prefix, ok := parseCIDR(v, key, cidr)
			if !ok {
				continue
			}
			if n, bad := overlapsNonUnicast(prefix); bad {
				v.add(key, cidr, "overlaps %s, which no service can be reached on", n)
				continue
			}
			for _, r := range ranges {
				if prefix.Overlaps(r.prefix) {
					v.add(key, cidr, "overlaps %s %s", r.key, r.prefix)
				}
			}
			ranges = append(ranges, taken{key, prefix})
		}
	}
	// The speakers run on the workers: without one, nothing would announce the pools.
	if lb.Mode == string(topology.ModeBirdLocalPeer) && c.WorkerCount() == 0 {
		workers := "workers.count"
		if c.Servers != nil {
			workers = "servers.workers"
		}
		v.add("loadBalancer.mode", lb.Mode, "needs at least one worker (%s), where MetalLB's speakers run; use calico on a one-node cluster", workers)
	}
	if c.Ingress.Enabled {
		if c.Ingress.Pool == "" {
			v.add("ingress.pool", nil, "required when ingress.enabled: the pool the ingress service takes its address from")
		} else if !names[c.Ingress.Pool] {
			v.add("ingress.pool", c.Ingress.Pool, "names no pool of loadBalancer.pools")
		}
	} else if c.Ingress.Pool != "" && !names[c.Ingress.Pool] {
		v.add("ingress.pool", c.Ingress.Pool, "names no pool of loadBalancer.pools")
	}
}

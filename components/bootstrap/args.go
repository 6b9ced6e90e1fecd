package bootstrap

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Defaults applied to empty Args fields. They are the guide's values.
const (
	DefaultAPIPort     = 6443
	DefaultPodCIDR     = "172.16.0.0/12"
	DefaultServiceCIDR = "192.168.0.0/16"
	// DefaultDNSServiceIP is DNSServiceIP(DefaultServiceCIDR).
	DefaultDNSServiceIP = "192.168.0.10"
	DefaultDNSDomain    = "cluster.local"
	DefaultSSHUser      = "root"
	// DefaultSSHPort is the port Pulumi dials on a host or a bastion that names none.
	DefaultSSHPort = 22
	// DefaultTokenTTLMinutes is how long a worker's join token stays valid after its token step
	// made it, unless the worker's registration deletes it first.
	DefaultTokenTTLMinutes = 60
	// DefaultCertRenewalDays is how many days before a kubeadm certificate expires it is renewed.
	DefaultCertRenewalDays = 30
	// certLifeDays is the life of kubeadm's leaf certificates (kubeadm's CertificateValidityPeriod).
	certLifeDays = 365
)

// Host is one server reachable over SSH. Bootstrap knows nothing of where it runs.
type Host struct {
	// Name is the hostname and Kubernetes node name (required, plain: it names resources).
	Name string
	// SSHAddress is where Pulumi connects (required): directly, or from the bastion when
	// BootstrapArgs.Bastion is set.
	SSHAddress pulumi.StringInput
	// SSHPort is the port sshd listens on at SSHAddress, 1-65535. Default DefaultSSHPort.
	SSHPort int
	// PrivateIPv4 is the address Kubernetes binds to and advertises (required).
	PrivateIPv4 pulumi.StringInput
	// PublicIPv4 is the host's public address, which the host firewall closes to all but SSH (and
	// the API server's allowed sources on the controller). Optional: nil is a host without one,
	// whose IPv4 traffic the firewall leaves alone. The controller needs one unless
	// APIAccess.PrivateOnly: the kubeconfig uses it.
	PublicIPv4 pulumi.StringInput
	// ID identifies the machine: it changes when the machine is replaced (a device ID). Optional;
	// without it SSHAddress stands in. Every step on or for the host is replaced with the machine:
	// preparation and join run again on the new one, it gets a new join token of its own, and the
	// old node is drained, deleted and reset first if the old machine is deleted before its
	// replacement is created (a worker keeps its name, so it should be: DeleteBeforeReplace).
	ID pulumi.StringInput
	// DependsOn are resources the host's first step waits for (the machine itself).
	DependsOn []pulumi.Resource
	// Labels are node labels the kubelet registers the node with (outside the kubernetes.io and
	// k8s.io prefixes, which the NodeRestriction admission plugin reserves).
	Labels map[string]string
}

// KubernetesArgs are the cluster-wide Kubernetes settings.
type KubernetesArgs struct {
	// Version is the exact release, MAJOR.MINOR.PATCH without a leading v (required).
	Version string
	// APIPort is the API server's port. Default DefaultAPIPort.
	APIPort int
	// PodCIDR is the pod network. Default DefaultPodCIDR.
	PodCIDR string
	// ServiceCIDR is the service network. Default DefaultServiceCIDR.
	ServiceCIDR string
	// DNSServiceIP is the cluster DNS service address the kubelets are given. kubeadm always puts
	// CoreDNS's Service at DNSServiceIP(ServiceCIDR), the 10th address after the network address,
	// so that is the default and the only value accepted.
	DNSServiceIP string
	// DNSDomain is the cluster domain. Default DefaultDNSDomain.
	DNSDomain string
	// UpgradeParallelism is how many workers a change of Version drains and upgrades at once,
	// after the control plane. Default DefaultUpgradeParallelism.
	UpgradeParallelism int
	// CertRenewalDays renews the admin kubeconfig's client certificate (at the next pulumi up)
	// and kubeadm's certificates (daily on the controller, and at that pulumi up) once fewer days
	// are left. 1 to 364: they live 365 days. Default DefaultCertRenewalDays.
	CertRenewalDays int
}

// APIAccess says how Pulumi (and people) reach the API server. Exactly one of the two is set.
type APIAccess struct {
	// AllowedCIDRs may reach the API server on the controller's public address; nobody else may.
	// The kubeconfig uses the public address.
	AllowedCIDRs []string
	// PrivateOnly keeps the API server off the public address: Pulumi must run inside the private
	// network. The kubeconfig and SSH use the private addresses.
	PrivateOnly bool
}

// BootstrapArgs configure a Bootstrap.
type BootstrapArgs struct {
	// Controller is the single control-plane host (required).
	Controller Host
	// Controllers are the control-plane hosts after Controller: none (one controller), 2 or 4
	// (three or five, stacked etcd). They join with kubeadm join --control-plane one after another,
	// once Controller is initialised, in parallel with the workers' joins; they need APIAddress.
	Controllers []Host
	// Workers join the cluster in parallel.
	Workers []Host
	// APIAddress is the control plane's stable IPv4 address (without a prefix length), which the
	// exported kubeconfig uses and the API server certificates name. Bootstrap does not make it
	// reach a controller: the caller routes it to the controllers whose API servers are ready.
	// With it, kubeadm's controlPlaneEndpoint is APIName, which each node maps in /etc/hosts (see
	// APIName), and Pulumi's Kubernetes provider talks to Controller directly. Required with
	// Controllers; with one controller it makes a cluster that can take more later. Nil: the
	// control plane is Controller's private address (one controller only).
	APIAddress pulumi.StringInput
	// Kubernetes holds the cluster settings.
	Kubernetes KubernetesArgs
	// APIAccess chooses between a public, allow-listed API server and a private one (required).
	APIAccess APIAccess
	// SSHUser Pulumi logs in as. Default DefaultSSHUser.
	SSHUser string
	// SSHPrivateKey authenticates Pulumi on every host (required, kept secret).
	SSHPrivateKey pulumi.StringInput
	// Bastion is the jump host Pulumi reaches every host through. Nil: Pulumi dials each host's
	// SSHAddress directly.
	Bastion *Bastion
	// TokenTTLMinutes is the lifetime of the join token each worker's token step makes, counted
	// from that step; the worker's registration deletes the token once the node is registered.
	// Default DefaultTokenTTLMinutes.
	TokenTTLMinutes int
	// PodBlocked are IPv4 CIDRs pods may not reach, such as a provider's metadata service.
	PodBlocked []string
}

// Bastion is an SSH jump host: Pulumi logs in to it, then opens a TCP connection from it to each
// host's SSHAddress and SSHPort and runs SSH to the host over that connection (as `ssh -J` does).
// The bastion must allow TCP forwarding; it runs nothing of the cluster's.
type Bastion struct {
	// Address is the bastion's address as Pulumi reaches it: an IP address or a DNS name
	// (required).
	Address string
	// Port is the port the bastion's sshd listens on, 1-65535. Default DefaultSSHPort.
	Port int
	// User Pulumi logs in to the bastion as. Default: BootstrapArgs.SSHUser (after its own
	// default, DefaultSSHUser).
	User string
	// PrivateKey authenticates Pulumi on the bastion (kept secret). Default:
	// BootstrapArgs.SSHPrivateKey.
	PrivateKey pulumi.StringInput
}

var versionRE = regexp.MustCompile(`^1\.(\d+)\.(\d+)$`)

// withDefaults returns a copy with every empty field defaulted.
func (a BootstrapArgs) withDefaults() BootstrapArgs {
	k := &a.Kubernetes
	if k.APIPort == 0 {
		k.APIPort = DefaultAPIPort
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&k.PodCIDR, DefaultPodCIDR)
	def(&k.ServiceCIDR, DefaultServiceCIDR)
	if dns, err := DNSServiceIP(k.ServiceCIDR); err == nil {
		def(&k.DNSServiceIP, dns) // else Validate reports the service range
	}
	def(&k.DNSDomain, DefaultDNSDomain)
	if k.UpgradeParallelism == 0 {
		k.UpgradeParallelism = DefaultUpgradeParallelism
	}
	if k.CertRenewalDays == 0 {
		k.CertRenewalDays = DefaultCertRenewalDays
	}
	def(&a.SSHUser, DefaultSSHUser)
	port := func(p *int) {
		if *p == 0 {
			*p = DefaultSSHPort
		}
	}
	port(&a.Controller.SSHPort)
	// The caller's slices stay as they were.
	a.Controllers = append([]Host(nil), a.Controllers...)
	for i := range a.Controllers {
		port(&a.Controllers[i].SSHPort)
	}
	a.Workers = append([]Host(nil), a.Workers...)
	for i := range a.Workers {
		port(&a.Workers[i].SSHPort)
	}
	if a.Bastion != nil {
		b := *a.Bastion
		port(&b.Port)
		def(&b.User, a.SSHUser)
		if b.PrivateKey == nil {
			b.PrivateKey = a.SSHPrivateKey
		}
		a.Bastion = &b
	}
	if a.TokenTTLMinutes == 0 {
		a.TokenTTLMinutes = DefaultTokenTTLMinutes
	}
	return a
}

// validate reports every problem of defaulted args at once.
func (a BootstrapArgs) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	hosts := append(append([]Host{a.Controller}, a.Controllers...), a.Workers...)
	seen := map[string]bool{}
	for i, h := range hosts {
		label := "Controller"
		switch k := len(a.Controllers); {
		case i > k:
			label = fmt.Sprintf("Workers[%d]", i-k-1)
		case i > 0:
			label = fmt.Sprintf("Controllers[%d]", i-1)
		}
		switch {
		case h.Name == "" || seen[h.Name]:
			add("%s.Name %q: must be set and unique", label, h.Name)
		case !validNodeName(h.Name):
			add("%s.Name %q: must be a Kubernetes node name (lower-case letters, digits, '-' and '.')", label, h.Name)
		}
		seen[h.Name] = true
		if h.SSHAddress == nil || h.PrivateIPv4 == nil {
			add("%s: SSHAddress and PrivateIPv4 are required", label)
		}
		if !validPort(h.SSHPort) {
			add("%s.SSHPort %d: must be between 1 and 65535", label, h.SSHPort)
		}
	}
	if b := a.Bastion; b != nil {
		if !validAddress(b.Address) {
			add("Bastion.Address %q: must be an IP address or a DNS name", b.Address)
		}
		if !validPort(b.Port) {
			add("Bastion.Port %d: must be between 1 and 65535", b.Port)
		}
		if b.PrivateKey == nil {
			add("Bastion.PrivateKey is required (it defaults to SSHPrivateKey)")
		}
	}
	switch n := len(a.Controllers); {
	case n != 0 && n != 2 && n != 4:
		add("Controllers: %d of them make %d controllers; etcd needs an odd number: 1, 3 or 5 in all (0, 2 or 4 here)", n, n+1)
	case n > 0 && a.APIAddress == nil:
		add("APIAddress is required with Controllers: the controllers share it")
	}
	if a.Controller.PublicIPv4 == nil && !a.APIAccess.PrivateOnly {
		add("Controller.PublicIPv4 is required unless APIAccess.PrivateOnly: the API server's allowed sources reach it there")
	}
	if err := a.Kubernetes.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := a.APIAccess.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, c := range a.PodBlocked {
		if p, err := netip.ParsePrefix(c); err != nil || !p.Addr().Is4() {
			add("PodBlocked %q: must be an IPv4 CIDR", c)
		}
	}
	if a.SSHPrivateKey == nil {
		add("SSHPrivateKey is required")
	}
	if a.TokenTTLMinutes < 1 {
		add("TokenTTLMinutes %d: must be 1 or more (0 is the default, %d)", a.TokenTTLMinutes, DefaultTokenTTLMinutes)
	}
	return errors.Join(errs...)
}

// validPort reports whether p is a TCP port one can dial.
func validPort(p int) bool { return p >= 1 && p <= 65535 }

// dnsNameRE is a DNS name: dot-separated labels of letters, digits and inner hyphens.
var dnsNameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$`)

// validAddress reports whether addr is an IP address (without a port or zone) or a DNS name.
func validAddress(addr string) bool {
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.Zone() == ""
	}
	// A name of digits and dots only is a mistyped IPv4 address: no top-level domain is numeric.
	numeric := strings.Trim(addr, "0123456789.") == ""
	return len(addr) <= 253 && dnsNameRE.MatchString(addr) && !numeric
}

// Validate reports every problem of defaulted Kubernetes settings. Callers that create machines
// first (MetalCluster) run it before anything is registered.
func (k KubernetesArgs) Validate() error {
	var errs []error
	if !versionRE.MatchString(k.Version) {
		errs = append(errs, fmt.Errorf("Kubernetes.Version %q: must be MAJOR.MINOR.PATCH such as 1.37.2", k.Version))
	}
	for _, n := range []struct {
		name, cidr string
		problem    func(netip.Prefix) string
	}{{"Kubernetes.PodCIDR", k.PodCIDR, PodCIDRProblem}, {"Kubernetes.ServiceCIDR", k.ServiceCIDR, ServiceCIDRProblem}} {
		if n.cidr == "" {
			continue // defaulted by Bootstrap
		}
		p, err := netip.ParsePrefix(n.cidr)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %q: %v", n.name, n.cidr, err))
		case !p.Addr().Is4():
			errs = append(errs, fmt.Errorf("%s %q: must be an IPv4 CIDR", n.name, n.cidr))
		case n.problem(p) != "":
			errs = append(errs, fmt.Errorf("%s %q: %s", n.name, n.cidr, n.problem(p)))
		}
	}
	if err := k.validateDNSServiceIP(); err != nil {
		errs = append(errs, err)
	}
	if k.UpgradeParallelism < 0 {
		errs = append(errs, fmt.Errorf("Kubernetes.UpgradeParallelism %d: must be 1 or more (0 is the default, %d)", k.UpgradeParallelism, DefaultUpgradeParallelism))
	}
	// 0 is defaulted by Bootstrap. At 365 days or more every run would renew.
	if d := k.CertRenewalDays; d < 0 || d >= certLifeDays {
		errs = append(errs, fmt.Errorf("Kubernetes.CertRenewalDays %d: must be 1 to %d (kubeadm's certificates live %d days)", d, certLifeDays-1, certLifeDays))
	}
	return errors.Join(errs...)
}

// validateDNSServiceIP refuses a DNS address other than the one kubeadm gives CoreDNS.
func (k KubernetesArgs) validateDNSServiceIP() error {
	svc := k.ServiceCIDR
	if svc == "" {
		svc = DefaultServiceCIDR
	}
	want, err := DNSServiceIP(svc)
	switch {
	case err != nil:
		return nil // Validate reports the service range
	case k.DNSServiceIP != "" && k.DNSServiceIP != want:
		return fmt.Errorf("Kubernetes.DNSServiceIP %q: kubeadm puts CoreDNS's Service at %s, the 10th address of the service range %s; leave it empty or set that", k.DNSServiceIP, want, svc)
	}
	return nil
}

// Validate reports a missing or contradictory choice of API server access.
func (acc APIAccess) Validate() error {
	var errs []error
	switch {
	case acc.PrivateOnly && len(acc.AllowedCIDRs) > 0:
		errs = append(errs, errors.New("APIAccess: set AllowedCIDRs or PrivateOnly, not both"))
	case !acc.PrivateOnly && len(acc.AllowedCIDRs) == 0:
		errs = append(errs, errors.New("APIAccess: choose AllowedCIDRs (public API server, allow-listed) or PrivateOnly (Pulumi runs in the private network)"))
	}
	for _, c := range acc.AllowedCIDRs {
		if p, err := netip.ParsePrefix(c); err != nil || !p.Addr().Is4() {
			errs = append(errs, fmt.Errorf("APIAccess.AllowedCIDRs %q: must be an IPv4 CIDR", c))
		}
	}
	return errors.Join(errs...)
}

package servercluster

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/bootstrap"
)

// Defaults applied to empty Args fields.
const (
	// DefaultLocalASN is the nodes' ASN when none is given, a 2-byte private ASN (RFC 6996).
	DefaultLocalASN = 65000
	// DefaultSSHPort is sshd's port.
	DefaultSSHPort = 22
	// MaxMD5Length is the longest TCP MD5 key Linux accepts (TCP_MD5SIG_MAXKEYLEN in
	// include/uapi/linux/tcp.h), which BIRD hands to the kernel as it is.
	MaxMD5Length = 80
)

// ServerClusterArgs configure a ServerCluster: servers that exist, reachable over SSH, each with
// the BGP routers it peers with.
type ServerClusterArgs struct {
	// Controller is the control-plane server that initialises the cluster (required).
	Controller Server
	// Controllers are the further control-plane servers: none, 2 or 4 (1, 3 or 5 controllers).
	// They join one after another once Controller is initialised, beside the workers, and need
	// APIAddress.
	Controllers []Server
	// APIAddress is the control plane's stable IPv4 address (bootstrap.BootstrapArgs.APIAddress):
	// the exported kubeconfig's server. Required with Controllers; with one controller it makes a
	// cluster that can take more later. Empty: none.
	APIAddress string
	// Workers join the cluster in parallel; none is a one-node cluster.
	Workers []Server
	// LocalASN is the ASN every node announces from. Default DefaultLocalASN.
	LocalASN int
	// Peers are the routers of every server that lists none of its own (a rack's router pair, a
	// provider's link-local route servers).
	Peers []Peer
	// SSHUser Pulumi logs in as; anyone but root runs the steps with sudo, which must not ask
	// for a password. Default bootstrap.DefaultSSHUser.
	SSHUser string
	// SSHPrivateKey every server (and the bastion, unless it has its own) trusts (required, kept
	// secret).
	SSHPrivateKey pulumi.StringInput
	// Bastion is the jump host Pulumi reaches the servers through; nil connects directly.
	Bastion *bootstrap.Bastion
	// Kubernetes are the settings of the kubeadm bootstrap (Version is required).
	Kubernetes bootstrap.KubernetesArgs
	// APIAccess chooses how Pulumi reaches the API server: an allow-list on the controller's
	// public address (the controller then needs PublicIPv4), or the private network only.
	APIAccess bootstrap.APIAccess
	// WorkerLabels are node labels every worker registers with.
	WorkerLabels map[string]string
	// PodBlocked are IPv4 CIDRs pods may not reach (a provider's metadata service, say).
	PodBlocked []string
}

// Server is one machine of the cluster. Addresses are plain: the user knows them before anything
// runs, and they name nothing that a cloud hands out.
type Server struct {
	// Name is the hostname and Kubernetes node name (required).
	Name string
	// ID identifies the machine, such as its serial number. Optional: without it SSHAddress
	// stands in. A changed ID is a replaced machine: its steps are deleted (a worker is drained,
	// deleted and reset) and run again.
	ID string
	// SSHAddress is where Pulumi connects (required): an address or a DNS name.
	SSHAddress string
	// SSHPort is sshd's port there. Default DefaultSSHPort.
	SSHPort int
	// PrivateIPv4 is the node IP Kubernetes binds to and the source of its BGP sessions (required).
	PrivateIPv4 string
	// PublicIPv4 is the server's public address, which the host firewall closes to all but SSH
	// (and the API server's allowed sources on the controller). Optional.
	PublicIPv4 string
	// Gateway is the next hop towards the multihop peers (Calico's reachableBy); required when
	// one of the server's peers is Multihop.
	Gateway string
	// Peers are the server's own routers; nil takes ServerClusterArgs.Peers.
	Peers []Peer
}

// Peer is one BGP router a node peers with.
type Peer struct {
	// Address is the router's IPv4 address (required).
	Address string
	// ASN is the router's ASN (required).
	ASN int
	// MD5Password protects the session; optional, kept secret.
	MD5Password pulumi.StringInput
	// Multihop says the router is not on the node's link: it is reached through the server's
	// Gateway (a link-local route server such as 169.254.1.1). False is a directly connected
	// router.
	Multihop bool
}

var nodeNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// withDefaults returns a copy of the args with every empty field defaulted.
func (a ServerClusterArgs) withDefaults() ServerClusterArgs {
	if a.LocalASN == 0 {
		a.LocalASN = DefaultLocalASN
	}
	if a.SSHUser == "" {
		a.SSHUser = bootstrap.DefaultSSHUser
	}
	def := func(s *Server) {
		if s.SSHPort == 0 {
			s.SSHPort = DefaultSSHPort
		}
		if s.Peers == nil {
			s.Peers = a.Peers
		}
	}
	def(&a.Controller)
	a.Controllers = append([]Server(nil), a.Controllers...)
	for i := range a.Controllers {
		def(&a.Controllers[i])
	}
	a.Workers = append([]Server(nil), a.Workers...)
	for i := range a.Workers {
		def(&a.Workers[i])
	}
	return a
}

// servers are the controllers and the workers with the labels their errors carry.
func (a ServerClusterArgs) servers() ([]Server, []string) {
	all := append(append([]Server{a.Controller}, a.Controllers...), a.Workers...)
	labels := []string{"Controller"}
	for i := range a.Controllers {
		labels = append(labels, fmt.Sprintf("Controllers[%d]", i))
	}
	for i := range a.Workers {
		labels = append(labels, fmt.Sprintf("Workers[%d]", i))
	}
	return all, labels
}

// validate reports every problem of defaulted args at once. The stack configuration is checked
// with its keys' names before it becomes Args; this guards library callers.
func (a ServerClusterArgs) validate() error {
	var errs []error
	add := func(format string, v ...any) { errs = append(errs, fmt.Errorf(format, v...)) }
	if !ValidASN(a.LocalASN) {
		add("LocalASN %d: must be an ASN from 1 to 4294967294, not 23456 (AS_TRANS), 65535 or a documentation ASN", a.LocalASN)
	}
	if a.SSHPrivateKey == nil {
		add("SSHPrivateKey is required")
	}
	servers, labels := a.servers()
	names, addrs := map[string]string{}, map[netip.Addr]string{}
	for i, s := range servers {
		at := labels[i]
		switch {
		case !nodeNamePattern.MatchString(s.Name) || len(s.Name) > 63:
			add("%s.Name %q: must be a Kubernetes node name (lower-case letters, digits, '-' and '.')", at, s.Name)
		case names[s.Name] != "":
			add("%s.Name %q: is also %s's", at, s.Name, names[s.Name])
		}
		names[s.Name] = at
		if s.SSHAddress == "" {
			add("%s.SSHAddress is required", at)
		}
		if s.SSHPort < 1 || s.SSHPort > 65535 {
			add("%s.SSHPort %d: must be a TCP port, 1 to 65535", at, s.SSHPort)
		}
		for _, f := range []struct {
			field, value string
			required     bool
		}{{"PrivateIPv4", s.PrivateIPv4, true}, {"PublicIPv4", s.PublicIPv4, false}, {"Gateway", s.Gateway, false}} {
			if f.value == "" {
				if f.required {
					add("%s.%s is required", at, f.field)
				}
				continue
			}
			ip, err := netip.ParseAddr(f.value)
			if err != nil || !ip.Is4() {
				add("%s.%s %q: must be an IPv4 address", at, f.field, f.value)
				continue
			}
			if f.field == "Gateway" {
				continue
			}
			if other := addrs[ip]; other != "" {
				add("%s.%s %s: is also %s", at, f.field, ip, other)
			}
			addrs[ip] = at + "." + f.field
		}
	}
	// Peers last: a peer may be no server's own address.
	for i, s := range servers {
		at := labels[i]
		if len(s.Peers) == 0 {
			add("%s: no BGP peers: give Peers for every server or the server's own", at)
		}
		multihop := false
		seen := map[string]bool{}
		for j, p := range s.Peers {
			pat := fmt.Sprintf("%s.Peers[%d]", at, j)
			ip, err := netip.ParseAddr(p.Address)
			switch {
			case err != nil || !ip.Is4():
				add("%s.Address %q: must be an IPv4 address", pat, p.Address)
			case addrs[ip] != "":
				add("%s.Address %s: is %s, a node: nodes peer with each other through Calico's node mesh", pat, ip, addrs[ip])
			case seen[p.Address]:
				add("%s.Address %s: listed twice", pat, ip)
			}
			seen[p.Address] = true
			if !ValidASN(p.ASN) {
				add("%s.ASN %d: must be an ASN from 1 to 4294967294, not 23456 (AS_TRANS), 65535 or a documentation ASN", pat, p.ASN)
			}
			multihop = multihop || p.Multihop
		}
		if multihop && s.Gateway == "" {
			add("%s.Gateway is required: a multihop peer is reached through it", at)
		}
	}
	if a.APIAddress != "" {
		ip, err := netip.ParseAddr(a.APIAddress)
		switch {
		case err != nil || !ip.Is4():
			add("APIAddress %q: must be an IPv4 address without a prefix length", a.APIAddress)
		case addrs[ip] != "":
			add("APIAddress %s: is %s, a node's own address", ip, addrs[ip])
		}
	}
	if a.Controller.PublicIPv4 == "" && !a.APIAccess.PrivateOnly {
		add("Controller.PublicIPv4 is required unless APIAccess.PrivateOnly: the API server's allowed sources reach it there")
	}
	if err := a.Kubernetes.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := a.APIAccess.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ValidASN reports whether n can be a BGP speaker's ASN (the stack configuration applies the same
// rule): 0 and 4294967295 are reserved (RFC 7607, RFC 7300), 23456 stands in for 4-byte ASNs
// (RFC 6793), 65535 is reserved (RFC 7300), and 64496-64511 and 65536-65551 are for
// documentation (RFC 5398).
func ValidASN(n int) bool {
	switch {
	case n < 1 || n > 4294967294, n == 23456, n == 65535:
		return false
	case n >= 64496 && n <= 64511, n >= 65536 && n <= 65551:
		return false
	}
	return true
}

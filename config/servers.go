package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/servercluster"
)

// Servers is the servers mode: the cluster runs on servers that exist, reachable over SSH, behind
// BGP routers (own racks, or a bare-metal provider with customer BGP). It excludes every Equinix
// Metal key (MetalKeys).
type Servers struct {
	// ASN every node announces from. Default 65000.
	ASN *int64 `json:"asn,omitempty"`
	// SSH is how Pulumi logs in to the servers (required: the private key).
	SSH ServersSSH `json:"ssh"`
	// Peers are the BGP routers of every server that lists none of its own (a rack's router
	// pair, a provider's route servers).
	Peers []Peer `json:"peers,omitempty"`
	// Controller is the control-plane server that initialises the cluster (required).
	Controller Server `json:"controller"`
	// Controllers are the further control-plane servers, none, 2 or 4 (1, 3 or 5 controllers in
	// all); they need APIAddress.
	Controllers []Server `json:"controllers,omitempty"`
	// APIAddress is the control plane's stable IPv4 address, announced over BGP by every
	// controller whose API server is ready. Required with Controllers; with one controller it
	// makes a cluster that can take more later. Optional.
	APIAddress string `json:"apiAddress,omitempty"`
	// Workers are the worker servers; none is a one-node cluster.
	Workers []Server `json:"workers,omitempty"`
}

// ServersSSH is the login to every server.
type ServersSSH struct {
	// User Pulumi logs in as; anyone but root runs the steps with sudo, which must not ask for a
	// password. Default root.
	User string `json:"user,omitempty"`
	// PrivateKey is an unencrypted OpenSSH or PEM private key every server trusts (required; set
	// it as a secret).
	PrivateKey string `json:"privateKey,omitempty" secret:"true"`
	// Bastion is the jump host Pulumi reaches the servers through. Optional.
	Bastion *Bastion `json:"bastion,omitempty"`
}

// Bastion is a jump host.
type Bastion struct {
	// Address of the jump host, an IPv4 address or a DNS name (required).
	Address string `json:"address"`
	// Port of its sshd. Default 22.
	Port int `json:"port,omitempty"`
	// User Pulumi logs in as there. Default: servers.ssh.user.
	User string `json:"user,omitempty"`
	// PrivateKey for the jump host, when it is not servers.ssh.privateKey (secret). Optional.
	PrivateKey string `json:"privateKey,omitempty" secret:"true"`
}

// Server is one server.
type Server struct {
	// Name is the hostname and Kubernetes node name (required).
	Name string `json:"name"`
	// ID identifies the machine, such as its serial number (optional): a new ID is a replaced
	// machine. Without it the SSH address and port stand in.
	ID string `json:"id,omitempty"`
	// SSHAddress is where Pulumi connects, an IPv4 address or a DNS name (required).
	SSHAddress string `json:"sshAddress"`
	// SSHPort is sshd's port. Default 22.
	SSHPort int `json:"sshPort,omitempty"`
	// PrivateIPv4 is the node IP and the source of its BGP sessions (required).
	PrivateIPv4 string `json:"privateIpv4"`
	// PublicIPv4 is the public address the host firewall guards and the API server may be reached
	// on (optional; the controller needs one with apiServer.allowedCidrs).
	PublicIPv4 string `json:"publicIpv4,omitempty"`
	// Gateway is the next hop towards multihop peers; required when one of its peers is multihop.
	Gateway string `json:"gateway,omitempty"`
	// Peers are the server's own routers, in place of servers.peers.
	Peers []Peer `json:"peers,omitempty"`
}

// Peer is one BGP router.
type Peer struct {
	// Address is the router's IPv4 address (required).
	Address string `json:"address"`
	// ASN is the router's ASN (required).
	ASN int64 `json:"asn"`
	// MD5Password protects the session (optional; set it as a secret).
	MD5Password string `json:"md5Password,omitempty" secret:"true"`
	// Multihop says the router is not on the node's link and is reached through the server's
	// gateway (a link-local route server). Default false: directly connected.
	Multihop bool `json:"multihop,omitempty"`
}

var (
	// nodeNamePattern is a Kubernetes node name (a DNS subdomain; at most 63 characters here,
	// since it is also the hostname).
	nodeNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	// hostPattern is the shape of an IPv4 address or a DNS name (validHost checks the rest).
	hostPattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$`)
	// userPattern is a login name as Debian's adduser accepts it by default.
	userPattern = regexp.MustCompile(`^[a-z_][-a-z0-9_]{0,31}$`)
)

// MetalKeys are the keys of the Equinix Metal mode, which the servers mode excludes.
var MetalKeys = []string{"project", "metro", "operatingSystem", "billingCycle", "controller", "workers", "bgp", "elasticIps", "ssh"}

// metalKeysSet lists the Metal keys a configuration sets, before defaults are applied.
func (c *Cluster) metalKeysSet() []string {
	var set []string
	p := c.Project
	for _, k := range []struct {
		key string
		on  bool
	}{
		{"project", p.ID != "" || p.Name != "" || p.OrganizationID != ""},
		{"metro", c.Metro != ""},
		{"operatingSystem", c.OperatingSystem != ""},
		{"billingCycle", c.BillingCycle != ""},
		{"controller", c.Controller.Plan != "" || c.Controller.Count != nil || c.Controller.ReserveAPIAddress},
		{"workers", c.Workers.Plan != "" || c.Workers.Count != nil},
		{"bgp", c.BGP.ASN != nil || c.BGP.MD5Password != ""},
		{"elasticIps", len(c.ElasticIPs) > 0},
		{"ssh", c.SSH.PrivateKey != ""},
	} {
		if k.on {
			set = append(set, k.key)
		}
	}
	return set
}

// applyServersDefaults fills the servers mode's empty fields.
func (s *Servers) applyDefaults() {
	if s.ASN == nil {
		asn := DefaultLocalASN
		s.ASN = &asn
	}
	// A server's own empty list of peers stays as it is: validation refuses it rather than let
	// the server take servers.peers.
	noEmptyList(&s.Peers)
	noEmptyList(&s.Workers)
	noEmptyList(&s.Controllers)
	setString(&s.SSH.User, bootstrap.DefaultSSHUser)
	if b := s.SSH.Bastion; b != nil {
		if b.Port == 0 {
			b.Port = servercluster.DefaultSSHPort
		}
		setString(&b.User, s.SSH.User)
	}
	def := func(srv *Server) {
		if srv.SSHPort == 0 {
			srv.SSHPort = servercluster.DefaultSSHPort
		}
	}
	def(&s.Controller)
	for i := range s.Controllers {
		def(&s.Controllers[i])
	}
	for i := range s.Workers {
		def(&s.Workers[i])
	}
}

// serversAt are the servers with their keys, controllers first.
func (s *Servers) serversAt() ([]*Server, []string) {
	all := []*Server{&s.Controller}
	keys := []string{"servers.controller"}
	for i := range s.Controllers {
		all = append(all, &s.Controllers[i])
		keys = append(keys, fmt.Sprintf("servers.controllers[%d]", i))
	}
	for i := range s.Workers {
		all = append(all, &s.Workers[i])
		keys = append(keys, fmt.Sprintf("servers.workers[%d]", i))
	}
	return all, keys
}

// peersOf are a server's peers and the key they are written at.
func (s *Servers) peersOf(srv *Server, at string) ([]Peer, string) {
	if srv.Peers != nil {
		return srv.Peers, at + ".peers"
	}
	return s.Peers, "servers.peers"
}

// nodeAddress is one address a server owns, with its key.
type nodeAddress struct {
	key  string
	addr netip.Addr
}

// validateServers checks the servers mode: every server, its peers and the cluster settings.
func (c *Cluster) validateServers(v *collector) []nodeAddress {
	s := c.Servers
	if asn := *s.ASN; !validASN(asn) {
		v.add("servers.asn", asn, "must be an ASN from 1 to 4294967294, not 23456 (AS_TRANS) nor a documentation ASN")
	}
	c.validateServersSSH(v)
	servers, keys := s.serversAt()
	names, ids := map[string]string{}, map[string]string{}
	sshTargets := map[string]string{}
	var owned []nodeAddress
	ownerOf := map[netip.Addr]string{}
	for i, srv := range servers {
		at := keys[i]
		switch {
		case !nodeNamePattern.MatchString(srv.Name) || len(srv.Name) > 63:
			v.add(at+".name", srv.Name, "must be a Kubernetes node name: at most 63 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit")
		case names[srv.Name] != "":
			v.add(at+".name", srv.Name, "is also the name of %s", names[srv.Name])
		}
		names[srv.Name] = at
		switch {
		case srv.ID == "":
		case strings.TrimSpace(srv.ID) != srv.ID || utf8.RuneCountInString(srv.ID) > 128:
			v.add(at+".id", srv.ID, "must be at most 128 characters without leading or trailing spaces")
		case ids[srv.ID] != "":
			v.add(at+".id", srv.ID, "is also the id of %s: two servers cannot be one machine", ids[srv.ID])
		default:
			ids[srv.ID] = at
		}
		if !validHost(srv.SSHAddress) {
			v.add(at+".sshAddress", srv.SSHAddress, "must be an IPv4 address or a DNS name")
		}
		if srv.SSHPort < 1 || srv.SSHPort > 65535 {
			v.add(at+".sshPort", srv.SSHPort, "must be a TCP port, 1 to 65535")
		}
		target := fmt.Sprintf("%s:%d", srv.SSHAddress, srv.SSHPort)
		if other := sshTargets[target]; other != "" && srv.SSHAddress != "" {
			v.add(at+".sshAddress", srv.SSHAddress, "with port %d is also how %s is reached", srv.SSHPort, other)
		}
		sshTargets[target] = at
		for _, f := range []struct {
			key, value string
			required   bool
		}{{at + ".privateIpv4", srv.PrivateIPv4, true}, {at + ".publicIpv4", srv.PublicIPv4, false}} {
			if f.value == "" {
				if f.required {
					v.add(f.key, nil, "required: the node IP and the source of its BGP sessions")
				}
				continue
			}
			ip, ok := parseUnicast(v, f.key, f.value)
			if !ok {
				continue
			}
			if other := ownerOf[ip]; other != "" {
				v.add(f.key, f.value, "is also %s", other)
				continue
			}
			ownerOf[ip] = f.key
			owned = append(owned, nodeAddress{f.key, ip})
		}
		if srv.Gateway != "" {
			if gw, ok := parseUnicast(v, at+".gateway", srv.Gateway); ok && strings.HasPrefix(ownerOf[gw], at+".") {
				v.add(at+".gateway", srv.Gateway, "is %s, the server's own address: the gateway is the next hop towards the multihop routers", ownerOf[gw])
			}
		}
	}
	for i, srv := range servers {
		c.validatePeers(v, srv, keys[i], ownerOf)
	}
	owned = append(owned, c.validateAPIAddress(v, ownerOf)...)
	if !c.APIServer.PrivateOnly && len(c.APIServer.AllowedCIDRs) > 0 && s.Controller.PublicIPv4 == "" {
		v.add("servers.controller.publicIpv4", nil, "required with apiServer.allowedCidrs: the allowed sources reach the API server on the controller's public address (or set apiServer.privateOnly)")
	}
	return owned
}

// linkLocal is where the top-of-rack and route-server peers live; no API address is there.
var linkLocal = netip.MustParsePrefix("169.254.0.0/16")

// validateAPIAddress checks the further controllers' count and the API address: a unicast IPv4
// address of no server and no router. It returns the address as one the cluster owns, so that the
// pod, service and LoadBalancer ranges are checked against it as against the servers' own.
func (c *Cluster) validateAPIAddress(v *collector, ownerOf map[netip.Addr]string) []nodeAddress {
	s := c.Servers
	if n := len(s.Controllers); n != 0 && n != 2 && n != 4 {
		v.add("servers.controllers", n, "must list none, 2 or 4 servers: with servers.controller that is 1, 3 or 5 controllers, an odd number of etcd members")
	}
	if s.APIAddress == "" {
		if len(s.Controllers) > 0 {
			v.add("servers.apiAddress", nil, "required with servers.controllers: the address the controllers share, which each announces while its API server is ready")
		}
		return nil
	}
	ip, ok := parseUnicast(v, "servers.apiAddress", s.APIAddress)
	if !ok {
		return nil
	}
	if linkLocal.Contains(ip) {
		v.add("servers.apiAddress", s.APIAddress, "is link-local (%s), where no router forwards it", linkLocal)
		return nil
	}
	if owner := ownerOf[ip]; owner != "" {
		v.add("servers.apiAddress", s.APIAddress, "is %s: the API address is the control plane's own, no server's", owner)
		return nil
	}
	for _, r := range s.routerAddresses() {
		if r.addr == ip {
			v.add("servers.apiAddress", s.APIAddress, "is %s: the API address is the control plane's own", r.key)
			return nil
		}
	}
	return []nodeAddress{{"servers.apiAddress", ip}}
}

// validatePeers checks a server's BGP peers (its own, or the shared ones).
func (c *Cluster) validatePeers(v *collector, srv *Server, at string, ownerOf map[netip.Addr]string) {
	peers, pat := c.Servers.peersOf(srv, at)
	if len(peers) == 0 {
		if pat == "servers.peers" {
			v.add(at+".peers", nil, "required: the server lists no BGP peers of its own, and servers.peers lists none")
		} else {
			v.add(pat, nil, "must list at least one router: an empty list does not fall back to servers.peers")
		}
		return
	}
	// Shared peers are checked once, with the controller.
	shared := pat == "servers.peers"
	report := !shared || at == "servers.controller"
	seen := map[netip.Addr]string{}
	multihop := false
	for j, p := range peers {
		key := fmt.Sprintf("%s[%d]", pat, j)
		multihop = multihop || p.Multihop
		if ip, ok := netip.ParseAddr(p.Address); ok == nil && ip.Is4() {
			if owner := ownerOf[ip]; owner != "" {
				detail := "is the address of %s: nodes peer with each other through Calico's node mesh, not as routers"
				if strings.HasPrefix(owner, at+".") {
					detail = "is %s, the server's own address: a node cannot be its own router"
				}
				v.add(key+".address", p.Address, detail, owner)
				continue
			}
			if srv.Gateway != "" && p.Address == srv.Gateway && p.Multihop {
				v.add(key+".multihop", true, "the router is %s's gateway itself, which is directly connected: leave multihop out", at)
			}
		}
		if !report {
			continue
		}
		if ip, ok := parseUnicast(v, key+".address", p.Address); ok {
			if other := seen[ip]; other != "" {
				v.add(key+".address", p.Address, "is listed twice (also %s)", other)
			}
			seen[ip] = key
		}
		switch {
		case !validASN(p.ASN):
			v.add(key+".asn", p.ASN, "must be an ASN from 1 to 4294967294, not 23456 (AS_TRANS) nor a documentation ASN")
		}
		if p.MD5Password != "" {
			if problem := peerPasswordProblem(p.MD5Password); problem != "" {
				v.add(key+".md5Password", redacted, "%s", problem)
			}
		}
	}
	if multihop && srv.Gateway == "" {
		v.add(at+".gateway", nil, "required: %s lists a multihop router, which is reached through the server's gateway", pat)
	}
}

// peerPasswordProblem says what BIRD or Linux would refuse in a session's MD5 password, or "".
// Calico writes it into BIRD's configuration as a quoted string, and Linux takes TCP MD5 keys of
// at most 80 bytes.
func peerPasswordProblem(p string) string {
	if len(p) > servercluster.MaxMD5Length {
		return fmt.Sprintf("must be at most %d bytes (Linux's TCP MD5 key length)", servercluster.MaxMD5Length)
	}
	for _, r := range p {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return "must be printable ASCII without spaces, quotes or backslashes (BIRD reads it as a quoted string)"
		}
	}
	return ""
}

func (c *Cluster) validateServersSSH(v *collector) {
	s := c.Servers.SSH
	if !userPattern.MatchString(s.User) {
		v.add("servers.ssh.user", s.User, "must be a login name (lower-case letters, digits, '_' and '-', at most 32)")
	}
	if s.PrivateKey == "" {
		v.add("servers.ssh.privateKey", nil, "required: the unencrypted private key every server trusts (set it as a secret)")
	} else {
		checkPrivateKey(v, "servers.ssh.privateKey", s.PrivateKey)
	}
	if b := s.Bastion; b != nil {
		if !validHost(b.Address) {
			v.add("servers.ssh.bastion.address", b.Address, "must be an IPv4 address or a DNS name")
		}
		if b.Port < 1 || b.Port > 65535 {
			v.add("servers.ssh.bastion.port", b.Port, "must be a TCP port, 1 to 65535")
		}
		if !userPattern.MatchString(b.User) {
			v.add("servers.ssh.bastion.user", b.User, "must be a login name (lower-case letters, digits, '_' and '-', at most 32)")
		}
		if b.PrivateKey != "" {
			checkPrivateKey(v, "servers.ssh.bastion.privateKey", b.PrivateKey)
		}
	}
}

// validHost reports whether s is an IPv4 address or a DNS name of at most 253 characters. A name
// whose last label is all digits must be an IPv4 address: no top-level domain is numeric (RFC
// 3696, section 2), so 10.10.2.300 or 10.10.1 is a mistyped address, not a name to look up.
func validHost(s string) bool {
	if len(s) > 253 || !hostPattern.MatchString(s) {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if strings.Trim(last, "0123456789") != "" {
		return true
	}
	ip, err := netip.ParseAddr(s)
	return err == nil && ip.Is4()
}

// parseUnicast parses an IPv4 address a host or router can have.
func parseUnicast(v *collector, key, s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	switch {
	case err != nil || !ip.Is4():
		v.add(key, s, "must be an IPv4 address such as 192.0.2.10")
		return ip, false
	case ip.IsUnspecified() || ip.IsLoopback() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		v.add(key, s, "must be a unicast address (not 0.0.0.0, loopback, multicast or broadcast)")
		return ip, false
	}
	return ip, true
}

// validASN is servercluster.ValidASN for a configured value: no speaker's ASN is reserved,
// AS_TRANS or for documentation.
func validASN(asn int64) bool {
	return asn >= 0 && asn <= 1<<32 && servercluster.ValidASN(int(asn))
}

// routerAddresses are the peers', the gateways' and the bastion's IPv4 addresses with their keys:
// addresses the nodes must keep reaching (the nodes answer the bastion's SSH connections).
func (s *Servers) routerAddresses() []nodeAddress {
	var out []nodeAddress
	add := func(key, a string) {
		if ip, err := netip.ParseAddr(a); err == nil && ip.Is4() {
			out = append(out, nodeAddress{key, ip})
		}
	}
	for j, p := range s.Peers {
		add(fmt.Sprintf("servers.peers[%d].address", j), p.Address)
	}
	if b := s.SSH.Bastion; b != nil {
		add("servers.ssh.bastion.address", b.Address)
	}
	servers, keys := s.serversAt()
	for i, srv := range servers {
		add(keys[i]+".gateway", srv.Gateway)
		for j, p := range srv.Peers {
			add(fmt.Sprintf("%s.peers[%d].address", keys[i], j), p.Address)
		}
	}
	return out
}

// validateNodeNetworks refuses a pod or service range holding a server's, a router's, a gateway's
// or the bastion's address: routes to the pod and service networks would shadow the host's own.
func (c *Cluster) validateNodeNetworks(v *collector, owned []nodeAddress) {
	all := append(append([]nodeAddress(nil), owned...), c.Servers.routerAddresses()...)
	for _, r := range []struct{ key, cidr string }{{"kubernetes.podCidr", c.Kubernetes.PodCIDR}, {"kubernetes.serviceCidr", c.Kubernetes.ServiceCIDR}} {
		p, err := netip.ParsePrefix(r.cidr)
		if err != nil || !p.Addr().Is4() {
			continue // validateKubernetes reports it
		}
		for _, a := range all {
			if p.Masked().Contains(a.addr) {
				v.add(r.key, r.cidr, "holds %s %s: set another range", a.key, a.addr)
			}
		}
	}
}

// validateServerPools refuses a LoadBalancer range holding a server's, a router's, a gateway's or
// the bastion's address: MetalLB would hand it to a service, and the routers send it to the nodes.
func (c *Cluster) validateServerPools(v *collector, owned []nodeAddress) {
	all := append(append([]nodeAddress(nil), owned...), c.Servers.routerAddresses()...)
	for i, p := range c.LoadBalancer.Pools {
		for j, cidr := range p.CIDRs {
			prefix, err := netip.ParsePrefix(cidr)
			if err != nil || !prefix.Addr().Is4() || prefix != prefix.Masked() {
				continue // validateLoadBalancer reports it
			}
			for _, a := range all {
				if prefix.Contains(a.addr) {
					v.add(fmt.Sprintf("loadBalancer.pools[%d].cidrs[%d]", i, j), cidr, "holds %s %s, which no service may take", a.key, a.addr)
				}
			}
		}
	}
}

// Package servercluster provides ServerCluster: a Kubernetes cluster on servers that already
// exist, reachable over SSH (directly or through a bastion), behind BGP routers the user names:
// own racks, or bare-metal clouds with customer BGP. It turns that list into the bootstrap hosts
// and the topology node descriptions the Kubernetes components take, as MetalCluster does for
// Equinix Metal devices; it creates no machine and talks to no cloud.
package servercluster

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/topology"
)

// TypeToken is ServerCluster's resource type; it is part of every user's resource URNs.
const TypeToken = "metalk8s:cluster:ServerCluster"

// ServerCluster is a cluster of given servers.
type ServerCluster struct {
	pulumi.ResourceState

	// LocalASN is the ASN every node announces from.
	LocalASN int
	// Nodes are the controllers (the one that initialises first) and the workers, in order.
	Nodes []*Node
	// PeerPasswords are the sessions' own MD5 passwords by topology.PeerPasswordKey (secret),
	// for calicobgp.CalicoBGPArgs.PeerPasswords.
	PeerPasswords map[string]pulumi.StringInput
	// SSHPublicKey is the public half of the key the servers trust, in authorized_keys format.
	SSHPublicKey pulumi.StringOutput `pulumi:"sshPublicKey"`
	// Bootstrap is the kubeadm layer on the servers.
	Bootstrap *bootstrap.Bootstrap
	// Kubeconfig is the cluster-admin kubeconfig (secret).
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// APIEndpoint is the API server URL the kubeconfig uses.
	APIEndpoint pulumi.StringOutput `pulumi:"apiEndpoint"`
	// APIAddress is the control plane's stable address, "" without one.
	APIAddress string
	// Provider is a Kubernetes provider for the cluster, for the components that follow.
	Provider *kubernetes.Provider

	controllers int
}

// Node is one server with its node description.
type Node struct {
	// Name is the Kubernetes node name.
	Name string
	// Role is controller or worker.
	Role topology.Role
	// Server is the server as given, defaulted.
	Server Server
	// Info is the node's addresses and BGP peers (no password: those are in PeerPasswords).
	Info topology.NodeOutput
}

// Controller is the control-plane node that initialises the cluster.
func (c *ServerCluster) Controller() *Node { return c.Nodes[0] }

// Controllers are every control-plane node, the first one first.
func (c *ServerCluster) Controllers() []*Node { return c.Nodes[:c.controllers] }

// NewServerCluster registers a cluster of the given servers.
func NewServerCluster(ctx *pulumi.Context, name string, args *ServerClusterArgs, opts ...pulumi.ResourceOption) (*ServerCluster, error) {
	if args == nil {
		return nil, fmt.Errorf("servercluster %q: args are required", name)
	}
	a := args.withDefaults()
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("servercluster %q: %w", name, err)
	}
	c := &ServerCluster{LocalASN: a.LocalASN, APIAddress: a.APIAddress, PeerPasswords: map[string]pulumi.StringInput{},
		controllers: 1 + len(a.Controllers)}
	if err := ctx.RegisterComponentResource(TypeToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	key := pulumi.ToSecret(a.SSHPrivateKey).(pulumi.StringOutput)
	c.SSHPublicKey = pulumi.Unsecret(key.ApplyT(publicKeyOf)).(pulumi.StringOutput)

	servers, _ := a.servers()
	hosts := make([]bootstrap.Host, len(servers))
	for i, s := range servers {
		role := topology.RoleWorker
		if i < c.controllers {
			role = topology.RoleController
		}
		node := describe(s, role, a.LocalASN)
		for _, p := range s.Peers {
			if p.MD5Password != nil {
				c.PeerPasswords[topology.PeerPasswordKey(s.Name, p.Address)] = pulumi.ToSecret(p.MD5Password).(pulumi.StringOutput)
			}
		}
		c.Nodes = append(c.Nodes, &Node{Name: s.Name, Role: role, Server: s, Info: pulumi.ToOutput(node).(topology.NodeOutput)})
		hosts[i] = bootstrap.Host{
			Name:        s.Name,
			ID:          pulumi.String(machineID(s)),
			SSHAddress:  pulumi.String(s.SSHAddress),
			SSHPort:     s.SSHPort,
			PrivateIPv4: pulumi.String(s.PrivateIPv4),
		}
		if s.PublicIPv4 != "" {
			hosts[i].PublicIPv4 = pulumi.String(s.PublicIPv4)
		}
		if role == topology.RoleWorker {
			hosts[i].Labels = a.WorkerLabels
		}
	}
	bargs := &bootstrap.BootstrapArgs{
		Controller:    hosts[0],
		Controllers:   hosts[1:c.controllers],
		Workers:       hosts[c.controllers:],
		Kubernetes:    a.Kubernetes,
		APIAccess:     a.APIAccess,
		SSHUser:       a.SSHUser,
		SSHPrivateKey: key,
		Bastion:       a.Bastion,
		PodBlocked:    a.PodBlocked,
	}
	if a.APIAddress != "" {
		bargs.APIAddress = pulumi.String(a.APIAddress)
	}
	b, err := bootstrap.NewBootstrap(ctx, name, bargs, parent)
	if err != nil {
		return nil, fmt.Errorf("servercluster %q: %w", name, err)
	}
	c.Bootstrap, c.Kubeconfig, c.APIEndpoint, c.Provider = b, b.Kubeconfig, b.APIEndpoint, b.Provider
	if err := ctx.RegisterResourceOutputs(c, c.outputMap()); err != nil {
		return nil, err
	}
	return c, nil
}

// machineID is what identifies a server's machine: its ID, or else where Pulumi reaches it.
func machineID(s Server) string {
	if s.ID != "" {
		return s.ID
	}
	return fmt.Sprintf("%s:%d", s.SSHAddress, s.SSHPort)
}

// describe is a server's node description: one peer group per router, since each router has its
// own ASN, password and way of being reached.
func describe(s Server, role topology.Role, localASN int) topology.Node {
	n := topology.Node{
		Name: s.Name, Role: string(role), ID: machineID(s),
		PublicIPv4: s.PublicIPv4, PrivateIPv4: s.PrivateIPv4, PrivateGateway: s.Gateway,
		BGPPeers: []topology.BGPPeer{},
	}
	for _, p := range s.Peers {
		n.BGPPeers = append(n.BGPPeers, topology.BGPPeer{
			PeerIPs: []string{p.Address}, PeerASN: p.ASN,
			CustomerIP: s.PrivateIPv4, CustomerASN: localASN,
			MD5Enabled: p.MD5Password != nil, Multihop: p.Multihop,
		})
	}
	return n
}

// publicKeyOf derives the authorized_keys line of a private key.
func publicKeyOf(private string) (string, error) {
	signer, err := ssh.ParsePrivateKey([]byte(private))
	if err != nil {
		return "", fmt.Errorf("SSHPrivateKey: %w", err)
	}
	return string(ssh.MarshalAuthorizedKey(signer.PublicKey())), nil
}

// NodeInfos are every node's description, controller first, as one output array.
func (c *ServerCluster) NodeInfos() pulumi.Array {
	nodes := make(pulumi.Array, len(c.Nodes))
	for i, n := range c.Nodes {
		nodes[i] = n.Info
	}
	return nodes
}

// CheckPools returns the pools with every range checked against the servers' own addresses:
// a LoadBalancer range holding one would hand a node's address to a service. A range that fails
// fails every object built from it, with an error naming the pool, the range and the address.
func (c *ServerCluster) CheckPools(pools []topology.LoadBalancerPool) []topology.LoadBalancerPool {
	out := make([]topology.LoadBalancerPool, len(pools))
	for i, p := range pools {
		out[i] = p
		out[i].CIDRs = make([]pulumi.StringInput, len(p.CIDRs))
		for j, cidr := range p.CIDRs {
			pool := p.Name
			out[i].CIDRs[j] = cidr.ToStringOutput().ApplyT(func(r string) (string, error) {
				return r, c.checkRange(pool, r)
			}).(pulumi.StringOutput)
		}
	}
	return out
}

func (c *ServerCluster) checkRange(pool, cidr string) error {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("pool %s: range %q: %w", pool, cidr, err)
	}
	for _, n := range c.Nodes {
		for _, a := range []struct{ kind, addr string }{{"private", n.Server.PrivateIPv4}, {"public", n.Server.PublicIPv4}} {
			if ip, err := netip.ParseAddr(a.addr); err == nil && prefix.Contains(ip) {
				return fmt.Errorf("%w: pool %s range %s holds node %s's %s address %s", topology.ErrPoolRange, pool, cidr, n.Name, a.kind, ip)
			}
		}
	}
	return nil
}

// outputMap is what the component records as its outputs in the state.
func (c *ServerCluster) outputMap() pulumi.Map {
	m := pulumi.Map{
		"localAsn":     pulumi.Int(c.LocalASN),
		"nodes":        c.NodeInfos(),
		"sshPublicKey": c.SSHPublicKey,
		"kubeconfig":   c.Kubeconfig,
		"apiEndpoint":  c.APIEndpoint,
	}
	if c.APIAddress != "" {
		m["apiAddress"] = pulumi.String(c.APIAddress)
	}
	return m
}

// Package program is the metalk8s Pulumi program: it reads the one stack configuration object,
// maps it to component Args, composes the components and exports their outputs. main.go and the
// offline plan (cmd/plan) run exactly this code.
package program

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/calicobgp"
	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/metalcluster"
	"github.com/metalk8s/metalk8s/components/metallbpools"
	"github.com/metalk8s/metalk8s/components/servercluster"
	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/config"
)

// ClusterName is the logical name of the cluster's components; it prefixes every resource name.
const ClusterName = "metalk8s"

// Outputs are the composed components, whose outputs the stack exports.
type Outputs struct {
	// Cluster is the Metal layer and the kubeadm bootstrap (Equinix Metal mode; else nil).
	Cluster *metalcluster.MetalCluster
	// Servers are the given servers and the kubeadm bootstrap (servers mode; else nil).
	Servers *servercluster.ServerCluster
	// Calico is the network plugin with its BGP peerings.
	Calico *calicobgp.CalicoBGP
	// MetalLB assigns LoadBalancer addresses from the pools.
	MetalLB *metallbpools.MetalLBPools
	// Mode says who announces LoadBalancer addresses.
	Mode topology.LoadBalancerMode
	// IngressEnabled says whether the example ingress exists.
	IngressEnabled bool
	// Warnings are what the components ask to tell the user about the configuration; each was
	// also logged as a warning (pulumi up and preview show them).
	Warnings []string
}

// Run is the Pulumi program: configuration, validation, then the components. An invalid
// configuration fails with every problem listed before any resource is registered.
func Run(ctx *pulumi.Context) error {
	_, err := Program(ctx)
	return err
}

// Program is Run that also hands back the outputs it exported.
func Program(ctx *pulumi.Context) (*Outputs, error) {
	raw, ok := ctx.GetConfig(config.Key)
	if !ok {
		return nil, fmt.Errorf("stack configuration %s is missing: start from Pulumi.dev.yaml (see README)", config.Key)
	}
	cfg, err := config.Parse([]byte(raw))
	if err != nil {
		return nil, err
	}
	out, err := Deploy(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for k, v := range out.Map() {
		ctx.Export(k, v)
	}
	return out, nil
}

// producer is what the Kubernetes components need of the layer that made the machines: either
// producer (MetalCluster, ServerCluster) gives the same.
type producer struct {
	provider      *kubernetes.Provider
	shell         *bootstrap.Bootstrap
	localASN      int
	nodes         []calicobgp.Node
	peerPasswords map[string]pulumi.StringInput
	blocks        pulumi.StringMap
	checkPools    func([]topology.LoadBalancerPool) []topology.LoadBalancerPool
	// apiAddress is the control plane's API address, nil without one.
	apiAddress pulumi.StringInput
}

// Deploy registers the components of the stack for a parsed configuration, named ClusterName and
// at the top of the stack (see Compose).
func Deploy(ctx *pulumi.Context, cfg *config.Cluster) (*Outputs, error) {
	return Compose(ctx, ClusterName, cfg)
}

// Compose registers the components for a parsed configuration: the producer of the machines
// (MetalCluster, or ServerCluster in the servers mode), then CalicoBGP on its nodes and peers,
// then MetalLBPools once Calico is ready. The LoadBalancer pools are built once and handed to both
// Kubernetes components. name prefixes every resource name; opts go to each component, so that a
// caller can place them under its own component (pulumi.Parent), as the metalk8s component
// package does: two clusters in one stack need two names.
func Compose(ctx *pulumi.Context, name string, cfg *config.Cluster, opts ...pulumi.ResourceOption) (*Outputs, error) {
	out := &Outputs{Mode: topology.LoadBalancerMode(cfg.LoadBalancer.Mode), IngressEnabled: cfg.Ingress.Enabled}
	var p producer
	if cfg.Servers != nil {
		servers, err := servercluster.NewServerCluster(ctx, name, ServersArgs(cfg), opts...)
		if err != nil {
			return nil, err
		}
		out.Servers = servers
		p = producer{provider: servers.Provider, shell: servers.Bootstrap, localASN: servers.LocalASN,
			peerPasswords: servers.PeerPasswords, checkPools: servers.CheckPools}
		for _, n := range servers.Nodes {
			p.nodes = append(p.nodes, calicobgp.Node{Name: n.Name, Info: n.Info})
		}
		if servers.APIAddress != "" {
			p.apiAddress = pulumi.String(servers.APIAddress)
		}
	} else {
		cluster, err := metalcluster.NewMetalCluster(ctx, name, ClusterArgs(cfg), opts...)
		if err != nil {
			return nil, err
		}
		out.Cluster = cluster
		// Ranges are checked against what only Metal knows (node addresses, reserved blocks)
		// before MetalLB may hand out an address of theirs.
		p = producer{provider: cluster.Provider, shell: cluster.Bootstrap, localASN: cluster.LocalASN,
			blocks: cluster.ElasticIPCIDRs(), checkPools: cluster.CheckPools}
		for _, n := range cluster.Nodes {
			p.nodes = append(p.nodes, calicobgp.Node{Name: n.Hostname, Info: n.Info})
		}
		if cluster.APIAddressBlock != nil {
			p.apiAddress = cluster.APIAddress
		}
	}
	pools := Pools(cfg, p.blocks)
	calicoArgs := &calicobgp.CalicoBGPArgs{
		Provider:      p.provider,
		Shell:         p.shell,
		Version:       cfg.Calico.Version,
		PodCIDR:       cfg.Kubernetes.PodCIDR,
		LocalASN:      p.localASN,
		Nodes:         p.nodes,
		Mode:          out.Mode,
		Pools:         pools,
		MetalLBASN:    int(*cfg.MetalLB.ASN),
		PeerPasswords: p.peerPasswords,
		APIAddress:    p.apiAddress,
		APIPort:       cfg.Kubernetes.APIPort,
	}
	if cfg.Servers == nil && cfg.BGP.MD5Password != "" {
		calicoArgs.MD5Password = secret(cfg.BGP.MD5Password)
	}
	calico, err := calicobgp.NewCalicoBGP(ctx, name, calicoArgs, opts...)
	if err != nil {
		return nil, err
	}
	lbArgs := &metallbpools.MetalLBPoolsArgs{
		Provider:   p.provider,
		Version:    cfg.MetalLB.Version,
		Mode:       out.Mode,
		Pools:      p.checkPools(pools),
		LocalASN:   p.localASN,
		MetalLBASN: int(*cfg.MetalLB.ASN),
		DependsOn:  []pulumi.Resource{calico.Ready},
	}
	if cfg.Ingress.Enabled {
		lbArgs.Ingress = &metallbpools.IngressArgs{Pool: cfg.Ingress.Pool}
	}
	metallb, err := metallbpools.NewMetalLBPools(ctx, name, lbArgs, opts...)
	if err != nil {
		return nil, err
	}
	out.Calico, out.MetalLB, out.Warnings = calico, metallb, calico.Warnings
	return out, nil
}

// Pools are the configured LoadBalancer pools: an elastic IP block's CIDR (blocks by name) or
// the CIDRs written out.
func Pools(cfg *config.Cluster, blocks pulumi.StringMap) []topology.LoadBalancerPool {
	pools := make([]topology.LoadBalancerPool, 0, len(cfg.LoadBalancer.Pools))
	for _, p := range cfg.LoadBalancer.Pools {
		pool := topology.LoadBalancerPool{Name: p.Name, AutoAssign: *p.AutoAssign}
		if p.ElasticIP != "" {
			pool.CIDRs = []pulumi.StringInput{blocks[p.ElasticIP]}
		}
		for _, c := range p.CIDRs {
			pool.CIDRs = append(pool.CIDRs, pulumi.String(c))
		}
		pools = append(pools, pool)
	}
	return pools
}

// secret is a configuration value that must stay secret wherever it goes.
func secret(v string) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
}

// ClusterArgs maps the configuration to MetalCluster's Args. Secret settings become secret inputs.
func ClusterArgs(cfg *config.Cluster) *metalcluster.MetalClusterArgs {
	a := &metalcluster.MetalClusterArgs{
		Metro:             cfg.Metro,
		OperatingSystem:   cfg.OperatingSystem,
		BillingCycle:      cfg.BillingCycle,
		ControllerPlan:    cfg.Controller.Plan,
		ControllerCount:   *cfg.Controller.Count,
		ReserveAPIAddress: cfg.Controller.ReserveAPIAddress,
		WorkerPlan:        cfg.Workers.Plan,
		WorkerCount:       *cfg.Workers.Count,
		LocalASN:          int(*cfg.BGP.ASN),
		Kubernetes:        kubernetesArgs(cfg),
		APIAccess: bootstrap.APIAccess{
			AllowedCIDRs: cfg.APIServer.AllowedCIDRs,
			PrivateOnly:  cfg.APIServer.PrivateOnly,
		},
		// Workers run MetalLB's speakers in the bird-local-peer mode; the label is set in both
		// modes so that switching modes does not change how workers join.
		WorkerLabels: map[string]string{topology.SpeakerLabel: topology.SpeakerLabelValue},
	}
	if cfg.Project.ID != "" {
		a.ProjectID = pulumi.String(cfg.Project.ID)
	} else {
		a.ProjectName = pulumi.String(cfg.Project.Name)
		a.OrganizationID = pulumi.String(cfg.Project.OrganizationID)
	}
	if cfg.BGP.MD5Password != "" {
		a.MD5Password = secret(cfg.BGP.MD5Password)
	}
	if cfg.SSH.PrivateKey != "" {
		a.SSHPrivateKey = secret(cfg.SSH.PrivateKey)
	}
	for _, b := range cfg.ElasticIPs {
		a.ElasticIPs = append(a.ElasticIPs, metalcluster.ElasticIPArgs{
			Name: b.Name, Type: metal.IpBlockType(b.Type), Quantity: b.Quantity, Metro: b.Metro,
		})
	}
	return a
}

// ServersArgs maps the servers mode's configuration to ServerCluster's Args. Secret settings
// become secret inputs.
func ServersArgs(cfg *config.Cluster) *servercluster.ServerClusterArgs {
	s := cfg.Servers
	peers := func(ps []config.Peer) []servercluster.Peer {
		if ps == nil {
			return nil
		}
		out := make([]servercluster.Peer, len(ps))
		for i, p := range ps {
			out[i] = servercluster.Peer{Address: p.Address, ASN: int(p.ASN), Multihop: p.Multihop}
			if p.MD5Password != "" {
				out[i].MD5Password = secret(p.MD5Password)
			}
		}
		return out
	}
	server := func(srv config.Server) servercluster.Server {
		return servercluster.Server{
			Name: srv.Name, ID: srv.ID, SSHAddress: srv.SSHAddress, SSHPort: srv.SSHPort,
			PrivateIPv4: srv.PrivateIPv4, PublicIPv4: srv.PublicIPv4, Gateway: srv.Gateway, Peers: peers(srv.Peers),
		}
	}
	a := &servercluster.ServerClusterArgs{
		Controller:    server(s.Controller),
		APIAddress:    s.APIAddress,
		LocalASN:      int(*s.ASN),
		Peers:         peers(s.Peers),
		SSHUser:       s.SSH.User,
		SSHPrivateKey: secret(s.SSH.PrivateKey),
		Kubernetes:    kubernetesArgs(cfg),
		APIAccess:     bootstrap.APIAccess{AllowedCIDRs: cfg.APIServer.AllowedCIDRs, PrivateOnly: cfg.APIServer.PrivateOnly},
		// As in the Metal mode: workers run MetalLB's speakers in the bird-local-peer mode.
		WorkerLabels: map[string]string{topology.SpeakerLabel: topology.SpeakerLabelValue},
	}
	for _, c := range s.Controllers {
		a.Controllers = append(a.Controllers, server(c))
	}
	for _, w := range s.Workers {
		a.Workers = append(a.Workers, server(w))
	}
	if b := s.SSH.Bastion; b != nil {
		a.Bastion = &bootstrap.Bastion{Address: b.Address, Port: b.Port, User: b.User}
		if b.PrivateKey != "" {
			a.Bastion.PrivateKey = secret(b.PrivateKey)
		}
	}
	return a
}

// kubernetesArgs are the bootstrap's Kubernetes settings, the same in both modes.
func kubernetesArgs(cfg *config.Cluster) bootstrap.KubernetesArgs {
	return bootstrap.KubernetesArgs{
		Version:            cfg.Kubernetes.Version,
		APIPort:            cfg.Kubernetes.APIPort,
		PodCIDR:            cfg.Kubernetes.PodCIDR,
		ServiceCIDR:        cfg.Kubernetes.ServiceCIDR,
		DNSServiceIP:       cfg.Kubernetes.DNSServiceIP,
		DNSDomain:          cfg.Kubernetes.DNSDomain,
		UpgradeParallelism: cfg.Kubernetes.UpgradeParallelism,
	}
}

// Map is the stack outputs by name.
func (o *Outputs) Map() pulumi.Map {
	m := pulumi.Map{
		"loadBalancerMode":  pulumi.String(string(o.Mode)),
		"pools":             o.MetalLB.PoolCIDRs,
		"announcedByCalico": o.Calico.Announced,
	}
	if o.IngressEnabled {
		m["ingressAddress"] = o.MetalLB.IngressAddress
	}
	if s := o.Servers; s != nil {
		ctl := s.Controller().Server
		m["localAsn"] = pulumi.Int(s.LocalASN)
		m["controllerPrivateIpv4"] = pulumi.String(ctl.PrivateIPv4)
		if ctl.PublicIPv4 != "" {
			m["controllerPublicIpv4"] = pulumi.String(ctl.PublicIPv4)
		}
		m["nodes"] = s.NodeInfos()
		m["sshPublicKey"] = s.SSHPublicKey
		m["kubeconfig"] = s.Kubeconfig
		m["apiEndpoint"] = s.APIEndpoint
		if s.APIAddress != "" {
			m["apiAddress"] = pulumi.String(s.APIAddress)
		}
		return m
	}
	c := o.Cluster
	m["projectId"] = c.ProjectID
	m["localAsn"] = pulumi.Int(c.LocalASN)
	m["controllerPublicIpv4"] = c.Controller().Device.AccessPublicIpv4
	m["controllerPrivateIpv4"] = c.Controller().Device.AccessPrivateIpv4
	m["nodes"] = c.NodeInfos()
	m["elasticIps"] = c.ElasticIPCIDRs()
	m["sshPublicKey"] = c.SSHPublicKey
	m["sshPrivateKey"] = c.SSHPrivateKey
	m["kubeconfig"] = c.Kubeconfig
	m["apiEndpoint"] = c.APIEndpoint
	if c.APIAddressBlock != nil {
		m["apiAddress"] = c.APIAddress
	}
	return m
}

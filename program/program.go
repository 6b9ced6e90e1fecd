// Package program is the metalk8s Pulumi program: it reads the one stack configuration object,
// maps it to component Args, composes the components and exports their outputs. main.go and the
// offline plan (cmd/plan) run exactly this code.
package program

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/calicobgp"
	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/metalcluster"
	"github.com/metalk8s/metalk8s/components/metallbpools"
	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/config"
)

// ClusterName is the logical name of the cluster's components; it prefixes every resource name.
const ClusterName = "metalk8s"

// Outputs are the composed components, whose outputs the stack exports.
type Outputs struct {
	// Cluster is the Metal layer and the kubeadm bootstrap.
	Cluster *metalcluster.MetalCluster
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

// Deploy registers the components for a parsed configuration: MetalCluster, then CalicoBGP on
// its nodes and peers, then MetalLBPools once Calico is ready. The LoadBalancer pools are built
// once and handed to both Kubernetes components.
func Deploy(ctx *pulumi.Context, cfg *config.Cluster) (*Outputs, error) {
	cluster, err := metalcluster.NewMetalCluster(ctx, ClusterName, ClusterArgs(cfg))
	if err != nil {
		return nil, err
	}
	pools := Pools(cfg, cluster)
	mode := topology.LoadBalancerMode(cfg.LoadBalancer.Mode)
	nodes := make([]calicobgp.Node, len(cluster.Nodes))
	for i, n := range cluster.Nodes {
		nodes[i] = calicobgp.Node{Name: n.Hostname, Info: n.Info}
	}
	calicoArgs := &calicobgp.CalicoBGPArgs{
		Provider:   cluster.Provider,
		Shell:      cluster.Bootstrap,
		Version:    cfg.Calico.Version,
		PodCIDR:    cfg.Kubernetes.PodCIDR,
		LocalASN:   cluster.LocalASN,
		Nodes:      nodes,
		Mode:       mode,
		Pools:      pools,
		MetalLBASN: int(*cfg.MetalLB.ASN),
	}
	if cfg.BGP.MD5Password != "" {
		calicoArgs.MD5Password = secret(cfg.BGP.MD5Password)
	}
	calico, err := calicobgp.NewCalicoBGP(ctx, ClusterName, calicoArgs)
	if err != nil {
		return nil, err
	}
	lbArgs := &metallbpools.MetalLBPoolsArgs{
		Provider: cluster.Provider,
		Version:  cfg.MetalLB.Version,
		Mode:     mode,
		// Ranges are checked against what only Metal knows (node addresses, reserved blocks)
		// before MetalLB may hand out an address of theirs.
		Pools:      cluster.CheckPools(pools),
		LocalASN:   cluster.LocalASN,
		MetalLBASN: int(*cfg.MetalLB.ASN),
		DependsOn:  []pulumi.Resource{calico.Ready},
	}
	if cfg.Ingress.Enabled {
		lbArgs.Ingress = &metallbpools.IngressArgs{Pool: cfg.Ingress.Pool}
	}
	metallb, err := metallbpools.NewMetalLBPools(ctx, ClusterName, lbArgs)
	if err != nil {
		return nil, err
	}
	return &Outputs{Cluster: cluster, Calico: calico, MetalLB: metallb, Mode: mode, IngressEnabled: cfg.Ingress.Enabled,
		Warnings: calico.Warnings}, nil
}

// Pools are the configured LoadBalancer pools: an elastic IP block's CIDR or private CIDRs.
func Pools(cfg *config.Cluster, cluster *metalcluster.MetalCluster) []topology.LoadBalancerPool {
	blocks := cluster.ElasticIPCIDRs()
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
		Metro:           cfg.Metro,
		OperatingSystem: cfg.OperatingSystem,
		BillingCycle:    cfg.BillingCycle,
		ControllerPlan:  cfg.Controller.Plan,
		WorkerPlan:      cfg.Workers.Plan,
		WorkerCount:     *cfg.Workers.Count,
		LocalASN:        int(*cfg.BGP.ASN),
		Kubernetes: bootstrap.KubernetesArgs{
			Version:      cfg.Kubernetes.Version,
			APIPort:      cfg.Kubernetes.APIPort,
			PodCIDR:      cfg.Kubernetes.PodCIDR,
			ServiceCIDR:  cfg.Kubernetes.ServiceCIDR,
			DNSServiceIP: cfg.Kubernetes.DNSServiceIP,
			DNSDomain:    cfg.Kubernetes.DNSDomain,
		},
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

// Map is the stack outputs by name.
func (o *Outputs) Map() pulumi.Map {
	c := o.Cluster
	nodes, eips := c.NodeInfos(), c.ElasticIPCIDRs()
	m := pulumi.Map{
		"projectId":             c.ProjectID,
		"localAsn":              pulumi.Int(c.LocalASN),
		"controllerPublicIpv4":  c.Controller().Device.AccessPublicIpv4,
		"controllerPrivateIpv4": c.Controller().Device.AccessPrivateIpv4,
		"nodes":                 nodes,
		"elasticIps":            eips,
		"sshPublicKey":          c.SSHPublicKey,
		"sshPrivateKey":         c.SSHPrivateKey,
		"kubeconfig":            c.Kubeconfig,
		"apiEndpoint":           c.APIEndpoint,
		"loadBalancerMode":      pulumi.String(string(o.Mode)),
		"pools":                 o.MetalLB.PoolCIDRs,
		"announcedByCalico":     o.Calico.Announced,
	}
	if o.IngressEnabled {
		m["ingressAddress"] = o.MetalLB.IngressAddress
	}
	return m
}

// Package program is the metalk8s Pulumi program: it reads the one stack configuration object,
// maps it to component Args, composes the components and exports their outputs. main.go and the
// offline plan (cmd/plan) run exactly this code.
package program

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/metalcluster"
	"github.com/metalk8s/metalk8s/config"
)

// ClusterName is the logical name of the cluster's components; it prefixes every resource name.
const ClusterName = "metalk8s"

// Outputs are the composed components, whose outputs the stack exports.
type Outputs struct {
	// Cluster is the Metal layer.
	Cluster *metalcluster.MetalCluster
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

// Deploy registers the components for a parsed configuration.
func Deploy(ctx *pulumi.Context, cfg *config.Cluster) (*Outputs, error) {
	cluster, err := metalcluster.NewMetalCluster(ctx, ClusterName, ClusterArgs(cfg))
	if err != nil {
		return nil, err
	}
	return &Outputs{Cluster: cluster}, nil
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
	}
	if cfg.Project.ID != "" {
		a.ProjectID = pulumi.String(cfg.Project.ID)
	} else {
		a.ProjectName = pulumi.String(cfg.Project.Name)
		a.OrganizationID = pulumi.String(cfg.Project.OrganizationID)
	}
	if cfg.BGP.MD5Password != "" {
		a.MD5Password = pulumi.ToSecret(pulumi.String(cfg.BGP.MD5Password)).(pulumi.StringOutput)
	}
	if cfg.SSH.PrivateKey != "" {
		a.SSHPrivateKey = pulumi.ToSecret(pulumi.String(cfg.SSH.PrivateKey)).(pulumi.StringOutput)
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
	nodes := pulumi.Array{}
	for _, n := range c.Nodes {
		nodes = append(nodes, n.Info)
	}
	eips := pulumi.StringMap{}
	for _, e := range c.ElasticIPs {
		eips[e.Name] = e.CIDR
	}
	return pulumi.Map{
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
	}
}

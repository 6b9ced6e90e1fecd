// Package metalcluster provides MetalCluster: the Equinix Metal layer of a Kubernetes cluster
// whose LoadBalancer services are announced over BGP. It creates (or uses) a project with local
// BGP, one controller and N workers with a BGP session each, the elastic IP blocks, and reads each
// node's BGP neighbours into typed outputs.
package metalcluster

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/topology"
)

// TypeToken is MetalCluster's resource type; it is part of every user's resource URNs.
const TypeToken = "metalk8s:cluster:MetalCluster"

// MetalCluster is the Equinix Metal layer of a cluster.
type MetalCluster struct {
	pulumi.ResourceState

	// ProjectID is the project every resource lives in.
	ProjectID pulumi.StringOutput `pulumi:"projectId"`
	// LocalASN is the project's BGP ASN, the ASN every node announces from.
	LocalASN int
	// Nodes are the controllers (the one that initialises first) and the workers, in order.
	Nodes []*Node
	// APIAddressBlock is the reserved /32 of the control plane's API address; nil without one.
	APIAddressBlock *metal.ReservedIpBlock
	// APIAddress is that address, without its prefix length; empty without one.
	APIAddress pulumi.StringOutput
	// ElasticIPs are the reserved blocks, in the order of the Args.
	ElasticIPs []*ElasticIP
	// SSHPrivateKey is the key the devices trust (secret).
	SSHPrivateKey pulumi.StringOutput `pulumi:"sshPrivateKey"`
	// SSHPublicKey is its public half in authorized_keys format.
	SSHPublicKey pulumi.StringOutput `pulumi:"sshPublicKey"`
	// Bootstrap is the kubeadm layer on the devices.
	Bootstrap *bootstrap.Bootstrap
	// Kubeconfig is the cluster-admin kubeconfig (secret).
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// APIEndpoint is the API server URL the kubeconfig uses.
	APIEndpoint pulumi.StringOutput `pulumi:"apiEndpoint"`
	// Provider is a Kubernetes provider for the cluster, for the components that follow.
	Provider *kubernetes.Provider

	controllers int
}

// Node is one device with its BGP session and its node description.
type Node struct {
	// Hostname is the device's hostname and Kubernetes node name, known before creation.
	Hostname string
	// Role is controller or worker.
	Role topology.Role
	// Device is the Metal device.
	Device *metal.Device
	// BgpSession is the device's IPv4 BGP session.
	BgpSession *metal.BgpSession
	// Info is the node's addresses and BGP peers once the device and its session exist.
	Info topology.NodeOutput
}

// ElasticIP is one reserved block.
type ElasticIP struct {
	// Name of the block.
	Name string
	// Type is public_ipv4 or global_ipv4.
	Type metal.IpBlockType
	// Block is the reservation.
	Block *metal.ReservedIpBlock
	// CIDR is the block in address/prefix notation.
	CIDR pulumi.StringOutput
}

// Controller is the control-plane node that initialises the cluster.
func (c *MetalCluster) Controller() *Node { return c.Nodes[0] }

// Controllers are every control-plane node, the first one first.
func (c *MetalCluster) Controllers() []*Node { return c.Nodes[:c.controllers] }

// Workers are the worker nodes.
func (c *MetalCluster) Workers() []*Node { return c.Nodes[c.controllers:] }

// ControllerHostname and WorkerHostname name the devices as the guide does.
func ControllerHostname(metro string) string { return metro + "-controller" }

// FurtherControllerHostname is the hostname of the controller after the first numbered i, from 1.
func FurtherControllerHostname(metro string, i int) string {
	return fmt.Sprintf("%s-controller-%d", metro, i)
}

// WorkerHostname is the hostname of worker i.
func WorkerHostname(metro string, i int) string { return fmt.Sprintf("%s-worker-%d", metro, i) }

// NewMetalCluster registers the Metal layer of a cluster.
func NewMetalCluster(ctx *pulumi.Context, name string, args *MetalClusterArgs, opts ...pulumi.ResourceOption) (*MetalCluster, error) {
	if args == nil {
		return nil, fmt.Errorf("metalcluster %q: args are required", name)
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("metalcluster %q: %w", name, err)
	}
	a := args.withDefaults()

	c := &MetalCluster{LocalASN: a.LocalASN, controllers: a.ControllerCount}
	if err := ctx.RegisterComponentResource(TypeToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	if err := c.project(ctx, name, a, parent); err != nil {
		return nil, fmt.Errorf("metalcluster %q: project: %w", name, err)
	}
	keyID, err := c.sshKey(ctx, name, a, parent)
	if err != nil {
		return nil, fmt.Errorf("metalcluster %q: ssh key: %w", name, err)
	}
	tags := pulumi.StringArray{pulumi.String("metalk8s"), pulumi.String("metalk8s-cluster:" + name)}
	type deviceSpec struct {
		hostname string
		role     topology.Role
		plan     string
	}
	specs := []deviceSpec{{ControllerHostname(a.Metro), topology.RoleController, a.ControllerPlan}}
	for i := 1; i < a.ControllerCount; i++ {
		specs = append(specs, deviceSpec{FurtherControllerHostname(a.Metro, i), topology.RoleController, a.ControllerPlan})
	}
	for i := 0; i < a.WorkerCount; i++ {
		specs = append(specs, deviceSpec{WorkerHostname(a.Metro, i), topology.RoleWorker, a.WorkerPlan})
	}
	for i, s := range specs {
		n, err := c.node(ctx, name, a, s.hostname, s.role, s.plan, keyID, tags, deviceOptions(i == 0, parent))
		if err != nil {
			return nil, fmt.Errorf("metalcluster %q: node %s: %w", name, s.hostname, err)
		}
		c.Nodes = append(c.Nodes, n)
	}
	for _, b := range a.ElasticIPs {
		e, err := c.elasticIP(ctx, name, a, b, tags, parent)
		if err != nil {
			return nil, fmt.Errorf("metalcluster %q: elastic IP %s: %w", name, b.Name, err)
		}
		c.ElasticIPs = append(c.ElasticIPs, e)
	}
	if a.ControllerCount > 1 || a.ReserveAPIAddress {
		if err := c.apiAddress(ctx, name, a, tags, parent); err != nil {
			return nil, fmt.Errorf("metalcluster %q: API address: %w", name, err)
		}
	}
	if err := c.bootstrap(ctx, name, a, parent); err != nil {
		return nil, fmt.Errorf("metalcluster %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(c, c.outputMap()); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *MetalCluster) project(ctx *pulumi.Context, name string, a MetalClusterArgs, parent pulumi.ResourceOption) error {
	if a.ProjectID != nil {
		c.ProjectID = a.ProjectID.ToStringOutput()
		return nil
	}
	bgp := &metal.ProjectBgpConfigArgs{
		DeploymentType: pulumi.String("local"),
		Asn:            pulumi.Int(a.LocalASN),
	}
	if a.MD5Password != nil {
		bgp.Md5 = pulumi.ToSecret(a.MD5Password).(pulumi.StringOutput)
	}
	p, err := metal.NewProject(ctx, name, &metal.ProjectArgs{
		Name:           a.ProjectName,
		OrganizationId: a.OrganizationID.ToStringOutput(),
		BgpConfig:      bgp,
	}, parent)
	if err != nil {
		return err
	}
	c.ProjectID = p.ID().ToStringOutput()
	return nil
}

// sshKey registers the project SSH key, generating the private key unless one is given.
func (c *MetalCluster) sshKey(ctx *pulumi.Context, name string, a MetalClusterArgs, parent pulumi.ResourceOption) (pulumi.IDOutput, error) {
	if a.SSHPrivateKey != nil {
		c.SSHPrivateKey = pulumi.ToSecret(a.SSHPrivateKey).(pulumi.StringOutput)
		c.SSHPublicKey = pulumi.Unsecret(a.SSHPrivateKey.ToStringOutput().ApplyT(publicKeyOf)).(pulumi.StringOutput)
	} else {
		k, err := tls.NewPrivateKey(ctx, name+"-ssh", &tls.PrivateKeyArgs{Algorithm: pulumi.String("ED25519")}, parent)
		if err != nil {
			return pulumi.IDOutput{}, err
		}
		// The provider marks it secret in real runs; make it explicit so no path can lose that.
		c.SSHPrivateKey = pulumi.ToSecret(k.PrivateKeyOpenssh).(pulumi.StringOutput)
		c.SSHPublicKey = k.PublicKeyOpenssh
	}
	key, err := metal.NewProjectSshKey(ctx, name+"-ssh", &metal.ProjectSshKeyArgs{
		Name:      pulumi.String(name),
		ProjectId: c.ProjectID,
		PublicKey: c.SSHPublicKey,
	}, parent)
	if err != nil {
		return pulumi.IDOutput{}, err
	}
	return key.ID(), nil
}

// publicKeyOf derives the authorized_keys line of a private key.
func publicKeyOf(private string) (string, error) {
	signer, err := ssh.ParsePrivateKey([]byte(private))
	if err != nil {
		return "", fmt.Errorf("SSHPrivateKey: %w", err)
	}
	return string(ssh.MarshalAuthorizedKey(signer.PublicKey())), nil
}

func (c *MetalCluster) node(ctx *pulumi.Context, name string, a MetalClusterArgs, hostname string, role topology.Role,
	plan string, keyID pulumi.IDOutput, tags pulumi.StringArray, opts []pulumi.ResourceOption) (*Node, error) {
	parent := opts[0]
	dev, err := metal.NewDevice(ctx, name+"-"+hostname, &metal.DeviceArgs{
		Hostname:         pulumi.String(hostname),
		Plan:             pulumi.String(plan),
		Metro:            pulumi.String(a.Metro),
		OperatingSystem:  pulumi.String(a.OperatingSystem),
		BillingCycle:     pulumi.String(a.BillingCycle),
		ProjectId:        c.ProjectID,
		ProjectSshKeyIds: pulumi.StringArray{keyID.ToStringOutput()},
		Tags:             append(append(pulumi.StringArray{}, tags...), pulumi.String("metalk8s-role:"+string(role))),
		IpAddresses:      deviceAddresses,
	}, opts...)
	if err != nil {
		return nil, err
	}
	session, err := metal.NewBgpSession(ctx, name+"-"+hostname+"-bgp", &metal.BgpSessionArgs{
		DeviceId:      dev.ID().ToStringOutput(),
		AddressFamily: pulumi.String("ipv4"),
		DefaultRoute:  pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Metal lists a device's neighbours only once its session exists: read them through the
	// session's own output and depend on it explicitly.
	want := projectBGP{asn: a.LocalASN, md5: a.MD5Password != nil}
	neighbours := metal.GetDeviceBgpNeighborsOutput(ctx,
		metal.GetDeviceBgpNeighborsOutputArgs{DeviceId: session.DeviceId},
		pulumi.DependsOn([]pulumi.Resource{session}))
	described := pulumi.All(dev.ID(), dev.AccessPublicIpv4, dev.AccessPrivateIpv4, dev.Network, neighbours).
		ApplyT(func(v []any) (topology.Node, error) {
			return describeNode(hostname, role, string(v[0].(pulumi.ID)), v[1].(string), v[2].(string),
				v[3].([]metal.DeviceNetwork), v[4].(metal.GetDeviceBgpNeighborsResult), want)
		})
	// The neighbour data is secret because it carries the MD5 password; the node description
	// leaves the password out (PeersFromNeighbors), so it need not hide addresses and peers.
	info := pulumi.Unsecret(described).(topology.NodeOutput)
	return &Node{Hostname: hostname, Role: role, Device: dev, BgpSession: session, Info: info}, nil
}

// deviceAddresses are the address types every device is created with: a public and a private
// IPv4, and no public IPv6. Metal gives a device a public IPv6 address unless the request lists
// its addresses; nothing here uses one, and an address nobody uses is one more to firewall.
// The provider sends ip_address only when it creates a device (it neither reads it back nor
// replaces a device for it), so devices created before keep their IPv6 address; the host
// firewall closes it as it closes the public IPv4 address.
var deviceAddresses = metal.DeviceIpAddressArray{
	metal.DeviceIpAddressArgs{Type: pulumi.String(metal.AddressTypePrivateIPv4)},
	metal.DeviceIpAddressArgs{Type: pulumi.String(metal.AddressTypePublicIPv4)},
}

// deviceOptions are a node's device options, parent first. A replaced worker or joined controller
// keeps its hostname, which is its Kubernetes node name: the old machine must leave the cluster
// (drained and deleted, then reset) before the new one joins under the same name, so the old
// device is deleted first, and with it, before it, the steps tied to it (bootstrap.Host.ID). The
// first controller's new device initialises a new control plane beside the old one.
func deviceOptions(first bool, parent pulumi.ResourceOption) []pulumi.ResourceOption {
	if !first {
		return []pulumi.ResourceOption{parent, pulumi.DeleteBeforeReplace(true)}
	}
	return []pulumi.ResourceOption{parent}
}

// apiAddress reserves the control plane's API address: a public /32 in the cluster's metro, which
// the project's local BGP lets the controllers announce.
func (c *MetalCluster) apiAddress(ctx *pulumi.Context, name string, a MetalClusterArgs, tags pulumi.StringArray, parent pulumi.ResourceOption) error {
	block, err := metal.NewReservedIpBlock(ctx, name+"-api-address", &metal.ReservedIpBlockArgs{
		ProjectId:   c.ProjectID,
		Type:        pulumi.String(string(metal.IpBlockTypePublicIPv4)),
		Metro:       pulumi.String(a.Metro),
		Quantity:    pulumi.Int(1),
		Description: pulumi.String(fmt.Sprintf("API address of metalk8s cluster %s", name)),
		Tags:        tags,
	}, parent)
	if err != nil {
		return err
	}
	c.APIAddressBlock = block
	c.APIAddress = block.CidrNotation.ApplyT(func(cidr string) (string, error) {
		p, err := netip.ParsePrefix(cidr)
		if err != nil || !p.Addr().Is4() || p.Bits() != 32 {
			return "", fmt.Errorf("reserved block %s: want one IPv4 address (a /32)", cidr)
		}
		return p.Addr().String(), nil
	}).(pulumi.StringOutput)
	return nil
}

func (c *MetalCluster) elasticIP(ctx *pulumi.Context, name string, a MetalClusterArgs, b ElasticIPArgs,
	tags pulumi.StringArray, parent pulumi.ResourceOption) (*ElasticIP, error) {
	args := &metal.ReservedIpBlockArgs{
		ProjectId:   c.ProjectID,
		Type:        pulumi.String(string(b.Type)),
		Quantity:    pulumi.Int(b.Quantity),
		Description: pulumi.String(fmt.Sprintf("%s elastic IPs of metalk8s cluster %s", b.Name, name)),
		Tags:        tags,
	}
	if b.Type == metal.IpBlockTypePublicIPv4 {
		metro := b.Metro
		if metro == "" {
			metro = a.Metro
		}
		args.Metro = pulumi.String(metro)
	}
	block, err := metal.NewReservedIpBlock(ctx, name+"-eip-"+b.Name, args, parent)
	if err != nil {
		return nil, err
	}
	return &ElasticIP{Name: b.Name, Type: b.Type, Block: block, CIDR: block.CidrNotation}, nil
}

// bootstrap makes a Kubernetes cluster of the devices.
func (c *MetalCluster) bootstrap(ctx *pulumi.Context, name string, a MetalClusterArgs, parent pulumi.ResourceOption) error {
	hosts := make([]bootstrap.Host, len(c.Nodes))
	for i, n := range c.Nodes {
		ssh := n.Device.AccessPublicIpv4
		if a.APIAccess.PrivateOnly {
			ssh = n.Device.AccessPrivateIpv4
		}
		hosts[i] = bootstrap.Host{
			Name:        n.Hostname,
			ID:          n.Device.ID().ToStringOutput(),
			SSHAddress:  ssh,
			PrivateIPv4: n.Device.AccessPrivateIpv4,
			PublicIPv4:  n.Device.AccessPublicIpv4,
			DependsOn:   []pulumi.Resource{n.Device},
		}
		if n.Role == topology.RoleWorker {
			hosts[i].Labels = a.WorkerLabels
		}
	}
	args := &bootstrap.BootstrapArgs{
		Controller:    hosts[0],
		Controllers:   hosts[1:c.controllers],
		Workers:       hosts[c.controllers:],
		Kubernetes:    a.Kubernetes,
		APIAccess:     a.APIAccess,
		SSHPrivateKey: c.SSHPrivateKey,
		PodBlocked:    []string{metal.MetadataIPv4 + "/32"},
	}
	if c.APIAddressBlock != nil {
		args.APIAddress = c.APIAddress
	}
	b, err := bootstrap.NewBootstrap(ctx, name, args, parent)
	if err != nil {
		return err
	}
	c.Bootstrap, c.Kubeconfig, c.APIEndpoint, c.Provider = b, b.Kubeconfig, b.APIEndpoint, b.Provider
	return nil
}

// NodeInfos are every node's description, controller first, as one output array.
func (c *MetalCluster) NodeInfos() pulumi.Array {
	nodes := make(pulumi.Array, len(c.Nodes))
	for i, n := range c.Nodes {
		nodes[i] = n.Info
	}
	return nodes
}

// ElasticIPCIDRs are the reserved blocks' CIDRs by block name.
func (c *MetalCluster) ElasticIPCIDRs() pulumi.StringMap {
	eips := pulumi.StringMap{}
	for _, e := range c.ElasticIPs {
		eips[e.Name] = e.CIDR
	}
	return eips
}

// outputMap is what the component records as its outputs in the state.
func (c *MetalCluster) outputMap() pulumi.Map {
	nodes, eips := c.NodeInfos(), c.ElasticIPCIDRs()
	m := pulumi.Map{
		"projectId":     c.ProjectID,
		"localAsn":      pulumi.Int(c.LocalASN),
		"nodes":         nodes,
		"elasticIps":    eips,
		"sshPrivateKey": c.SSHPrivateKey,
		"sshPublicKey":  c.SSHPublicKey,
		"kubeconfig":    c.Kubeconfig,
		"apiEndpoint":   c.APIEndpoint,
	}
	if c.APIAddressBlock != nil {
		m["apiAddress"] = c.APIAddress
	}
	return m
}

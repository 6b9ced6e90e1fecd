package calicobgp

import (
	"fmt"
	"net/netip"

	apiv3 "github.com/projectcalico/api/pkg/apis/projectcalico/v3"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/internal/kobj"
	"github.com/metalk8s/metalk8s/components/topology"
)

// TypeToken is CalicoBGP's resource type; it is part of every user's resource URNs.
const TypeToken = "metalk8s:calico:CalicoBGP"

// CalicoBGP is Calico networking with the node-to-node mesh, every node peering with its
// top-of-rack routers, and the LoadBalancer ranges announced or let through.
type CalicoBGP struct {
	pulumi.ResourceState

	// Release is the tigera-operator chart.
	Release *helmv3.Release
	// Ready is the step that waited for the projectcalico.org/v3 API and calico-node.
	Ready pulumi.Resource
	// Peers are each node's top-of-rack BGPPeers, by node name.
	Peers map[string]*yamlv2.ConfigGroup
	// LoadBalancerCIDRs are every LoadBalancer range: announced by Calico in ModeCalico, let
	// through Calico's export filter (disabled IPPools) in ModeBirdLocalPeer.
	LoadBalancerCIDRs pulumi.StringArrayOutput `pulumi:"loadBalancerCidrs"`
	// Announced are the ranges Calico itself announces (ModeCalico), empty otherwise.
	Announced pulumi.StringArrayOutput `pulumi:"announced"`
	// APIAddressPool is the disabled IPPool over APIAddress, nil without one.
	APIAddressPool *yamlv2.ConfigGroup
	// APIName are the workers' steps that map the control plane's name to APIAddress once it
	// answers there; nil without an API address.
	APIName []pulumi.Resource
	// Warnings are what the caller should tell the user about the chosen set-up (plain text,
	// known when NewCalicoBGP returns); each was also logged as a warning on the component.
	Warnings []string
}

// LocalPeerWarning is the warning of ModeBirdLocalPeer, the guide's design kept as it is: Calico's
// API cannot express a fix for what does not hold in it (README, "bird-local-peer: what does not
// hold"; the BGP lab pins each point).
const LocalPeerWarning = "loadBalancer mode bird-local-peer is the guide's legacy design and does not fully hold: " +
	"the speakers' routes keep next hop 127.0.0.1 into every node's kernel (traffic to a LoadBalancer address " +
	"no service port takes goes back to the node's gateway), every node re-announces them to the routers with the " +
	"speaker's AS path (the choice of speaker nodes and externalTrafficPolicy Local do not hold), and calico.version " +
	"cannot move between 3.31 and 3.32 in this mode (refused before the chart changes). Mode calico has none of these; " +
	"see README, \"bird-local-peer: what does not hold\""

// NewCalicoBGP installs Calico and its BGP objects.
func NewCalicoBGP(ctx *pulumi.Context, name string, args *CalicoBGPArgs, opts ...pulumi.ResourceOption) (*CalicoBGP, error) {
	if args == nil {
		return nil, fmt.Errorf("calicobgp %q: args are required", name)
	}
	a := args.withDefaults()
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("calicobgp %q: %w", name, err)
	}
	c := &CalicoBGP{Peers: map[string]*yamlv2.ConfigGroup{}}
	if err := ctx.RegisterComponentResource(TypeToken, name, c, opts...); err != nil {
		return nil, err
	}
	if a.Mode == topology.ModeBirdLocalPeer {
		c.Warnings = append(c.Warnings, LocalPeerWarning)
		if err := ctx.Log.Warn(LocalPeerWarning, &pulumi.LogArgs{Resource: c}); err != nil {
			return nil, err
		}
	}
	b := &builder{ctx: ctx, name: name, args: a, c: c,
		opts: []pulumi.ResourceOption{pulumi.Parent(c), pulumi.Provider(a.Provider)}}
	if err := b.build(); err != nil {
		return nil, fmt.Errorf("calicobgp %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"loadBalancerCidrs": c.LoadBalancerCIDRs, "announced": c.Announced,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

type builder struct {
	ctx  *pulumi.Context
	name string
	args CalicoBGPArgs
	c    *CalicoBGP
	opts []pulumi.ResourceOption
}

// with returns the builder's options plus a dependency on deps.
func (b *builder) with(deps ...pulumi.Resource) []pulumi.ResourceOption {
	return append(append([]pulumi.ResourceOption{}, b.opts...), pulumi.DependsOn(deps))
}

func (b *builder) build() error {
	a, c := b.args, b.c
	vals, err := values(a.PodCIDR)
	if err != nil {
		return err
	}
	// Before the chart moves, in every mode (a switch to ModeCalico removes the published
	// template only at the end of the update, after the chart).
	guard, err := RenderBirdTemplateGuard(BirdTemplateGuardData{Version: a.Version, Generation: TemplateGeneration(a.Version), Namespace: OperatorNamespace})
	if err != nil {
		return err
	}
	_, guardStep, err := a.Shell.RunScript(b.ctx, b.name+"-bird-template-guard", pulumi.String(guard), b.with(a.DependsOn...)...)
	if err != nil {
		return fmt.Errorf("BIRD template check: %w", err)
	}
	chartDeps := append([]pulumi.Resource{}, a.DependsOn...)
	if guardStep != nil {
		chartDeps = append(chartDeps, guardStep)
	}
	c.Release, err = helmv3.NewRelease(b.ctx, b.name+"-calico", &helmv3.ReleaseArgs{
		Chart:           pulumi.String("tigera-operator"),
		Version:         pulumi.String("v" + a.Version),
		RepositoryOpts:  &helmv3.RepositoryOptsArgs{Repo: pulumi.String(ChartRepository)},
		Namespace:       pulumi.String(OperatorNamespace),
		CreateNamespace: pulumi.Bool(true),
		Values:          pulumi.ToMap(vals),
	}, b.with(chartDeps...)...)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	ready, err := RenderReady(ReadyData{TimeoutSeconds: DefaultReadyTimeoutSeconds})
	if err != nil {
		return err
	}
	_, c.Ready, err = a.Shell.RunScript(b.ctx, b.name+"-calico-ready", pulumi.String(ready), b.with(c.Release)...)
	if err != nil {
		return fmt.Errorf("readiness wait: %w", err)
	}

	// The filter exists before any router peer names it: confd skips a filter it cannot find
	// (bird.cfg.template checks `exists` on its key), which would export the pod network.
	// The API address, checked once for the filter, the pool and the workers' script.
	var addr pulumi.StringOutput
	if a.APIAddress != nil {
		addr = b.apiAddress()
	}
	var filter pulumi.ArrayInput
	if a.APIAddress == nil {
		objs, err := kobj.Objects([]apiv3.BGPFilter{TorFilter(a.PodCIDR, "")})
		if err != nil {
			return err
		}
		filter = pulumi.ToArray(objs)
	} else {
		filter = addr.ApplyT(func(addr string) ([]any, error) {
			return kobj.Objects([]apiv3.BGPFilter{TorFilter(a.PodCIDR, addr)})
		}).(pulumi.ArrayOutput)
	}
	filterGroup, err := yamlv2.NewConfigGroup(b.ctx, b.name+"-bgp-filter", &yamlv2.ConfigGroupArgs{Objs: filter}, b.with(c.Ready)...)
	if err != nil {
		return fmt.Errorf("BGPFilter: %w", err)
	}
	if a.APIAddress != nil {
		// After the filter: the pool lets the address out, the filter's rule keeps the copies
		// learnt over the mesh in.
		pool := addr.ApplyT(func(addr string) ([]any, error) {
			return kobj.Objects([]apiv3.IPPool{APIAddressIPPool(addr)})
		}).(pulumi.ArrayOutput)
		c.APIAddressPool, err = yamlv2.NewConfigGroup(b.ctx, b.name+"-api-address-ippool", &yamlv2.ConfigGroupArgs{Objs: pool}, b.with(c.Ready, filterGroup)...)
		if err != nil {
			return fmt.Errorf("API address IPPool: %w", err)
		}
		// The workers move the control plane's name to the API address once it answers there.
		script := addr.ApplyT(func(addr string) (string, error) {
			return RenderAPIName(APINameData{Address: addr, Port: a.APIPort, TimeoutSeconds: DefaultReadyTimeoutSeconds})
		}).(pulumi.StringOutput)
		// Not on the component's Kubernetes provider: the steps run over SSH.
		opts := []pulumi.ResourceOption{pulumi.Parent(c), pulumi.DependsOn([]pulumi.Resource{c.Ready, c.APIAddressPool})}
		if c.APIName, err = a.Shell.(WorkerShell).RunScriptOnWorkers(b.ctx, b.name+"-api-name", script, opts...); err != nil {
			return fmt.Errorf("API name on the workers: %w", err)
		}
	}
	peerDeps := []pulumi.Resource{c.Ready, filterGroup}
	if a.MD5Password != nil || len(a.PeerPasswords) > 0 {
		secret, err := b.md5Secret()
		if err != nil {
			return fmt.Errorf("MD5 secret: %w", err)
		}
		peerDeps = append(peerDeps, secret...)
	}

	c.LoadBalancerCIDRs = allCIDRs(a.Pools)
	c.Announced = pulumi.ToStringArray(nil).ToStringArrayOutput()
	if a.Mode == topology.ModeCalico {
		c.Announced = c.LoadBalancerCIDRs
	}
	config := c.Announced.ApplyT(func(announce []string) ([]any, error) {
		return kobj.Objects([]any{BGPConfiguration(a.LocalASN, announce)})
	}).(pulumi.ArrayOutput)
	if _, err := yamlv2.NewConfigGroup(b.ctx, b.name+"-bgp-configuration", &yamlv2.ConfigGroupArgs{Objs: config}, b.with(c.Ready)...); err != nil {
		return fmt.Errorf("BGPConfiguration: %w", err)
	}

	for _, n := range a.Nodes {
		peers := n.Info.ApplyT(func(node topology.Node) ([]any, error) {
			return kobj.Objects(TorPeers(node, b.passwords()))
		}).(pulumi.ArrayOutput)
		cg, err := yamlv2.NewConfigGroup(b.ctx, b.name+"-"+n.Name+"-bgp-peers", &yamlv2.ConfigGroupArgs{Objs: peers}, b.with(peerDeps...)...)
		if err != nil {
			return fmt.Errorf("%s: BGP peers: %w", n.Name, err)
		}
		c.Peers[n.Name] = cg
	}
	if a.Mode == topology.ModeBirdLocalPeer {
		return b.localPeer()
	}
	return nil
}

// apiAddress is APIAddress, failing the run naming it unless it is an IPv4 address: it is known
// only once the cloud answers (a reserved address), and is written into Calico objects.
func (b *builder) apiAddress() pulumi.StringOutput {
	return b.args.APIAddress.ToStringOutput().ApplyT(func(addr string) (string, error) {
		if ip, err := netip.ParseAddr(addr); err != nil || !ip.Is4() {
			return "", fmt.Errorf("APIAddress: address %q is not an IPv4 address", addr)
		}
		return addr, nil
	}).(pulumi.StringOutput)
}

// passwords are the keys of the password Secret the sessions may use.
func (b *builder) passwords() Passwords {
	p := Passwords{Shared: b.args.MD5Password != nil, Own: map[string]bool{}}
	for k := range b.args.PeerPasswords {
		p.Own[k] = true
	}
	return p
}

// md5Secret keeps the routers' passwords in a Secret calico-node may read, and nowhere else.
func (b *builder) md5Secret() ([]pulumi.Resource, error) {
	a, c := b.args, b.c
	meta := &metav1.ObjectMetaArgs{Name: pulumi.String(md5SecretName), Namespace: pulumi.String(CalicoNamespace)}
	data := pulumi.StringMap{}
	if a.MD5Password != nil {
		data[md5SecretKey] = pulumi.ToSecret(a.MD5Password).(pulumi.StringOutput)
	}
	for k, pw := range a.PeerPasswords {
		data[k] = pulumi.ToSecret(pw).(pulumi.StringOutput)
	}
	secret, err := corev1.NewSecret(b.ctx, b.name+"-bgp-password", &corev1.SecretArgs{
		Metadata:   meta,
		StringData: data,
	}, b.with(c.Ready)...)
	if err != nil {
		return nil, err
	}
	role, err := rbacv1.NewRole(b.ctx, b.name+"-bgp-password", &rbacv1.RoleArgs{
		Metadata: meta,
		Rules: rbacv1.PolicyRuleArray{&rbacv1.PolicyRuleArgs{
			ApiGroups:     pulumi.ToStringArray([]string{""}),
			Resources:     pulumi.ToStringArray([]string{"secrets"}),
			ResourceNames: pulumi.ToStringArray([]string{md5SecretName}),
			Verbs:         pulumi.ToStringArray([]string{"get", "list", "watch"}),
		}},
	}, b.with(c.Ready)...)
	if err != nil {
		return nil, err
	}
	binding, err := rbacv1.NewRoleBinding(b.ctx, b.name+"-bgp-password", &rbacv1.RoleBindingArgs{
		Metadata: meta,
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: pulumi.String(md5SecretName),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: pulumi.String("calico-node"), Namespace: pulumi.String(CalicoNamespace),
		}},
	}, b.with(role)...)
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{secret, role, binding}, nil
}

// localPeer sets up the guide's design: BIRD passive towards 127.0.0.1 (its template edited as
// shipped by the running version), the speakers' peer, and disabled pools over the ranges.
func (b *builder) localPeer() error {
	a, c := b.args, b.c
	read, err := RenderBirdTemplate(BirdTemplateData{Version: a.Version, Namespace: CalicoNamespace})
	if err != nil {
		return err
	}
	stock, readStep, err := a.Shell.RunScript(b.ctx, b.name+"-bird-template", pulumi.String(read), b.with(c.Ready)...)
	if err != nil {
		return fmt.Errorf("BIRD template read: %w", err)
	}
	patched := stock.ApplyT(InsertPassiveLoopback).(pulumi.StringOutput)
	cm, err := corev1.NewConfigMap(b.ctx, b.name+"-bird-templates", &corev1.ConfigMapArgs{
		// The operator mounts every key of this ConfigMap over calico-node's confd templates.
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("bird-templates"), Namespace: pulumi.String(OperatorNamespace)},
		Data:     pulumi.StringMap{"bird.cfg.template": patched},
	}, b.with(readStep)...)
	if err != nil {
		return fmt.Errorf("bird-templates: %w", err)
	}
	loop, err := kobj.Objects([]any{LoopbackPeer(a.MetalLBASN)})
	if err != nil {
		return err
	}
	if _, err := yamlv2.NewConfigGroup(b.ctx, b.name+"-metallb-peer", &yamlv2.ConfigGroupArgs{Objs: pulumi.ToArray(loop)}, b.with(cm)...); err != nil {
		return fmt.Errorf("127.0.0.1 peer: %w", err)
	}
	var pools pulumi.Array
	for _, p := range a.Pools {
		for i, cidr := range p.CIDRs {
			name := fmt.Sprintf("metalk8s-lb-%s-%d", p.Name, i)
			pools = append(pools, cidr.ToStringOutput().ApplyT(func(c string) (map[string]any, error) {
				return kobj.Object(LoadBalancerIPPool(name, c))
			}))
		}
	}
	if _, err := yamlv2.NewConfigGroup(b.ctx, b.name+"-loadbalancer-ippools", &yamlv2.ConfigGroupArgs{Objs: pools.ToArrayOutput()}, b.with(c.Ready)...); err != nil {
		return fmt.Errorf("LoadBalancer IPPools: %w", err)
	}
	return nil
}

// allCIDRs lists every pool's CIDRs.
func allCIDRs(pools []topology.LoadBalancerPool) pulumi.StringArrayOutput {
	var all pulumi.StringArray
	for _, p := range pools {
		all = append(all, p.CIDRs...)
	}
	return all.ToStringArrayOutput()
}

package metallbpools

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/internal/kobj"
	"github.com/metalk8s/metalk8s/components/topology"
)

// TypeToken is MetalLBPools' resource type; it is part of every user's resource URNs.
const TypeToken = "metalk8s:metallb:MetalLBPools"

// MetalLBPools is MetalLB with one IPAddressPool per pool, the speakers' peering where the mode
// needs it, and the optional example ingress.
type MetalLBPools struct {
	pulumi.ResourceState

	// Release is the MetalLB chart.
	Release *helmv3.Release
	// Pools are the IPAddressPools, by pool name.
	Pools map[string]*yamlv2.ConfigGroup
	// Peering holds the BGPPeer and BGPAdvertisement (ModeBirdLocalPeer only).
	Peering *yamlv2.ConfigGroup
	// Ingress is the example ingress chart, when enabled.
	Ingress *helmv3.Release
	// PoolCIDRs are each pool's ranges, by pool name.
	PoolCIDRs pulumi.StringArrayMapOutput `pulumi:"poolCidrs"`
	// IngressAddress is the example ingress's LoadBalancer address (empty without the ingress).
	IngressAddress pulumi.StringOutput `pulumi:"ingressAddress"`
}

// NewMetalLBPools installs MetalLB and its pools.
func NewMetalLBPools(ctx *pulumi.Context, name string, args *MetalLBPoolsArgs, opts ...pulumi.ResourceOption) (*MetalLBPools, error) {
	if args == nil {
		return nil, fmt.Errorf("metallbpools %q: args are required", name)
	}
	a := args.withDefaults()
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("metallbpools %q: %w", name, err)
	}
	m := &MetalLBPools{Pools: map[string]*yamlv2.ConfigGroup{}}
	if err := ctx.RegisterComponentResource(TypeToken, name, m, opts...); err != nil {
		return nil, err
	}
	base := []pulumi.ResourceOption{pulumi.Parent(m), pulumi.Provider(a.Provider)}
	with := func(deps ...pulumi.Resource) []pulumi.ResourceOption {
		return append(append([]pulumi.ResourceOption{}, base...), pulumi.DependsOn(deps))
	}
	var err error
	m.Release, err = helmv3.NewRelease(ctx, name+"-metallb", &helmv3.ReleaseArgs{
		Chart:           pulumi.String("metallb"),
		Version:         pulumi.String(a.Version),
		RepositoryOpts:  &helmv3.RepositoryOptsArgs{Repo: pulumi.String(ChartRepository)},
		Namespace:       pulumi.String(Namespace),
		CreateNamespace: pulumi.Bool(true),
		Values:          pulumi.ToMap(chartValues(a.Mode)),
	}, with(a.DependsOn...)...)
	if err != nil {
		return nil, fmt.Errorf("metallbpools %q: chart: %w", name, err)
	}
	cidrs := pulumi.StringArrayMap{}
	var poolNames []string
	for _, p := range a.Pools {
		ranges := pulumi.StringArray(p.CIDRs)
		cidrs[p.Name] = ranges
		poolNames = append(poolNames, p.Name)
		pool, autoAssign := p.Name, p.AutoAssign
		objs := ranges.ToStringArrayOutput().ApplyT(func(rs []string) ([]any, error) {
			return kobj.Objects([]any{IPAddressPool(pool, rs, autoAssign)})
		}).(pulumi.ArrayOutput)
		m.Pools[p.Name], err = yamlv2.NewConfigGroup(ctx, name+"-pool-"+p.Name, &yamlv2.ConfigGroupArgs{Objs: objs}, with(m.Release)...)
		if err != nil {
			return nil, fmt.Errorf("metallbpools %q: pool %s: %w", name, p.Name, err)
		}
	}
	m.PoolCIDRs = cidrs.ToStringArrayMapOutput()
	if a.Mode == topology.ModeBirdLocalPeer {
		objs, err := kobj.Objects([]any{LocalBGPPeer(a.MetalLBASN, a.LocalASN), BGPAdvertisement(poolNames)})
		if err != nil {
			return nil, err
		}
		m.Peering, err = yamlv2.NewConfigGroup(ctx, name+"-bgp", &yamlv2.ConfigGroupArgs{Objs: pulumi.ToArray(objs)}, with(m.Release)...)
		if err != nil {
			return nil, fmt.Errorf("metallbpools %q: BGP peering: %w", name, err)
		}
	}
	if a.Ingress != nil {
		deps := []pulumi.Resource{m.Pools[a.Ingress.Pool]}
		if m.Peering != nil {
			deps = append(deps, m.Peering)
		}
		m.Ingress, err = helmv3.NewRelease(ctx, name+"-ingress", &helmv3.ReleaseArgs{
			Name:            pulumi.String(IngressRelease),
			Chart:           pulumi.String("traefik"),
			Version:         pulumi.String(TraefikChartVersion),
			RepositoryOpts:  &helmv3.RepositoryOptsArgs{Repo: pulumi.String(TraefikRepository)},
			Namespace:       pulumi.String(IngressNamespace),
			CreateNamespace: pulumi.Bool(true),
			Values:          pulumi.ToMap(ingressValues(a.Ingress.Pool)),
		}, with(deps...)...)
		if err != nil {
			return nil, fmt.Errorf("metallbpools %q: ingress: %w", name, err)
		}
		// The chart names its service after the release; read the address MetalLB gave it.
		svc, err := corev1.GetService(ctx, name+"-ingress", pulumi.ID(IngressNamespace+"/"+IngressRelease), nil, with(m.Ingress)...)
		if err != nil {
			return nil, fmt.Errorf("metallbpools %q: ingress service: %w", name, err)
		}
		m.IngressAddress = svc.Status.LoadBalancer().Ingress().Index(pulumi.Int(0)).Ip().Elem()
	} else {
		m.IngressAddress = pulumi.String("").ToStringOutput()
	}
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{"poolCidrs": m.PoolCIDRs, "ingressAddress": m.IngressAddress}); err != nil {
		return nil, err
	}
	return m, nil
}

// chartValues are the MetalLB chart values of a mode: without speakers when Calico announces,
// else native BGP speakers (never FRR, which would take port 179 from BIRD) on the labelled nodes.
func chartValues(mode topology.LoadBalancerMode) map[string]any {
	speaker := map[string]any{"enabled": false}
	if mode == topology.ModeBirdLocalPeer {
		speaker = map[string]any{
			"enabled":      true,
			"frr":          map[string]any{"enabled": false},
			"nodeSelector": map[string]any{topology.SpeakerLabel: topology.SpeakerLabelValue},
		}
	}
	return map[string]any{
		"controller": map[string]any{"enabled": true},
		"speaker":    speaker,
		"frrk8s":     map[string]any{"enabled": false},
	}
}

// ingressValues run Traefik on every node (as the guide's DaemonSet) behind a LoadBalancer
// service that takes its address from pool.
func ingressValues(pool string) map[string]any {
	return map[string]any{
		"deployment": map[string]any{"kind": "DaemonSet"},
		"service": map[string]any{
			"type":        "LoadBalancer",
			"annotations": map[string]any{PoolAnnotation: pool},
		},
	}
}

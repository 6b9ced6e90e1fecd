package metallbpools

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/topology"
)

// Example ingress defaults.
const (
	// TraefikChartVersion is the pinned Traefik chart (Traefik Proxy 3.6).
	TraefikChartVersion = "37.3.0"
	// TraefikRepository serves the Traefik chart.
	TraefikRepository = "https://traefik.github.io/charts"
	// IngressNamespace is where the example ingress runs.
	IngressNamespace = "traefik"
	// IngressRelease names the ingress release, and so its service.
	IngressRelease = "traefik"
)

// MetalLBPoolsArgs configure MetalLBPools.
type MetalLBPoolsArgs struct {
	// Provider is the Kubernetes provider of the cluster (required).
	Provider *kubernetes.Provider
	// Version of MetalLB. Default DefaultVersion.
	Version string
	// Mode says who announces the addresses. ModeCalico: MetalLB only assigns (no speakers).
	// ModeBirdLocalPeer: speakers on the labelled nodes peer with the node's BIRD on 127.0.0.1.
	// Default topology.ModeCalico.
	Mode topology.LoadBalancerMode
	// Pools become one IPAddressPool each.
	Pools []topology.LoadBalancerPool
	// LocalASN is the nodes' ASN, the speakers' peer in ModeBirdLocalPeer (required there).
	LocalASN int
	// MetalLBASN is the speakers' own ASN. Default topology.DefaultMetalLBASN.
	MetalLBASN int
	// Ingress installs Traefik as a LoadBalancer service when set.
	Ingress *IngressArgs
	// DependsOn are resources MetalLB waits for (Calico's readiness).
	DependsOn []pulumi.Resource
}

// IngressArgs configure the example ingress.
type IngressArgs struct {
	// Pool the ingress service takes its address from (required).
	Pool string
}

var versionPattern = regexp.MustCompile(`^0\.\d+\.\d+$`)

func (a MetalLBPoolsArgs) withDefaults() MetalLBPoolsArgs {
	if a.Version == "" {
		a.Version = DefaultVersion
	}
	if a.Mode == "" {
		a.Mode = topology.ModeCalico
	}
	if a.MetalLBASN == 0 {
		a.MetalLBASN = topology.DefaultMetalLBASN
	}
	return a
}

// validate reports every problem of defaulted args at once.
func (a MetalLBPoolsArgs) validate() error {
	var errs []error
	add := func(format string, v ...any) { errs = append(errs, fmt.Errorf(format, v...)) }
	if a.Provider == nil {
		add("Provider is required")
	}
	if !versionPattern.MatchString(a.Version) {
		add("Version %q: must be a MetalLB release 0.MINOR.PATCH", a.Version)
	}
	if err := a.Mode.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := topology.ValidatePools(a.Pools); err != nil {
		errs = append(errs, err)
	}
	if a.Mode == topology.ModeBirdLocalPeer && (a.LocalASN == 0 || a.LocalASN == a.MetalLBASN) {
		add("LocalASN %d: required in %s mode and different from MetalLBASN %d", a.LocalASN, a.Mode, a.MetalLBASN)
	}
	names := map[string]bool{}
	for _, p := range a.Pools {
		names[p.Name] = true
	}
	if a.Ingress != nil && !names[a.Ingress.Pool] {
		add("Ingress.Pool %q: names no pool", a.Ingress.Pool)
	}
	return errors.Join(errs...)
}

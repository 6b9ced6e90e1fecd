package calicobgp

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/topology"
)

// Defaults applied to empty Args fields.
const (
	// DefaultVersion is the Calico release installed with the tigera-operator chart. 3.31 is the
	// last line whose chart carries its CRDs and whose BIRD template has the per-peer line the
	// passive rule is anchored on; 3.32.0 lacks RBAC that LoadBalancer IPAM needs.
	DefaultVersion = "3.31.7"
	// MinMinorVersion is the oldest Calico minor release (3.MINOR) accepted: BGPFilter, which
	// TorFilter needs, first appears in v3.26.0 (projectcalico/calico api/.../v3/bgpfilter.go and
	// confd's bird.cfg.template); BGPPeer reachableBy is older (v3.25.0).
	MinMinorVersion = 26
	// DefaultLocalASN is the nodes' ASN.
	DefaultLocalASN = 65000
	// DefaultReadyTimeoutSeconds bounds each wait for Calico.
	DefaultReadyTimeoutSeconds = 900
	// ChartRepository serves the tigera-operator chart.
	ChartRepository = "https://docs.tigera.io/calico/charts"
	// OperatorNamespace is where the operator runs and reads the bird-templates ConfigMap.
	OperatorNamespace = "tigera-operator"
	// CalicoNamespace is where the operator runs calico-node.
	CalicoNamespace = "calico-system"
	// DefaultAPIPort is the API server's port, kubeadm's default.
	DefaultAPIPort = 6443
)

// Shell runs a script with cluster-admin rights on a machine of the cluster (the controller) and
// returns its standard output. bootstrap.Bootstrap implements it. Calico needs it to wait for its
// aggregated API and to read the BIRD template of the running version.
type Shell interface {
	RunScript(ctx *pulumi.Context, name string, script pulumi.StringInput, opts ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.Resource, error)
}

// WorkerShell is a Shell that also runs a script on every worker. bootstrap.Bootstrap implements
// it. With an API address, CalicoBGP needs it to move each worker's control-plane name to the API
// address once Calico announces it.
type WorkerShell interface {
	Shell
	// RunScriptOnWorkers runs script as root on every worker, once the worker has joined, one
	// step per worker named after name and the worker, and returns the steps.
	RunScriptOnWorkers(ctx *pulumi.Context, name string, script pulumi.StringInput, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error)
}

// Node is one node to peer with its routers.
type Node struct {
	// Name is the Kubernetes node name (plain: it names resources).
	Name string
	// Info carries the node's private gateway and BGP peers.
	Info topology.NodeOutput
}

// CalicoBGPArgs configure CalicoBGP.
type CalicoBGPArgs struct {
	// Provider is the Kubernetes provider of the cluster (required).
	Provider *kubernetes.Provider
	// Shell runs the waits and reads on the controller (required).
	Shell Shell
	// Version of Calico. Default DefaultVersion.
	Version string
	// PodCIDR is the pod network (required).
	PodCIDR string
	// LocalASN is the nodes' ASN, the project's local ASN. Default DefaultLocalASN.
	LocalASN int
	// Nodes are every node of the cluster with its top-of-rack peers.
	Nodes []Node
	// Mode says who announces LoadBalancer addresses. Default topology.ModeCalico.
	Mode topology.LoadBalancerMode
	// Pools are the LoadBalancer address pools: announced by Calico (ModeCalico) or let through
	// Calico's export filter (ModeBirdLocalPeer).
	Pools []topology.LoadBalancerPool
	// MD5Password protects the sessions with the routers whose node description says MD5Enabled
	// and that have no entry in PeerPasswords; optional, kept in a Secret.
	MD5Password pulumi.StringInput
	// PeerPasswords are passwords of single sessions, by topology.PeerPasswordKey(node, router
	// address): a router whose password is not the cluster-wide one. Optional, kept in the same
	// Secret; a session listed here uses its own password whatever its MD5Enabled says.
	PeerPasswords map[string]pulumi.StringInput
	// MetalLBASN is the speakers' ASN in ModeBirdLocalPeer. Default topology.DefaultMetalLBASN.
	MetalLBASN int
	// APIAddress is the control plane's API address (an IPv4 address, no prefix length; optional,
	// checked when it is known, as Bootstrap's APIAddress is): with it, a disabled IPPool over its
	// /32 lets the controllers' BIRD announce it to the routers while a controller holds it on its
	// loopback (the health check Bootstrap installs with an API address), and TorFilter's first
	// rule keeps a controller from passing on the copies it learns from the others over the mesh.
	APIAddress pulumi.StringInput
	// APIPort is the API server's port, which the workers wait on at the API address before they
	// move the control plane's name to it. Default DefaultAPIPort.
	APIPort int
	// DependsOn are resources Calico's installation waits for.
	DependsOn []pulumi.Resource
}

var (
	nodeNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	// secretKeyPattern is what the API server accepts as a key of a Secret's data
	// (k8s.io/apimachinery validation.IsConfigMapKey).
	secretKeyPattern = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	versionPattern   = regexp.MustCompile(`^3\.(0|[1-9]\d*)\.(?:0|[1-9]\d*)$`)
)

func (a CalicoBGPArgs) withDefaults() CalicoBGPArgs {
	if a.Version == "" {
		a.Version = DefaultVersion
	}
	if a.LocalASN == 0 {
		a.LocalASN = DefaultLocalASN
	}
	if a.Mode == "" {
		a.Mode = topology.ModeCalico
	}
	if a.MetalLBASN == 0 {
		a.MetalLBASN = topology.DefaultMetalLBASN
	}
	if a.APIPort == 0 {
		a.APIPort = DefaultAPIPort
	}
	return a
}

// validate reports every problem of defaulted args at once.
func (a CalicoBGPArgs) validate() error {
	var errs []error
	add := func(format string, v ...any) { errs = append(errs, fmt.Errorf(format, v...)) }
	if a.Provider == nil {
		add("Provider is required")
	}
	if a.Shell == nil {
		add("Shell is required")
	}
	if m := versionPattern.FindStringSubmatch(a.Version); m == nil {
		add("Version %q: must be a Calico release 3.MINOR.PATCH", a.Version)
	} else if minor, _ := strconv.Atoi(m[1]); minor < MinMinorVersion {
		add("Version %q: older than 3.%d.0, the first Calico release with BGPFilter, which keeps the pod network off the routers", a.Version, MinMinorVersion)
	}
	if a.PodCIDR == "" {
		add("PodCIDR is required")
	} else if p, err := netip.ParsePrefix(a.PodCIDR); err != nil || !p.Addr().Is4() || p.Masked() != p {
		// It becomes the BGPFilter's cidr, which Calico validates as an IPv4 network.
		add("PodCIDR %q: must be an IPv4 network in CIDR notation, such as 172.16.0.0/12", a.PodCIDR)
	}
	if err := a.Mode.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := topology.ValidatePools(a.Pools); err != nil {
		errs = append(errs, err)
	}
	if a.APIPort < 1 || a.APIPort > 65535 {
		add("APIPort %d: not a TCP port", a.APIPort)
	}
	if _, ok := a.Shell.(WorkerShell); a.APIAddress != nil && a.Shell != nil && !ok {
		add("APIAddress: Shell must also run scripts on the workers (a WorkerShell, as bootstrap.Bootstrap is)")
	}
	if a.LocalASN == a.MetalLBASN {
		add("LocalASN and MetalLBASN are both %d: the 127.0.0.1 session must be eBGP", a.LocalASN)
	}
	for key, pw := range a.PeerPasswords {
		if !secretKeyPattern.MatchString(key) || len(key) > 253 {
			add("PeerPasswords[%q]: must be a Secret data key (letters, digits, '-', '_' and '.'), as topology.PeerPasswordKey makes", key)
		}
		if pw == nil {
			add("PeerPasswords[%q]: no password", key)
		}
	}
	seen := map[string]bool{}
	for i, n := range a.Nodes {
		if !nodeNamePattern.MatchString(n.Name) || seen[n.Name] {
			add("Nodes[%d].Name %q: must be a unique node name", i, n.Name)
		}
		seen[n.Name] = true
	}
	return errors.Join(errs...)
}

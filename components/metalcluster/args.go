package metalcluster

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/metal"
)

// Defaults applied to empty Args fields.
const (
	DefaultProjectName     = "k8s-bgp"
	DefaultOperatingSystem = "ubuntu_24_04"
	DefaultBillingCycle    = "hourly"
	DefaultPlan            = "c3.small.x86"
	// DefaultLocalASN is Equinix Metal's default private ASN for a project's servers.
	DefaultLocalASN = 65000
)

// MetalClusterArgs configure a MetalCluster. Plain Go fields shape the resource graph; Inputs may
// come from other resources.
type MetalClusterArgs struct {
	// ProjectID of an existing project with local BGP enabled. When nil, a project is created from
	// ProjectName and OrganizationID with local BGP on LocalASN.
	ProjectID pulumi.StringInput
	// ProjectName of the project to create. Default DefaultProjectName.
	ProjectName pulumi.StringInput
	// OrganizationID owning the project to create; required when ProjectID is nil.
	OrganizationID pulumi.StringInput
	// Metro of every device and public elastic IP block (required).
	Metro string
	// OperatingSystem image slug of every device. Default DefaultOperatingSystem.
	OperatingSystem string
	// BillingCycle of every device. Default DefaultBillingCycle.
	BillingCycle string
	// ControllerPlan is every controller's server plan. Default DefaultPlan.
	ControllerPlan string
	// ControllerCount is the number of controllers, 1, 3 or 5 (stacked etcd). Default 1. With
	// more than one, a public /32 is reserved in Metro as the control plane's API address.
	ControllerCount int
	// ReserveAPIAddress reserves the API address with one controller too: a cluster made with it
	// can take more controllers later. Default false.
	ReserveAPIAddress bool
	// WorkerPlan is every worker's server plan. Default DefaultPlan.
	WorkerPlan string
	// WorkerCount is the number of workers; zero is a one-node cluster.
	WorkerCount int
	// LocalASN of the project's BGP configuration. Default DefaultLocalASN.
	LocalASN int
	// MD5Password of the project's BGP sessions; optional, kept secret.
	MD5Password pulumi.StringInput
	// ElasticIPs are the blocks to reserve.
	ElasticIPs []ElasticIPArgs
	// SSHPrivateKey the devices trust; optional, kept secret. When nil an ED25519 key is generated.
	SSHPrivateKey pulumi.StringInput
	// Kubernetes are the settings of the kubeadm bootstrap (Version is required).
	Kubernetes bootstrap.KubernetesArgs
	// APIAccess chooses how Pulumi reaches the API server: an allow-list on the controller's public
	// address, or the private network only (then SSH uses the private addresses too).
	APIAccess bootstrap.APIAccess
	// WorkerLabels are node labels every worker registers with (e.g. the MetalLB speaker label).
	WorkerLabels map[string]string
}

// ElasticIPArgs is one block of elastic IPv4 addresses to reserve.
type ElasticIPArgs struct {
	// Name of the block, unique in the cluster.
	Name string
	// Type is public_ipv4 or global_ipv4.
	Type metal.IpBlockType
	// Quantity of addresses, a power of two.
	Quantity int
	// Metro of a public block. Default: the cluster's metro. Ignored for a global block.
	Metro string
}

// withDefaults returns a copy of the args with every empty field defaulted.
func (a MetalClusterArgs) withDefaults() MetalClusterArgs {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&a.OperatingSystem, DefaultOperatingSystem)
	def(&a.BillingCycle, DefaultBillingCycle)
	def(&a.ControllerPlan, DefaultPlan)
	def(&a.WorkerPlan, DefaultPlan)
	if a.LocalASN == 0 {
		a.LocalASN = DefaultLocalASN
	}
	if a.ControllerCount == 0 {
		a.ControllerCount = 1
	}
	if a.ProjectName == nil {
		a.ProjectName = pulumi.String(DefaultProjectName)
	}
	return a
}

// validate reports every problem of the plain fields at once. The stack configuration is checked
// more thoroughly before it becomes Args; this guards library callers.
func (a MetalClusterArgs) validate() error {
	var errs []error
	if a.Metro == "" {
		errs = append(errs, errors.New("missing Metro"))
	}
	if a.ProjectID == nil && a.OrganizationID == nil {
		errs = append(errs, errors.New("missing OrganizationID: required when ProjectID is nil"))
	}
	if n := a.ControllerCount; n != 0 && n != 1 && n != 3 && n != 5 {
		errs = append(errs, fmt.Errorf("ControllerCount %d: must be 1, 3 or 5 (an odd number of etcd members)", n))
	}
	if a.WorkerCount < 0 {
		errs = append(errs, fmt.Errorf("WorkerCount %d: must not be negative", a.WorkerCount))
	}
	// The bootstrap runs after the devices exist: check its settings now, before anything is created.
	if err := a.Kubernetes.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := a.APIAccess.Validate(); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for i, b := range a.ElasticIPs {
		switch {
		case b.Name == "" || seen[b.Name]:
			errs = append(errs, fmt.Errorf("ElasticIPs[%d].Name %q: must be set and unique", i, b.Name))
		case b.Type != metal.IpBlockTypePublicIPv4 && b.Type != metal.IpBlockTypeGlobalIPv4:
			errs = append(errs, fmt.Errorf("ElasticIPs[%d].Type %q: must be public_ipv4 or global_ipv4", i, b.Type))
		case b.Quantity < 1 || b.Quantity&(b.Quantity-1) != 0:
			errs = append(errs, fmt.Errorf("ElasticIPs[%d].Quantity %d: must be a power of two", i, b.Quantity))
		}
		seen[b.Name] = true
	}
	return errors.Join(errs...)
}

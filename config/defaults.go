package config

import (
	"strings"

	"github.com/metalk8s/metalk8s/components/bootstrap"
	"github.com/metalk8s/metalk8s/components/calicobgp"
	"github.com/metalk8s/metalk8s/components/metalcluster"
	"github.com/metalk8s/metalk8s/components/metallbpools"
	"github.com/metalk8s/metalk8s/components/topology"
)

// Defaults of the stack configuration. They reproduce the guide's terraform.tfvars.sample with
// current versions; those a component also applies are the component's own constants.
const (
	DefaultProjectName       = metalcluster.DefaultProjectName
	DefaultOperatingSystem   = metalcluster.DefaultOperatingSystem
	DefaultBillingCycle      = metalcluster.DefaultBillingCycle
	DefaultPlan              = metalcluster.DefaultPlan
	DefaultWorkerCount       = 2
	DefaultControllerCount   = 1
	DefaultKubernetesVersion = "1.37.2"
	// DefaultUpgradeParallelism is bootstrap.DefaultUpgradeParallelism: one worker at a time.
	DefaultUpgradeParallelism = bootstrap.DefaultUpgradeParallelism
	DefaultAPIPort            = bootstrap.DefaultAPIPort
	DefaultDNSServiceIP       = bootstrap.DefaultDNSServiceIP
	DefaultPodCIDR            = bootstrap.DefaultPodCIDR
	DefaultServiceCIDR        = bootstrap.DefaultServiceCIDR
	DefaultDNSDomain          = bootstrap.DefaultDNSDomain
	DefaultLocalASN           = int64(metalcluster.DefaultLocalASN)
	DefaultLoadBalancerMode   = string(topology.ModeCalico)
	DefaultCalicoVersion      = calicobgp.DefaultVersion
	DefaultMetalLBVersion     = metallbpools.DefaultVersion
	DefaultMetalLBASN         = int64(topology.DefaultMetalLBASN)
	DefaultCertRenewalDays    = bootstrap.DefaultCertRenewalDays
)

// ApplyDefaults fills every empty field with its documented default.
func (c *Cluster) ApplyDefaults() {
	if c.Servers != nil {
		c.Servers.applyDefaults()
	} else {
		c.applyMetalDefaults()
	}
	k := &c.Kubernetes
	setString(&k.Version, DefaultKubernetesVersion)
	if k.APIPort == 0 {
		k.APIPort = DefaultAPIPort
	}
	setString(&k.PodCIDR, DefaultPodCIDR)
	setString(&k.ServiceCIDR, DefaultServiceCIDR)
	// CoreDNS's address follows from the service range; without one, validation reports the range.
	if dns, err := bootstrap.DNSServiceIP(k.ServiceCIDR); err == nil {
		setString(&k.DNSServiceIP, dns)
	}
	setString(&k.DNSDomain, DefaultDNSDomain)
	if k.UpgradeParallelism == 0 {
		k.UpgradeParallelism = DefaultUpgradeParallelism
	}
	if k.CertRenewalDays == 0 {
		k.CertRenewalDays = DefaultCertRenewalDays
	}
	setString(&c.LoadBalancer.Mode, DefaultLoadBalancerMode)
	// An empty list means what no list means; one form of it keeps an accepted configuration the
	// same through a JSON round trip (the lists are omitted when empty).
	noEmptyList(&c.APIServer.AllowedCIDRs)
	noEmptyList(&c.ElasticIPs)
	noEmptyList(&c.LoadBalancer.Pools)
	for i := range c.LoadBalancer.Pools {
		noEmptyList(&c.LoadBalancer.Pools[i].CIDRs)
	}
	for i := range c.LoadBalancer.Pools {
		if c.LoadBalancer.Pools[i].AutoAssign == nil {
			yes := true
			c.LoadBalancer.Pools[i].AutoAssign = &yes
		}
	}
	setString(&c.Calico.Version, DefaultCalicoVersion)
	setString(&c.MetalLB.Version, DefaultMetalLBVersion)
	if c.MetalLB.ASN == nil {
		asn := DefaultMetalLBASN
		c.MetalLB.ASN = &asn
	}
}

// applyMetalDefaults fills the Equinix Metal mode's empty fields.
func (c *Cluster) applyMetalDefaults() {
	// UUIDs are case-insensitive (RFC 9562); Metal returns them in lower case, and an ID that
	// differs from the one read back would look like a change of project to the provider.
	c.Project.ID = lowerUUID(c.Project.ID)
	c.Project.OrganizationID = lowerUUID(c.Project.OrganizationID)
	if c.Project.ID == "" && c.Project.Name == "" {
		c.Project.Name = DefaultProjectName
	}
	setString(&c.OperatingSystem, DefaultOperatingSystem)
	setString(&c.BillingCycle, DefaultBillingCycle)
	setString(&c.Controller.Plan, DefaultPlan)
	if c.Controller.Count == nil {
		n := DefaultControllerCount
		c.Controller.Count = &n
	}
	setString(&c.Workers.Plan, DefaultPlan)
	if c.Workers.Count == nil {
		n := DefaultWorkerCount
		c.Workers.Count = &n
	}
	if c.BGP.ASN == nil {
		asn := DefaultLocalASN
		c.BGP.ASN = &asn
	}
}

// LocalASN is the ASN every node announces from, in either mode.
func (c *Cluster) LocalASN() int64 {
	if c.Servers != nil {
		return *c.Servers.ASN
	}
	return *c.BGP.ASN
}

// ControllerCount is the number of controllers, in either mode.
func (c *Cluster) ControllerCount() int {
	if c.Servers != nil {
		return 1 + len(c.Servers.Controllers)
	}
	return *c.Controller.Count
}

// WorkerCount is the number of workers, in either mode.
func (c *Cluster) WorkerCount() int {
	if c.Servers != nil {
		return len(c.Servers.Workers)
	}
	return *c.Workers.Count
}

// noEmptyList makes an empty list nil.
func noEmptyList[T any](l *[]T) {
	if *l != nil && len(*l) == 0 {
		*l = nil
	}
}

func setString(field *string, def string) {
	if *field == "" {
		*field = def
	}
}

// lowerUUID lowers a value that is a UUID in any case, and leaves anything else as it is, so
// that validation still shows what was written.
func lowerUUID(s string) string {
	if uuidPattern.MatchString(s) {
		return strings.ToLower(s)
	}
	return s
}

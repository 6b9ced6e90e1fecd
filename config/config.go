// Package config is the stack configuration of the metalk8s program: one structured object under
// the key metalk8s:cluster, decoded strictly, defaulted and validated before any resource exists.
//
// Only the program (main.go, cmd/plan) uses this package. Components take Args and never read
// configuration, so that they can be imported into other Pulumi programs.
package config

// Key is the stack configuration key that holds the whole object.
const Key = "metalk8s:cluster"

// A field tagged secret:"true" holds a secret (a password, a private key): the program hands it
// on only as a secret input, and the component package declares it secret in its schema.

// Cluster is the whole stack configuration. Every field documents its default; an empty value
// means "use the default". It describes one of two modes: Equinix Metal (the keys from Project to
// SSH, MetalKeys), or the servers mode (Servers), the cluster on servers that exist. The keys from
// Kubernetes on are shared.
type Cluster struct {
	// Servers chooses the servers mode: the servers and their BGP routers. It excludes every
	// Equinix Metal key.
	Servers *Servers `json:"servers,omitempty"`
	// Project is the Equinix Metal project: an existing one (ID) or one to create.
	Project Project `json:"project"`
	// Metro is the Equinix Metal metro code of every device and public elastic IP (required, e.g. "sv").
	Metro string `json:"metro"`
	// OperatingSystem is the device image slug. Default ubuntu_24_04.
	OperatingSystem string `json:"operatingSystem,omitempty"`
	// BillingCycle of every device: hourly or monthly. Default hourly.
	BillingCycle string `json:"billingCycle,omitempty"`
	// Controller is the control plane's machines.
	Controller Controller `json:"controller"`
	// Workers are the worker machines.
	Workers Workers `json:"workers"`
	// Kubernetes holds the cluster-wide Kubernetes settings.
	Kubernetes Kubernetes `json:"kubernetes"`
	// APIServer says how Pulumi and people reach the API server (required choice).
	APIServer APIServer `json:"apiServer"`
	// BGP holds the project's local BGP settings.
	BGP BGP `json:"bgp"`
	// ElasticIPs are the IPv4 blocks to reserve for LoadBalancer services.
	ElasticIPs []ElasticIPBlock `json:"elasticIps,omitempty"`
	// SSH is the key the devices are reachable with.
	SSH SSH `json:"ssh"`
	// LoadBalancer says how LoadBalancer services get and announce their addresses.
	LoadBalancer LoadBalancer `json:"loadBalancer"`
	// Calico is the network plugin.
	Calico Calico `json:"calico"`
	// MetalLB assigns LoadBalancer addresses.
	MetalLB MetalLB `json:"metallb"`
	// Ingress is the optional example ingress, a LoadBalancer service.
	Ingress Ingress `json:"ingress"`
}

// LoadBalancer holds the LoadBalancer pools and who announces them.
type LoadBalancer struct {
	// Mode is calico (Calico announces the ranges; default) or bird-local-peer (the guide's design:
	// MetalLB speakers peer with the node's own BIRD on 127.0.0.1).
	Mode string `json:"mode,omitempty"`
	// Pools are the address pools services get addresses from.
	Pools []Pool `json:"pools,omitempty"`
}

// Pool is one LoadBalancer address pool: an elastic IP block, or private CIDRs.
type Pool struct {
	// Name of the pool, what services ask for with the metallb.io/address-pool annotation.
	Name string `json:"name"`
	// ElasticIP names an elasticIps block whose addresses the pool hands out.
	ElasticIP string `json:"elasticIp,omitempty"`
	// CIDRs are private IPv4 ranges the pool hands out (e.g. a /25 of the project's private network).
	CIDRs []string `json:"cidrs,omitempty"`
	// AutoAssign lets services without the annotation get addresses from this pool. Default true.
	AutoAssign *bool `json:"autoAssign,omitempty"`
}

// Calico is the network plugin's settings.
type Calico struct {
	// Version of Calico (tigera-operator chart). Default calicobgp.DefaultVersion.
	Version string `json:"version,omitempty"`
}

// MetalLB is the LoadBalancer address allocator's settings.
type MetalLB struct {
	// Version of the MetalLB chart. Default metallbpools.DefaultVersion.
	Version string `json:"version,omitempty"`
	// ASN of the speakers in mode bird-local-peer. Default 65480.
	ASN *int64 `json:"asn,omitempty"`
}

// Ingress is the example ingress controller (Traefik) exposed as a LoadBalancer service.
type Ingress struct {
	// Enabled installs it. Default false.
	Enabled bool `json:"enabled,omitempty"`
	// Pool the service takes its address from (required when enabled).
	Pool string `json:"pool,omitempty"`
}

// Project selects or creates the Metal project.
type Project struct {
	// ID of an existing project (with local BGP already enabled). When set, no project is created.
	ID string `json:"id,omitempty"`
	// Name of the project to create. Default k8s-bgp.
	Name string `json:"name,omitempty"`
	// OrganizationID owns the project to create; required unless ID is set.
	OrganizationID string `json:"organizationId,omitempty"`
}

// Controller is the control plane's devices.
type Controller struct {
	// Plan is the Metal server plan of every controller. Default c3.small.x86.
	Plan string `json:"plan,omitempty"`
	// Count of controllers: 1, 3 or 5 (etcd's members). Default 1. With more than one, a public
	// /32 is reserved as the control plane's API address.
	Count *int `json:"count,omitempty"`
	// ReserveAPIAddress reserves the API address with one controller too, so that the cluster
	// can grow to 3 or 5 later. Default false.
	ReserveAPIAddress bool `json:"reserveApiAddress,omitempty"`
}

// Workers are the worker devices.
type Workers struct {
	// Plan is the Metal server plan of every worker. Default c3.small.x86.
	Plan string `json:"plan,omitempty"`
	// Count of workers, 0 to MaxWorkers. Default 2.
	Count *int `json:"count,omitempty"`
}

// Kubernetes holds the cluster settings of the guide's kubernetes_* variables.
type Kubernetes struct {
	// Version is the exact Kubernetes release, MAJOR.MINOR.PATCH. Default DefaultKubernetesVersion.
	Version string `json:"version,omitempty"`
	// APIPort is the API server's secure port. Default 6443.
	APIPort int `json:"apiPort,omitempty"`
	// DNSServiceIP is the cluster DNS service address. kubeadm always puts CoreDNS's Service at
	// the 10th address after ServiceCIDR's network address, so that is the default (192.168.0.10
	// with the default range) and the only value accepted.
	DNSServiceIP string `json:"dnsServiceIp,omitempty"`
	// PodCIDR is the pod network. Default 172.16.0.0/12.
	PodCIDR string `json:"podCidr,omitempty"`
	// ServiceCIDR is the service network. Default 192.168.0.0/16.
	ServiceCIDR string `json:"serviceCidr,omitempty"`
	// DNSDomain is the cluster DNS domain. Default cluster.local.
	DNSDomain string `json:"dnsDomain,omitempty"`
	// UpgradeParallelism is how many workers a version change drains and upgrades at once, after
	// the control plane. Default DefaultUpgradeParallelism.
	UpgradeParallelism int `json:"upgradeParallelism,omitempty"`
	// CertRenewalDays renews kubeadm's certificates once one has fewer days left, 1 to 364.
	// Default 30.
	CertRenewalDays int `json:"certRenewalDays,omitempty"`
}

// APIServer is the explicit choice of how the API server is reached: set exactly one field.
type APIServer struct {
	// AllowedCIDRs may reach the API server on the controller's public address; the host firewall
	// drops everyone else. The kubeconfig uses the public address.
	AllowedCIDRs []string `json:"allowedCidrs,omitempty"`
	// PrivateOnly keeps the API server on the private network; Pulumi must run inside it. The
	// kubeconfig and SSH use private addresses.
	PrivateOnly bool `json:"privateOnly,omitempty"`
}

// BGP holds the project's local BGP settings.
type BGP struct {
	// ASN is the project's local ASN, announced by every node. Default 65000.
	ASN *int64 `json:"asn,omitempty"`
	// MD5Password protects the sessions with the top-of-rack routers. Optional; set it as a secret.
	MD5Password string `json:"md5Password,omitempty" secret:"true"`
}

// ElasticIPBlock is one reserved IPv4 block.
type ElasticIPBlock struct {
	// Name identifies the block in outputs and resource names (lower-case letters, digits, '-').
	Name string `json:"name"`
	// Type is public_ipv4 (one metro) or global_ipv4 (anycast, every metro).
	Type string `json:"type"`
	// Quantity of addresses, a power of two.
	Quantity int `json:"quantity"`
	// Metro of a public block: empty or the cluster's metro. Must be empty for a global block.
	Metro string `json:"metro,omitempty"`
}

// SSH is the key pair the devices trust.
type SSH struct {
	// PrivateKey is an unencrypted OpenSSH or PEM private key, set as a secret. Optional: when
	// empty an ED25519 key is generated and kept (secret) in the stack state.
	PrivateKey string `json:"privateKey,omitempty" secret:"true"`
}

// Package metallbpools provides MetalLBPools: MetalLB with one IPAddressPool per LoadBalancer pool,
// the BGP peering with the node's own BIRD where the mode needs it, and an optional example
// ingress as a LoadBalancer service.
package metallbpools

// Defaults applied to empty Args fields.
const (
	// DefaultVersion is the MetalLB release installed with its Helm chart; its Go API types (the
	// module go.universe.tf/metallb at the same version) build the objects.
	DefaultVersion = "0.16.2"
	// ChartRepository serves the metallb chart.
	ChartRepository = "https://metallb.github.io/metallb"
	// Namespace MetalLB runs in.
	Namespace = "metallb-system"
	// PoolAnnotation is how a service asks for a pool (the guide's metallb.universe.tf/address-pool
	// is the old spelling).
	PoolAnnotation = "metallb.io/address-pool"
)

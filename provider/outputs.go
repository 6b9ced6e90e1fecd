package provider

import "github.com/metalk8s/metalk8s/components/topology"

// ClusterOutputs describe the component's outputs: the stack outputs of the program
// (program.Outputs.Map), with the type each one resolves to. Fields tagged optional exist in one
// mode only, or only with the example ingress; fields tagged secret stay secret.
type ClusterOutputs struct {
	// LoadBalancerMode says who announces LoadBalancer addresses: calico or bird-local-peer.
	LoadBalancerMode string `pulumi:"loadBalancerMode"`
	// Pools are each LoadBalancer pool's ranges, by pool name.
	Pools map[string][]string `pulumi:"pools"`
	// AnnouncedByCalico are the ranges Calico announces itself (empty in bird-local-peer).
	AnnouncedByCalico []string `pulumi:"announcedByCalico"`
	// IngressAddress is the example ingress's LoadBalancer address (only with ingress.enabled).
	IngressAddress string `pulumi:"ingressAddress,optional"`
	// LocalAsn is the ASN the nodes announce from.
	LocalAsn int `pulumi:"localAsn"`
	// ControllerPrivateIpv4 is the controller's private address.
	ControllerPrivateIpv4 string `pulumi:"controllerPrivateIpv4"`
	// ControllerPublicIpv4 is the controller's public address (in the servers mode only when it
	// has one).
	ControllerPublicIpv4 string `pulumi:"controllerPublicIpv4,optional"`
	// Nodes are every node, controller first, with its addresses and BGP peers.
	Nodes []topology.Node `pulumi:"nodes"`
	// SSHPublicKey is the key the machines trust, in authorized_keys format.
	SSHPublicKey string `pulumi:"sshPublicKey"`
	// Kubeconfig is the cluster-admin kubeconfig, pointing at apiEndpoint.
	Kubeconfig string `pulumi:"kubeconfig" provider:"secret"`
	// APIEndpoint is the API server URL the kubeconfig uses.
	APIEndpoint string `pulumi:"apiEndpoint"`
	// APIAddress is the control plane's stable address (only with one: several controllers, or
	// one given or reserved to grow).
	APIAddress string `pulumi:"apiAddress,optional"`
	// ProjectID is the Equinix Metal project (Metal mode only).
	ProjectID string `pulumi:"projectId,optional"`
	// ElasticIps are the reserved blocks' CIDRs by block name (Metal mode only).
	ElasticIps map[string]string `pulumi:"elasticIps,optional"`
	// SSHPrivateKey is the private half of sshPublicKey (Metal mode only: in the servers mode the
	// key is yours).
	SSHPrivateKey string `pulumi:"sshPrivateKey,optional" provider:"secret"`
}

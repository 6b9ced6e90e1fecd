package bootstrap

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeadm "sigs.k8s.io/cluster-api/bootstrap/kubeadm/pkg/types/upstreamv1beta4"
	"sigs.k8s.io/yaml"
)

// API versions of the configuration documents.
const (
	kubeadmAPIVersion   = "kubeadm.k8s.io/v1beta4"
	kubeletAPIVersion   = "kubelet.config.k8s.io/v1beta1"
	kubeProxyAPIVersion = "kubeproxy.config.k8s.io/v1alpha1"
	criSocket           = "unix:///run/containerd/containerd.sock"
	// nodeTokenGroup is the group kubeadm's node bootstrap RBAC is bound to.
	nodeTokenGroup = "system:bootstrappers:kubeadm:default-node-token"
)

// Descriptions of the bootstrap tokens metalk8s makes or made, which name them in the cluster.
const (
	// initTokenDescription is the token kubeadm init must make: kubeadm defaults an InitConfiguration
	// without bootstrapTokens to one random token valid 24 hours (SetDefaults_BootstrapTokens in
	// cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go, v1.37.2), and refuses a token that only
	// signs (defaulting gives it the node group, which validation allows only with authentication;
	// tried with kubeadm config validate). metalk8s asks for one that kubeadm generates on the
	// controller (its value is never known to Pulumi, and init runs with --skip-token-print) and
	// that lives initTokenTTL; the controller's token retirement deletes it right after init.
	initTokenDescription = "metalk8s init token, unused"
	// sharedTokenDescription is the one join token every worker of a cluster used to share, made by
	// kubeadm init and remade by the token steps; the token retirement deletes it on clusters that
	// still have it.
	sharedTokenDescription = "metalk8s join token"
	// workerTokenDescription begins the description of a worker's own join token; the worker's
	// name follows.
	workerTokenDescription = "metalk8s join token of "
)

// initTokenTTL is how long kubeadm init's token is valid: it is never used, and a TTL of 0 would
// mean a token that never expires.
const initTokenTTL = time.Minute

// kubeletConfiguration is the part of the upstream KubeletConfiguration metalk8s sets. The upstream
// type serialises every zero value (syncFrequency: 0s, ...), which would override the kubelet's
// defaults, so the document is built from this subset; tests decode it strictly into the upstream type.
type kubeletConfiguration struct {
	APIVersion         string   `json:"apiVersion"`
	Kind               string   `json:"kind"`
	CgroupDriver       string   `json:"cgroupDriver"`
	ClusterDNS         []string `json:"clusterDNS"`
	ClusterDomain      string   `json:"clusterDomain"`
	HealthzBindAddress string   `json:"healthzBindAddress"`
}

// kubeProxyConfiguration is the part of the upstream KubeProxyConfiguration metalk8s sets, for the
// same reason.
type kubeProxyConfiguration struct {
	APIVersion         string   `json:"apiVersion"`
	Kind               string   `json:"kind"`
	ClusterCIDR        string   `json:"clusterCIDR"`
	MetricsBindAddress string   `json:"metricsBindAddress"`
	HealthzBindAddress string   `json:"healthzBindAddress"`
	NodePortAddresses  []string `json:"nodePortAddresses"`
}

// clusterSpec is what the kubeadm documents are built from.
type clusterSpec struct {
	Kubernetes KubernetesArgs
	Access     APIAccess
	// ControllerName, ControllerPrivate and ControllerPublic describe the control-plane host.
	ControllerName, ControllerPrivate, ControllerPublic string
	// ControllerLabels are the control-plane node's labels.
	ControllerLabels map[string]string
	// ControllerRunsWorkloads registers the control-plane node without taints, so that workloads
	// schedule there: a cluster without workers has no other node.
	ControllerRunsWorkloads bool
	// Token is the worker's bootstrap token, id.secret, in its JoinConfiguration (a shape holds
	// stand-ins for it).
	Token string
	// APIAddress is the control plane's stable address (BootstrapArgs.APIAddress), empty for a
	// control plane at the controller's private address.
	APIAddress string
	// CertificateKey encrypts the control-plane certificates kubeadm uploads for the controllers
	// that join (64 hex digits, secret); set with APIAddress.
	CertificateKey string
}

// APIName is the control plane's name in kubeadm's controlPlaneEndpoint when the cluster has an
// API address. Each node maps it in /etc/hosts: to the first controller's private address while
// it joins (the API address answers only once Calico announces it), then a controller to its own
// private address and a worker to the API address. The API server certificates name it.
const APIName = "metalk8s-api"

// ha is a control plane at a stable address, which more controllers can join.
func (s clusterSpec) ha() bool { return s.APIAddress != "" }

// nodeRegistration binds the kubelet to the node's private address and registers its labels.
func nodeRegistration(name, privateIP string, labels map[string]string) kubeadm.NodeRegistrationOptions {
	r := kubeadm.NodeRegistrationOptions{
		Name:      name,
		CRISocket: criSocket,
		KubeletExtraArgs: []kubeadm.Arg{
			{Name: "node-ip", Value: privateIP},
			{Name: "address", Value: privateIP},
		},
	}
	if len(labels) > 0 {
		pairs := make([]string, 0, len(labels))
		for k, v := range labels {
			pairs = append(pairs, k+"="+v)
		}
		sort.Strings(pairs)
		r.KubeletExtraArgs = append(r.KubeletExtraArgs, kubeadm.Arg{Name: "node-labels", Value: strings.Join(pairs, ",")})
	}
	return r
}

func (s clusterSpec) apiPort() string { return strconv.Itoa(s.Kubernetes.APIPort) }

// Endpoint is kubeadm's controlPlaneEndpoint, host:port, the API server every node joins and its
// kubelet talks to: the controller's private address, or APIName with an API address.
func (s clusterSpec) Endpoint() string {
	if s.ha() {
		return APIName + ":" + s.apiPort()
	}
	return s.ControllerPrivate + ":" + s.apiPort()
}

// apiServerBindAddress is where the API server listens: everywhere when it is public (the host
// firewall allow-lists the sources) or when it must answer at the API address too (on loopback,
// see the health check), else only on the private address. The ClusterConfiguration holding it is
// every controller's, so with an API address it cannot name one controller's address.
func (s clusterSpec) apiServerBindAddress() string {
	if s.Access.PrivateOnly && !s.ha() {
		return s.ControllerPrivate
	}
	return "0.0.0.0"
}

// certSANs cover every address a kubeconfig may use. kubeadm adds each controller's own
// advertise address and name and the controlPlaneEndpoint's host (GetAPIServerAltNames in
// cmd/kubeadm/app/util/pkiutil, v1.37.2); the first controller's addresses stay, as Pulumi's
// provider reaches that controller directly (it must work before Calico announces the API address).
func (s clusterSpec) certSANs() []string {
	sans := []string{s.ControllerPrivate}
	if !s.Access.PrivateOnly {
		sans = append(sans, s.ControllerPublic)
	}
	if s.ha() {
		sans = append(sans, s.APIAddress, APIName)
	}
	return sans
}

// etcdArgs bind etcd to the private address and loopback. With an API address they are left to
// kubeadm, whose defaults are the same per controller (listen-client-urls 127.0.0.1 and the
// advertise address, advertise-client-urls, listen-peer-urls and initial-advertise-peer-urls at
// the advertise address, listen-metrics-urls http://127.0.0.1:2381: getEtcdCommand in
// cmd/kubeadm/app/phases/etcd/local.go, v1.37.2): the ClusterConfiguration is every controller's
// and cannot name one controller's address.
func (s clusterSpec) etcdArgs() []kubeadm.Arg {
	if s.ha() {
		return nil
	}
	private := s.ControllerPrivate
	return []kubeadm.Arg{
		{Name: "listen-client-urls", Value: "https://127.0.0.1:2379,https://" + private + ":2379"},
		{Name: "advertise-client-urls", Value: "https://" + private + ":2379"},
		{Name: "listen-peer-urls", Value: "https://" + private + ":2380"},
		{Name: "initial-advertise-peer-urls", Value: "https://" + private + ":2380"},
		{Name: "listen-metrics-urls", Value: "http://127.0.0.1:2381"},
	}
}

// InitConfig is the controller's kubeadm configuration: InitConfiguration, ClusterConfiguration,
// KubeletConfiguration and KubeProxyConfiguration, as one multi-document YAML file.
func (s clusterSpec) InitConfig() (string, error) {
	k := s.Kubernetes
	private := s.ControllerPrivate
	init := kubeadm.InitConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: kubeadmAPIVersion, Kind: "InitConfiguration"},
		// No token value: kubeadm generates it on the controller (SetBootstrapTokensDynamicDefaults
		// in cmd/kubeadm/app/util/config/initconfiguration.go, v1.37.2). Workers join with their
		// own tokens.
		BootstrapTokens: []kubeadm.BootstrapToken{{
			Description: initTokenDescription,
			TTL:         &metav1.Duration{Duration: initTokenTTL},
			Usages:      []string{"signing", "authentication"},
			Groups:      []string{nodeTokenGroup},
		}},
		NodeRegistration: nodeRegistration(s.ControllerName, private, s.ControllerLabels),
		LocalAPIEndpoint: kubeadm.APIEndpoint{AdvertiseAddress: private, BindPort: int32(k.APIPort)},
		// With an API address kubeadm init uploads the control-plane certificates, encrypted with
		// this key, for the controllers that join (init runs with --upload-certs).
		CertificateKey: s.CertificateKey,
	}
	if s.ControllerRunsWorkloads {
		// kubeadm taints a control-plane node NoSchedule when taints is nil, and not at all when
		// it is an empty list: the field has no omitempty, so an empty slice is written as
		// "taints: []" (and nil as "taints: null").
		init.NodeRegistration.Taints = []corev1.Taint{}
	}
	loopbackOnly := []kubeadm.Arg{{Name: "bind-address", Value: "127.0.0.1"}}
	cluster := kubeadm.ClusterConfiguration{
		TypeMeta:             metav1.TypeMeta{APIVersion: kubeadmAPIVersion, Kind: "ClusterConfiguration"},
		KubernetesVersion:    "v" + k.Version,
		ControlPlaneEndpoint: s.Endpoint(),
		Networking:           kubeadm.Networking{PodSubnet: k.PodCIDR, ServiceSubnet: k.ServiceCIDR, DNSDomain: k.DNSDomain},
		APIServer: kubeadm.APIServer{
			ControlPlaneComponent: kubeadm.ControlPlaneComponent{ExtraArgs: []kubeadm.Arg{
				{Name: "bind-address", Value: s.apiServerBindAddress()},
			}},
			CertSANs: s.certSANs(),
		},
		ControllerManager: kubeadm.ControlPlaneComponent{ExtraArgs: loopbackOnly},
		Scheduler:         kubeadm.ControlPlaneComponent{ExtraArgs: loopbackOnly},
		Etcd:              kubeadm.Etcd{Local: &kubeadm.LocalEtcd{DataDir: "/var/lib/etcd", ExtraArgs: s.etcdArgs()}},
	}
	kubelet := kubeletConfiguration{
		APIVersion: kubeletAPIVersion, Kind: "KubeletConfiguration",
		CgroupDriver:       "systemd",
		ClusterDNS:         []string{k.DNSServiceIP},
		ClusterDomain:      k.DNSDomain,
		HealthzBindAddress: "127.0.0.1",
	}
	proxy := kubeProxyConfiguration{
		APIVersion: kubeProxyAPIVersion, Kind: "KubeProxyConfiguration",
		ClusterCIDR:        k.PodCIDR,
		MetricsBindAddress: "127.0.0.1:10249",
		HealthzBindAddress: "127.0.0.1:10256",
		// NodePorts open on the node's primary (private) address only, never on the public one.
		NodePortAddresses: []string{"primary"},
	}
	return documents(init, cluster, kubelet, proxy)
}

// JoinConfig is a worker's kubeadm configuration.
func (s clusterSpec) JoinConfig(name, privateIP, caCertHash string, labels map[string]string) (string, error) {
	return documents(s.joinConfiguration(name, privateIP, caCertHash, labels))
}

// ControlPlaneJoinConfig is the kubeadm configuration of a controller that joins: its API server
// advertises its private address, and it downloads the control-plane certificates with the
// certificate key.
func (s clusterSpec) ControlPlaneJoinConfig(name, privateIP, caCertHash string, labels map[string]string) (string, error) {
	join := s.joinConfiguration(name, privateIP, caCertHash, labels)
	join.ControlPlane = &kubeadm.JoinControlPlane{
		LocalAPIEndpoint: kubeadm.APIEndpoint{AdvertiseAddress: privateIP, BindPort: int32(s.Kubernetes.APIPort)},
		CertificateKey:   s.CertificateKey,
	}
	if s.ControllerRunsWorkloads {
		join.NodeRegistration.Taints = []corev1.Taint{} // as for the first controller
	}
	return documents(join)
}

func (s clusterSpec) joinConfiguration(name, privateIP, caCertHash string, labels map[string]string) kubeadm.JoinConfiguration {
	return kubeadm.JoinConfiguration{
		TypeMeta:         metav1.TypeMeta{APIVersion: kubeadmAPIVersion, Kind: "JoinConfiguration"},
		NodeRegistration: nodeRegistration(name, privateIP, labels),
		Discovery: kubeadm.Discovery{BootstrapToken: &kubeadm.BootstrapTokenDiscovery{
			Token:             s.Token,
			APIServerEndpoint: s.Endpoint(),
			CACertHashes:      []string{caCertHash},
		}},
	}
}

// documents serialises objects as one multi-document YAML file.
func documents(objs ...any) (string, error) {
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.String(), nil
}

package calicobgp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"text/template"

	"github.com/metalk8s/metalk8s/manifests"
)

// chartValues are the tigera-operator chart values metalk8s sets: the Installation spec under
// installation, and the Calico API server.
type chartValues struct {
	Installation installation `json:"installation"`
	APIServer    enabled      `json:"apiServer"`
}

type enabled struct {
	Enabled bool `json:"enabled"`
}

// installation is the part of the operator's Installation spec metalk8s sets.
type installation struct {
	Enabled       bool          `json:"enabled"`
	CalicoNetwork calicoNetwork `json:"calicoNetwork"`
}

type calicoNetwork struct {
	BGP                        string       `json:"bgp"`
	IPPools                    []podIPPool  `json:"ipPools"`
	NodeAddressAutodetectionV4 autodetectV4 `json:"nodeAddressAutodetectionV4"`
}

// podIPPool is the pod network pool: IPIP between nodes and NAT to the outside. Its routes are
// exported over BGP: the node-to-node mesh is what carries each node's pod blocks to the other
// nodes (with IPIP in Calico 3.31, BIRD programs those routes, not Felix). The top-of-rack routers
// never get them: TorFilter on every router peer rejects the pod network.
type podIPPool struct {
	Name             string `json:"name"`
	CIDR             string `json:"cidr"`
	Encapsulation    string `json:"encapsulation"`
	NATOutgoing      string `json:"natOutgoing"`
	NodeSelector     string `json:"nodeSelector"`
	DisableBGPExport bool   `json:"disableBGPExport"`
}

// autodetectV4 takes each node's address from its Kubernetes InternalIP: the kubelet's node-ip,
// the private address.
type autodetectV4 struct {
	Kubernetes string `json:"kubernetes"`
}

// values are the chart values for a pod network.
func values(podCIDR string) (map[string]any, error) {
	v := chartValues{
		Installation: installation{Enabled: true, CalicoNetwork: calicoNetwork{
			BGP: "Enabled",
			IPPools: []podIPPool{{
				Name: "default-ipv4-ippool", CIDR: podCIDR, Encapsulation: "IPIP",
				NATOutgoing: "Enabled", NodeSelector: "all()",
				// Never true: Calico's export filter applies disableBGPExport to every BGP peer, the
				// mesh included (reject_disabled_pools() comes first in calico_export_to_bgp_peers,
				// bird_ipam.cfg.template of Calico 3.31.7), so nodes would lose each other's pods.
				// Written out so that the operator (v1.40.15 updates the pools it owns to match the
				// Installation) also clears it on clusters installed with it set.
				DisableBGPExport: false,
			}},
			NodeAddressAutodetectionV4: autodetectV4{Kubernetes: "NodeInternalIP"},
		}},
		APIServer: enabled{Enabled: true},
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// scripts are the controller scripts, with the shared "lib" template of the bootstrap scripts.
var scripts = template.Must(template.Must(template.New("calico").Option("missingkey=error").
	ParseFS(manifests.Bootstrap, "bootstrap/lib.sh.tmpl")).
	ParseFS(manifests.Calico, "calico/*.tmpl"))

// ReadyData is what the readiness wait is rendered from.
type ReadyData struct {
	// TimeoutSeconds bounds each wait.
	TimeoutSeconds int
}

// APINameData is what a worker's move of the control plane's name to the API address is rendered
// from.
type APINameData struct {
	// Address is the API address, an IPv4 address (checked before).
	Address string
	// Port is the API server's port.
	Port int
	// TimeoutSeconds bounds the wait for the API address to answer.
	TimeoutSeconds int
}

// BirdTemplateData is what the template read is rendered from.
type BirdTemplateData struct {
	// Version is the Calico version running: a new version re-runs the read.
	Version string
	// Namespace is calico-node's namespace.
	Namespace string
}

// BirdTemplateGuardData is what the check before the chart is rendered from.
type BirdTemplateGuardData struct {
	// Version is the Calico version about to be installed.
	Version string
	// Generation is its BIRD template generation, TemplateGeneration(Version).
	Generation string
	// Namespace is where the operator reads the bird-templates ConfigMap.
	Namespace string
}

// TemplateGeneration is the generation of Calico's bird.cfg.template a version renders: "3.31"
// for 3.31 and older (per-peer loops in the template, confd's getenv), "3.32" for 3.32 and later
// (peers built in Go, getBGPConfig). A template of one generation does not render under the
// other's confd. version must be valid (3.MINOR.PATCH).
func TemplateGeneration(version string) string {
	if m := versionPattern.FindStringSubmatch(version); m != nil {
		if minor, _ := strconv.Atoi(m[1]); minor >= 32 {
			return "3.32"
		}
	}
	return "3.31"
}

// RenderBirdTemplateGuard renders the check that refuses a Calico version whose confd cannot
// render the BIRD template published now.
func RenderBirdTemplateGuard(d BirdTemplateGuardData) (string, error) {
	return renderScript("bird-template-guard.sh.tmpl", d)
}

// RenderReady renders the wait for Calico's API and calico-node.
func RenderReady(d ReadyData) (string, error) { return renderScript("ready.sh.tmpl", d) }

// RenderAPIName renders a worker's move of the control plane's name to the API address.
func RenderAPIName(d APINameData) (string, error) { return renderScript("api-name.sh.tmpl", d) }

// RenderBirdTemplate renders the read of the running BIRD template.
func RenderBirdTemplate(d BirdTemplateData) (string, error) {
	return renderScript("bird-template.sh.tmpl", d)
}

func renderScript(name string, d any) (string, error) {
	var b bytes.Buffer
	err := scripts.ExecuteTemplate(&b, name, d)
	return b.String(), err
}

package bootstrap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/metalk8s/metalk8s/manifests"
)

// templates are parsed once, when the package loads: rendering runs once per node.
var templates = template.Must(template.New("bootstrap").
	Funcs(template.FuncMap{"join": strings.Join}).
	Option("missingkey=error").
	ParseFS(manifests.Bootstrap, "bootstrap/*.tmpl"))

// Static files shipped to nodes as they are.
var (
	containerdConfig = mustRead("bootstrap/containerd.toml")
	resetScript      = mustRead("bootstrap/reset.sh")
	removeNodeScript = mustRead("bootstrap/remove-node.sh")
)

func mustRead(name string) string {
	b, err := fs.ReadFile(manifests.Bootstrap, name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// FirewallData is what a node's host firewall is rendered from.
type FirewallData struct {
	// Node is the node's name.
	Node string
	// PublicIPv4 is the address the rules apply to; empty for a node without a public address,
	// whose IPv4 traffic is not filtered.
	PublicIPv4 string
	// APIPort is the API server's port.
	APIPort int
	// SSHPort is the port sshd listens on, which stays open. Default DefaultSSHPort. (A shape
	// renders it as a stand-in, filled in per host.)
	SSHPort string
	// APIAllowedCIDRs may reach the API server on the public address (controller, public mode).
	APIAllowedCIDRs []string
	// PodCIDR is the pod network.
	PodCIDR string
	// PodBlocked are addresses pods may not reach.
	PodBlocked []string
	// APIAddress is a public API address the controller holds on lo (publicAPIAddress), guarded
	// as the public address is: the API port there only from the allowed sources and from the
	// private and pod networks (the workers reach it from their private addresses). Empty: none,
	// or a private one, which is not filtered.
	APIAddress string
	// PrivateSources are the private networks and the pod network, merged, that may reach the API
	// port at APIAddress; set with it.
	PrivateSources []string
}

// Guarded are the node's addresses the rules filter: the public address and the API address.
func (d FirewallData) Guarded() []string {
	var out []string
	for _, a := range []string{d.PublicIPv4, d.APIAddress} {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// PrepareData is what a node's preparation script is rendered from.
type PrepareData struct {
	// Node is the node's name.
	Node string
	// Controller is true on the control-plane node.
	Controller bool
	// Version is the Kubernetes release, e.g. 1.37.2.
	Version string
	// Minor is the pkgs.k8s.io repository, e.g. v1.37.
	Minor string
	// PackageVersion is the Debian package version, e.g. 1.37.2-1.1.
	PackageVersion string
	// ContainerdMinor is the containerd minor release apt is pinned to, MAJOR.MINOR (ContainerdMinor).
	ContainerdMinor string
	// Firewall is the rendered host firewall.
	Firewall string
	// ContainerdConfig, ResetScript and RemoveNodeScript are files installed as they are.
	ContainerdConfig, ResetScript, RemoveNodeScript string
}

// InitData is what the controller's init script is rendered from.
type InitData struct {
	// Node is the controller's name.
	Node string
	// Endpoint is the control plane's host:port on the private network. An initialised control
	// plane that answers elsewhere (the API port changed) is refused: kubeadm does not move it.
	Endpoint string
	// CACert and CAKey are the cluster CA in PEM.
	CACert, CAKey string
	// Config is the kubeadm configuration file.
	Config string
	// UploadCerts uploads the control-plane certificates for the controllers that join (a cluster
	// with an API address), and maps APIName to Private in /etc/hosts.
	UploadCerts bool
	// Private is the controller's private address.
	Private string
}

// TokenData is what a worker's token script is rendered from.
type TokenData struct {
	// Worker is the node about to join.
	Worker string
	// TokenID and TokenSecret are the two halves of the worker's own bootstrap token.
	TokenID, TokenSecret string
	// TTLMinutes is the token's lifetime, from the moment the script creates it.
	TTLMinutes int
	// Description is the token's description (set by RenderToken: workerTokenDescription and
	// the worker's name).
	Description string
	// UploadCerts uploads the control-plane certificates again first: the node is a controller.
	UploadCerts bool
}

// JoinData is what a worker's join script is rendered from.
type JoinData struct {
	// Node is the worker's name.
	Node string
	// Endpoint is the control plane's host:port on the private network. A worker joined to
	// another one (the controller was replaced, the API port changed) is reset and joins again.
	Endpoint string
	// Config is the kubeadm join configuration.
	Config string
	// FirstController is the first controller's private address, which APIName is mapped to in
	// /etc/hosts unless it is mapped already; empty without an API address.
	FirstController string
	// ControlPlane joins a controller; APIName is mapped to its own Address once it has joined.
	ControlPlane bool
	// Address is the node's private address.
	Address string
}

// RenewalData is what the controller's certificate renewal is rendered from.
type RenewalData struct {
	// Node is the controller's name.
	Node string
	// Days renews the certificates once one has fewer days left.
	Days int
	// Helper is the rendered metalk8s-renew-certs, which the certificate step installs.
	Helper string
}

// RegisteredData is what a worker's registration check is rendered from.
type RegisteredData struct {
	// Worker is the node to wait for.
	Worker string
	// TokenID names the worker's join token, deleted once the node is registered.
	TokenID string
}

// APIHealthData is what a controller's health check of the API address, metalk8s-api-address,
// and the step that installs it are rendered from.
type APIHealthData struct {
	// Node is the controller's name.
	Node string
	// Address is the API address (IPv4), held as a /32 on Interface while the API server is ready.
	Address string
	// Private is the controller's private address, where its API server is probed.
	Private string
	// Port is the API server's port.
	Port int
	// Interface holds the address. Default "lo".
	Interface string
	// CACert is the CA the API server's certificate is checked against. Default
	// DefaultAPIHealthCACert.
	CACert string
	// PeriodSeconds, TimeoutSeconds, FailureThreshold and SuccessThreshold are the probe's, as
	// in a Pod's readinessProbe. Defaults: the readinessProbe kubeadm writes for kube-apiserver
	// (APIReadinessPeriodSeconds and the others).
	PeriodSeconds, TimeoutSeconds, FailureThreshold, SuccessThreshold int
	// Helper is the rendered metalk8s-api-address, which the step installs (set by
	// RenderAPIAddress).
	Helper string
}

// The readinessProbe of the kube-apiserver static Pod kubeadm v1.37.2 writes
// (cmd/kubeadm/app/util/staticpod/utils.go, ReadinessProbe: path /readyz, timeoutSeconds 15,
// failureThreshold 3, periodSeconds 1; successThreshold left at Kubernetes' default 1), which the
// health check of the API address repeats, and the CA kubeadm signs the API server's certificate
// with.
const (
	APIReadinessPeriodSeconds    = 1
	APIReadinessTimeoutSeconds   = 15
	APIReadinessFailureThreshold = 3
	APIReadinessSuccessThreshold = 1
	DefaultAPIHealthCACert       = "/etc/kubernetes/pki/ca.crt"
)

var (
	interfaceRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)
	filePathRE  = regexp.MustCompile(`^/[A-Za-z0-9_./-]+$`)
)

func (d APIHealthData) withDefaults() APIHealthData {
	if d.Interface == "" {
		d.Interface = "lo"
	}
	if d.CACert == "" {
		d.CACert = DefaultAPIHealthCACert
	}
	for _, f := range []struct {
		v   *int
		def int
	}{{&d.PeriodSeconds, APIReadinessPeriodSeconds}, {&d.TimeoutSeconds, APIReadinessTimeoutSeconds},
		{&d.FailureThreshold, APIReadinessFailureThreshold}, {&d.SuccessThreshold, APIReadinessSuccessThreshold}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return d
}

// check reports every problem of defaulted data at once: everything is written into a script.
func (d APIHealthData) check() error {
	var errs []error
	for _, a := range []struct{ what, ip string }{{"API address", d.Address}, {"private address", d.Private}} {
		if err := checkIPv4(d.Node+": "+a.what, a.ip); err != nil {
			errs = append(errs, err)
		}
	}
	if d.Port < 1 || d.Port > 65535 {
		errs = append(errs, fmt.Errorf("%s: API port %d is not a TCP port", d.Node, d.Port))
	}
	if !interfaceRE.MatchString(d.Interface) {
		errs = append(errs, fmt.Errorf("%s: interface %q is not an interface name", d.Node, d.Interface))
	}
	if !filePathRE.MatchString(d.CACert) {
		errs = append(errs, fmt.Errorf("%s: CA certificate path %q is not an absolute path of letters, digits and ._-/", d.Node, d.CACert))
	}
	for _, f := range []struct {
		what string
		v    int
	}{{"period", d.PeriodSeconds}, {"timeout", d.TimeoutSeconds}, {"failure threshold", d.FailureThreshold},
		{"success threshold", d.SuccessThreshold}} {
		if f.v < 1 {
			errs = append(errs, fmt.Errorf("%s: probe %s %d is not positive", d.Node, f.what, f.v))
		}
	}
	return errors.Join(errs...)
}

// RenderAPIHealth renders metalk8s-api-address, the loop that holds the API address on the
// controller's loopback while its API server is ready.
func RenderAPIHealth(d APIHealthData) (string, error) {
	d = d.withDefaults()
	if err := d.check(); err != nil {
		return "", fmt.Errorf("health check of the API address: %w", err)
	}
	return render("api-health.sh.tmpl", d)
}

// RenderAPIAddress renders a controller's API address step: it installs metalk8s-api-address and
// its service, metalk8s-api-address.service, and starts it.
func RenderAPIAddress(d APIHealthData) (string, error) {
	helper, err := RenderAPIHealth(d)
	if err != nil {
		return "", err
	}
	d.Helper = line(helper)
	return render("api-address.sh.tmpl", d, d.Helper)
}

// RetireTokensData is what the controller's retirement of unused join tokens is rendered from.
type RetireTokensData struct {
	// Node is the controller's name.
	Node string
	// Retired are the descriptions of the tokens deleted, base64-encoded as the Secrets hold
	// them (set by RenderRetireTokens): kubeadm init's token and the token workers used to share.
	Retired []string
}

// ContainerdMinor is the containerd minor release every node runs, from Docker's containerd.io
// package: apt is pinned to its versions (2.2.*) and the package held once installed. Each minor
// changes defaults (the sandbox image, configuration), so a node must not pick a new one by itself.
// 2.2 is in containerd's Kubernetes support matrix for the newest release it lists (1.36: 2.3.0+,
// 2.2.0+; RELEASES.md at v2.3.4), the kubelet of 1.37.2 handles its behaviour
// (pkg/kubelet/kuberuntime), and Docker publishes it for Ubuntu 24.04 (2.2.0-2~ubuntu.24.04~noble,
// 2.2.1-1~ubuntu.24.04~noble).
const ContainerdMinor = "2.2"

// containerdMinorRE is what ContainerdMinor must look like: the pin is the glob MINOR.*, and
// anything else (an empty string pins every version) would not pin a minor.
var containerdMinorRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// packageVersion is the pkgs.k8s.io Debian version of a release.
func packageVersion(v string) string { return v + "-1.1" }

// minor is the pkgs.k8s.io repository of a release: v1.37 for 1.37.2.
func minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return "v" + v
	}
	return "v" + parts[0] + "." + parts[1]
}

// heredocLine matches a line that would end one of the scripts' here-documents early.
var heredocLine = regexp.MustCompile(`(?m)^(MODULES|SYSCTL|DOCKER|KUBERNETES|PREFERENCES|CONTAINERD|FIREWALL|UNIT|RESET|REMOVE|CACERT|CAKEY|KUBEADM|TOKEN|RENEW|HEALTH)$`)

// renders counts template executions, so that tests can show that a bigger cluster does not
// render more.
var renders atomic.Int64

// render executes one template. Embedded file contents must not contain a line that ends their
// here-document, which would turn the rest of the file into shell commands.
func render(name string, data any, embedded ...string) (string, error) {
	for _, e := range embedded {
		if heredocLine.MatchString(e) {
			return "", fmt.Errorf("%s: embedded content contains a here-document delimiter line", name)
		}
	}
	renders.Add(1)
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// RenderFirewall renders a node's nftables rules. Overlapping allowed sources (or blocked
// addresses) are merged first: nftables refuses a set whose elements overlap.
func RenderFirewall(d FirewallData) (string, error) {
	if d.SSHPort == "" {
		d.SSHPort = strconv.Itoa(DefaultSSHPort)
	}
	if n, err := strconv.Atoi(d.SSHPort); d.SSHPort != sshPortPlaceholder && (err != nil || n < 1 || n > 65535) {
		return "", fmt.Errorf("firewall of %s: SSH port %q is not a TCP port", d.Node, d.SSHPort)
	}
	var err error
	if d.APIAllowedCIDRs, err = mergeCIDRs(d.APIAllowedCIDRs); err != nil {
		return "", fmt.Errorf("firewall of %s: APIAllowedCIDRs: %w", d.Node, err)
	}
	if d.PodBlocked, err = mergeCIDRs(d.PodBlocked); err != nil {
		return "", fmt.Errorf("firewall of %s: PodBlocked: %w", d.Node, err)
	}
	if d.APIAddress != "" {
		if err := checkIPv4("firewall of "+d.Node+": APIAddress", d.APIAddress); err != nil {
			return "", err
		}
		if d.PrivateSources, err = mergeCIDRs(d.PrivateSources); err != nil || len(d.PrivateSources) == 0 {
			return "", fmt.Errorf("firewall of %s: PrivateSources %v: %v", d.Node, d.PrivateSources, err)
		}
	}
	return render("firewall.nft.tmpl", d)
}

// RenderPrepare renders a node's preparation script.
func RenderPrepare(d PrepareData) (string, error) {
	if !containerdMinorRE.MatchString(d.ContainerdMinor) {
		return "", fmt.Errorf("preparation of %s: containerd minor %q is not MAJOR.MINOR", d.Node, d.ContainerdMinor)
	}
	d.Firewall, d.ContainerdConfig = line(d.Firewall), line(d.ContainerdConfig)
	d.ResetScript, d.RemoveNodeScript = line(d.ResetScript), line(d.RemoveNodeScript)
	return render("prepare.sh.tmpl", d, unchecked(d.Firewall, d.ContainerdConfig, d.ResetScript, d.RemoveNodeScript)...)
}

// checkedFiles are the shipped files, checked once for here-document delimiters when the package
// loads rather than once per node.
var checkedFiles = func() map[string]bool {
	files := map[string]bool{}
	for _, f := range []string{line(containerdConfig), line(resetScript), line(removeNodeScript)} {
		if heredocLine.MatchString(f) {
			panic("bootstrap: a shipped file contains a here-document delimiter line")
		}
		files[f] = true
	}
	return files
}()

// unchecked leaves out the contents already checked.
func unchecked(contents ...string) []string {
	out := contents[:0:0]
	for _, c := range contents {
		if c != "" && !checkedFiles[c] {
			out = append(out, c)
		}
	}
	return out
}

// RenderInit renders the controller's init script.
func RenderInit(d InitData) (string, error) {
	d.CACert, d.CAKey, d.Config = line(d.CACert), line(d.CAKey), line(d.Config)
	return render("init.sh.tmpl", d, d.CACert, d.CAKey, d.Config)
}

// line makes embedded content end with a newline, so that the here-document delimiter that
// follows it in a template stands on a line of its own.
func line(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

// RenderToken renders a worker's token script.
func RenderToken(d TokenData) (string, error) {
	if d.TTLMinutes < 1 {
		// kubeadm's TTL of 0 is a token that never expires; the script's expiry must lie ahead.
		return "", fmt.Errorf("join token of %s: TTL %d minutes is not positive", d.Worker, d.TTLMinutes)
	}
	d.Description = workerTokenDescription + d.Worker
	return render("token.sh.tmpl", d)
}

// RenderRetireTokens renders the controller's retirement of the join tokens no worker uses.
func RenderRetireTokens(d RetireTokensData) (string, error) {
	d.Retired = nil
	for _, desc := range []string{initTokenDescription, sharedTokenDescription} {
		d.Retired = append(d.Retired, base64.StdEncoding.EncodeToString([]byte(desc)))
	}
	return render("retire-tokens.sh.tmpl", d)
}

// RenderJoin renders a worker's join script.
func RenderJoin(d JoinData) (string, error) {
	d.Config = line(d.Config)
	return render("join.sh.tmpl", d, d.Config)
}

// RenderRegistered renders a worker's registration check.
func RenderRegistered(d RegisteredData) (string, error) { return render("registered.sh.tmpl", d) }

// RenderRenewal renders the controller's certificate step, with the renewal helper it installs.
func RenderRenewal(d RenewalData) (string, error) {
	helper, err := render("renew-certs.sh.tmpl", d)
	if err != nil {
		return "", err
	}
	d.Helper = line(helper)
	return render("certs.sh.tmpl", d, d.Helper)
}

// RenderRenewalHelper renders metalk8s-renew-certs alone.
func RenderRenewalHelper(d RenewalData) (string, error) { return render("renew-certs.sh.tmpl", d) }

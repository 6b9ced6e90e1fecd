package bootstrap

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// The scripts a node gets differ from another node's only by its name and one address. A shape
// is a script rendered once with stand-ins for those two; each node's script is the shape with the
// stand-ins replaced, so a cluster of hundreds of nodes renders its templates a handful of times.
const (
	nodeNamePlaceholder = "metalk8s-node-name-placeholder"
	nodeIPPlaceholder   = "metalk8s-node-ip-placeholder"
	// sshPortPlaceholder stands for the host's SSH port in the preparation's firewall.
	sshPortPlaceholder = "metalk8s-ssh-port-placeholder"
	// tokenIDPlaceholder and tokenSecretPlaceholder stand for the two halves of a worker's own
	// join token in its token, join and registration scripts.
	tokenIDPlaceholder     = "metalk8s-token-id-placeholder"
	tokenSecretPlaceholder = "metalk8s-token-secret-placeholder"
)

// Halves of a bootstrap token, as the API server's bootstrap authenticator and kubeadm read them
// (k8s.io/cluster-bootstrap/token/api: [a-z0-9]{6}.[a-z0-9]{16}). They come from Pulumi's random
// provider and are written into scripts, so they are checked before.
var (
	tokenIDRE     = regexp.MustCompile(`^[a-z0-9]{6}$`)
	tokenSecretRE = regexp.MustCompile(`^[a-z0-9]{16}$`)
)

// nodeNameRE is a Kubernetes node name: an RFC 1123 subdomain. Names are written into scripts as
// they are, so nothing else may get through.
var nodeNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func validNodeName(name string) bool {
	return len(name) <= 253 && nodeNameRE.MatchString(name)
}

// shape is a script or file with the stand-ins in it.
type shape string

// forNode fills a shape in for one node. The address comes from the cloud at run time, so it is
// checked here: anything but an IPv4 address would be written into a script or a YAML document.
func (s shape) forNode(name, ip string) (string, error) {
	if err := checkIPv4(name, ip); err != nil {
		return "", err
	}
	return strings.NewReplacer(nodeNamePlaceholder, name, nodeIPPlaceholder, ip).Replace(string(s)), nil
}

// checkIPv4 refuses an address from the cloud or the caller that is not an IPv4 address, before
// it is written into a script or a YAML document; name says whose address it is.
func checkIPv4(name, ip string) error {
	if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
		return fmt.Errorf("%s: address %q is not an IPv4 address", name, ip)
	}
	return nil
}

// withSSHPort fills in the host's SSH port.
func withSSHPort(script string, port int) string {
	return strings.ReplaceAll(script, sshPortPlaceholder, strconv.Itoa(port))
}

// withToken fills in a worker's join token.
func withToken(script, id, secret string) (string, error) {
	if !tokenIDRE.MatchString(id) || !tokenSecretRE.MatchString(secret) {
		return "", fmt.Errorf("join token: not a bootstrap token of [a-z0-9]{6}.[a-z0-9]{16} (an ID of %d characters, a secret of %d)", len(id), len(secret))
	}
	return strings.NewReplacer(tokenIDPlaceholder, id, tokenSecretPlaceholder, secret).Replace(script), nil
}

// withTokenID fills in the ID of a worker's join token, in a script that names the token only.
func withTokenID(script, id string) (string, error) {
	if !tokenIDRE.MatchString(id) {
		return "", fmt.Errorf("join token: an ID of %d characters is not [a-z0-9]{6}", len(id))
	}
	return strings.ReplaceAll(script, tokenIDPlaceholder, id), nil
}

// forName fills in a shape that holds no address.
func (s shape) forName(name string) string {
	return strings.ReplaceAll(string(s), nodeNamePlaceholder, name)
}

// shapes are the scripts that depend only on the arguments: the preparation of the controller and
// of the workers (the firewall's public address is the node's address) and the registration check.
type shapes struct {
	controllerPrepare, workerPrepare shape
	// controllerPrivate and workerPrivate prepare a node without a public address; rendered only
	// when a host has none.
	controllerPrivate, workerPrivate shape
	// registered and token are a worker's registration and token scripts; retireTokens the
	// controller's retirement of tokens no worker joins with.
	registered, token, retireTokens shape
	// controllerToken is the token script of a controller that joins (with an API address).
	controllerToken shape
}

// renderPrepare renders a node's preparation (node, public and sshPort may be the stand-ins): its
// firewall guards the public address, if any, and on a controller the API address if it is public
// (publicAPIAddress; "" for none).
func (s *steps) renderPrepare(node, public, sshPort string, controller bool, apiAddress string) (string, error) {
	v := s.args.Kubernetes.Version
	fw := FirewallData{
		Node: node, PublicIPv4: public, APIPort: s.args.Kubernetes.APIPort, SSHPort: sshPort,
		PodCIDR: s.args.Kubernetes.PodCIDR, PodBlocked: s.args.PodBlocked,
	}
	if controller && (public != "" || apiAddress != "") {
		fw.APIAllowedCIDRs = s.args.APIAccess.AllowedCIDRs
	}
	if controller && apiAddress != "" {
		fw.APIAddress, fw.PrivateSources = apiAddress, apiSources(s.args.Kubernetes.PodCIDR)
	}
	rules, err := RenderFirewall(fw)
	if err != nil {
		return "", err
	}
	d := PrepareData{
		Node: node, Controller: controller, Version: v, Minor: minor(v), PackageVersion: packageVersion(v),
		ContainerdMinor: ContainerdMinor,
		Firewall:        rules, ContainerdConfig: containerdConfig, ResetScript: resetScript,
	}
	if controller {
		d.RemoveNodeScript = removeNodeScript
	}
	return RenderPrepare(d)
}

func (s *steps) renderShapes() error {
	prepare := func(controller, public bool) (shape, error) {
		ip := ""
		if public {
			ip = nodeIPPlaceholder
		}
		out, err := s.renderPrepare(nodeNamePlaceholder, ip, sshPortPlaceholder, controller, "")
		return shape(out), err
	}
	var err error
	if s.shapes.controllerPrepare, err = prepare(true, true); err != nil {
		return fmt.Errorf("controller preparation: %w", err)
	}
	if s.shapes.workerPrepare, err = prepare(false, true); err != nil {
		return fmt.Errorf("worker preparation: %w", err)
	}
	if s.args.Controller.PublicIPv4 == nil {
		if s.shapes.controllerPrivate, err = prepare(true, false); err != nil {
			return fmt.Errorf("controller preparation: %w", err)
		}
	}
	for _, w := range s.args.Workers {
		if w.PublicIPv4 == nil {
			if s.shapes.workerPrivate, err = prepare(false, false); err != nil {
				return fmt.Errorf("worker preparation: %w", err)
			}
			break
		}
	}
	registered, err := RenderRegistered(RegisteredData{Worker: nodeNamePlaceholder, TokenID: tokenIDPlaceholder})
	if err != nil {
		return fmt.Errorf("registration: %w", err)
	}
	s.shapes.registered = shape(registered)
	token, err := RenderToken(TokenData{Worker: nodeNamePlaceholder, TokenID: tokenIDPlaceholder, TokenSecret: tokenSecretPlaceholder, TTLMinutes: s.args.TokenTTLMinutes})
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	s.shapes.token = shape(token)
	if len(s.args.Controllers) > 0 {
		ct, err := RenderToken(TokenData{Worker: nodeNamePlaceholder, TokenID: tokenIDPlaceholder, TokenSecret: tokenSecretPlaceholder,
			TTLMinutes: s.args.TokenTTLMinutes, UploadCerts: true})
		if err != nil {
			return fmt.Errorf("join token: %w", err)
		}
		s.shapes.controllerToken = shape(ct)
	}
	retire, err := RenderRetireTokens(RetireTokensData{Node: s.args.Controller.Name})
	s.shapes.retireTokens = shape(retire)
	return err
}

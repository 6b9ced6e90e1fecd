package bootstrap

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DefaultUpgradeParallelism is how many workers an upgrade drains and upgrades at once.
const DefaultUpgradeParallelism = 1

// GuardData is what the controller's guard is rendered from: everything a running cluster must
// accept before any step changes it. The guard's standard input holds exactly these values, so it
// runs again whenever one of them changes.
type GuardData struct {
	// Node is the controller's name.
	Node string
	// Version is the configured Kubernetes release, e.g. 1.38.0.
	Version string
	// Minor and Patch are its numbers, e.g. 38 and 0.
	Minor, Patch int
	// APIBindAddress is the address the configured access mode binds the API server to: 0.0.0.0
	// with an allow-list, the controller's private address with PrivateOnly (see
	// clusterSpec.apiServerBindAddress). kubeadm writes it into the API server's static Pod and
	// its certificate names at init, and never moves them.
	APIBindAddress string
	// PrivateOnly is the configured access mode, for the guard's message.
	PrivateOnly bool
	// APIPort is the configured API server port, which a running control plane keeps too.
	APIPort int
	// ControlPlaneEndpoint is kubeadm's controlPlaneEndpoint for the configuration
	// (clusterSpec.Endpoint): kubeadm writes it into the ClusterConfiguration, the certificates and
	// every kubeconfig at init, and a running cluster keeps it. Empty skips the check.
	ControlPlaneEndpoint string
	// PodCIDR, ServiceCIDR and DNSDomain are the configured cluster networks and domain, which
	// kubeadm writes into the ClusterConfiguration at init and a running cluster keeps (the
	// CoreDNS Service's address follows from ServiceCIDR).
	PodCIDR, ServiceCIDR, DNSDomain string
}

// UpgradeData is what a node's upgrade scripts (the controller's, or a worker's drain, upgrade and
// uncordon) are rendered from.
type UpgradeData struct {
	// Node is the node upgraded.
	Node string
	// Version is the Kubernetes release it moves to, e.g. 1.38.0.
	Version string
	// PackageVersion is the Debian package version, e.g. 1.38.0-1.1.
	PackageVersion string
}

// RenderGuard renders the controller's guard.
func RenderGuard(d GuardData) (string, error) {
	parts := strings.Split(d.Version, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("guard of %s: version %q is not MAJOR.MINOR.PATCH", d.Node, d.Version)
	}
	var err error
	if d.Minor, err = strconv.Atoi(parts[1]); err != nil {
		return "", fmt.Errorf("guard of %s: version %q: %w", d.Node, d.Version, err)
	}
	if d.Patch, err = strconv.Atoi(parts[2]); err != nil {
		return "", fmt.Errorf("guard of %s: version %q: %w", d.Node, d.Version, err)
	}
	return render("guard.sh.tmpl", d)
}

// RenderUpgradeController renders the control plane's upgrade.
func RenderUpgradeController(d UpgradeData) (string, error) {
	return render("upgrade-controller.sh.tmpl", d)
}

// RenderDrain renders a worker's drain before its upgrade (run on the controller).
func RenderDrain(d UpgradeData) (string, error) { return render("drain.sh.tmpl", d) }

// RenderUpgradeNode renders a worker's upgrade (run on the worker).
func RenderUpgradeNode(d UpgradeData) (string, error) { return render("upgrade-node.sh.tmpl", d) }

// RenderUncordon renders a worker's uncordon after its upgrade (run on the controller).
func RenderUncordon(d UpgradeData) (string, error) { return render("uncordon.sh.tmpl", d) }

// UpgradeSteps are the remote steps that move one node to Kubernetes.Version once it runs another
// release. On the controller only Upgrade is set.
type UpgradeSteps struct {
	// Drain drains the worker (on the controller).
	Drain *remote.Command
	// Upgrade runs kubeadm upgrade apply (controller) or kubeadm upgrade node (worker), then moves
	// the kubelet and kubectl and waits for the node to be Ready at the new version.
	Upgrade *remote.Command
	// Uncordon makes the worker schedulable again (on the controller).
	Uncordon *remote.Command
}

// guard registers the controller's guard, which every other remote step waits for.
func (s *steps) guard() (*remote.Command, error) {
	c := s.args.Controller
	// Rendered once now, so that a version the guard cannot render fails before anything is
	// registered; then again with the controller's private address, known once the machine is.
	if _, err := RenderGuard(GuardData{Node: c.Name, Version: s.args.Kubernetes.Version, APIBindAddress: "0.0.0.0", APIPort: s.args.Kubernetes.APIPort}); err != nil {
		return nil, err
	}
	script := pulumi.All(c.PrivateIPv4, s.apiAddress).ApplyT(func(v []any) (string, error) {
		k := s.args.Kubernetes
		spec := clusterSpec{Access: s.args.APIAccess, ControllerPrivate: v[0].(string), APIAddress: v[1].(string), Kubernetes: k}
		return RenderGuard(GuardData{Node: c.Name, Version: k.Version, APIBindAddress: spec.apiServerBindAddress(),
			PrivateOnly: s.args.APIAccess.PrivateOnly, APIPort: k.APIPort, ControlPlaneEndpoint: spec.Endpoint(),
			PodCIDR: k.PodCIDR, ServiceCIDR: k.ServiceCIDR, DNSDomain: k.DNSDomain})
	}).(pulumi.StringOutput)
	return remote.NewCommand(s.ctx, s.name+"-"+c.Name+"-guard", &remote.CommandArgs{
		Connection: s.connection(c),
		Create:     s.shell(),
		Stdin:      script,
		Triggers:   machine(c),
	}, s.parent, onItsMachine, pulumi.DependsOn(c.DependsOn))
}

// upgradeData is the upgrade scripts' data for one node.
func (s *steps) upgradeData(node string) UpgradeData {
	v := s.args.Kubernetes.Version
	return UpgradeData{Node: node, Version: v, PackageVersion: packageVersion(v)}
}

// upgradeController registers the control plane's upgrade. It runs on creation too: a cluster
// initialised at this version finds nothing to do, and one whose steps predate the upgrade steps
// is brought to the version.
func (s *steps) upgradeController(init *remote.Command) (*remote.Command, error) {
	c := s.args.Controller
	script, err := RenderUpgradeController(s.upgradeData(c.Name))
	if err != nil {
		return nil, err
	}
	return remote.NewCommand(s.ctx, s.name+"-"+c.Name+"-upgrade", &remote.CommandArgs{
		Connection: s.connection(c),
		Create:     s.shell(),
		Stdin:      pulumi.String(script),
		Triggers:   machine(c),
	}, s.parent, onItsMachine, pulumi.DependsOn([]pulumi.Resource{init}))
}

// upgradeWorkers registers each worker's drain, upgrade and uncordon, in batches of
// Kubernetes.UpgradeParallelism workers: a batch's drains wait for every uncordon of the batch
// before it, the first batch for the control plane's upgrade. The controllers that joined come
// first, one at a time (kubeadm upgrade node upgrades a controller's static Pods and its etcd
// member, and a majority of etcd members must stay up). The steps have no create command:
// a new worker joins at the configured version, and a cluster being created does not walk a
// chain of hundreds of steps that have nothing to do. A version change updates them, and Pulumi
// runs the updates in the order of their dependencies; a step that fails keeps its old inputs,
// so the next `pulumi up` runs it again.
func (s *steps) upgradeWorkers(controlPlane *remote.Command, controllers, workers map[string]*WorkerSteps, prepared map[string]*remote.Command) (map[string]*UpgradeSteps, error) {
	out := map[string]*UpgradeSteps{}
	before := []pulumi.Resource{controlPlane}
	var batch []pulumi.Resource
	p := s.args.Kubernetes.UpgradeParallelism
	c := s.args.Controller
	// step registers one of a worker's steps, run on host.
	step := func(w, host Host, suffix, script string, deps ...pulumi.Resource) (*remote.Command, error) {
		return remote.NewCommand(s.ctx, s.name+"-"+w.Name+"-"+suffix, &remote.CommandArgs{
			Connection: s.connection(host),
			Update:     s.shell(),
			Stdin:      pulumi.String(script),
			Triggers:   machine(w),
		}, s.parent, onItsMachine, pulumi.DependsOn(deps))
	}
	// The three scripts are shapes: rendered once, filled in with each worker's name.
	var shapes [3]shape
	for j, r := range []func(UpgradeData) (string, error){RenderDrain, RenderUpgradeNode, RenderUncordon} {
		sh, err := r(s.upgradeData(nodeNamePlaceholder))
		if err != nil {
			return nil, err
		}
		shapes[j] = shape(sh)
	}
	members := map[string]*WorkerSteps{}
	for n, m := range controllers {
		members[n] = m
	}
	for n, m := range workers {
		members[n] = m
	}
	k := len(s.args.Controllers)
	for i, w := range append(append([]Host(nil), s.args.Controllers...), s.args.Workers...) {
		// Batches: each controller alone, then the workers p at a time.
		if i > 0 && (i <= k || (i-k)%p == 0) {
			before, batch = batch, nil
		}
		us := &UpgradeSteps{}
		var err error
		if us.Drain, err = step(w, c, "drain", shapes[0].forName(w.Name), append([]pulumi.Resource{members[w.Name].Registered}, before...)...); err != nil {
			return nil, err
		}
		if us.Upgrade, err = step(w, w, "upgrade", shapes[1].forName(w.Name), us.Drain, prepared[w.Name]); err != nil {
			return nil, err
		}
		if us.Uncordon, err = step(w, c, "uncordon", shapes[2].forName(w.Name), us.Upgrade); err != nil {
			return nil, err
		}
		batch = append(batch, us.Uncordon)
		out[w.Name] = us
	}
	return out, nil
}

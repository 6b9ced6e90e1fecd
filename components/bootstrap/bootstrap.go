// Package bootstrap turns servers reachable over SSH into a Kubernetes cluster with kubeadm: node
// preparation, the control plane on the private network, workers joining in parallel, and a
// kubeconfig (secret) with a ready kubernetes.Provider. It knows nothing of Equinix Metal:
// MetalCluster is one producer of its Hosts.
package bootstrap

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"
	"sigs.k8s.io/yaml"
)

// TypeToken is Bootstrap's resource type; it is part of every user's resource URNs.
const TypeToken = "metalk8s:bootstrap:Bootstrap"

// Paths of the helper scripts the preparation step installs for the delete actions.
const (
	resetCommand      = "/usr/local/sbin/metalk8s-reset"
	removeNodeCommand = "/usr/local/sbin/metalk8s-remove-node"
)

// Bootstrap is a kubeadm cluster on a set of hosts.
type Bootstrap struct {
	pulumi.ResourceState

	// Kubeconfig is the cluster-admin kubeconfig, pointing at APIEndpoint (secret). Its client
	// certificate is Pulumi's (AdminCert), renewed by the pulumi up that finds it within
	// Kubernetes.CertRenewalDays of its end.
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// APIEndpoint is the API server URL the kubeconfig uses.
	APIEndpoint pulumi.StringOutput `pulumi:"apiEndpoint"`
	// Provider is a Kubernetes provider for the new cluster, ready once the control plane is.
	Provider *kubernetes.Provider
	// Prepare are the node preparation steps, by node name.
	Prepare map[string]*remote.Command
	// Init is the control-plane initialisation.
	Init *remote.Command
	// AdminCert is the client certificate of Kubeconfig: group kubeadm:cluster-admins, signed by
	// the cluster CA, valid a year, replaced once fewer than Kubernetes.CertRenewalDays are left.
	AdminCert *tls.LocallySignedCert
	// Certs installs the controller's daily renewal of kubeadm's own certificates and runs it;
	// it runs again with every new AdminCert.
	Certs *remote.Command
	// ControllerCerts are the same steps on the controllers that join, by node name.
	ControllerCerts map[string]*remote.Command
	// APIHealth installs and starts, on each controller, the health check that holds the API
	// address on its loopback while its API server is ready (metalk8s-api-address.service), by
	// node name; nil without an API address. Deleting one stops the service, which takes the
	// address off.
	APIHealth map[string]*remote.Command
	// Workers are the per-worker steps, by node name.
	Workers map[string]*WorkerSteps
	// Controllers are the steps of the controllers that join (every one after the first), by
	// node name: each joins once the one before it is registered.
	Controllers map[string]*WorkerSteps
	// Guard checks on the controller that the running cluster can take the configuration (no
	// downgrade, no skipped minor release); every other step waits for it.
	Guard *remote.Command
	// Upgrades are the steps that move each node to Kubernetes.Version, by node name.
	Upgrades map[string]*UpgradeSteps
	// RetireTokens deletes on the controller the bootstrap tokens no worker joins with (kubeadm
	// init's, and the one workers shared before each had its own).
	RetireTokens *remote.Command

	steps *steps
}

// RunScript runs a script as root on the controller, with the admin kubeconfig at
// /etc/kubernetes/admin.conf, once the control plane is up, and returns its standard output.
// Components that need more than the Kubernetes API (waiting for an aggregated API, reading a
// file from a pod) use it.
func (b *Bootstrap) RunScript(ctx *pulumi.Context, name string, script pulumi.StringInput, opts ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.Resource, error) {
	opts = append([]pulumi.ResourceOption{pulumi.DependsOn([]pulumi.Resource{b.Init})}, opts...)
	cmd, err := remote.NewCommand(ctx, name, &remote.CommandArgs{
		Connection: b.steps.connection(b.steps.args.Controller),
		Create:     b.steps.shell(),
		Stdin:      script,
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	return cmd.Stdout, cmd, nil
}

// RunScriptOnWorkers runs a script as root on every worker once it has joined, one step per
// worker named name-WORKER, each tied to the worker's machine, and returns the steps. Components
// that change something on the nodes themselves (the control plane's name in /etc/hosts) use it.
func (b *Bootstrap) RunScriptOnWorkers(ctx *pulumi.Context, name string, script pulumi.StringInput, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, w := range b.steps.args.Workers {
		o := append([]pulumi.ResourceOption{pulumi.DependsOn([]pulumi.Resource{b.Workers[w.Name].Join}), onItsMachine}, opts...)
		cmd, err := remote.NewCommand(ctx, name+"-"+w.Name, &remote.CommandArgs{
			Connection: b.steps.connection(w),
			Create:     b.steps.shell(),
			Stdin:      script,
			Triggers:   machine(w),
		}, o...)
		if err != nil {
			return nil, err
		}
		out = append(out, cmd)
	}
	return out, nil
}

// WorkerSteps are the remote steps that add one worker, or one controller after the first.
type WorkerSteps struct {
	// Token makes the node's own join token, unless the node is registered (on the first
	// controller); for a controller it uploads the control-plane certificates again first.
	Token *remote.Command
	// Join runs kubeadm join (on the node); deleting it resets the node.
	Join *remote.Command
	// Registered waits for the node object, then deletes the node's join token (on the first
	// controller); deleting it drains and deletes the node.
	Registered *remote.Command
}

// NewBootstrap registers the remote steps that make a cluster of the hosts.
func NewBootstrap(ctx *pulumi.Context, name string, args *BootstrapArgs, opts ...pulumi.ResourceOption) (*Bootstrap, error) {
	if args == nil {
		return nil, fmt.Errorf("bootstrap %q: args are required", name)
	}
	a := args.withDefaults()
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("bootstrap %q: %w", name, err)
	}
	b := &Bootstrap{Prepare: map[string]*remote.Command{}, Workers: map[string]*WorkerSteps{},
		Controllers: map[string]*WorkerSteps{}, Upgrades: map[string]*UpgradeSteps{}}
	if err := ctx.RegisterComponentResource(TypeToken, name, b, opts...); err != nil {
		return nil, err
	}
	s := &steps{ctx: ctx, name: name, args: a, parent: pulumi.Parent(b)}
	b.steps = s
	s.connections()
	if err := s.renderShapes(); err != nil {
		return nil, fmt.Errorf("bootstrap %q: %w", name, err)
	}
	if err := s.credentials(); err != nil {
		return nil, fmt.Errorf("bootstrap %q: credentials: %w", name, err)
	}
	if err := s.controlPlaneAddress(); err != nil {
		return nil, fmt.Errorf("bootstrap %q: certificate key: %w", name, err)
	}
	guard, err := s.guard()
	if err != nil {
		return nil, fmt.Errorf("bootstrap %q: %s: guard: %w", name, a.Controller.Name, err)
	}
	s.guardStep, b.Guard = guard, guard
	for i, h := range s.hosts() {
		cmd, err := s.prepare(h, i <= len(a.Controllers))
		if err != nil {
			return nil, fmt.Errorf("bootstrap %q: %s: prepare: %w", name, h.Name, err)
		}
		b.Prepare[h.Name] = cmd
	}
	init, err := s.init(b.Prepare[a.Controller.Name])
	if err != nil {
		return nil, fmt.Errorf("bootstrap %q: %s: init: %w", name, a.Controller.Name, err)
	}
	b.Init = init
	if b.RetireTokens, err = s.retireTokens(init); err != nil {
		return nil, fmt.Errorf("bootstrap %q: %s: token retirement: %w", name, a.Controller.Name, err)
	}
	if s.controlPlaneUpgrade, err = s.upgradeController(init); err != nil {
		return nil, fmt.Errorf("bootstrap %q: %s: upgrade: %w", name, a.Controller.Name, err)
	}
	b.Upgrades[a.Controller.Name] = &UpgradeSteps{Upgrade: s.controlPlaneUpgrade}
	// etcd takes one new member at a time: each controller joins once the one before is registered.
	after := []pulumi.Resource{init}
	for _, c := range a.Controllers {
		cs, err := s.member(c, true, b.Prepare[c.Name], after...)
		if err != nil {
			return nil, fmt.Errorf("bootstrap %q: %s: control-plane join: %w", name, c.Name, err)
		}
		b.Controllers[c.Name] = cs
		after = []pulumi.Resource{cs.Registered}
	}
	for _, w := range a.Workers {
		ws, err := s.member(w, false, b.Prepare[w.Name], init)
		if err != nil {
			return nil, fmt.Errorf("bootstrap %q: %s: join: %w", name, w.Name, err)
		}
		b.Workers[w.Name] = ws
	}
	upgrades, err := s.upgradeWorkers(s.controlPlaneUpgrade, b.Controllers, b.Workers, b.Prepare)
	if err != nil {
		return nil, fmt.Errorf("bootstrap %q: upgrade: %w", name, err)
	}
	for n, u := range upgrades {
		b.Upgrades[n] = u
	}
	b.APIEndpoint = s.apiEndpoint()
	direct := s.controllerEndpoint()
	admin, err := s.adminCredential()
	if err != nil {
		return nil, fmt.Errorf("bootstrap %q: admin credential: %w", name, err)
	}
	b.AdminCert = admin.cert
	if b.Certs, err = s.certs(a.Controller, init, admin.cert); err != nil {
		return nil, fmt.Errorf("bootstrap %q: %s: certificates: %w", name, a.Controller.Name, err)
	}
	b.ControllerCerts = map[string]*remote.Command{}
	for _, c := range a.Controllers {
		if b.ControllerCerts[c.Name], err = s.certs(c, b.Controllers[c.Name].Join, admin.cert); err != nil {
			return nil, fmt.Errorf("bootstrap %q: %s: certificates: %w", name, c.Name, err)
		}
	}
	if a.APIAddress != nil {
		b.APIHealth = map[string]*remote.Command{}
		if b.APIHealth[a.Controller.Name], err = s.apiHealth(a.Controller, init); err != nil {
			return nil, fmt.Errorf("bootstrap %q: %s: API address: %w", name, a.Controller.Name, err)
		}
		for _, c := range a.Controllers {
			if b.APIHealth[c.Name], err = s.apiHealth(c, b.Controllers[c.Name].Join); err != nil {
				return nil, fmt.Errorf("bootstrap %q: %s: API address: %w", name, c.Name, err)
			}
		}
	}
	// The kubeconfig names init's ID, so that it (and the provider) wait for the control plane.
	kubeconfig := func(server pulumi.StringOutput) pulumi.StringOutput {
		return pulumi.ToSecret(pulumi.All(server, s.caCert, admin.cert.CertPem, admin.key, init.ID()).ApplyT(func(v []any) (string, error) {
			return AdminKubeconfig(v[0].(string), v[1].(string), v[2].(string), v[3].(string))
		})).(pulumi.StringOutput)
	}
	b.Kubeconfig = kubeconfig(b.APIEndpoint)
	b.Provider, err = kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		// Pulumi's provider talks to the first controller itself: the API address answers only
		// once Calico, which this provider installs, announces it.
		Kubeconfig: kubeconfig(direct),
		// A renewed client certificate changes the kubeconfig: with a cluster identifier the
		// Kubernetes provider takes that as an update, not as another cluster (its DiffConfig
		// drops every replacement while clusterIdentifier is set and unchanged). A new control
		// plane (a replaced init) is another cluster: the identifier changes with it.
		ClusterIdentifier: pulumi.Sprintf("%s-%s", name, init.ID()),
	}, s.parent)
	if err != nil {
		return nil, fmt.Errorf("bootstrap %q: provider: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{"kubeconfig": b.Kubeconfig, "apiEndpoint": b.APIEndpoint}); err != nil {
		return nil, err
	}
	return b, nil
}

// steps holds what the remote steps share.
type steps struct {
	ctx    *pulumi.Context
	name   string
	args   BootstrapArgs
	parent pulumi.ResourceOption
	// caCert and caKey are the cluster CA, generated here so that joins need not wait for a
	// round trip to read kubeadm's CA back from the controller.
	caCert, caKey pulumi.StringOutput
	// caHash is the CA's discovery hash, computed once for every join.
	caHash pulumi.StringOutput
	// shapes are the scripts that depend only on the arguments, rendered once.
	shapes shapes
	// joinShapes are the shared join scripts, by worker labels.
	joinShapes map[string]pulumi.StringOutput
	// sshKey is SSHPrivateKey, secret; proxy is the bastion's connection, nil without one.
	sshKey pulumi.StringOutput
	proxy  remote.ProxyConnectionPtrInput
	// guardStep is the controller's guard, which every preparation waits for.
	guardStep *remote.Command
	// controlPlaneUpgrade moves the control plane to Kubernetes.Version; joins wait for it, so
	// that a worker added with a version change joins a control plane already at that version.
	controlPlaneUpgrade *remote.Command
	// apiAddress is APIAddress, checked to be an IPv4 address, "" without one; certificateKey
	// the certificate key of the control-plane certificates (secret), "" without an API address.
	apiAddress, certificateKey pulumi.StringOutput
}

// hosts are the controllers, first the first one, then the workers.
func (s *steps) hosts() []Host {
	out := append([]Host{s.args.Controller}, s.args.Controllers...)
	return append(out, s.args.Workers...)
}

// controlPlaneAddress checks the API address once it is known and, with one, makes the
// certificate key: 32 random bytes as 64 hex digits (kubeadm's CertificateKeySize), the SHA-256
// of a random password, secret from the start (a random ID's value would be its resource ID, which
// the state keeps in clear).
func (s *steps) controlPlaneAddress() error {
	if s.args.APIAddress == nil {
		s.apiAddress, s.certificateKey = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
		return nil
	}
	s.apiAddress = s.args.APIAddress.ToStringOutput().ApplyT(func(a string) (string, error) {
		return a, checkIPv4("APIAddress", a)
	}).(pulumi.StringOutput)
	p, err := random.NewRandomPassword(s.ctx, s.name+"-certificate-key", &random.RandomPasswordArgs{
		Length: pulumi.Int(64), Special: pulumi.Bool(false),
		Keepers: pulumi.StringMap{"machine": machineID(s.args.Controller)},
	}, s.parent)
	if err != nil {
		return err
	}
	s.certificateKey = pulumi.ToSecret(p.Result.ApplyT(func(r string) string {
		sum := sha256.Sum256([]byte(r))
		return hex.EncodeToString(sum[:])
	})).(pulumi.StringOutput)
	return nil
}

func (s *steps) credentials() error {
	key, err := tls.NewPrivateKey(s.ctx, s.name+"-ca", &tls.PrivateKeyArgs{
		Algorithm: pulumi.String("ECDSA"), EcdsaCurve: pulumi.String("P256"),
	}, s.parent)
	if err != nil {
		return err
	}
	cert, err := tls.NewSelfSignedCert(s.ctx, s.name+"-ca", &tls.SelfSignedCertArgs{
		PrivateKeyPem:       key.PrivateKeyPem,
		IsCaCertificate:     pulumi.Bool(true),
		ValidityPeriodHours: pulumi.Int(10 * 365 * 24),
		AllowedUses:         pulumi.ToStringArray([]string{"cert_signing", "key_encipherment", "digital_signature"}),
		Subject:             &tls.SelfSignedCertSubjectArgs{CommonName: pulumi.String("kubernetes")},
	}, s.parent)
	if err != nil {
		return err
	}
	s.caCert = cert.CertPem
	s.caHash = cert.CertPem.ApplyT(CACertHash).(pulumi.StringOutput)
	s.caKey = pulumi.ToSecret(key.PrivateKeyPem).(pulumi.StringOutput)
	return nil
}

// joinToken is a worker's own bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}, both halves secret. It
// is tied to the worker's machine (random's keepers): a replaced machine gets a new token, and
// nothing else changes it.
func (s *steps) joinToken(w Host) (id, secret pulumi.StringOutput, err error) {
	part := func(suffix string, length int) (pulumi.StringOutput, error) {
		p, err := random.NewRandomPassword(s.ctx, s.name+"-"+w.Name+"-token-"+suffix, &random.RandomPasswordArgs{
			Length: pulumi.Int(length), Upper: pulumi.Bool(false), Special: pulumi.Bool(false),
			Keepers: pulumi.StringMap{"machine": machineID(w)},
		}, s.parent)
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return pulumi.ToSecret(p.Result).(pulumi.StringOutput), nil
	}
	if id, err = part("id", 6); err != nil {
		return id, secret, err
	}
	secret, err = part("secret", 16)
	return id, secret, err
}

// adminCredentials are the key and client certificate of the exported kubeconfig.
type adminCredentials struct {
	cert *tls.LocallySignedCert
	// key is the certificate's private key, secret.
	key pulumi.StringOutput
}

// AdminUser and AdminGroup are the exported kubeconfig's identity. kubeadm init binds
// kubeadm:cluster-admins to cluster-admin (ClusterRoleBinding kubeadm:cluster-admins,
// EnsureAdminClusterRoleBinding in cmd/kubeadm/app/phases/kubeconfig), as it does for admin.conf.
const (
	AdminUser  = "metalk8s-admin"
	AdminGroup = "kubeadm:cluster-admins"
)

// adminCredential makes the exported kubeconfig's key and certificate, signed by the cluster CA
// Pulumi holds. The tls provider's plan replaces a LocallySignedCert once the time left is under
// earlyRenewalHours (modifyPlanIfCertificateReadyForRenewal, internal/provider/common_cert.go of
// terraform-provider-tls): the pulumi up that finds it within CertRenewalDays of its end renews it.
func (s *steps) adminCredential() (adminCredentials, error) {
	key, err := tls.NewPrivateKey(s.ctx, s.name+"-admin", &tls.PrivateKeyArgs{
		Algorithm: pulumi.String("ECDSA"), EcdsaCurve: pulumi.String("P256"),
	}, s.parent)
	if err != nil {
		return adminCredentials{}, err
	}
	csr, err := tls.NewCertRequest(s.ctx, s.name+"-admin", &tls.CertRequestArgs{
		PrivateKeyPem: key.PrivateKeyPem,
		Subject: &tls.CertRequestSubjectArgs{
			CommonName:   pulumi.String(AdminUser),
			Organization: pulumi.String(AdminGroup),
		},
	}, s.parent)
	if err != nil {
		return adminCredentials{}, err
	}
	cert, err := tls.NewLocallySignedCert(s.ctx, s.name+"-admin", &tls.LocallySignedCertArgs{
		CertRequestPem:      csr.CertRequestPem,
		CaCertPem:           s.caCert,
		CaPrivateKeyPem:     s.caKey,
		ValidityPeriodHours: pulumi.Int(certLifeDays * 24),
		EarlyRenewalHours:   pulumi.Int(s.args.Kubernetes.CertRenewalDays * 24),
		AllowedUses:         pulumi.ToStringArray([]string{"digital_signature", "key_encipherment", "client_auth"}),
	}, s.parent)
	if err != nil {
		return adminCredentials{}, err
	}
	return adminCredentials{cert: cert, key: pulumi.ToSecret(key.PrivateKeyPem).(pulumi.StringOutput)}, nil
}

// certs is a controller's certificate step: it installs the daily renewal of kubeadm's
// certificates and runs it once. It runs again when the controller or its script changes, and
// with every new admin certificate (the pulumi up that renews that one checks kubeadm's too).
func (s *steps) certs(c Host, init *remote.Command, admin *tls.LocallySignedCert) (*remote.Command, error) {
	script, err := RenderRenewal(RenewalData{Node: c.Name, Days: s.args.Kubernetes.CertRenewalDays})
	if err != nil {
		return nil, err
	}
	return remote.NewCommand(s.ctx, s.name+"-"+c.Name+"-certs", &remote.CommandArgs{
		Connection: s.connection(c),
		Create:     s.shell(),
		Stdin:      pulumi.String(script),
		Triggers:   append(machine(c), admin.ValidityEndTime),
	}, s.parent, onItsMachine, pulumi.DependsOn([]pulumi.Resource{init, s.controlPlaneUpgrade}))
}

// apiHealthService is the health check's systemd service.
const apiHealthService = "metalk8s-api-address.service"

// apiHealth is a controller's API address step, once it has joined (or initialised) the control
// plane: it installs the health check that holds the API address on the controller's loopback
// while its own API server is ready, probed on its private address, and starts it.
func (s *steps) apiHealth(c Host, joined *remote.Command) (*remote.Command, error) {
	script := pulumi.All(c.PrivateIPv4, s.apiAddress).ApplyT(func(v []any) (string, error) {
		return RenderAPIAddress(APIHealthData{Node: c.Name, Address: v[1].(string), Private: v[0].(string), Port: s.args.Kubernetes.APIPort})
	}).(pulumi.StringOutput)
	return remote.NewCommand(s.ctx, s.name+"-"+c.Name+"-api-health", &remote.CommandArgs{
		Connection: s.connection(c),
		Create:     s.shell(),
		Stdin:      script,
		Delete:     pulumi.String(s.asRoot("systemctl disable --now " + apiHealthService)),
		Triggers:   machine(c),
	}, s.parent, onItsMachine, pulumi.DependsOn([]pulumi.Resource{joined}))
}

// machine ties a step to the machine it concerns: a replaced machine replaces the step, so that
// the step runs again on (or for) the new machine. Such a step carries onItsMachine.
func machine(h Host) pulumi.Array { return pulumi.Array{machineID(h)} }

// machineID is the machine's identity: its ID, or else its SSH address.
func machineID(h Host) pulumi.StringInput {
	if h.ID != nil {
		return h.ID
	}
	return h.SSHAddress
}

// onItsMachine replaces a step tied to a machine delete-first: the old step's delete action
// (drain, delete and reset for a join) runs before the step runs for the new machine. A node keeps
// its name, and a new machine may answer at the old one's address (a server whose ID alone
// changed): run create-first, the old join's delete would drain, delete and reset the node that
// just joined.
var onItsMachine = pulumi.DeleteBeforeReplace(true)

// dialErrorLimit is how many failed dials of a host (or of the bastion) Pulumi tolerates before it
// gives up. A freshly provisioned server may take minutes before sshd answers. pulumi-command waits
// 0.1 s after a failure, growing by half up to 5 s, and each dial may take its 15 s: 40 failures
// span about 2.5 minutes when dials are refused at once (measured in the SSH lab) and up to about
// 13 minutes when they time out.
const dialErrorLimit = 40

// connection is how Pulumi reaches a host: directly, or through the bastion.
func (s *steps) connection(h Host) remote.ConnectionArgs {
	return remote.ConnectionArgs{
		Host: h.SSHAddress,
		// Always set: pulumi-command fills in 22 for a missing port, so a host on port 22 records
		// the same inputs either way.
		Port:           pulumi.Float64(float64(h.SSHPort)),
		User:           pulumi.String(s.args.SSHUser),
		PrivateKey:     s.sshKey,
		DialErrorLimit: pulumi.Int(dialErrorLimit),
		Proxy:          s.proxy,
	}
}

// connections prepares what every connection shares: the key, secret, and the bastion's settings.
func (s *steps) connections() {
	s.sshKey = pulumi.ToSecret(s.args.SSHPrivateKey).(pulumi.StringOutput)
	if b := s.args.Bastion; b != nil {
		s.proxy = remote.ProxyConnectionArgs{
			Host:           pulumi.String(b.Address),
			Port:           pulumi.Float64(float64(b.Port)),
			User:           pulumi.String(b.User),
			PrivateKey:     pulumi.ToSecret(b.PrivateKey).(pulumi.StringOutput),
			DialErrorLimit: pulumi.Int(dialErrorLimit),
		}
	}
}

// shell runs a script from standard input as root.
func (s *steps) shell() pulumi.StringPtrInput {
	return pulumi.String(s.asRoot("bash -s"))
}

func (s *steps) asRoot(cmd string) string {
	if s.args.SSHUser == "root" {
		return cmd
	}
	return "sudo --non-interactive " + cmd
}

// spec is the cluster description the kubeadm documents are built from, once addresses are known
// (the API address and certificate key are set by the caller, when there is one).
func (s *steps) spec(private, public string) clusterSpec {
	return clusterSpec{
		Kubernetes: s.args.Kubernetes, Access: s.args.APIAccess,
		ControllerName: s.args.Controller.Name, ControllerPrivate: private, ControllerPublic: public,
		ControllerLabels: s.args.Controller.Labels,
		// Without workers the controllers are the only nodes: they must run workloads.
		ControllerRunsWorkloads: len(s.args.Workers) == 0,
	}
}

func (s *steps) prepare(h Host, controller bool) (*remote.Command, error) {
	sh := s.shapes.workerPrepare
	if controller {
		sh = s.shapes.controllerPrepare
	}
	var script pulumi.StringInput
	if controller && s.args.APIAddress != nil {
		// A controller holds the API address on lo: its firewall guards it too when it is
		// public, so its preparation is rendered for it rather than filled in from a shape.
		public := h.PublicIPv4
		if public == nil {
			public = pulumi.String("")
		}
		script = pulumi.All(public, s.apiAddress).ApplyT(func(v []any) (string, error) {
			ip := v[0].(string)
			if ip != "" {
				if err := checkIPv4(h.Name, ip); err != nil {
					return "", err
				}
			}
			return s.renderPrepare(h.Name, ip, strconv.Itoa(h.SSHPort), true, publicAPIAddress(v[1].(string)))
		}).(pulumi.StringOutput)
	} else if h.PublicIPv4 == nil {
		private := s.shapes.workerPrivate
		if controller {
			private = s.shapes.controllerPrivate
		}
		script = pulumi.String(withSSHPort(private.forName(h.Name), h.SSHPort))
	} else {
		script = h.PublicIPv4.ToStringOutput().ApplyT(func(public string) (string, error) {
			out, err := sh.forNode(h.Name, public)
			return withSSHPort(out, h.SSHPort), err
		}).(pulumi.StringOutput)
	}
	return remote.NewCommand(s.ctx, s.name+"-"+h.Name+"-prepare", &remote.CommandArgs{
		Connection: s.connection(h),
		Create:     s.shell(),
		Stdin:      script,
		Triggers:   machine(h),
	}, s.parent, onItsMachine, pulumi.DependsOn(h.DependsOn), pulumi.DependsOn([]pulumi.Resource{s.guardStep}))
}

func (s *steps) init(prepared *remote.Command) (*remote.Command, error) {
	c := s.args.Controller
	public := c.PublicIPv4
	if public == nil {
		public = pulumi.String("")
	}
	script := pulumi.All(c.PrivateIPv4, public, s.caCert, s.caKey, s.apiAddress, s.certificateKey).
		ApplyT(func(v []any) (string, error) {
			spec := s.spec(v[0].(string), v[1].(string))
			spec.APIAddress, spec.CertificateKey = v[4].(string), v[5].(string)
			cfg, err := spec.InitConfig()
			if err != nil {
				return "", err
			}
			return RenderInit(InitData{Node: c.Name, Endpoint: spec.Endpoint(), CACert: v[2].(string), CAKey: v[3].(string), Config: cfg,
				UploadCerts: spec.ha(), Private: spec.ControllerPrivate})
		}).(pulumi.StringOutput)
	return remote.NewCommand(s.ctx, s.name+"-"+c.Name+"-init", &remote.CommandArgs{
		Connection: s.connection(c),
		Create:     s.shell(),
		Stdin:      pulumi.ToSecret(script).(pulumi.StringOutput),
		// Standard output is the admin kubeconfig: never log it, keep it secret in the state.
		Logging:  remote.LoggingStderr,
		Triggers: machine(c),
	}, s.parent, onItsMachine, pulumi.DependsOn([]pulumi.Resource{prepared}),
		pulumi.AdditionalSecretOutputs([]string{"stdout", "stdin"}))
}

// retireTokens deletes, on the controller, the bootstrap tokens no worker joins with: kubeadm
// init's, and on a cluster made before workers had tokens of their own, the one they shared. It
// runs once per controller machine.
func (s *steps) retireTokens(init *remote.Command) (*remote.Command, error) {
	c := s.args.Controller
	return remote.NewCommand(s.ctx, s.name+"-"+c.Name+"-retire-tokens", &remote.CommandArgs{
		Connection: s.connection(c),
		Create:     s.shell(),
		Stdin:      pulumi.String(string(s.shapes.retireTokens)),
		Triggers:   machine(c),
	}, s.parent, onItsMachine, pulumi.DependsOn([]pulumi.Resource{init}))
}

// member registers the token, join and registration of a worker, or of a controller after the
// first (controlPlane), once after is done.
func (s *steps) member(w Host, controlPlane bool, prepared *remote.Command, after ...pulumi.Resource) (*WorkerSteps, error) {
	c := s.args.Controller
	ws := &WorkerSteps{}
	id, secret, err := s.joinToken(w)
	if err != nil {
		return nil, err
	}
	// The token, join and registration steps carry the token in their standard input, never in
	// their triggers: pulumi-command replaces a step only when its triggers change (a changed
	// standard input runs the create command again), so a joined worker given a new token is not
	// reset.
	token := s.shapes.token
	if controlPlane {
		token = s.shapes.controllerToken
	}
	tokenScript := pulumi.All(id, secret).ApplyT(func(v []any) (string, error) {
		return withToken(token.forName(w.Name), v[0].(string), v[1].(string))
	}).(pulumi.StringOutput)
	ws.Token, err = remote.NewCommand(s.ctx, s.name+"-"+w.Name+"-token", &remote.CommandArgs{
		Connection: s.connection(c),
		Create:     s.shell(),
		Stdin:      pulumi.ToSecret(tokenScript).(pulumi.StringOutput),
		// A new machine joins with a token of its own, made when its step runs.
		Triggers: machine(w),
	}, s.parent, onItsMachine, pulumi.DependsOn(append([]pulumi.Resource{s.controlPlaneUpgrade}, after...)), pulumi.AdditionalSecretOutputs([]string{"stdin"}))
	if err != nil {
		return nil, err
	}
	joinScript := pulumi.All(s.joinShape(w.Labels, controlPlane), w.PrivateIPv4, id, secret).ApplyT(func(v []any) (string, error) {
		out, err := shape(v[0].(string)).forNode(w.Name, v[1].(string))
		if err != nil {
			return "", err
		}
		return withToken(out, v[2].(string), v[3].(string))
	}).(pulumi.StringOutput)
	ws.Join, err = remote.NewCommand(s.ctx, s.name+"-"+w.Name+"-join", &remote.CommandArgs{
		Connection: s.connection(w),
		Create:     s.shell(),
		Stdin:      pulumi.ToSecret(joinScript).(pulumi.StringOutput),
		Delete:     pulumi.String(s.asRoot(resetCommand)),
		Triggers:   machine(w),
	}, s.parent, onItsMachine, pulumi.DependsOn([]pulumi.Resource{prepared, ws.Token}), pulumi.AdditionalSecretOutputs([]string{"stdin"}))
	if err != nil {
		return nil, err
	}
	registeredScript := id.ApplyT(func(id string) (string, error) {
		return withTokenID(s.shapes.registered.forName(w.Name), id)
	}).(pulumi.StringOutput)
	ws.Registered, err = remote.NewCommand(s.ctx, s.name+"-"+w.Name+"-registered", &remote.CommandArgs{
		Connection: s.connection(c),
		Create:     s.shell(),
		// Secret: it names the token, whose ID is kept secret with the rest of it.
		Stdin:    pulumi.ToSecret(registeredScript).(pulumi.StringOutput),
		Delete:   pulumi.String(s.asRoot(removeNodeCommand + " " + w.Name)),
		Triggers: machine(w),
	}, s.parent, onItsMachine, pulumi.DependsOn([]pulumi.Resource{ws.Join}), pulumi.AdditionalSecretOutputs([]string{"stdin"}))
	return ws, err
}

// joinShape is the join script every worker (or joining controller) with these labels shares,
// rendered once per set of labels: rendering it per worker would repeat the same work hundreds of
// times in a large cluster. It holds stand-ins for the node's name, address and join token.
func (s *steps) joinShape(labels map[string]string, controlPlane bool) pulumi.StringOutput {
	key := fmt.Sprint(controlPlane, labels)
	if sh, ok := s.joinShapes[key]; ok {
		return sh
	}
	c := s.args.Controller
	sh := pulumi.All(c.PrivateIPv4, s.caHash, s.apiAddress, s.certificateKey).ApplyT(func(v []any) (string, error) {
		first := v[0].(string)
		if err := checkIPv4(c.Name, first); err != nil {
			return "", err
		}
		spec := s.spec(first, "")
		spec.APIAddress, spec.CertificateKey = v[2].(string), v[3].(string)
		spec.Token = tokenIDPlaceholder + "." + tokenSecretPlaceholder
		config := spec.JoinConfig
		if controlPlane {
			config = spec.ControlPlaneJoinConfig
		}
		cfg, err := config(nodeNamePlaceholder, nodeIPPlaceholder, v[1].(string), labels)
		if err != nil {
			return "", err
		}
		d := JoinData{Node: nodeNamePlaceholder, Endpoint: spec.Endpoint(), Config: cfg, ControlPlane: controlPlane, Address: nodeIPPlaceholder}
		if spec.ha() {
			d.FirstController = first
		}
		return RenderJoin(d)
	}).(pulumi.StringOutput)
	if s.joinShapes == nil {
		s.joinShapes = map[string]pulumi.StringOutput{}
	}
	s.joinShapes[key] = sh
	return sh
}

// apiEndpoint is the API server URL the exported kubeconfig uses: the API address, or else the
// first controller's.
func (s *steps) apiEndpoint() pulumi.StringOutput {
	if s.args.APIAddress != nil {
		return pulumi.Sprintf("https://%s:%d", s.apiAddress, s.args.Kubernetes.APIPort)
	}
	return s.controllerEndpoint()
}

// controllerEndpoint is the first controller's API server URL, which Pulumi's Kubernetes provider
// uses: its public address, or its private one when the API server is private.
func (s *steps) controllerEndpoint() pulumi.StringOutput {
	addr := s.args.Controller.PublicIPv4
	if s.args.APIAccess.PrivateOnly {
		addr = s.args.Controller.PrivateIPv4
	}
	return pulumi.Sprintf("https://%s:%d", addr, s.args.Kubernetes.APIPort)
}

// CACertHash is kubeadm's discovery hash of a CA certificate: sha256 of its public key info.
func CACertHash(certPEM string) (string, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("CA certificate: no PEM certificate block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("CA certificate: %w", err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// AdminKubeconfig is the exported kubeconfig: the cluster at server, trusted through the CA, and
// the user AdminUser with its client certificate and key (all PEM).
func AdminKubeconfig(server, caCert, clientCert, clientKey string) (string, error) {
	for what, p := range map[string]string{"CA certificate": caCert, "client certificate": clientCert, "client key": clientKey} {
		if b, _ := pem.Decode([]byte(p)); b == nil {
			return "", fmt.Errorf("kubeconfig: the %s holds no PEM block", what)
		}
	}
	const cluster, context = "kubernetes", AdminUser + "@kubernetes"
	cfg := clientcmdv1.Config{
		APIVersion:     "v1",
		Kind:           "Config",
		Clusters:       []clientcmdv1.NamedCluster{{Name: cluster, Cluster: clientcmdv1.Cluster{Server: server, CertificateAuthorityData: []byte(caCert)}}},
		AuthInfos:      []clientcmdv1.NamedAuthInfo{{Name: AdminUser, AuthInfo: clientcmdv1.AuthInfo{ClientCertificateData: []byte(clientCert), ClientKeyData: []byte(clientKey)}}},
		Contexts:       []clientcmdv1.NamedContext{{Name: context, Context: clientcmdv1.Context{Cluster: cluster, AuthInfo: AdminUser}}},
		CurrentContext: context,
	}
	out, err := yaml.Marshal(cfg)
	return string(out), err
}

package bootstrap

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// commandType is pulumi-command's remote command.
const commandType = "command:remote:Command"

// Keys the connection tests hand the program; never real keys.
const (
	hostsKey   = "-----BEGIN OPENSSH PRIVATE KEY-----\nhosts\n-----END OPENSSH PRIVATE KEY-----\n"
	bastionKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nbastion\n-----END OPENSSH PRIVATE KEY-----\n"
)

// unwrap removes the secret and known-output wrappers around a recorded value, and reports
// whether one of them was a secret.
func unwrap(v resource.PropertyValue) (resource.PropertyValue, bool) {
	secret := false
	for {
		switch {
		case v.IsSecret():
			v, secret = v.SecretValue().Element, true
		case v.IsOutput() && v.OutputValue().Known:
			secret = secret || v.OutputValue().Secret
			v = v.OutputValue().Element
		default:
			return v, secret
		}
	}
}

// recordedConnection is a remote command's connection as the engine received it.
type recordedConnection struct {
	Host, User, PrivateKey, HostKey      string
	Port, DialErrorLimit, PerDialTimeout float64
	Proxy                                *recordedConnection
}

func (c *recordedConnection) String() string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%s@%s:%v key %q host key %q dialErrorLimit %v perDialTimeout %v proxy %s",
		c.User, c.Host, c.Port, c.PrivateKey, c.HostKey, c.DialErrorLimit, c.PerDialTimeout, c.Proxy)
}

// decodeConnection reads a recorded connection object.
func decodeConnection(t *testing.T, v resource.PropertyValue) *recordedConnection {
	t.Helper()
	v, _ = unwrap(v)
	if v.IsNull() {
		return nil
	}
	if !v.IsObject() {
		t.Fatalf("connection is %v, want an object", v)
	}
	obj := v.ObjectValue()
	str := func(k string) string {
		s, _ := unwrap(obj[resource.PropertyKey(k)])
		if s.IsString() {
			return s.StringValue()
		}
		return ""
	}
	num := func(k string) float64 {
		n, _ := unwrap(obj[resource.PropertyKey(k)])
		if n.IsNumber() {
			return n.NumberValue()
		}
		return 0
	}
	return &recordedConnection{
		Host: str("host"), User: str("user"), PrivateKey: str("privateKey"), HostKey: str("hostKey"),
		Port: num("port"), DialErrorLimit: num("dialErrorLimit"), PerDialTimeout: num("perDialTimeout"),
		Proxy: decodeConnection(t, obj["proxy"]),
	}
}

// recordedCommands runs NewBootstrap with args under the fake cloud and returns its remote
// commands by name; outputs receives the Bootstrap while the program still runs.
func recordedCommands(t *testing.T, args BootstrapArgs, outputs func(*pulumi.Context, *Bootstrap) error) map[string]*mockcloud.Resource {
	t.Helper()
	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	err := cloud.Run(func(ctx *pulumi.Context) error {
		b, err := NewBootstrap(ctx, "c", &args)
		if err != nil {
			return err
		}
		if outputs != nil {
			return outputs(ctx, b)
		}
		return nil
	}, "p", "s", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmds := map[string]*mockcloud.Resource{}
	for _, r := range cloud.Resources() {
		if r.Type == commandType {
			cmds[r.Name] = r
		}
	}
	return cmds
}

// connectionArgs are Bootstrap args with a controller and two workers at addresses of their own.
func connectionArgs() BootstrapArgs {
	host := func(name, addr string) Host {
		return Host{Name: name, SSHAddress: pulumi.String(addr), PrivateIPv4: pulumi.String("10.0.0.1"), PublicIPv4: pulumi.String(addr)}
	}
	return BootstrapArgs{
		Controller: host("cp", "192.0.2.10"),
		Workers:    []Host{host("w1", "192.0.2.11"), host("w2", "192.0.2.12")},
		Kubernetes: KubernetesArgs{Version: "1.37.2"}, APIAccess: APIAccess{AllowedCIDRs: []string{"198.51.100.0/24"}},
		SSHPrivateKey: pulumi.String(hostsKey),
	}
}

// TestConnectionsCarryTheSettings checks, for every remote step the Bootstrap registers, the
// connection the engine receives: each step's host, port, user and key, and the bastion's when
// one is set, with its defaults taken from the hosts' settings.
func TestConnectionsCarryTheSettings(t *testing.T) {
	// Which host each step runs on: the worker steps token and registered run on the controller.
	stepHost := map[string]string{
		"c-cp-prepare": "cp", "c-w1-prepare": "w1", "c-w2-prepare": "w2", "c-cp-init": "cp", "c-cp-retire-tokens": "cp",
		"c-w1-token": "cp", "c-w1-join": "w1", "c-w1-registered": "cp",
		"c-w2-token": "cp", "c-w2-join": "w2", "c-w2-registered": "cp",
		// The guard and the upgrade steps: a worker's drain and uncordon run on the controller.
		"c-cp-guard": "cp", "c-cp-upgrade": "cp",
		// The renewal of kubeadm's certificates.
		"c-cp-certs": "cp",
		"c-w1-drain": "cp", "c-w1-upgrade": "w1", "c-w1-uncordon": "cp",
		"c-w2-drain": "cp", "c-w2-upgrade": "w2", "c-w2-uncordon": "cp",
	}
	addr := map[string]string{"cp": "192.0.2.10", "w1": "192.0.2.11", "w2": "192.0.2.12"}
	cases := []struct {
		name  string
		edit  func(*BootstrapArgs)
		user  string
		ports map[string]float64
		proxy *recordedConnection
		shell string
	}{
		{name: "defaults", edit: func(*BootstrapArgs) {}, user: "root",
			ports: map[string]float64{"cp": 22, "w1": 22, "w2": 22}, shell: "bash -s"},
		{name: "ports and user", edit: func(a *BootstrapArgs) {
			a.Controller.SSHPort = 2222
			a.Workers[1].SSHPort = 65535
			a.SSHUser = "ubuntu"
		}, user: "ubuntu", ports: map[string]float64{"cp": 2222, "w1": 22, "w2": 65535}, shell: "sudo --non-interactive bash -s"},
		{name: "bastion with defaults", edit: func(a *BootstrapArgs) {
			a.SSHUser = "ubuntu"
			a.Bastion = &Bastion{Address: "bastion.example.net"}
		}, user: "ubuntu", ports: map[string]float64{"cp": 22, "w1": 22, "w2": 22}, shell: "sudo --non-interactive bash -s",
			proxy: &recordedConnection{Host: "bastion.example.net", Port: 22, User: "ubuntu", PrivateKey: hostsKey, DialErrorLimit: dialErrorLimit, PerDialTimeout: 15}},
		{name: "bastion set", edit: func(a *BootstrapArgs) {
			a.Workers[0].SSHPort = 2201
			a.Bastion = &Bastion{Address: "198.51.100.7", Port: 2200, User: "jump", PrivateKey: pulumi.String(bastionKey)}
		}, user: "root", ports: map[string]float64{"cp": 22, "w1": 2201, "w2": 22}, shell: "bash -s",
			proxy: &recordedConnection{Host: "198.51.100.7", Port: 2200, User: "jump", PrivateKey: bastionKey, DialErrorLimit: dialErrorLimit, PerDialTimeout: 15}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := connectionArgs()
			tc.edit(&args)
			before := fmt.Sprint(args.Workers[0].SSHPort, args.Workers[1].SSHPort, args.Bastion)
			cmds := recordedCommands(t, args, nil)
			if after := fmt.Sprint(args.Workers[0].SSHPort, args.Workers[1].SSHPort, args.Bastion); after != before {
				t.Errorf("NewBootstrap changed the caller's args: %s, was %s", after, before)
			}
			var names []string
			for n := range cmds {
				names = append(names, n)
			}
			sort.Strings(names)
			if len(names) != len(stepHost) {
				t.Fatalf("remote steps %v, want %d", names, len(stepHost))
			}
			for _, name := range names {
				r := cmds[name]
				host, ok := stepHost[name]
				if !ok {
					t.Errorf("unexpected remote step %s", name)
					continue
				}
				if _, secret := unwrap(r.Inputs["connection"]); !secret {
					t.Errorf("%s: the connection is not secret", name)
				}
				want := recordedConnection{Host: addr[host], Port: tc.ports[host], User: tc.user, PrivateKey: hostsKey, DialErrorLimit: dialErrorLimit,
					// pulumi-command's SDK fills in 15 s per dial (remote.Connection.Defaults).
					PerDialTimeout: 15, Proxy: tc.proxy}
				got := decodeConnection(t, r.Inputs["connection"])
				if got.String() != want.String() {
					t.Errorf("%s: connection\n%s\nwant\n%s", name, got, &want)
				}
				// A worker's upgrade steps run only on a version change: their shell is their update.
				key := "create"
				if _, ok := r.Inputs["create"]; !ok {
					key = "update"
				}
				if cmd, _ := unwrap(r.Inputs[resource.PropertyKey(key)]); cmd.StringValue() != tc.shell {
					t.Errorf("%s: %s %q, want %q", name, key, cmd.StringValue(), tc.shell)
				}
			}
		})
	}
}

// TestConnectionKeysAreSecret checks that the keys the connections carry are secret outputs
// themselves, not only once pulumi-command wraps the whole connection: a key that is not secret
// would show in anything else built from it.
func TestConnectionKeysAreSecret(t *testing.T) {
	args := connectionArgs()
	args.Bastion = &Bastion{Address: "198.51.100.7", PrivateKey: pulumi.String(bastionKey)}
	recordedCommands(t, args, func(ctx *pulumi.Context, b *Bootstrap) error {
		key, err := internals.UnsafeAwaitOutput(ctx.Context(), b.steps.sshKey)
		if err != nil {
			return err
		}
		if !key.Secret || key.Value != hostsKey {
			t.Errorf("the hosts' key: secret %v, value %q", key.Secret, key.Value)
		}
		proxy, ok := b.steps.proxy.(remote.ProxyConnectionArgs)
		if !ok {
			t.Fatalf("the bastion's connection is a %T", b.steps.proxy)
		}
		key, err = internals.UnsafeAwaitOutput(ctx.Context(), proxy.PrivateKey.ToStringPtrOutput())
		if err != nil {
			return err
		}
		if v, _ := key.Value.(*string); !key.Secret || v == nil || *v != bastionKey {
			t.Errorf("the bastion's key: secret %v, value %v", key.Secret, key.Value)
		}
		return nil
	})
}

// TestConnectionSettingsValidated checks that every wrong port and bastion setting is reported
// at once, each naming its field and value, before anything is registered.
func TestConnectionSettingsValidated(t *testing.T) {
	args := connectionArgs()
	args.Controller.SSHPort = 70000
	args.Workers[1].SSHPort = -1
	args.Bastion = &Bastion{Address: "bastion host", Port: 65536}
	args.SSHPrivateKey = nil
	err := args.withDefaults().validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"Controller.SSHPort 70000: must be between 1 and 65535",
		"Workers[1].SSHPort -1: must be between 1 and 65535",
		`Bastion.Address "bastion host": must be an IP address or a DNS name`,
		"Bastion.Port 65536: must be between 1 and 65535",
		"Bastion.PrivateKey is required (it defaults to SSHPrivateKey)",
		"SSHPrivateKey is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "Workers[0]") {
		t.Errorf("Workers[0] (port defaulted) reported:\n%v", err)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 6 {
		t.Errorf("want 6 problems, got:\n%v", err)
	}

	for addr, ok := range map[string]bool{
		"198.51.100.7": true, "2001:db8::1": true, "bastion.example.net": true, "jump": true, "jump.": true,
		"": false, "bastion host": false, "198.51.100.7:22": false, "fe80::1%eth0": false, "-jump": false,
		"jump-.example": false, "198.51.100.999": false, "a..b": false, "user@jump": false, strings.Repeat("a", 64): false,
	} {
		if got := validAddress(addr); got != ok {
			t.Errorf("Bastion.Address %q: accepted %v, want %v", addr, got, ok)
		}
	}
}

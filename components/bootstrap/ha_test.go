package bootstrap

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// haArgs are three controllers and two workers with an API address.
func haArgs() BootstrapArgs {
	host := func(name, private, public string) Host {
		return Host{Name: name, SSHAddress: pulumi.String(public), PrivateIPv4: pulumi.String(private), PublicIPv4: pulumi.String(public)}
	}
	return BootstrapArgs{
		Controller:    host("cp1", "10.0.0.1", "192.0.2.1"),
		Controllers:   []Host{host("cp2", "10.0.0.2", "192.0.2.2"), host("cp3", "10.0.0.3", "192.0.2.3")},
		Workers:       []Host{host("w1", "10.0.0.11", "192.0.2.11"), host("w2", "10.0.0.12", "192.0.2.12")},
		APIAddress:    pulumi.String("192.0.2.100"),
		Kubernetes:    KubernetesArgs{Version: "1.37.2"},
		APIAccess:     APIAccess{AllowedCIDRs: []string{"198.51.100.0/24"}},
		SSHPrivateKey: pulumi.String(hostsKey),
	}
}

// stdin is a recorded command's standard input and whether the engine received it as a secret.
func stdin(t *testing.T, r *mockcloud.Resource) (string, bool) {
	t.Helper()
	v, ok := r.Inputs["stdin"]
	if !ok {
		t.Fatalf("%s has no standard input", r.Name)
	}
	secret := v.IsSecret()
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		t.Fatalf("%s: standard input is %v", r.Name, v)
	}
	return v.StringValue(), secret
}

// TestThreeControllers: the controllers after the first join one after another (etcd takes one
// member at a time), each with a token of its own made on the first controller after the
// control-plane certificates are uploaded again; the workers wait for none of the joining
// controllers; the certificate key and every script holding it are secret; the kubeadm files name
// the control plane by APIName, and the API server certificates name the API address.
func TestThreeControllers(t *testing.T) {
	cmds := recordedCommands(t, haArgs(), nil)
	need := func(name string) *mockcloud.Resource {
		t.Helper()
		r, ok := cmds[name]
		if !ok {
			t.Fatalf("no step %s", name)
		}
		return r
	}
	dependsOn := func(r *mockcloud.Resource, on string) bool { return slices.Contains(r.DependsOn, need(on).URN) }
	// The order of the control plane.
	for _, c := range []struct{ step, after string }{
		{"c-cp2-token", "c-cp1-init"},
		{"c-cp2-join", "c-cp2-token"},
		{"c-cp2-registered", "c-cp2-join"},
		{"c-cp3-token", "c-cp2-registered"},
		{"c-cp3-join", "c-cp3-token"},
		{"c-cp3-registered", "c-cp3-join"},
		{"c-w1-token", "c-cp1-init"},
		{"c-cp2-certs", "c-cp2-join"},
		{"c-cp2-drain", "c-cp1-upgrade"},
		{"c-cp3-drain", "c-cp2-uncordon"},
		{"c-w1-drain", "c-cp3-uncordon"},
	} {
		if !dependsOn(need(c.step), c.after) {
			t.Errorf("%s does not wait for %s", c.step, c.after)
		}
	}
	if dependsOn(need("c-cp3-token"), "c-cp1-init") {
		t.Error("c-cp3-token waits for init itself, not only for cp2's registration")
	}
	// The workers wait for no joining controller: their chains run beside the control plane's.
	for _, w := range []string{"w1", "w2"} {
		for _, step := range []string{"token", "join", "registered"} {
			r := need("c-" + w + "-" + step)
			for _, c := range []string{"cp2", "cp3"} {
				for _, cs := range []string{"token", "join", "registered"} {
					if dependsOn(r, "c-"+c+"-"+cs) {
						t.Errorf("%s waits for %s", r.Name, "c-"+c+"-"+cs)
					}
				}
			}
		}
	}
	keyRE := regexp.MustCompile(`certificateKey: ([0-9a-f]{64})\n`)
	init, secret := stdin(t, need("c-cp1-init"))
	if !secret {
		t.Error("the init script is not secret")
	}
	m := keyRE.FindStringSubmatch(init)
	if m == nil {
		t.Fatalf("the init configuration has no certificate key of 64 hex digits:\n%s", init)
	}
	for _, want := range []string{"controlPlaneEndpoint: " + APIName + ":6443", "- 192.0.2.100\n", "- " + APIName + "\n",
		"--upload-certs --skip-certificate-key-print", "map_api_name 10.0.0.1"} {
		if !strings.Contains(init, want) {
			t.Errorf("the init script lacks %q", want)
		}
	}
	for _, cp := range []string{"cp2", "cp3"} {
		join, secret := stdin(t, need("c-"+cp+"-join"))
		if !secret {
			t.Errorf("%s's join script is not secret", cp)
		}
		if got := keyRE.FindStringSubmatch(join); got == nil || got[1] != m[1] {
			t.Errorf("%s's join configuration does not carry init's certificate key", cp)
		}
		for _, want := range []string{"controlPlane:", "advertiseAddress: " + map[string]string{"cp2": "10.0.0.2", "cp3": "10.0.0.3"}[cp],
			"apiServerEndpoint: " + APIName + ":6443", "map_api_name 10.0.0.1"} {
			if !strings.Contains(join, want) {
				t.Errorf("%s's join script lacks %q", cp, want)
			}
		}
		token, _ := stdin(t, need("c-"+cp+"-token"))
		if !strings.Contains(token, "kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print") {
			t.Errorf("%s's token step does not upload the certificates again", cp)
		}
	}
	wjoin, _ := stdin(t, need("c-w1-join"))
	if strings.Contains(wjoin, "controlPlane:") || strings.Contains(wjoin, "certificateKey") {
		t.Error("a worker's join file names the control plane's join or the certificate key")
	}
	wtoken, _ := stdin(t, need("c-w1-token"))
	if strings.Contains(wtoken, "upload-certs") {
		t.Error("a worker's token step uploads the control-plane certificates")
	}
	// The key is nowhere in clear: not in any input or output the engine received.
	for _, r := range cmds {
		for _, pm := range []resource.PropertyMap{r.Inputs, r.Outputs} {
			for k, v := range pm {
				if !v.ContainsSecrets() && strings.Contains(v.String(), m[1]) {
					t.Errorf("%s.%s holds the certificate key in clear", r.Name, k)
				}
			}
		}
	}
}

// TestControllerCountsValidated: etcd needs an odd number of members, and the controllers share
// the API address.
func TestControllerCountsValidated(t *testing.T) {
	extra := haArgs().Controllers
	for _, c := range []struct {
		n       int
		address bool
		problem string
	}{
		{0, false, ""}, {0, true, ""}, {2, true, ""}, {4, true, ""},
		{1, true, "Controllers: 1 of them make 2 controllers"},
		{3, true, "Controllers: 3 of them make 4 controllers"},
		{2, false, "APIAddress is required with Controllers"},
	} {
		a := haArgs()
		a.Controllers = nil
		for i := range c.n {
			h := extra[i%2]
			h.Name = "cpx" + string(rune('a'+i))
			a.Controllers = append(a.Controllers, h)
		}
		if !c.address {
			a.APIAddress = nil
		}
		err := a.withDefaults().validate()
		switch {
		case c.problem == "" && err != nil:
			t.Errorf("%d controllers after the first, address %v: refused: %v", c.n, c.address, err)
		case c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)):
			t.Errorf("%d controllers after the first, address %v: %v, want %q", c.n, c.address, err, c.problem)
		}
	}
}

// TestAPIAddressChecked: an API address that is not an IPv4 address (known only once the cloud
// answers, as a reserved address on Metal) fails the run naming it, before it reaches a script.
func TestAPIAddressChecked(t *testing.T) {
	a := haArgs()
	a.APIAddress = pulumi.String("192.0.2.100/32")
	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	err := cloud.Run(func(ctx *pulumi.Context) error {
		_, err := NewBootstrap(ctx, "c", &a)
		return err
	}, "p", "s", nil, nil)
	if err == nil || !strings.Contains(err.Error(), `APIAddress: address "192.0.2.100/32" is not an IPv4 address`) {
		t.Errorf("an API address with a prefix length: %v", err)
	}
}

package bootstrap

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// shapeArgs are arguments with every per-node and per-role difference in play: an allow-listed
// API server (controller only) and blocked pod destinations.
func shapeArgs() BootstrapArgs {
	h := Host{Name: "cp", SSHAddress: pulumi.String("x"), PrivateIPv4: pulumi.String("x"), PublicIPv4: pulumi.String("x")}
	return BootstrapArgs{
		Controller: h, Kubernetes: KubernetesArgs{Version: "1.37.2"},
		APIAccess: APIAccess{AllowedCIDRs: []string{"198.51.100.7/32"}}, PodBlocked: []string{"192.80.8.124/32"},
		SSHPrivateKey: pulumi.String("k"),
	}.withDefaults()
}

var shapeNodes = []struct {
	name, ip string
	sshPort  int
}{
	{"a", "192.0.2.1", 22},
	{"sv-worker-499", "203.0.113.254", 2222},
	{"node-1.example.net", "10.0.0.10", 65535},
}

// TestPrepareShapeIsTheNodesScript checks that filling the preparation shape in for a node gives
// exactly the script rendered for that node directly, for the controller and for a worker.
func TestPrepareShapeIsTheNodesScript(t *testing.T) {
	s := &steps{args: shapeArgs()}
	if err := s.renderShapes(); err != nil {
		t.Fatal(err)
	}
	for _, controller := range []bool{true, false} {
		sh := s.shapes.workerPrepare
		if controller {
			sh = s.shapes.controllerPrepare
		}
		for _, n := range shapeNodes {
			fw := FirewallData{Node: n.name, PublicIPv4: n.ip, APIPort: s.args.Kubernetes.APIPort, SSHPort: strconv.Itoa(n.sshPort),
				PodCIDR: s.args.Kubernetes.PodCIDR, PodBlocked: s.args.PodBlocked}
			if controller {
				fw.APIAllowedCIDRs = s.args.APIAccess.AllowedCIDRs
			}
			rules, err := RenderFirewall(fw)
			if err != nil {
				t.Fatal(err)
			}
			d := PrepareData{Node: n.name, Controller: controller, Version: "1.37.2", Minor: "v1.37", PackageVersion: "1.37.2-1.1",
				ContainerdMinor: "2.2", Firewall: rules, ContainerdConfig: containerdConfig, ResetScript: resetScript}
			if controller {
				d.RemoveNodeScript = removeNodeScript
			}
			want, err := RenderPrepare(d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sh.forNode(n.name, n.ip)
			if err != nil {
				t.Fatal(err)
			}
			got = withSSHPort(got, n.sshPort)
			if got != want {
				t.Errorf("controller=%v %s: the shape filled in differs from the script rendered for the node", controller, n.name)
			}
			if !strings.Contains(got, "ip daddr != "+n.ip+" accept") {
				t.Errorf("controller=%v %s: firewall rule for the public address missing", controller, n.name)
			}
		}
	}
}

// TestJoinShapeIsTheNodesScript does the same for the join script and its kubeadm configuration,
// with each worker's own join token filled in, and for the token and registration scripts.
func TestJoinShapeIsTheNodesScript(t *testing.T) {
	s := &steps{args: shapeArgs()}
	spec := s.spec("10.0.0.1", "")
	spec.Token = tokenIDPlaceholder + "." + tokenSecretPlaceholder
	labels := map[string]string{"metalk8s.io/metallb-speaker": "true"}
	shared, err := spec.JoinConfig(nodeNamePlaceholder, nodeIPPlaceholder, "sha256:00", labels)
	if err != nil {
		t.Fatal(err)
	}
	body, err := RenderJoin(JoinData{Node: nodeNamePlaceholder, Config: shared})
	if err != nil {
		t.Fatal(err)
	}
	tokenShape, err := RenderToken(TokenData{Worker: nodeNamePlaceholder, TokenID: tokenIDPlaceholder, TokenSecret: tokenSecretPlaceholder, TTLMinutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	registeredShape, err := RenderRegistered(RegisteredData{Worker: nodeNamePlaceholder, TokenID: tokenIDPlaceholder})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range shapeNodes {
		id, secret := fmt.Sprintf("tok%03d", i), fmt.Sprintf("%016d", i)
		nodeSpec := spec
		nodeSpec.Token = id + "." + secret
		cfg, err := nodeSpec.JoinConfig(n.name, n.ip, "sha256:00", labels)
		if err != nil {
			t.Fatal(err)
		}
		want, err := RenderJoin(JoinData{Node: n.name, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		got, err := shape(body).forNode(n.name, n.ip)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = withToken(got, id, secret); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: the join shape filled in differs from the script rendered for the node", n.name)
		}
		if !strings.Contains(got, "token: "+id+"."+secret+"\n") {
			t.Errorf("%s: the join configuration does not hold the worker's token", n.name)
		}
		want, err = RenderToken(TokenData{Worker: n.name, TokenID: id, TokenSecret: secret, TTLMinutes: 60})
		if err != nil {
			t.Fatal(err)
		}
		if got, err = withToken(shape(tokenShape).forName(n.name), id, secret); err != nil || got != want {
			t.Errorf("%s: the token shape filled in differs from the script rendered for the node (%v)", n.name, err)
		}
		want, err = RenderRegistered(RegisteredData{Worker: n.name, TokenID: id})
		if err != nil {
			t.Fatal(err)
		}
		if got, err = withTokenID(shape(registeredShape).forName(n.name), id); err != nil || got != want {
			t.Errorf("%s: the registration shape filled in differs from the script rendered for the node (%v)", n.name, err)
		}
	}
}

// TestShapeRefusesAnythingButABootstrapToken checks the token halves before they are written into
// a script: anything but [a-z0-9]{6} and [a-z0-9]{16} could break out of it or fail kubeadm.
func TestShapeRefusesAnythingButABootstrapToken(t *testing.T) {
	sh := "token: " + tokenIDPlaceholder + "." + tokenSecretPlaceholder + "\n"
	if out, err := withToken(sh, "abcdef", "0123456789abcdef"); err != nil || out != "token: abcdef.0123456789abcdef\n" {
		t.Errorf("a valid token: %q, %v", out, err)
	}
	for _, tc := range []struct{ id, secret string }{
		{"", "0123456789abcdef"}, {"abcde", "0123456789abcdef"}, {"ABCDEF", "0123456789abcdef"}, {"abc\nTO", "0123456789abcdef"},
		{"abcdef", ""}, {"abcdef", "0123456789abcde"}, {"abcdef", "0123456789abcdef0"}, {"abcdef", "0123456789abcde$"},
	} {
		if out, err := withToken(sh, tc.id, tc.secret); err == nil {
			t.Errorf("token %q.%q accepted: %q", tc.id, tc.secret, out)
		} else if strings.Contains(err.Error(), tc.secret) && tc.secret != "" {
			t.Errorf("the error shows the secret: %v", err)
		}
		if _, err := withTokenID(sh, tc.id); err == nil && tc.secret != "" && !tokenIDRE.MatchString(tc.id) {
			t.Errorf("token ID %q accepted", tc.id)
		}
	}
}

// TestShapeRefusesAnythingButAnIPv4Address checks the address the cloud returns before it is
// written into a script.
func TestShapeRefusesAnythingButAnIPv4Address(t *testing.T) {
	sh := shape("rule " + nodeIPPlaceholder + "\n")
	for _, ip := range []string{"", "2001:db8::1", "192.0.2.1\nFIREWALL", "192.0.2.1; reboot", "192.0.2"} {
		if out, err := sh.forNode("w", ip); err == nil {
			t.Errorf("address %q accepted: %q", ip, out)
		}
	}
}

// TestNodeNamesAreKubernetesNames checks that a name that could break out of a script is refused.
func TestNodeNamesAreKubernetesNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"sv-worker-0": true, "node-1.example.net": true, "a": true,
		`w"; reboot; "`: false, "Worker": false, "-w": false, "w-": false, "w..x": false, "w_x": false,
		strings.Repeat("a", 254): false,
	} {
		a := shapeArgs()
		a.Controller.Name = name
		err := a.validate()
		if got := err == nil; got != ok {
			t.Errorf("%q: accepted %v, want %v (%v)", name, got, ok, err)
		}
		if err != nil && !strings.Contains(err.Error(), "node name") {
			t.Errorf("%q: %v", name, err)
		}
	}
}

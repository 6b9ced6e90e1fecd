package servercluster

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/bootstrap"
)

// validArgs are the Args of a two-server cluster behind one rack's routers.
func validArgs() ServerClusterArgs {
	return ServerClusterArgs{
		Controller:    Server{Name: "cp-0", SSHAddress: "10.10.1.10", PrivateIPv4: "10.10.1.10", PublicIPv4: "203.0.113.10"},
		Workers:       []Server{{Name: "w-0", SSHAddress: "10.10.1.11", PrivateIPv4: "10.10.1.11", Gateway: "10.10.1.1", Peers: []Peer{{Address: "169.254.1.1", ASN: 65100, Multihop: true}}}},
		Peers:         []Peer{{Address: "10.10.1.2", ASN: 65001}, {Address: "10.10.1.3", ASN: 65002}},
		SSHPrivateKey: pulumi.String("key"),
		Kubernetes:    bootstrap.KubernetesArgs{Version: "1.37.2"},
		APIAccess:     bootstrap.APIAccess{AllowedCIDRs: []string{"198.51.100.7/32"}},
	}
}

// TestValidateReportsEveryProblem: library callers get every problem of their Args at once, each
// naming its field, before anything is registered; valid Args pass.
func TestValidateReportsEveryProblem(t *testing.T) {
	if err := validArgs().withDefaults().validate(); err != nil {
		t.Fatalf("valid args refused: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*ServerClusterArgs)
		want []string
	}{
		{"local ASN reserved", func(a *ServerClusterArgs) { a.LocalASN = 65535 }, []string{"LocalASN 65535"}},
		{"local ASN for documentation", func(a *ServerClusterArgs) { a.LocalASN = 64500 }, []string{"LocalASN 64500"}},
		{"AS_TRANS peer", func(a *ServerClusterArgs) { a.Peers[0].ASN = 23456 }, []string{"Controller.Peers[0].ASN 23456"}},
		{"no key", func(a *ServerClusterArgs) { a.SSHPrivateKey = nil }, []string{"SSHPrivateKey is required"}},
		{"two servers, one name", func(a *ServerClusterArgs) { a.Workers[0].Name = "cp-0" }, []string{`Workers[0].Name "cp-0": is also Controller's`}},
		{"one address twice", func(a *ServerClusterArgs) { a.Workers[0].PrivateIPv4 = "10.10.1.10" }, []string{"Workers[0].PrivateIPv4 10.10.1.10: is also Controller.PrivateIPv4"}},
		{"peer is a node", func(a *ServerClusterArgs) { a.Peers[1].Address = "10.10.1.11" }, []string{"Controller.Peers[1].Address 10.10.1.11: is Workers[0].PrivateIPv4"}},
		{"multihop without gateway", func(a *ServerClusterArgs) { a.Workers[0].Gateway = "" }, []string{"Workers[0].Gateway is required"}},
		{"no peers at all", func(a *ServerClusterArgs) { a.Peers = nil }, []string{"Controller: no BGP peers"}},
		{"public API without public address", func(a *ServerClusterArgs) { a.Controller.PublicIPv4 = "" }, []string{"Controller.PublicIPv4 is required"}},
		{"port out of range", func(a *ServerClusterArgs) { a.Workers[0].SSHPort = 70000 }, []string{"Workers[0].SSHPort 70000"}},
		{"several at once", func(a *ServerClusterArgs) {
			a.LocalASN, a.Workers[0].Name, a.Workers[0].SSHAddress = 23456, "W_0", ""
		}, []string{"LocalASN 23456", `Workers[0].Name "W_0"`, "Workers[0].SSHAddress is required"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := validArgs()
			c.edit(&a)
			err := a.withDefaults().validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
			if n, want := len(strings.Split(err.Error(), "\n")), len(c.want); n != want {
				t.Errorf("%d problems, want %d:\n%v", n, want, err)
			}
		})
	}
}

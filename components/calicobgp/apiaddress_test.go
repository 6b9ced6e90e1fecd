package calicobgp

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apiv3 "github.com/projectcalico/api/pkg/apis/projectcalico/v3"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	sigsjson "sigs.k8s.io/json"

	"github.com/metalk8s/metalk8s/components/topology"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// workerShell is shell that also runs scripts on two workers, w1 and w2, as steps that run
// nothing; it keeps the scripts by step name.
type workerShell struct {
	shell
	scripts map[string]pulumi.StringOutput
}

func (sh workerShell) RunScriptOnWorkers(ctx *pulumi.Context, name string, script pulumi.StringInput, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, w := range []string{"w1", "w2"} {
		s := &step{}
		if err := ctx.RegisterComponentResource("test:index:Step", name+"-"+w, s, opts...); err != nil {
			return nil, err
		}
		sh.scripts[name+"-"+w] = script.ToStringOutput()
		out = append(out, s)
	}
	return out, nil
}

// configGroups runs the component in a simulated deployment and returns its ConfigGroups and the
// workers' steps by name, and the workers' scripts, or the run's error.
func configGroups(t *testing.T, args CalicoBGPArgs, workers bool) (map[string]*mockcloud.Resource, map[string]string, error) {
	t.Helper()
	sh := workerShell{shell: shell{template: fixture(t, v331Fixture)}, scripts: map[string]pulumi.StringOutput{}}
	var mu sync.Mutex
	scripts := map[string]string{}
	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	err := cloud.Run(func(ctx *pulumi.Context) error {
		provider, err := kubernetes.NewProvider(ctx, "k", nil)
		if err != nil {
			return err
		}
		node := topology.Node{Name: "cp1", Role: string(topology.RoleController), PrivateIPv4: "10.0.0.1", PrivateGateway: "10.0.0.0",
			BGPPeers: []topology.BGPPeer{{PeerIPs: []string{"169.254.255.1", "169.254.255.2"}, PeerASN: 65530, Multihop: true}}}
		args.Provider, args.Shell = provider, sh
		if !workers {
			args.Shell = sh.shell
		}
		args.Nodes = []Node{{Name: node.Name, Info: pulumi.ToOutput(node).(topology.NodeOutput)}}
		if _, err = NewCalicoBGP(ctx, "c", &args); err != nil {
			return err
		}
		// The scripts are known once the API address is checked: wait for them here, while the
		// program runs.
		done := make(chan struct{}, len(sh.scripts))
		for name, s := range sh.scripts {
			s.ApplyT(func(v string) string {
				mu.Lock()
				defer mu.Unlock()
				scripts[name] = v
				done <- struct{}{}
				return v
			})
		}
		for range sh.scripts {
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				// An API address that fails its check renders no script.
				return errors.New("a worker's script never became known")
			}
		}
		return nil
	}, "p", "s", nil, nil)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]*mockcloud.Resource{}
	for _, r := range cloud.Resources() {
		if r.Type == "kubernetes:yaml/v2:ConfigGroup" || r.Type == "test:index:Step" {
			out[r.Name] = r
		}
	}
	return out, scripts, nil
}

// groupObjects decodes the objects of a ConfigGroup into T, refusing unknown fields.
func groupObjects[T any](t *testing.T, r *mockcloud.Resource) []T {
	t.Helper()
	list := r.Inputs[resource.PropertyKey("objs")]
	if !list.IsArray() {
		t.Fatalf("%s: objs %v", r.Name, list)
	}
	var out []T
	for _, o := range list.ArrayValue() {
		b, err := json.Marshal(o.Mappable())
		if err != nil {
			t.Fatal(err)
		}
		var v T
		if strict, err := sigsjson.UnmarshalStrict(b, &v); err != nil || len(strict) > 0 {
			t.Fatalf("%s: %s: %v %v", r.Name, b, err, strict)
		}
		out = append(out, v)
	}
	return out
}

// TestAPIAddressObjects: with an API address, CalicoBGP creates the disabled IPPool over its /32,
// once the router filter is there, and the router filter's first rule rejects the /32 learnt from
// a BGP peer, before the pod network's rule; without one, neither; an API address that is not an
// IPv4 address fails the run naming APIAddress. With one, each worker gets a step, after Calico
// is ready and the pool is there, that waits for the API address to answer its /readyz on the
// API port and then maps the control plane's name to it.
func TestAPIAddressObjects(t *testing.T) {
	podRule := apiv3.BGPFilterRuleV4{CIDR: "172.16.0.0/12", MatchOperator: apiv3.In, Action: apiv3.Reject}
	apiRule := apiv3.BGPFilterRuleV4{CIDR: "192.0.2.100/32", MatchOperator: apiv3.Equal, Source: apiv3.BGPFilterSourceRemotePeers, Action: apiv3.Reject}
	pool := apiv3.IPPool{Spec: apiv3.IPPoolSpec{CIDR: "192.0.2.100/32", Disabled: true}}
	pool.APIVersion, pool.Kind, pool.Name = "projectcalico.org/v3", "IPPool", APIAddressPoolName
	for _, tc := range []struct {
		name    string
		address pulumi.StringInput
		mode    topology.LoadBalancerMode
		rules   []apiv3.BGPFilterRuleV4
		pool    bool
		// noWorkers hands the component a Shell that only runs scripts on the controller.
		noWorkers bool
		err       string
	}{
		{name: "no API address", rules: []apiv3.BGPFilterRuleV4{podRule}},
		{name: "API address", address: pulumi.String("192.0.2.100"), rules: []apiv3.BGPFilterRuleV4{apiRule, podRule}, pool: true},
		{name: "API address, bird-local-peer", address: pulumi.String("192.0.2.100"), mode: topology.ModeBirdLocalPeer,
			rules: []apiv3.BGPFilterRuleV4{apiRule, podRule}, pool: true},
		{name: "API address known later", address: pulumi.String("192.0.2.100").ToStringOutput(), rules: []apiv3.BGPFilterRuleV4{apiRule, podRule}, pool: true},
		{name: "prefix length", address: pulumi.String("192.0.2.100/32"), err: `APIAddress: address "192.0.2.100/32" is not an IPv4 address`},
		{name: "IPv6", address: pulumi.String("2001:db8::1"), err: `APIAddress: address "2001:db8::1" is not an IPv4 address`},
		{name: "shell that cannot reach the workers", address: pulumi.String("192.0.2.100"), noWorkers: true, err: "APIAddress: Shell must also run scripts on the workers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groups, scripts, err := configGroups(t, CalicoBGPArgs{PodCIDR: "172.16.0.0/12", APIAddress: tc.address, Mode: tc.mode,
				Pools: []topology.LoadBalancerPool{{Name: "p", CIDRs: []pulumi.StringInput{pulumi.String("192.0.2.0/30")}}}}, !tc.noWorkers)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			filterGroup := groups["c-bgp-filter"]
			if filterGroup == nil {
				t.Fatal("no BGPFilter group")
			}
			filters := groupObjects[apiv3.BGPFilter](t, filterGroup)
			if len(filters) != 1 || filters[0].Name != TorFilterName || !reflect.DeepEqual(filters[0].Spec.ExportV4, tc.rules) ||
				filters[0].Spec.ImportV4 != nil {
				t.Errorf("BGPFilter %+v, want %s with the export rules %+v", filters, TorFilterName, tc.rules)
			}
			poolGroup := groups["c-api-address-ippool"]
			if !tc.pool {
				if poolGroup != nil {
					t.Errorf("an API address IPPool without an API address: %v", poolGroup.Inputs)
				}
				if len(scripts) > 0 {
					t.Errorf("worker steps without an API address: %v", scripts)
				}
				return
			}
			if poolGroup == nil {
				t.Fatal("no API address IPPool group")
			}
			if pools := groupObjects[apiv3.IPPool](t, poolGroup); !reflect.DeepEqual(pools, []apiv3.IPPool{pool}) {
				t.Errorf("API address IPPools %+v, want %+v", pools, pool)
			}
			if !slices.Contains(poolGroup.DependsOn, filterGroup.URN) {
				t.Errorf("the API address IPPool does not wait for the filter: %v", poolGroup.DependsOn)
			}
			for _, w := range []string{"w1", "w2"} {
				name := "c-api-name-" + w
				st, body := groups[name], scripts[name]
				if st == nil {
					t.Fatalf("no step %s", name)
				}
				// (The stand-in of the readiness step is a component without children, which a
				// dependency on it does not record; the pool waits for it.)
				for _, dep := range []string{"c-api-address-ippool"} {
					var urn string
					if r := groups[dep]; r != nil {
						urn = r.URN
					}
					if urn == "" || !slices.Contains(st.DependsOn, urn) {
						t.Errorf("%s does not wait for %s: %v", name, dep, st.DependsOn)
					}
				}
				wait, move := strings.Index(body, `wait_for 900 "the API address 192.0.2.100 to answer" answers`), strings.Index(body, "\nmap_api_name 192.0.2.100\n")
				if wait < 0 || move < wait || !strings.Contains(body, `"https://192.0.2.100:6443/readyz"`) {
					t.Errorf("%s's script does not wait for https://192.0.2.100:6443/readyz, then map the name to it:\n%s", name, body)
				}
			}
			// The router peers still name the one filter that carries the rule.
			for name, g := range groups {
				if !strings.HasSuffix(name, "-bgp-peers") {
					continue
				}
				for _, p := range groupObjects[apiv3.BGPPeer](t, g) {
					if !slices.Equal(p.Spec.Filters, []string{TorFilterName}) {
						t.Errorf("router peer %s: filters %v", p.Name, p.Spec.Filters)
					}
				}
			}
		})
	}
}

// TestAPINamePassesShellcheck runs shellcheck on the workers' move of the control plane's name as
// rendered.
func TestAPINamePassesShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("shellcheck is required in CI: scripts/test.sh installs it")
		}
		t.Skip("shellcheck not installed")
	}
	body, err := RenderAPIName(APINameData{Address: "192.0.2.100", Port: DefaultAPIPort, TimeoutSeconds: DefaultReadyTimeoutSeconds})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "api-name.sh")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", path).CombinedOutput(); err != nil {
		t.Errorf("shellcheck:\n%s", out)
	}
}

// TestAPINameRuns runs a worker's move of the control plane's name with the real curl against an
// HTTPS server standing in for the API address (its certificate's CA as the cluster CA), in a
// scratch root: once /readyz answers, /etc/hosts maps metalk8s-api to the address in metalk8s's
// one line, in place of the first controller, every other line kept.
func TestAPINameRuns(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is required in CI: scripts/test.sh installs it")
		}
		t.Skip("curl not installed")
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	port, err := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for file, content := range map[string]string{
		"etc/kubernetes/pki/ca.crt": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})),
		"etc/hosts":                 "127.0.0.1 localhost\n10.0.0.1 metalk8s-api # metalk8s\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, file)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The stand-in serves on 127.0.0.1: the API address of this run.
	body, err := RenderAPIName(APINameData{Address: "127.0.0.1", Port: port, TimeoutSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-s")
	cmd.Stdin = strings.NewReader(body)
	cmd.Env = append(os.Environ(), "METALK8S_ROOT="+root, "PATH="+filepath.Dir(curl)+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	hosts, err := os.ReadFile(filepath.Join(root, "etc/hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "127.0.0.1 localhost\n127.0.0.1 metalk8s-api # metalk8s\n"; string(hosts) != want {
		t.Errorf("/etc/hosts is\n%s\nwant\n%s", hosts, want)
	}
}

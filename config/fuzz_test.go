package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/internal/stackfile"
)

// stackValue is the metalk8s:cluster value of the example stack Pulumi.<stack>.yaml, its
// encrypted values replaced by offline placeholders.
func stackValue(t testing.TB, stack string) string {
	t.Helper()
	sf, err := stackfile.Load("..", "metalk8s", stack)
	if err != nil {
		t.Fatal(err)
	}
	return sf.Values[Key]
}

// serversSeeds are the servers mode's seeds of FuzzParse: its two example stacks, a minimal
// configuration of the mode, variants reaching its other branches (an empty list of workers, own
// multihop peers and a 4-byte ASN, a bastion with defaults, bird-local-peer), and broken ones (a
// Metal key mixed in, no controller).
func serversSeeds(t testing.TB) []string {
	t.Helper()
	racks, provider := stackValue(t, "racks"), stackValue(t, "provider")
	var c struct {
		Servers struct {
			SSH struct {
				PrivateKey string `json:"privateKey"`
			} `json:"ssh"`
		} `json:"servers"`
	}
	if err := json.Unmarshal([]byte(racks), &c); err != nil {
		t.Fatal(err)
	}
	key, err := json.Marshal(c.Servers.SSH.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	minimalServers := `{"servers":{"ssh":{"privateKey":` + string(key) + `},"peers":[{"address":"10.0.0.1","asn":65001}],` +
		`"controller":{"name":"c","sshAddress":"10.0.0.10","privateIpv4":"10.0.0.10"}},"apiServer":{"privateOnly":true}}`
	withServers := func(extra string) string {
		return strings.Replace(minimalServers, `"controller"`, extra+`,"controller"`, 1)
	}
	return []string{
		racks,
		provider,
		minimalServers,
		withServers(`"workers":[]`),
		withServers(`"asn":4200000001,"workers":[{"name":"w","sshAddress":"w.example","sshPort":2222,"privateIpv4":"10.0.1.10","publicIpv4":"198.51.100.9","gateway":"10.0.1.1",` +
			`"peers":[{"address":"169.254.1.1","asn":64600,"multihop":true,"md5Password":"x!y#z"}]}]`),
		strings.Replace(withServers(`"ssh":{"user":"deploy","privateKey":`+string(key)+`,"bastion":{"address":"bastion.example"}}`), `"ssh":{"privateKey":`+string(key)+`},`, "", 1),
		strings.Replace(withServers(`"workers":[{"name":"w","id":"SN1","sshAddress":"10.0.0.11","privateIpv4":"10.0.0.11"}]`), `"apiServer"`,
			`"loadBalancer":{"mode":"bird-local-peer","pools":[{"name":"p","cidrs":["192.0.2.0/28"]}]},"ingress":{"enabled":true,"pool":"p"},"apiServer"`, 1),
		strings.Replace(minimalServers, `"apiServer"`, `"metro":"sv","apiServer"`, 1),
		`{"servers":{"peers":[]},"apiServer":{"privateOnly":true}}`,
	}
}

// acceptedServersSeeds is how many of serversSeeds are valid configurations.
const acceptedServersSeeds = 7

// fuzzSeeds are the seed corpus of FuzzParse: the dev stack, the minimal configuration, variants
// that reach every branch of the defaults and the validation, broken values, and the servers
// mode's seeds (serversSeeds).
func fuzzSeeds(t testing.TB) []string {
	t.Helper()
	dev := stackValue(t, "dev")
	return append([]string{
		dev,
		minimal,
		strings.Replace(minimal, `"metro"`, `"workers":{"count":0},"bgp":{"asn":64513,"md5Password":"Secret1234"},"metro"`, 1),
		`{"project":{"id":"11111111-1111-4111-8111-111111111111"},"apiServer":{"allowedCidrs":["192.0.2.0/24"]},"metro":"da"}`,
		strings.Replace(minimal, `"metro"`, `"loadBalancer":{"mode":"bird-local-peer","pools":[{"name":"a","cidrs":["10.1.0.0/24"]},{"name":"b","cidrs":["10.2.0.0/24"],"autoAssign":false}]},"ingress":{"enabled":true,"pool":"a"},"metro"`, 1),
		strings.Replace(minimal, `"metro"`, `"elasticIps":[{"name":"e","type":"global_ipv4","quantity":1}],"loadBalancer":{"pools":[{"name":"g","elasticIp":"e"}]},"metro"`, 1),
		strings.Replace(minimal, `"metro"`, `"kubernetes":{"version":"1.31.0","apiPort":443,"podCidr":"100.64.0.0/16","serviceCidr":"100.65.0.0/16","dnsServiceIp":"100.65.0.10","dnsDomain":"k8s.example"},"metro"`, 1),
		strings.Replace(minimal, `"metro"`, `"calico":{"version":"3.32.1"},"metallb":{"version":"0.15.0","asn":4200000001},"metro"`, 1),
		strings.Replace(minimal, `"metro"`, `"elasticIps":[],"loadBalancer":{"pools":[]},"metro"`, 1),
		`{"metro":"sv","metro":"da"}`,
		`{"workers":{"count":"2"}}`,
		`{"loadBalancer":{"pools":[{"name":"a","elasticIp":"x","cidrs":["10.0.0.0/8"]}]}}`,
		`null`,
		`[]`,
		`{`,
		``,
	}, serversSeeds(t)...)
}

// checkDefaults fails unless every field with a documented default is set in an accepted
// configuration: the shared ones, and those of its mode. In the servers mode every Equinix Metal
// key stays empty.
func checkDefaults(t *testing.T, c *Cluster) {
	t.Helper()
	empty := func(field string, zero bool) {
		if zero {
			t.Errorf("accepted configuration without a default for %s", field)
		}
	}
	if s := c.Servers; s != nil {
		if c.Project != (Project{}) || c.Metro != "" || c.OperatingSystem != "" || c.BillingCycle != "" ||
			c.Controller != (Controller{}) || c.Workers.Plan != "" || c.Workers.Count != nil || c.BGP.ASN != nil ||
			c.BGP.MD5Password != "" || len(c.ElasticIPs) > 0 || c.SSH != (SSH{}) {
			t.Errorf("accepted servers-mode configuration with an Equinix Metal key: %+v", c)
		}
		empty("servers.asn", s.ASN == nil)
		empty("servers.ssh.user", s.SSH.User == "")
		if b := s.SSH.Bastion; b != nil {
			empty("servers.ssh.bastion.port", b.Port == 0)
			empty("servers.ssh.bastion.user", b.User == "")
		}
		servers, keys := s.serversAt()
		for i, srv := range servers {
			empty(keys[i]+".sshPort", srv.SSHPort == 0)
		}
	} else {
		empty("project.name", c.Project.ID == "" && c.Project.Name == "")
		empty("operatingSystem", c.OperatingSystem == "")
		empty("billingCycle", c.BillingCycle == "")
		empty("controller.plan", c.Controller.Plan == "")
		empty("controller.count", c.Controller.Count == nil)
		empty("workers.plan", c.Workers.Plan == "")
		empty("workers.count", c.Workers.Count == nil)
		empty("bgp.asn", c.BGP.ASN == nil)
	}
	empty("kubernetes.version", c.Kubernetes.Version == "")
	empty("kubernetes.apiPort", c.Kubernetes.APIPort == 0)
	empty("kubernetes.dnsServiceIp", c.Kubernetes.DNSServiceIP == "")
	empty("kubernetes.podCidr", c.Kubernetes.PodCIDR == "")
	empty("kubernetes.serviceCidr", c.Kubernetes.ServiceCIDR == "")
	empty("kubernetes.dnsDomain", c.Kubernetes.DNSDomain == "")
	empty("loadBalancer.mode", c.LoadBalancer.Mode == "")
	for i, p := range c.LoadBalancer.Pools {
		empty("loadBalancer.pools["+itoa(i)+"].autoAssign", p.AutoAssign == nil)
	}
	empty("calico.version", c.Calico.Version == "")
	empty("metallb.version", c.MetalLB.Version == "")
	empty("metallb.asn", c.MetalLB.ASN == nil)
}

// itoa is strconv.Itoa without the import, for key paths.
func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// FuzzParse feeds arbitrary bytes to Parse. It must never panic. What it accepts has every
// default applied, validates again without a problem, and survives a round trip through JSON
// unchanged (the defaults are a fixed point). What it rejects is Errors, each problem naming a
// key under metalk8s:cluster and saying what is wrong.
//
// As a unit test it runs the seed corpus; fuzz it with
//
//	go test ./config -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s
//
// or, with a count instead of a duration (Go 1.26's fuzzing coordinator can fail a duration-bound
// run with a bare "context deadline exceeded" at its end, golang/go#75804, fixed in Go 1.27):
//
//	go test ./config -run '^$' -fuzz '^FuzzParse$' -fuzztime 200000x
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("rejected with %T %v, want Errors", err, err)
			}
			for _, e := range errs {
				if e.Key != Key && !strings.HasPrefix(e.Key, Key+".") {
					t.Errorf("problem key %q is not under %s", e.Key, Key)
				}
				if e.Detail == "" {
					t.Errorf("problem %q without detail", e.Key)
				}
			}
			return
		}
		if c == nil {
			t.Fatal("accepted without a configuration")
		}
		checkDefaults(t, c)
		if errs := c.Validate(); len(errs) > 0 {
			t.Errorf("accepted configuration fails validation again: %v", errs)
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := Parse(again)
		if err != nil {
			t.Fatalf("accepted configuration rejected after a JSON round trip:\n%s\n%v", again, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Errorf("JSON round trip changed the configuration:\n%+v\n%+v", c, c2)
		}
	})
}

// TestFuzzSeedsAccepted checks that the seed corpus reaches both sides of Parse: the valid seeds
// are accepted (so the fuzzer starts from configurations deep in the validation) and the broken
// ones rejected.
func TestFuzzSeedsAccepted(t *testing.T) {
	accepted := 0
	for _, s := range fuzzSeeds(t) {
		if _, err := Parse([]byte(s)); err == nil {
			accepted++
		}
	}
	if want := 9 + acceptedServersSeeds; accepted != want {
		t.Errorf("%d seeds accepted, want %d", accepted, want)
	}
}

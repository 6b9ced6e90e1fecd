package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/internal/stackfile"
)

// fuzzSeeds are the seed corpus of FuzzParse: the dev stack, the minimal configuration, variants
// that reach every branch of the defaults and the validation, and broken values.
func fuzzSeeds(t testing.TB) []string {
	t.Helper()
	sf, err := stackfile.Load("..", "metalk8s", "dev")
	if err != nil {
		t.Fatal(err)
	}
	dev := sf.Values[Key]
	return []string{
		dev,
		minimal,
		strings.Replace(minimal, `"metro"`, `"workers":{"count":0},"bgp":{"asn":64513,"md5Password":"Secret1234"},"metro"`, 1),
		`{"project":{"id":"11111111-1111-4111-8111-111111111111"},"apiServer":{"allowedCidrs":["192.0.2.0/24"]},"metro":"da"}`,
		strings.Replace(minimal, `"metro"`, `"loadBalancer":{"mode":"bird-local-peer","pools":[{"name":"a","cidrs":["10.1.0.0/24"]},{"name":"b","cidrs":["10.2.0.0/24"],"autoAssign":false}]},"ingress":{"enabled":true,"pool":"a"},"metro"`, 1),
		strings.Replace(minimal, `"metro"`, `"elasticIps":[{"name":"e","type":"global_ipv4","quantity":1}],"loadBalancer":{"pools":[{"name":"g","elasticIp":"e"}]},"metro"`, 1),
		strings.Replace(minimal, `"metro"`, `"kubernetes":{"version":"1.31.0","apiPort":443,"podCidr":"100.64.0.0/16","serviceCidr":"100.65.0.0/16","dnsServiceIp":"100.65.0.10","dnsDomain":"k8s.example"},"metro"`, 1),
		strings.Replace(minimal, `"metro"`, `"calico":{"version":"3.32.1"},"metallb":{"version":"0.15.0","asn":4200000001},"metro"`, 1),
		`{"metro":"sv","metro":"da"}`,
		`{"workers":{"count":"2"}}`,
		`{"loadBalancer":{"pools":[{"name":"a","elasticIp":"x","cidrs":["10.0.0.0/8"]}]}}`,
		`null`,
		`[]`,
		`{`,
		``,
	}
}

// checkDefaults fails unless every field with a documented default is set in an accepted
// configuration.
func checkDefaults(t *testing.T, c *Cluster) {
	t.Helper()
	empty := func(field string, zero bool) {
		if zero {
			t.Errorf("accepted configuration without a default for %s", field)
		}
	}
	empty("project.name", c.Project.ID == "" && c.Project.Name == "")
	empty("operatingSystem", c.OperatingSystem == "")
	empty("billingCycle", c.BillingCycle == "")
	empty("controller.plan", c.Controller.Plan == "")
	empty("workers.plan", c.Workers.Plan == "")
	empty("workers.count", c.Workers.Count == nil)
	empty("kubernetes.version", c.Kubernetes.Version == "")
	empty("kubernetes.apiPort", c.Kubernetes.APIPort == 0)
	empty("kubernetes.dnsServiceIp", c.Kubernetes.DNSServiceIP == "")
	empty("kubernetes.podCidr", c.Kubernetes.PodCIDR == "")
	empty("kubernetes.serviceCidr", c.Kubernetes.ServiceCIDR == "")
	empty("kubernetes.dnsDomain", c.Kubernetes.DNSDomain == "")
	empty("bgp.asn", c.BGP.ASN == nil)
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
	if want := 8; accepted != want {
		t.Errorf("%d seeds accepted, want %d", accepted, want)
	}
}

package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const minimal = `{"project":{"organizationId":"00000000-0000-4000-8000-000000000000"},"apiServer":{"privateOnly":true},"metro":"sv"}`

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]any{
		"project.name":               {c.Project.Name, "k8s-bgp"},
		"operatingSystem":            {c.OperatingSystem, "ubuntu_24_04"},
		"billingCycle":               {c.BillingCycle, "hourly"},
		"controller.plan":            {c.Controller.Plan, "c3.small.x86"},
		"controller.count":           {*c.Controller.Count, 1},
		"workers.plan":               {c.Workers.Plan, "c3.small.x86"},
		"workers.count":              {*c.Workers.Count, 2},
		"kubernetes.version":         {c.Kubernetes.Version, DefaultKubernetesVersion},
		"kubernetes.apiPort":         {c.Kubernetes.APIPort, 6443},
		"kubernetes.dnsServiceIp":    {c.Kubernetes.DNSServiceIP, "192.168.0.10"},
		"kubernetes.podCidr":         {c.Kubernetes.PodCIDR, "172.16.0.0/12"},
		"kubernetes.serviceCidr":     {c.Kubernetes.ServiceCIDR, "192.168.0.0/16"},
		"kubernetes.dnsDomain":       {c.Kubernetes.DNSDomain, "cluster.local"},
		"kubernetes.certRenewalDays": {c.Kubernetes.CertRenewalDays, 30},
		"bgp.asn":                    {*c.BGP.ASN, int64(65000)},
	}
	for key, gw := range checks {
		if gw[0] != gw[1] {
			t.Errorf("%s = %v, want %v", key, gw[0], gw[1])
		}
	}
}

// TestZeroIsNotDefaulted checks that an explicit zero worker count stays zero.
func TestZeroIsNotDefaulted(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(minimal, `"metro"`, `"workers":{"count":0},"metro"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if *c.Workers.Count != 0 {
		t.Errorf("count %d, want 0", *c.Workers.Count)
	}
}

func TestBoundariesAccepted(t *testing.T) {
	for _, extra := range []string{
		`"bgp":{"asn":64512}`, `"bgp":{"asn":65534}`,
		`"workers":{"count":1000}`, `"controller":{"count":5}`, `"controller":{"count":3,"reserveApiAddress":true}`, `"elasticIps":[{"name":"a","type":"public_ipv4","quantity":256,"metro":"sv"}]`,
		`"elasticIps":[{"name":"a","type":"global_ipv4","quantity":4}]`,
		`"bgp":{"md5Password":"Abcdefgh12"}`, `"bgp":{"md5Password":"` + strings.Repeat("aB3", 6) + `Zz"}`,
		`"kubernetes":{"version":"1.31.0"}`, `"calico":{"version":"3.26.0"}`, `"metallb":{"version":"0.14.9"}`,
		`"project":{"id":"11111111-1111-4111-8111-111111111111"}`, `"project":{"id":"ABCDEF01-1111-4111-8111-11111111111A"}`,
		`"project":{"name":"` + strings.Repeat("é", 80) + `","organizationId":"00000000-0000-4000-8000-000000000000"}`,
	} {
		raw := strings.Replace(minimal, `"metro"`, extra+`,"metro"`, 1)
		if strings.HasPrefix(extra, `"project"`) {
			raw = `{` + extra + `,"apiServer":{"privateOnly":true},"metro":"sv"}`
		}
		if _, err := Parse([]byte(raw)); err != nil {
			t.Errorf("%s rejected: %v", extra, err)
		}
	}
}

func TestUnknownKeysAllReported(t *testing.T) {
	raw := strings.Replace(minimal, `"metro"`, `"workerz":1,"kubernetes":{"podSubnet":"x"},"metro"`, 1)
	_, err := Parse([]byte(raw))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v is not Errors", err)
	}
	want := []string{Key + ".workerz", Key + ".kubernetes.podSubnet"}
	if !reflect.DeepEqual(errs.Keys(), want) {
		t.Errorf("keys %v, want %v", errs.Keys(), want)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := map[string]string{
		`{"workers":{"count":"2"}}`:            Key + ".workers.count",
		`{"bgp":{"asn":1.5}}`:                  Key + ".bgp.asn",
		`{"metro":"sv","metro":"da"}`:          Key + ".metro",
		`{"elasticIps":{"name":"x"}}`:          Key + ".elasticIps",
		`not json`:                             Key,
		`{"project":{"organizationId":false}}`: Key + ".project.organizationId",
	}
	for raw, key := range cases {
		_, err := Parse([]byte(raw))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v does not name %s", raw, err, key)
		}
	}
}

func TestErrorsFormat(t *testing.T) {
	es := Errors{{Key: Key + ".a", Value: `"x"`, Detail: "bad"}, {Key: Key + ".b", Detail: "missing"}}
	want := "invalid stack configuration metalk8s:cluster (2 problems):\n  - metalk8s:cluster.a = \"x\": bad\n  - metalk8s:cluster.b: missing"
	if es.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", es.Error(), want)
	}
}

func TestDescribeType(t *testing.T) {
	for goType, want := range map[string]string{
		"string": "a string", "*bool": "true or false", "int64": "a whole number", "[]string": "a list of strings",
		"[]config.Pool": "a list of objects", "config.BGP": "an object", "*int": "a whole number",
	} {
		if got := describeType(goType); got != want {
			t.Errorf("%s: %q, want %q", goType, got, want)
		}
	}
}

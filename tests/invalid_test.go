package tests

import (
	"strings"
	"testing"

	"github.com/metalk8s/metalk8s/config"
)

// TestInvalidConfigurations runs the program with one bad setting at a time: each must fail with
// the setting's key in the error, and register no resource at all.
func TestInvalidConfigurations(t *testing.T) {
	cases := []struct {
		name string
		path string // set path to value on the dev stack
		val  any
		key  string // the key the error must name
	}{
		{"pod CIDR malformed", "kubernetes.podCidr", "172.16.0.0/33", "kubernetes.podCidr"},
		{"pod CIDR host bits", "kubernetes.podCidr", "172.16.0.1/12", "kubernetes.podCidr"},
		{"pod CIDR IPv6", "kubernetes.podCidr", "fd00::/64", "kubernetes.podCidr"},
		{"service CIDR overlaps pods", "kubernetes.serviceCidr", "172.20.0.0/16", "kubernetes.serviceCidr"},
		{"pod CIDR on Metal's private network", "kubernetes.podCidr", "10.0.0.0/8", "kubernetes.podCidr"},
		{"service CIDR link-local", "kubernetes.serviceCidr", "169.254.0.0/16", "kubernetes.serviceCidr"},
		{"DNS IP outside services", "kubernetes.dnsServiceIp", "10.96.0.10", "kubernetes.dnsServiceIp"},
		{"DNS IP is the API service", "kubernetes.dnsServiceIp", "192.168.0.1", "kubernetes.dnsServiceIp"},
		{"DNS IP not an address", "kubernetes.dnsServiceIp", "dns", "kubernetes.dnsServiceIp"},
		{"ASN public", "bgp.asn", 3356, "bgp.asn"},
		{"ASN ToR", "bgp.asn", 65530, "bgp.asn"},
		{"ASN above 32-bit private", "bgp.asn", 4294967295, "bgp.asn"},
		{"ASN reserved 65535", "bgp.asn", 65535, "bgp.asn"},
		{"MD5 too long", "bgp.md5Password", strings.Repeat("x", 81), "bgp.md5Password"},
		{"two controllers", "controller.count", 2, "controller.count"},
		{"no controller", "controller.count", 0, "controller.count"},
		{"seven controllers", "controller.count", 7, "controller.count"},
		{"controller count a string", "controller.count", "three", "controller.count"},
		{"reserveApiAddress a string", "controller.reserveApiAddress", "yes", "controller.reserveApiAddress"},
		{"negative workers", "workers.count", -1, "workers.count"},
		{"absurd workers", "workers.count", 100000, "workers.count"},
		{"workers count a string", "workers.count", "two", "workers.count"},
		{"quantity not a power of two", "elasticIps[0].quantity", 3, "elasticIps[0].quantity"},
		{"quantity zero", "elasticIps[0].quantity", 0, "elasticIps[0].quantity"},
		{"global block with a metro", "elasticIps[1].metro", "sv", "elasticIps[1].metro"},
		{"public block in another metro", "elasticIps[0].metro", "da", "elasticIps[0].metro"},
		{"unknown block type", "elasticIps[0].type", "private_ipv4", "elasticIps[0].type"},
		{"duplicate block name", "elasticIps[1].name", "public", "elasticIps[1].name"},
		{"block name with capitals", "elasticIps[0].name", "Public", "elasticIps[0].name"},
		{"no organisation", "project.organizationId", nil, "project.organizationId"},
		{"organisation not a UUID", "project.organizationId", "acme", "project.organizationId"},
		{"project ID and organisation", "project.id", "11111111-1111-4111-8111-111111111111", "project.id"},
		{"Kubernetes version with v", "kubernetes.version", "v1.37.2", "kubernetes.version"},
		{"Kubernetes version minor only", "kubernetes.version", "1.37", "kubernetes.version"},
		{"Kubernetes too old for v1beta4", "kubernetes.version", "1.30.4", "kubernetes.version"},
		{"upgrade parallelism negative", "kubernetes.upgradeParallelism", -1, "kubernetes.upgradeParallelism"},
		{"API port out of range", "kubernetes.apiPort", 70000, "kubernetes.apiPort"},
		{"API port on the kubelet", "kubernetes.apiPort", 10250, "kubernetes.apiPort"},
		{"DNS domain upper case", "kubernetes.dnsDomain", "Cluster.Local", "kubernetes.dnsDomain"},
		// kubeadm's certificates live 365 days: a threshold of a year renews on every run.
		{"renewal threshold of a year", "kubernetes.certRenewalDays", 365, "kubernetes.certRenewalDays"},
		{"negative renewal threshold", "kubernetes.certRenewalDays", -1, "kubernetes.certRenewalDays"},
		{"metro not a code", "metro", "silicon-valley", "metro"},
		{"operating system without apt", "operatingSystem", "rocky_9", "operatingSystem"},
		{"billing cycle", "billingCycle", "yearly", "billingCycle"},
		{"controller plan", "controller.plan", "big server", "controller.plan"},
		{"unknown top-level key", "workerCount", 3, "workerCount"},
		{"unknown nested key", "kubernetes.podSubnet", "172.16.0.0/12", "kubernetes.podSubnet"},
		{"SSH key not a key", "ssh.privateKey", "hunter2", "ssh.privateKey"},
		{"API server: no choice", "apiServer", map[string]any{}, "apiServer"},
		{"API server: both choices", "apiServer.privateOnly", true, "apiServer"},
		{"API server: allowed CIDR malformed", "apiServer.allowedCidrs", []any{"my laptop"}, "apiServer.allowedCidrs[0]"},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := devCluster(t)
			set(t, c, tc.path, tc.val)
			r := run(t, c, runOptions{})
			if r.err == nil {
				t.Fatalf("%s = %v accepted", tc.path, tc.val)
			}
			if want := config.Key + "." + tc.key; !strings.Contains(r.err.Error(), want) {
				t.Errorf("error does not name %s:\n%v", want, r.err)
			}
			if n := len(r.cloud.Resources()); n != 0 {
				t.Errorf("%d resources registered for an invalid configuration", n)
			}
		})
	}
}

// TestAllProblemsAtOnce checks that several problems are reported together, and that secrets
// never appear in the error.
func TestAllProblemsAtOnce(t *testing.T) {
	c := devCluster(t)
	set(t, c, "workers.count", -3)
	set(t, c, "bgp.asn", 65530)
	set(t, c, "metro", "SV")
	set(t, c, "bgp.md5Password", "has spaces in it")
	set(t, c, "bogus", true)
	r := run(t, c, runOptions{})
	if r.err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"workers.count", "bgp.asn", "metro", "bgp.md5Password", "bogus"} {
		if !strings.Contains(r.err.Error(), config.Key+"."+key) {
			t.Errorf("error misses %s:\n%v", key, r.err)
		}
	}
	if strings.Contains(r.err.Error(), "has spaces") {
		t.Errorf("the MD5 password leaked into the error:\n%v", r.err)
	}
}

// TestMissingOrBrokenConfiguration covers the configuration object itself.
func TestMissingOrBrokenConfiguration(t *testing.T) {
	for _, raw := range []string{"", "{", "[]", `{"metro": 5}`} {
		r := runRaw(t, raw, runOptions{})
		if r.err == nil || !strings.Contains(r.err.Error(), config.Key) {
			t.Errorf("%q: error %v does not name %s", raw, r.err, config.Key)
		}
		if n := len(r.cloud.Resources()); n != 0 {
			t.Errorf("%q: %d resources registered", raw, n)
		}
	}
}

package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// kubeadmCase is one configuration checked against a rule kubeadm imposes.
type kubeadmCase struct {
	// name says what the case is.
	name string
	// kubernetes is the metalk8s:cluster.kubernetes object, as JSON.
	kubernetes string
	// key is the key the one problem must name, "" when the configuration is accepted.
	key string
	// detail is part of the problem's text.
	detail string
}

// checkKubeadmCases parses the minimal configuration with each case's kubernetes object: an
// accepted case must parse, a refused one must be refused with exactly one problem, naming its
// key.
func checkKubeadmCases(t *testing.T, cases []kubeadmCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := strings.Replace(minimal, `"metro"`, `"kubernetes":`+c.kubernetes+`,"metro"`, 1)
			_, err := Parse([]byte(raw))
			if c.key == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("accepted, want %s refused (%s)", c.key, c.detail)
			}
			if len(errs) != 1 || errs[0].Key != Key+"."+c.key || !strings.Contains(errs[0].Detail, c.detail) {
				t.Errorf("problems %v, want one naming %s and saying %q", errs, Key+"."+c.key, c.detail)
			}
		})
	}
}

// TestDNSServiceIP: kubeadm v1.37.2 puts CoreDNS's Service at the network address + 10 of the
// service range (GetDNSIP in cmd/kubeadm/app/constants/constants.go) and only warns when the
// kubelet's clusterDNS differs, so only that address is accepted, and it is the default.
func TestDNSServiceIP(t *testing.T) {
	checkKubeadmCases(t, []kubeadmCase{
		{"default", `{}`, "", ""},
		{"the 10th address, given", `{"dnsServiceIp":"192.168.0.10"}`, "", ""},
		{"another range, derived", `{"serviceCidr":"100.65.0.0/16"}`, "", ""},
		{"another range, given", `{"serviceCidr":"100.65.0.0/16","dnsServiceIp":"100.65.0.10"}`, "", ""},
		{"the 11th address", `{"dnsServiceIp":"192.168.0.11"}`, "kubernetes.dnsServiceIp", "must be 192.168.0.10"},
		{"the API server's address", `{"dnsServiceIp":"192.168.0.1"}`, "kubernetes.dnsServiceIp", "must be 192.168.0.10"},
		{"the default address in another range", `{"serviceCidr":"100.65.0.0/16","dnsServiceIp":"192.168.0.10"}`, "kubernetes.dnsServiceIp", "must be 100.65.0.10"},
		{"outside the range", `{"dnsServiceIp":"10.96.0.10"}`, "kubernetes.dnsServiceIp", "must be 192.168.0.10"},
		{"not an address", `{"dnsServiceIp":"dns"}`, "kubernetes.dnsServiceIp", "IPv4 address"},
		{"IPv6", `{"dnsServiceIp":"fd00::10"}`, "kubernetes.dnsServiceIp", "IPv4 address"},
	})
	for svc, want := range map[string]string{"": "192.168.0.10", "100.65.0.0/16": "100.65.0.10", "192.168.128.0/20": "192.168.128.10"} {
		raw := minimal
		if svc != "" {
			raw = strings.Replace(minimal, `"metro"`, `"kubernetes":{"serviceCidr":"`+svc+`"},"metro"`, 1)
		}
		c, err := Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if c.Kubernetes.DNSServiceIP != want {
			t.Errorf("service range %q: dnsServiceIp defaults to %s, want %s", svc, c.Kubernetes.DNSServiceIP, want)
		}
	}
}

// TestNetworkSizes: the range sizes kubeadm v1.37.2 refuses (ValidateServiceSubnetSize,
// ValidateIPNetFromString and ValidatePodSubnetNodeMask in
// cmd/kubeadm/app/apis/kubeadm/validation/validation.go, with the node mask's default 24) are
// refused here, with the key that sets them. Each boundary was run through the real
// `kubeadm config validate`: service /12 and /28 accepted, /11 and /29 refused; pod /24 and /8
// accepted, /25 and /7 refused.
func TestNetworkSizes(t *testing.T) {
	checkKubeadmCases(t, []kubeadmCase{
		{"service /12, the widest", `{"serviceCidr":"100.64.0.0/12"}`, "", ""},
		{"service /11", `{"serviceCidr":"100.64.0.0/11"}`, "kubernetes.serviceCidr", "too large"},
		{"service /28, the narrowest", `{"serviceCidr":"192.168.0.0/28"}`, "", ""},
		{"service /29", `{"serviceCidr":"192.168.0.0/29"}`, "kubernetes.serviceCidr", "too small"},
		{"service /32", `{"serviceCidr":"192.168.0.0/32"}`, "kubernetes.serviceCidr", "too small"},
		{"pod /24, one node's range", `{"podCidr":"172.16.0.0/24"}`, "", ""},
		{"pod /25", `{"podCidr":"172.16.0.0/25"}`, "kubernetes.podCidr", "smaller than one node's pod range"},
		{"pod /8, the widest", `{"podCidr":"100.0.0.0/8"}`, "", ""},
		{"pod /7", `{"podCidr":"100.0.0.0/7"}`, "kubernetes.podCidr", "too large"},
	})
}

// TestAPIPortListeners: kubernetes.apiPort may not be a port the cluster itself listens on at the
// controller (the sources of each are beside controllerListeners and speakerListeners); the
// speakers' ports only count where speakers run.
func TestAPIPortListeners(t *testing.T) {
	for _, c := range []struct {
		port  int
		mode  string
		owner string // "" when accepted
	}{
		{6443, "", ""},
		{443, "", ""},
		{8443, "bird-local-peer", ""},
		{22, "", "SSH"},
		{179, "", "BIRD"},
		{2379, "", "etcd"},
		{2380, "", "etcd peers"},
		{2381, "", "etcd metrics"},
		{5473, "", "Typha"},
		{9098, "", "Typha's health"},
		{9099, "", "Felix"},
		{10248, "", "kubelet's health"},
		{10250, "", "the kubelet"},
		{10249, "", "kube-proxy's metrics"},
		{10256, "", "kube-proxy's health"},
		{10257, "", "kube-controller-manager"},
		{10259, "", "kube-scheduler"},
		{7946, "", ""},
		{9120, "", ""},
		{17472, "", ""},
		{7946, "bird-local-peer", "memberlist"},
		{9120, "bird-local-peer", "speaker (metrics)"},
		{17472, "bird-local-peer", "speaker (health check)"},
	} {
		t.Run(fmt.Sprintf("%d %s", c.port, c.mode), func(t *testing.T) {
			k := fmt.Sprintf(`"kubernetes":{"apiPort":%d},`, c.port)
			if c.mode != "" {
				k += `"loadBalancer":{"mode":"` + c.mode + `"},`
			}
			raw := strings.Replace(minimal, `"metro"`, k+`"metro"`, 1)
			_, err := Parse([]byte(raw))
			var errs Errors
			errors.As(err, &errs)
			var port []FieldError
			for _, e := range errs {
				if e.Key == Key+".kubernetes.apiPort" {
					port = append(port, e)
				}
			}
			switch {
			case c.owner == "" && len(port) > 0:
				t.Errorf("refused: %v", port)
			case c.owner != "" && (len(port) != 1 || !strings.Contains(port[0].Detail, c.owner)):
				t.Errorf("problems %v, want kubernetes.apiPort refused as used by %s", errs, c.owner)
			}
		})
	}
}

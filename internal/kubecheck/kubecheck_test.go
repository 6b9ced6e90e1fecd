package kubecheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	kubeproxy "k8s.io/kube-proxy/config/v1alpha1"
	kubelet "k8s.io/kubelet/config/v1beta1"
	kubeadm "sigs.k8s.io/cluster-api/bootstrap/kubeadm/pkg/types/upstreamv1beta4"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// object returns document i as a *T, failing the test when it is missing or of another type.
func object[T any](t *testing.T, docs []Document, i int) *T {
	t.Helper()
	if i >= len(docs) {
		t.Fatalf("no document %d in %d", i, len(docs))
	}
	o, ok := docs[i].Object.(*T)
	if !ok || o == nil {
		t.Fatalf("document %d is %T, want *%s", i, docs[i].Object, reflect.TypeFor[T]())
	}
	return o
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func kinds(docs []Document) []string {
	var ks []string
	for _, d := range docs {
		ks = append(ks, d.Kind)
	}
	return ks
}

func TestCheckAccepts(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		kinds []string
		check func(t *testing.T, docs []Document)
	}{
		{
			name:  "init",
			file:  "init-valid.yaml",
			kinds: []string{KindInit, KindCluster, KindKubelet, KindKubeProxy},
			check: func(t *testing.T, docs []Document) {
				ini := object[kubeadm.InitConfiguration](t, docs, 0)
				equal(t, "init apiVersion", ini.APIVersion, "kubeadm.k8s.io/v1beta4")
				equal(t, "advertiseAddress", ini.LocalAPIEndpoint.AdvertiseAddress, "198.51.100.3")
				equal(t, "bindPort", ini.LocalAPIEndpoint.BindPort, int32(6443))
				equal(t, "kubeletExtraArgs", ini.NodeRegistration.KubeletExtraArgs,
					[]kubeadm.Arg{{Name: "node-ip", Value: "198.51.100.3"}, {Name: "cloud-provider", Value: "external"}})
				if len(ini.BootstrapTokens) != 1 || ini.BootstrapTokens[0].Token == nil || ini.BootstrapTokens[0].TTL == nil {
					t.Fatalf("bootstrapTokens = %#v", ini.BootstrapTokens)
				}
				equal(t, "token", ini.BootstrapTokens[0].Token.String(), "abcdef.0123456789abcdef")
				equal(t, "ttl", ini.BootstrapTokens[0].TTL.Duration, 24*time.Hour)

				cl := object[kubeadm.ClusterConfiguration](t, docs, 1)
				equal(t, "certSANs", cl.APIServer.CertSANs, []string{"192.0.2.10", "api.metalk8s.example"})
				equal(t, "apiServer.extraArgs", cl.APIServer.ExtraArgs,
					[]kubeadm.Arg{{Name: "audit-log-maxage", Value: "30"}, {Name: "profiling", Value: "false"}})
				if cl.Etcd.Local == nil {
					t.Fatal("etcd.local missing")
				}
				equal(t, "etcd.local.extraArgs", cl.Etcd.Local.ExtraArgs,
					[]kubeadm.Arg{{Name: "listen-metrics-urls", Value: "http://0.0.0.0:2381"}})
				equal(t, "networking", cl.Networking,
					kubeadm.Networking{PodSubnet: "10.244.0.0/16", ServiceSubnet: "10.96.0.0/12", DNSDomain: "cluster.local"})
				equal(t, "controlPlaneEndpoint", cl.ControlPlaneEndpoint, "192.0.2.10:6443")

				kl := object[kubelet.KubeletConfiguration](t, docs, 2)
				equal(t, "kubelet kind", kl.Kind, KindKubelet) // TypeMeta is embedded with `json:""`
				equal(t, "cgroupDriver", kl.CgroupDriver, "systemd")
				equal(t, "clusterDNS", kl.ClusterDNS, []string{"10.96.0.10"})

				kp := object[kubeproxy.KubeProxyConfiguration](t, docs, 3)
				equal(t, "kube-proxy apiVersion", kp.APIVersion, "kubeproxy.config.k8s.io/v1alpha1")
				equal(t, "mode", kp.Mode, kubeproxy.ProxyMode("ipvs"))
				equal(t, "strictARP", kp.IPVS.StrictARP, true)
				equal(t, "nodePortAddresses", kp.NodePortAddresses, []string{"198.51.100.0/24"})
			},
		},
		{
			name:  "join",
			file:  "join-valid.yaml",
			kinds: []string{KindJoin},
			check: func(t *testing.T, docs []Document) {
				j := object[kubeadm.JoinConfiguration](t, docs, 0)
				bt := j.Discovery.BootstrapToken
				if bt == nil {
					t.Fatal("discovery.bootstrapToken missing")
				}
				equal(t, "apiServerEndpoint", bt.APIServerEndpoint, "192.0.2.10:6443")
				equal(t, "token", bt.Token, "abcdef.0123456789abcdef")
				equal(t, "caCertHashes", bt.CACertHashes,
					[]string{"sha256:600f0e3238465abda6447971b4b017c3160dacd1fe714b92c9c711ccfbc22bbb"})
				equal(t, "kubeletExtraArgs", j.NodeRegistration.KubeletExtraArgs,
					[]kubeadm.Arg{{Name: "node-ip", Value: "198.51.100.5"}})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Check(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "kinds", kinds(docs), tt.kinds)
			tt.check(t, docs)
		})
	}
}

func TestCheckRejects(t *testing.T) {
	tests := []struct {
		name string
		file string
		// want lists the problems in order; Message is a substring of the actual message.
		want []Problem
	}{
		{
			name: "misspelt field",
			file: "misspelt-field.yaml",
			want: []Problem{{Doc: 0, Line: 1, Kind: KindInit, Path: "localAPIEndpoint.advertiseAdress", Message: "unknown field"}},
		},
		{
			name: "wrong case",
			file: "wrong-case.yaml",
			want: []Problem{{Doc: 0, Line: 1, Kind: KindKubeProxy, Path: "ipvs.strictArp", Message: "unknown field"}},
		},
		{
			name: "wrong type",
			file: "wrong-type.yaml",
			want: []Problem{{Doc: 0, Line: 1, Kind: KindInit, Path: "localAPIEndpoint.bindPort", Message: "cannot unmarshal string"}},
		},
		{
			name: "v1beta3 kubeletExtraArgs map",
			file: "kubelet-extra-args-map.yaml",
			want: []Problem{{Doc: 0, Line: 1, Kind: KindInit, Path: "nodeRegistration.kubeletExtraArgs", Message: "list of {name, value}"}},
		},
		{
			name: "duplicate key",
			file: "duplicate-key.yaml",
			want: []Problem{{Doc: 0, Line: 1, Kind: KindCluster, Path: "networking.podSubnet", Message: "duplicate key at line 6"}},
		},
		{
			name: "wrong apiVersion",
			file: "wrong-apiversion.yaml",
			want: []Problem{{Doc: 0, Line: 1, Kind: KindCluster, Path: "apiVersion", Message: `got "kubeadm.k8s.io/v1beta3", want "kubeadm.k8s.io/v1beta4"`}},
		},
		{
			name: "unknown kind",
			file: "unknown-kind.yaml",
			want: []Problem{{Doc: 0, Line: 1, Kind: "InitConfig", Path: "kind", Message: `unsupported kind "InitConfig"`}},
		},
		{
			name: "two problems in two documents",
			file: "two-documents-two-problems.yaml",
			want: []Problem{
				{Doc: 0, Line: 1, Kind: KindInit, Path: "localAPIEndpoint.advertiseAdress", Message: "unknown field"},
				{Doc: 2, Line: 9, Kind: KindKubelet, Path: "clusterDNS", Message: "cannot unmarshal string"},
			},
		},
		{
			name: "two problems in one document",
			file: "one-document-two-problems.yaml",
			want: []Problem{
				{Doc: 0, Line: 1, Kind: KindCluster, Path: "apiServer.extraArgs[0].value", Message: "cannot unmarshal number"},
				{Doc: 0, Line: 1, Kind: KindCluster, Path: "networking.podSubnett", Message: "unknown field"},
			},
		},
		{
			name: "separator with a comment",
			file: "stray-separator.yaml",
			want: []Problem{{Doc: 0, Line: 1, Kind: KindInit, Path: "", Message: "line 3 is a YAML document marker"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(fixture(t, tt.file))
			if err == nil {
				t.Fatal("Check accepted the file")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			sameProblems(t, e.Problems, tt.want)
			for _, w := range tt.want {
				if s := fmt.Sprintf("document %d (%s) at line %d: %s", w.Doc, w.Kind, w.Line, w.Path); !strings.Contains(err.Error(), s) {
					t.Errorf("error text does not contain %q:\n%v", s, err)
				}
			}
		})
	}
}

// sameProblems compares problems field by field, messages by substring.
func sameProblems(t *testing.T, got, want []Problem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(got), len(want), &Error{got})
	}
	for i, w := range want {
		g := got[i]
		if g.Doc != w.Doc || g.Line != w.Line || g.Kind != w.Kind || g.Path != w.Path || !strings.Contains(g.Message, w.Message) {
			t.Errorf("problem %d = %#v, want %#v", i, g, w)
		}
	}
}

func TestCheckKinds(t *testing.T) {
	join := fixture(t, "join-valid.yaml")
	tests := []struct {
		name  string
		file  []byte
		kinds []string
		want  []Problem // nil for success
	}{
		{
			name:  "init has all four",
			file:  fixture(t, "init-valid.yaml"),
			kinds: []string{KindInit, KindCluster, KindKubelet, KindKubeProxy},
		},
		{
			name:  "join has its one",
			file:  join,
			kinds: []string{KindJoin},
		},
		{
			name:  "missing and unexpected kinds",
			file:  fixture(t, "init-valid.yaml"),
			kinds: []string{KindInit, KindJoin},
			want: []Problem{
				{Doc: 1, Line: 22, Kind: KindCluster, Path: "kind", Message: "not expected"},
				{Doc: 2, Line: 47, Kind: KindKubelet, Path: "kind", Message: "not expected"},
				{Doc: 3, Line: 55, Kind: KindKubeProxy, Path: "kind", Message: "not expected"},
				{Doc: -1, Message: "no JoinConfiguration document"},
			},
		},
		{
			name:  "kind twice",
			file:  append(append(append([]byte{}, join...), "---\n"...), join...),
			kinds: []string{KindJoin},
			want:  []Problem{{Doc: 1, Line: 18, Kind: KindJoin, Path: "kind", Message: "second JoinConfiguration, the first is document 0"}},
		},
		{
			name:  "problems of Check are kept",
			file:  fixture(t, "misspelt-field.yaml"),
			kinds: []string{KindInit},
			want:  []Problem{{Doc: 0, Line: 1, Kind: KindInit, Path: "localAPIEndpoint.advertiseAdress", Message: "unknown field"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckKinds(tt.file, tt.kinds...)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			sameProblems(t, e.Problems, tt.want)
		})
	}
}

package crdcheck

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	loadOnce    sync.Once
	loadedSch   *Schemas
	loadedError error
)

// metallb loads the MetalLB schemas once per test binary.
func metallb(t *testing.T) *Schemas {
	t.Helper()
	loadOnce.Do(func() { loadedSch, loadedError = LoadMetalLB() })
	if loadedError != nil {
		t.Fatalf("LoadMetalLB: %v", loadedError)
	}
	return loadedSch
}

// object builds a custom object with the given type, name and spec.
func object(apiVersion, kind string, spec map[string]any) map[string]any {
	obj := map[string]any{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata":   map[string]any{"name": "example", "namespace": "metallb-system"},
	}
	if spec != nil {
		obj["spec"] = spec
	}
	return obj
}

// problem is an expected Problem: the exact field path and a substring of
// the detail.
type problem struct{ field, detail string }

func TestValidate(t *testing.T) {
	s := metallb(t)

	tests := []struct {
		name    string
		obj     map[string]any
		want    []problem // nil: the object must be valid
		unknown bool      // the error must wrap ErrUnknownType
	}{
		{
			name: "valid IPAddressPool",
			obj: object("metallb.io/v1beta1", "IPAddressPool", map[string]any{
				"addresses":     []any{"192.168.10.0/24", "fc00:f853:ccd:e799::/124"},
				"autoAssign":    false,
				"avoidBuggyIPs": true,
			}),
		},
		{
			name: "valid IPAddressPool with Go-typed values",
			obj: object("metallb.io/v1beta1", "IPAddressPool", map[string]any{
				"addresses":  []string{"10.0.0.10-10.0.0.20"},
				"autoAssign": true,
				"serviceAllocation": map[string]any{
					"priority":           int(50),
					"namespaces":         []string{"default"},
					"namespaceSelectors": []map[string]any{{"matchLabels": map[string]string{"team": "a"}}},
				},
			}),
		},
		{
			name: "valid BGPPeer v1beta2",
			obj: object("metallb.io/v1beta2", "BGPPeer", map[string]any{
				"myASN":        uint32(64500),
				"peerASN":      64501,
				"peerAddress":  "10.0.0.1",
				"holdTime":     "90s",
				"ebgpMultiHop": true,
				"passwordSecret": map[string]any{
					"name":      "bgp-password",
					"namespace": "metallb-system",
				},
				"nodeSelectors": []any{map[string]any{
					"matchExpressions": []any{map[string]any{
						"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist",
					}},
				}},
			}),
		},
		{
			// Numbers decoded from JSON or HCL often arrive as float64.
			name: "valid BGPPeer v1beta2 with float64 numbers",
			obj: object("metallb.io/v1beta2", "BGPPeer", map[string]any{
				"myASN": float64(64500), "peerASN": float64(64501), "peerAddress": "10.0.0.1", "peerPort": float64(179),
			}),
		},
		{
			name: "fractional number for an integer field",
			obj: object("metallb.io/v1beta2", "BGPPeer", map[string]any{
				"myASN": 64500.5,
			}),
			want: []problem{
				{"spec.myASN", "must be of type integer with format int64"},
				{"spec.myASN", "must be of type int64"},
			},
		},
		{
			// v1beta2 only requires myASN: peerASN/peerAddress may be
			// replaced by dynamicASN/interface.
			name: "BGPPeer v1beta2 without peerAddress is valid",
			obj: object("metallb.io/v1beta2", "BGPPeer", map[string]any{
				"myASN":      64500,
				"dynamicASN": "external",
				"interface":  "eth1",
			}),
		},
		{
			name: "valid BGPPeer v1beta1 (deprecated but served)",
			obj: object("metallb.io/v1beta1", "BGPPeer", map[string]any{
				"myASN": 64500, "peerASN": 64501, "peerAddress": "10.0.0.1",
			}),
		},
		{
			name: "valid BGPAdvertisement",
			obj: object("metallb.io/v1beta1", "BGPAdvertisement", map[string]any{
				"ipAddressPools":    []any{"example"},
				"aggregationLength": 32,
				"localPref":         100,
				"communities":       []any{"65535:65282"},
				"peers":             []any{"example"},
			}),
		},
		{
			name: "valid L2Advertisement",
			obj: object("metallb.io/v1beta1", "L2Advertisement", map[string]any{
				"ipAddressPools": []any{"example"},
				"interfaces":     []any{"eth0"},
			}),
		},
		{
			name: "valid L2Advertisement without spec",
			obj:  object("metallb.io/v1beta1", "L2Advertisement", nil),
		},
		{
			name: "unknown field",
			obj: object("metallb.io/v1beta1", "IPAddressPool", map[string]any{
				"addresses": []any{"192.168.10.0/24"},
				"bogus":     true,
			}),
			want: []problem{{"spec.bogus", "unknown field"}},
		},
		{
			name: "unknown field inside a list item",
			obj: object("metallb.io/v1beta1", "BGPAdvertisement", map[string]any{
				"nodeSelectors": []any{map[string]any{"matchLabel": map[string]any{"a": "b"}}},
			}),
			want: []problem{{"spec.nodeSelectors[0].matchLabel", "unknown field"}},
		},
		{
			name: "unknown top-level field",
			obj: func() map[string]any {
				o := object("metallb.io/v1beta1", "L2Advertisement", nil)
				o["specs"] = map[string]any{}
				return o
			}(),
			want: []problem{{"specs", "unknown field"}},
		},
		{
			name: "unknown metadata field",
			obj: func() map[string]any {
				o := object("metallb.io/v1beta1", "L2Advertisement", nil)
				o["metadata"].(map[string]any)["label"] = map[string]any{"a": "b"}
				return o
			}(),
			want: []problem{{"metadata.label", "unknown field"}},
		},
		{
			name: "wrong type",
			obj: object("metallb.io/v1beta1", "IPAddressPool", map[string]any{
				"addresses": "192.168.10.0/24",
			}),
			want: []problem{{"spec.addresses", "spec.addresses in body must be of type array"}},
		},
		{
			name: "wrong type in a list item",
			obj: object("metallb.io/v1beta1", "L2Advertisement", map[string]any{
				"interfaces": []any{"eth0", 1},
			}),
			want: []problem{{"spec.interfaces[1]", "must be of type string"}},
		},
		{
			name: "value not in enum",
			obj: object("metallb.io/v1beta2", "BGPPeer", map[string]any{
				"myASN": 64500, "dynamicASN": "sometimes",
			}),
			want: []problem{{"spec.dynamicASN", `Unsupported value: "sometimes"`}},
		},
		{
			name: "missing required field in BGPPeer v1beta2",
			obj: object("metallb.io/v1beta2", "BGPPeer", map[string]any{
				"peerASN": 64501, "peerAddress": "10.0.0.1",
			}),
			want: []problem{{"spec.myASN", "Required value"}},
		},
		{
			name: "missing required fields in BGPPeer v1beta1",
			obj: object("metallb.io/v1beta1", "BGPPeer", map[string]any{
				"myASN": 64500,
			}),
			want: []problem{
				{"spec.peerASN", "Required value"},
				{"spec.peerAddress", "Required value"},
			},
		},
		{
			name: "missing required addresses",
			obj:  object("metallb.io/v1beta1", "IPAddressPool", map[string]any{}),
			want: []problem{{"spec.addresses", "Required value"}},
		},
		{
			name: "missing required spec",
			obj:  object("metallb.io/v1beta1", "IPAddressPool", nil),
			want: []problem{{"spec", "Required value"}},
		},
		{
			name: "missing required key in a list item",
			obj: object("metallb.io/v1beta1", "L2Advertisement", map[string]any{
				"nodeSelectors": []any{map[string]any{
					"matchExpressions": []any{map[string]any{"key": "zone"}},
				}},
			}),
			want: []problem{{"spec.nodeSelectors[0].matchExpressions[0].operator", "Required value"}},
		},
		{
			name: "missing metadata.name",
			obj: func() map[string]any {
				o := object("metallb.io/v1beta1", "L2Advertisement", nil)
				o["metadata"] = map[string]any{"namespace": "metallb-system"}
				return o
			}(),
			want: []problem{{"metadata.name", "Required value"}},
		},
		{
			name: "missing metadata",
			obj: func() map[string]any {
				o := object("metallb.io/v1beta1", "L2Advertisement", nil)
				delete(o, "metadata")
				return o
			}(),
			want: []problem{
				{"metadata", "Required value"},
				{"metadata.name", "Required value"},
			},
		},
		{
			name: "invalid metadata.name",
			obj: func() map[string]any {
				o := object("metallb.io/v1beta1", "L2Advertisement", nil)
				o["metadata"].(map[string]any)["name"] = "Not_A_Name"
				return o
			}(),
			want: []problem{{"metadata.name", "RFC 1123 subdomain"}},
		},
		{
			name: "apiVersion not served for the kind",
			obj: object("metallb.io/v1beta2", "IPAddressPool", map[string]any{
				"addresses": []any{"192.168.10.0/24"},
			}),
			want:    []problem{{"apiVersion", "served as metallb.io/v1beta1"}},
			unknown: true,
		},
		{
			name: "BGPPeer apiVersion not served",
			obj: object("metallb.io/v1", "BGPPeer", map[string]any{
				"myASN": 64500,
			}),
			want:    []problem{{"apiVersion", "served as metallb.io/v1beta1, metallb.io/v1beta2"}},
			unknown: true,
		},
		{
			name:    "unknown kind",
			obj:     object("metallb.io/v1beta1", "AddressPool", map[string]any{}),
			want:    []problem{{"kind", `Unsupported value: "AddressPool"`}},
			unknown: true,
		},
		{
			name:    "unknown group",
			obj:     object("example.com/v1", "Widget", map[string]any{}),
			want:    []problem{{"apiVersion", `no schema loaded for group "example.com"`}},
			unknown: true,
		},
		{
			name: "missing apiVersion and kind",
			obj: func() map[string]any {
				o := object("", "", nil)
				delete(o, "apiVersion")
				return o
			}(),
			want: []problem{
				{"apiVersion", "Required value"},
				{"kind", "Required value"},
			},
		},
		{
			name: "all problems are reported together",
			obj: func() map[string]any {
				o := object("metallb.io/v1beta1", "IPAddressPool", map[string]any{
					"addresses":  "192.168.10.0/24",
					"autoAssign": "yes",
					"bogus":      1,
				})
				delete(o["metadata"].(map[string]any), "name")
				return o
			}(),
			want: []problem{
				{"metadata.name", "Required value"},
				{"spec.addresses", "must be of type array"},
				{"spec.autoAssign", "must be of type boolean"},
				{"spec.bogus", "unknown field"},
			},
		},
		{
			name: "value that is not JSON data",
			obj: object("metallb.io/v1beta1", "IPAddressPool", map[string]any{
				"addresses": []any{"192.168.10.0/24", make(chan int)},
			}),
			want: []problem{{"", "spec.addresses[1]: unsupported value of type chan int"}},
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate(tc.obj)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want problems %v", tc.want)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate() error %T is not a *ValidationError: %v", err, err)
			}
			if got := errors.Is(err, ErrUnknownType); got != tc.unknown {
				t.Errorf("errors.Is(err, ErrUnknownType) = %v, want %v", got, tc.unknown)
			}
			if len(verr.Problems) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(verr.Problems), len(tc.want), err)
			}
			for i, w := range tc.want {
				p := verr.Problems[i]
				if p.Field != w.field || !strings.Contains(p.Detail, w.detail) {
					t.Errorf("problem %d = %q, want field %q with detail containing %q", i, p, w.field, w.detail)
				}
				if !strings.Contains(err.Error(), p.String()) {
					t.Errorf("Error() %q does not mention %q", err, p)
				}
			}
		})
	}
}

func TestValidateDoesNotModifyInput(t *testing.T) {
	s := metallb(t)
	obj := object("metallb.io/v1beta1", "IPAddressPool", map[string]any{
		"addresses": []string{"192.168.10.0/24"},
		"bogus":     map[string]any{"nested": true},
	})
	obj["metadata"].(map[string]any)["extra"] = "x"
	before := deepCopy(obj)
	if err := s.Validate(obj); err == nil {
		t.Fatal("Validate() = nil, want unknown-field problems")
	}
	if !reflect.DeepEqual(obj, before) {
		t.Errorf("Validate modified its input:\n got %#v\nwant %#v", obj, before)
	}
}

// deepCopy copies the maps and slices of a test object.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

func TestMetalLBTypes(t *testing.T) {
	s := metallb(t)
	want := []schema.GroupVersionKind{
		{Group: "metallb.io", Version: "v1beta1", Kind: "BFDProfile"},
		{Group: "metallb.io", Version: "v1beta1", Kind: "BGPAdvertisement"},
		{Group: "metallb.io", Version: "v1beta1", Kind: "BGPPeer"},
		{Group: "metallb.io", Version: "v1beta2", Kind: "BGPPeer"},
		{Group: "metallb.io", Version: "v1beta1", Kind: "Community"},
		{Group: "metallb.io", Version: "v1beta1", Kind: "ConfigurationState"},
		{Group: "metallb.io", Version: "v1beta1", Kind: "IPAddressPool"},
		{Group: "metallb.io", Version: "v1beta1", Kind: "L2Advertisement"},
		{Group: "metallb.io", Version: "v1beta1", Kind: "ServiceBGPStatus"},
		{Group: "metallb.io", Version: "v1beta1", Kind: "ServiceL2Status"},
	}
	if got := s.Types(); !reflect.DeepEqual(got, want) {
		t.Errorf("Types() = %v\nwant %v", got, want)
	}
	if !s.Has("metallb.io/v1beta2", "BGPPeer") {
		t.Error(`Has("metallb.io/v1beta2", "BGPPeer") = false`)
	}
	if s.Has("metallb.io/v1beta2", "IPAddressPool") {
		t.Error(`Has("metallb.io/v1beta2", "IPAddressPool") = true`)
	}
}

func TestLoadDir(t *testing.T) {
	modDir, err := moduleDir(MetalLBModule, MetalLBVersion)
	if err != nil {
		t.Fatal(err)
	}
	crdDir := filepath.Join(modDir, MetalLBCRDDir)
	read := func(name string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(crdDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	pools, peers := read("metallb.io_ipaddresspools.yaml"), read("metallb.io_bgppeers.yaml")

	t.Run("several CRDs in one file", func(t *testing.T) {
		dir := t.TempDir()
		content := "# comment only\n---\n" + pools + "\n---\n" + peers
		if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not yaml: ["), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := []schema.GroupVersionKind{
			{Group: "metallb.io", Version: "v1beta1", Kind: "BGPPeer"},
			{Group: "metallb.io", Version: "v1beta2", Kind: "BGPPeer"},
			{Group: "metallb.io", Version: "v1beta1", Kind: "IPAddressPool"},
		}
		if got := s.Types(); !reflect.DeepEqual(got, want) {
			t.Errorf("Types() = %v, want %v", got, want)
		}
	})

	t.Run("unserved versions are skipped", func(t *testing.T) {
		dir := t.TempDir()
		content := strings.Replace(peers, "served: true", "served: false", 1)
		if content == peers {
			t.Fatal("test setup: no served version to flip")
		}
		if err := os.WriteFile(filepath.Join(dir, "peers.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if s.Has("metallb.io/v1beta1", "BGPPeer") || !s.Has("metallb.io/v1beta2", "BGPPeer") {
			t.Errorf("Types() = %v, want only metallb.io/v1beta2 BGPPeer", s.Types())
		}
	})

	for _, tc := range []struct {
		name, content, want string
	}{
		{"not a CRD", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "expected an apiextensions.k8s.io/v1 CustomResourceDefinition"},
		{"same type twice", pools + "\n---\n" + pools, "is also defined in"},
		{"no CRD at all", "# nothing here\n", "no served CustomResourceDefinition versions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "crd.yaml"), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadDir(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadDir() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestModuleDirOffline(t *testing.T) {
	metallb(t) // makes sure the module is in the module cache
	t.Setenv("GOPROXY", "off")

	dir, err := moduleDir(MetalLBModule, MetalLBVersion)
	if err != nil {
		t.Fatalf("moduleDir with a cached module and GOPROXY=off: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, MetalLBCRDDir, "metallb.io_bgppeers.yaml")); err != nil {
		t.Errorf("module directory %s lacks the CRDs: %v", dir, err)
	}

	_, err = moduleDir(MetalLBModule, "v0.0.0-not-a-version")
	if err == nil || !strings.Contains(err.Error(), MetalLBModule) {
		t.Errorf("moduleDir with a bad version: error = %v, want one naming the module", err)
	}
}

// jsonText implements json.Marshaler.
type jsonText struct{ s string }

func (j jsonText) MarshalJSON() ([]byte, error) { return []byte(`{"text":"` + j.s + `","n":2}`), nil }

func TestNormalize(t *testing.T) {
	type name string
	str := "p"
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"ints become int64", []any{1, int8(2), uint16(3), int64(4)}, []any{int64(1), int64(2), int64(3), int64(4)}},
		{"integral floats become int64", []any{2.0, float32(1.5)}, []any{int64(2), 1.5}},
		{"typed slices and maps", map[string][]name{"a": {"x"}}, map[string]any{"a": []any{"x"}}},
		{"pointers are followed", map[string]*string{"a": &str, "b": nil}, map[string]any{"a": "p", "b": nil}},
		{"arrays", [2]bool{true, false}, []any{true, false}},
		{"json.Marshaler", jsonText{"hi"}, map[string]any{"text": "hi", "n": int64(2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalize(tc.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("normalize(%#v) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}

	for _, bad := range []any{
		map[int]string{1: "a"},
		struct{ A int }{1},
		map[string]any{"a": []any{func() {}}},
	} {
		if got, err := normalize(bad, nil); err == nil {
			t.Errorf("normalize(%#v) = %#v, want an error", bad, got)
		}
	}
}

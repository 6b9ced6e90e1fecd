package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	pschema "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const schemaGolden = "testdata/schema.json"

// packageSchema is the schema the provider serves, read through go-provider's integration server
// as the Pulumi CLI reads it (GetSchema), as indented JSON. Under -update the provider describes
// its types from the doc comments as they are now (descriptions.json may be stale in this binary).
func packageSchema(t *testing.T) []byte {
	t.Helper()
	prov, err := New()
	if *update {
		prov, err = build(docComments(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	srv, err := integration.NewServer(context.Background(), Name, semver.MustParse(Version), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal([]byte(resp.Schema), &v); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// goldenSchema is the schema golden file, bound as codegen binds it: it must pass the Pulumi
// package metaschema (schema.BindSpec validates against it).
func goldenSchema(t *testing.T) (pschema.PackageSpec, *pschema.Package) {
	t.Helper()
	raw, err := os.ReadFile(schemaGolden)
	if err != nil {
		t.Fatal(err)
	}
	var spec pschema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	pkg, diags, err := pschema.BindSpec(spec, noLoader{}, pschema.ValidationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		t.Fatalf("the schema does not bind: %v", diags)
	}
	return spec, pkg
}

// TestSchemaGolden pins the package schema (testdata/schema.json; regenerate with go test
// ./provider -update and review the diff): its type token, its inputs and outputs. A new
// configuration key changes it by itself, since the schema is derived from the config types.
func TestSchemaGolden(t *testing.T) {
	got := packageSchema(t)
	if *update {
		if err := os.WriteFile(schemaGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaGolden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the provider's schema differs from %s: go test ./provider -update, then review the diff", schemaGolden)
	}
	spec, _ := goldenSchema(t)
	if spec.Name != Name {
		t.Errorf("package %q, want %q", spec.Name, Name)
	}
	r, ok := spec.Resources[Token]
	if !ok || !r.IsComponent {
		t.Fatalf("no component %s in %v", Token, keys(spec.Resources))
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// paths flattens schema properties into configuration key paths as the README writes them:
// objects joined with '.', lists of objects with '[]', lists of values bare (apiServer.allowedCidrs).
// Each path maps to whether it is secret; objects are listed too (with false).
func paths(spec pschema.PackageSpec, props map[string]pschema.PropertySpec, at string, out map[string]bool) {
	for name, prop := range props {
		path := name
		if at != "" {
			path = at + "." + name
		}
		ts := prop.TypeSpec
		if ts.Type == "array" && ts.Items.Ref != "" {
			path += "[]"
			ts = *ts.Items
		}
		out[path] = prop.Secret
		if ts.Ref != "" {
			obj := spec.Types[strings.TrimPrefix(ts.Ref, "#/types/")]
			paths(spec, obj.Properties, path, out)
		}
	}
}

// readmeRow is a row of a README key table: its first cell's keys in backquotes, and the rest.
var readmeRow = regexp.MustCompile("^\\| ((?:`[^`]+`(?:, )?)+) \\|(.*)$")

// readmeKeys are the keys of the README's tables between two headings, each with whether its row
// says it is secret, and the aliases "same keys as `X`" makes: a key whose subkeys are X's. A key
// written relative (.name, in the servers mode's table) stands for each server's key
// (servers.controller.name, servers.controllers[].name and servers.workers[].name).
func readmeKeys(t *testing.T, from, to string) (map[string]bool, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, from)
	end := strings.Index(text[start+1:], to)
	if start < 0 || end < 0 {
		t.Fatalf("README has no section %q up to %q", from, to)
	}
	out, aliases := map[string]bool{}, map[string]string{}
	sameAs := regexp.MustCompile("same keys as `([^`]+)`")
	for _, line := range strings.Split(text[start:start+1+end], "\n") {
		m := readmeRow.FindStringSubmatch(line)
		if m == nil || m[1] == "`key`" || m[1] == "`output`" {
			continue
		}
		for _, k := range strings.Split(m[1], ", ") {
			k = strings.Trim(k, "`")
			expanded := []string{k}
			if strings.HasPrefix(k, ".") {
				expanded = []string{"servers.controller" + k, "servers.controllers[]" + k, "servers.workers[]" + k}
			}
			for _, e := range expanded {
				out[e] = strings.Contains(m[2], "(secret)")
				if a := sameAs.FindStringSubmatch(m[2]); a != nil {
					aliases[e] = a[1]
				}
			}
		}
	}
	return out, aliases
}

// TestInputsAreTheConfigurationReference checks the component's inputs against the README's
// configuration reference (both tables): every setting documented there is an input under the
// same path, every input is documented, and an input is secret exactly where the reference says
// "(secret)".
func TestInputsAreTheConfigurationReference(t *testing.T) {
	spec, _ := goldenSchema(t)
	inputs := map[string]bool{}
	paths(spec, spec.Resources[Token].InputProperties, "", inputs)
	documented, aliases := readmeKeys(t, "## Configuration reference", "## What `pulumi up` does")
	// An input under an alias is documented by the alias's key: servers.controller.peers[].asn is
	// servers.peers[].asn.
	canonical := func(path string) string {
		for from, to := range aliases {
			if strings.HasPrefix(path, from+".") {
				return to + strings.TrimPrefix(path, from)
			}
		}
		return path
	}
	objects := map[string]bool{}
	for path := range inputs {
		for i := range path {
			if path[i] == '.' {
				objects[strings.TrimSuffix(path[:i], "[]")] = true
				objects[path[:i]] = true
			}
		}
	}
	for _, path := range slices.Sorted(func(yield func(string) bool) {
		for k := range inputs {
			if !yield(k) {
				return
			}
		}
	}) {
		c := canonical(path)
		secret, ok := documented[c]
		if !ok {
			if !objects[path] {
				t.Errorf("input %s is not in the README's configuration reference", path)
			}
			continue
		}
		if secret != inputs[path] {
			t.Errorf("input %s: secret %v in the schema, %v in the README", path, inputs[path], secret)
		}
	}
	for key := range documented {
		if _, ok := inputs[key]; !ok {
			t.Errorf("README key %s is not an input of %s", key, Token)
		}
	}
}

// TestOutputsAreTheREADMEOutputs checks the component's outputs against the README's outputs table.
func TestOutputsAreTheREADMEOutputs(t *testing.T) {
	spec, _ := goldenSchema(t)
	documented, _ := readmeKeys(t, "## Outputs", "## Using the components")
	outputs := spec.Resources[Token].Properties
	for k := range outputs {
		if _, ok := documented[k]; !ok {
			t.Errorf("output %s is not in the README's outputs table", k)
		}
	}
	for k := range documented {
		if _, ok := outputs[k]; !ok {
			t.Errorf("README output %s is not an output of %s", k, Token)
		}
	}
}

// noLoader is the loader codegen binds and generates with: the package refers to no other
// package, so every load is an error.
type noLoader struct{}

var errNoLoad = errors.New("the metalk8s schema refers to no other package")

func (noLoader) LoadPackage(string, *semver.Version) (*pschema.Package, error) {
	return nil, errNoLoad
}

func (noLoader) LoadPackageV2(context.Context, *pschema.PackageDescriptor) (*pschema.Package, error) {
	return nil, errNoLoad
}

func (noLoader) LoadPackageReference(string, *semver.Version) (pschema.PackageReference, error) {
	return nil, errNoLoad
}

func (noLoader) LoadPackageReferenceV2(context.Context, *pschema.PackageDescriptor) (pschema.PackageReference, error) {
	return nil, errNoLoad
}

// Package crdcheck validates Kubernetes custom objects, given as the plain
// map[string]any values handed to pulumi-kubernetes, against the OpenAPI v3
// schemas of the CustomResourceDefinitions that define them.
//
// It reuses the apiserver's own machinery (structural schemas, the
// kube-openapi schema validator and the pruning algorithm), so the problems
// it reports are, for the schema part, the ones a kube-apiserver reports on
// create with fieldValidation=Strict: wrong types, missing required fields,
// unknown fields, enum/format/range violations. It does not evaluate CEL
// rules (x-kubernetes-validations), apply defaults, check list-type
// uniqueness or run admission webhooks, and it checks only the basics of
// metadata (decodable, no unknown fields, a valid name and namespace).
package crdcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	// MetalLBModule is the Go module whose CRD manifests LoadMetalLB reads.
	MetalLBModule = "go.universe.tf/metallb"
	// MetalLBVersion is the pinned version of MetalLBModule.
	MetalLBVersion = "v0.16.2"
	// MetalLBCRDDir is the directory, relative to the module root, that holds
	// MetalLB's generated CRD manifests.
	MetalLBCRDDir = "config/crd/bases"
)

// Schemas holds the structural schemas and validators of a set of custom
// resource types, keyed by group, version and kind. A Schemas is not
// modified after loading, and Validate never modifies it.
type Schemas struct {
	types map[schema.GroupVersionKind]*typeSchema
}

// typeSchema is everything needed to validate one served CRD version.
type typeSchema struct {
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
	source     string // file the CRD was read from, for error messages
}

// LoadMetalLB loads the CRDs shipped in MetalLBModule at MetalLBVersion.
//
// The module directory is located by running
//
//	go mod download -json go.universe.tf/metallb@v0.16.2
//
// with the go command found in PATH (go test puts its own toolchain first in
// PATH) and reading the Dir field of its output. The command is run outside
// any main module, so it neither reads nor changes this repository's go.mod
// or go.sum. When the module is already in the module cache (GOMODCACHE) no
// network access happens; otherwise it is fetched through GOPROXY and
// verified against GOSUMDB like any other download.
func LoadMetalLB() (*Schemas, error) {
	dir, err := moduleDir(MetalLBModule, MetalLBVersion)
	if err != nil {
		return nil, err
	}
	return LoadDir(filepath.Join(dir, filepath.FromSlash(MetalLBCRDDir)))
}

// moduleDir returns the module cache directory of path@version, downloading
// the module if it is not cached yet.
func moduleDir(path, version string) (string, error) {
	query := path + "@" + version
	cmd := exec.Command("go", "mod", "download", "-json", query)
	// Run outside any module (and workspace) so that the state of the
	// current go.mod cannot interfere with, or be touched by, the download.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()

	// On failure go mod download -json still prints a JSON object whose
	// Error field is more useful than the exit status.
	var info struct {
		Dir   string
		Error string
	}
	if jsonErr := json.Unmarshal(stdout.Bytes(), &info); jsonErr != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download %s: %v: %s", query, runErr, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("go mod download %s: decoding output: %v", query, jsonErr)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", query, info.Error)
	}
	if runErr != nil {
		return "", fmt.Errorf("go mod download %s: %v: %s", query, runErr, strings.TrimSpace(stderr.String()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no module directory reported", query)
	}
	return info.Dir, nil
}

// LoadDir loads every CustomResourceDefinition found in the *.yaml and
// *.yml files of dir (not recursively). A file may hold several YAML
// documents; every document must be an apiextensions.k8s.io/v1
// CustomResourceDefinition. All served versions of every CRD are loaded.
func LoadDir(dir string) (*Schemas, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading CRD directory: %w", err)
	}
	s := &Schemas{types: map[schema.GroupVersionKind]*typeSchema{}}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		file := filepath.Join(dir, name)
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if err := s.addFile(file, data); err != nil {
			return nil, err
		}
	}
	if len(s.types) == 0 {
		return nil, fmt.Errorf("no served CustomResourceDefinition versions found in %s", dir)
	}
	return s, nil
}

// addFile adds every CRD document of one YAML file.
func (s *Schemas) addFile(file string, data []byte) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		if crd.APIVersion == "" && crd.Kind == "" && crd.Name == "" {
			continue // a document holding only comments
		}
		if crd.APIVersion != apiextensionsv1.SchemeGroupVersion.String() || crd.Kind != "CustomResourceDefinition" {
			return fmt.Errorf("%s: document %d: expected an %s CustomResourceDefinition, got %s %s",
				file, doc, apiextensionsv1.SchemeGroupVersion, crd.APIVersion, crd.Kind)
		}
		if err := s.addCRD(file, &crd); err != nil {
			return fmt.Errorf("%s: CRD %s: %w", file, crd.Name, err)
		}
	}
}

// addCRD compiles the schema of every served version of crd.
func (s *Schemas) addCRD(file string, crd *apiextensionsv1.CustomResourceDefinition) error {
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if !v.Served {
			continue
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
		if prev, ok := s.types[gvk]; ok {
			return fmt.Errorf("%s is also defined in %s", gvk, prev.source)
		}
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("version %s has no openAPIV3Schema", v.Name)
		}
		internal := new(apiextensions.JSONSchemaProps)
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
			return fmt.Errorf("version %s: converting schema: %w", v.Name, err)
		}
		structural, err := structuralschema.NewStructural(internal)
		if err != nil {
			return fmt.Errorf("version %s: schema is not structural: %w", v.Name, err)
		}
		validator, _, err := validation.NewSchemaValidator(internal)
		if err != nil {
			return fmt.Errorf("version %s: building validator: %w", v.Name, err)
		}
		s.types[gvk] = &typeSchema{structural: structural, validator: validator, source: file}
	}
	return nil
}

// Types returns the group, version and kind of every loaded type, sorted.
func (s *Schemas) Types() []schema.GroupVersionKind {
	out := make([]schema.GroupVersionKind, 0, len(s.types))
	for gvk := range s.types {
		out = append(out, gvk)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Version < b.Version
	})
	return out
}

// Has reports whether a schema is loaded for apiVersion ("group/version")
// and kind.
func (s *Schemas) Has(apiVersion, kind string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return false
	}
	_, ok := s.types[gv.WithKind(kind)]
	return ok
}

// Package provider serves the metalk8s program as a Pulumi component package: one component,
// Cluster, whose inputs are the stack configuration object's settings and whose outputs are the
// stack outputs, so that TypeScript, Python and YAML programs get the same cluster as the Go
// program. It is built with pulumi-go-provider's infer; the schema is derived from the config
// package's types, and a construct decodes its inputs with config.Parse, exactly as the stack
// configuration is decoded, then runs program.Compose under the component.
package provider

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi-go-provider/middleware/schema"
	pschema "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	comProvider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
)

// The package name and the component's type token are part of every user's resource URNs
// (urn:pulumi:<stack>::<project>::metalk8s:index:Cluster::<name>): they never change. The package
// is the project's name; the module is index, so that the class is metalk8s.Cluster in every
// language; the type is Cluster, not one per mode, so that a stack can move between the modes
// (or gain one) without a new type and without aliases.
const (
	// Name is the Pulumi package name (the plugin is pulumi-resource-metalk8s).
	Name = "metalk8s"
	// Module is the schema module of the component.
	Module = "index"
	// TypeName is the component's type name.
	TypeName = "Cluster"
	// Token is the component's type token.
	Token = Name + ":" + Module + ":" + TypeName
)

// Version is the package version the provider reports; a release sets it with
// -ldflags "-X github.com/metalk8s/metalk8s/provider.Version=X.Y.Z" (see README).
var Version = "0.1.0"

// description is the component's description in the schema and the SDKs.
const description = "A Kubernetes cluster made with kubeadm over SSH, its nodes peering over BGP with " +
	"their routers, Calico and MetalLB for LoadBalancer services: on servers you list (servers) or " +
	"on Equinix Metal. The inputs are the settings of the metalk8s:cluster stack configuration " +
	"object, defaulted and validated as the stack configuration is; the outputs are the stack outputs."

// Repository is where the package's source lives: pulumi package add takes it from there.
const Repository = "https://github.com/metalk8s/metalk8s"

//go:embed descriptions.json
var descriptionsJSON []byte

// New is the provider.
func New() (p.Provider, error) {
	var desc map[string]string
	if err := json.Unmarshal(descriptionsJSON, &desc); err != nil {
		return p.Provider{}, fmt.Errorf("descriptions.json: %w", err)
	}
	return build(desc)
}

// build is the provider with the given field descriptions (by Go package, type and field).
func build(desc map[string]string) (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithComponents(component{InferredComponent: infer.ComponentF(NewCluster), desc: desc}).
		WithDisplayName("metalk8s").
		WithDescription("Kubernetes on bare metal with kubeadm over SSH, BGP-announced LoadBalancer services (Calico, MetalLB)").
		WithKeywords("kubernetes", "kubeadm", "bgp", "calico", "metallb", "bare-metal", "category/cloud", "kind/component").
		WithRepository(Repository).
		WithLicense("Apache-2.0").
		WithLanguageMap(map[string]any{
			"nodejs": map[string]any{"packageName": "@metalk8s/metalk8s", "respectSchemaVersion": true},
			"python": map[string]any{"packageName": "pulumi_metalk8s", "respectSchemaVersion": true,
				"pyproject": map[string]any{"enabled": true}},
			"go": map[string]any{"importBasePath": "github.com/metalk8s/metalk8s/sdk/go/metalk8s",
				"generateResourceContainerTypes": true, "respectSchemaVersion": true},
		}).
		Build()
}

// component is the inferred Cluster with the schema and the decoding of the stack
// configuration: its inputs follow the config package's types (json names, every one optional
// in the schema, since config.Parse applies the defaults and reports what is missing), and a
// construct decodes them with config.Parse. infer gives the token, the provider and the
// construct's plumbing.
type component struct {
	infer.InferredComponent
	desc map[string]string
}

// GetSchema derives the component's schema from the config types and ClusterOutputs.
func (c component) GetSchema(reg schema.RegisterDerivativeType) (pschema.ResourceSpec, error) {
	return resourceSpec(c.desc, reg)
}

// Construct decodes the inputs as the stack configuration is decoded and, when they are valid,
// registers the cluster under the component. Invalid inputs are refused with every problem,
// each naming its input, before anything is registered.
func (c component) Construct(ctx context.Context, req p.ConstructRequest) (p.ConstructResponse, error) {
	return p.ProgramConstruct(ctx, req, func(pctx *pulumi.Context, _, name string,
		_ comProvider.ConstructInputs, opts pulumi.ResourceOption,
	) (*comProvider.ConstructResult, error) {
		cfg, err := DecodeInputs(req.Inputs)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", Token, name, err)
		}
		cluster, err := NewCluster(pctx, name, cfg, opts)
		if err != nil {
			return nil, err
		}
		return &comProvider.ConstructResult{URN: cluster.URN(), State: cluster.Outputs.Map()}, nil
	})
}

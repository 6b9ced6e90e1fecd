package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	"sigs.k8s.io/yaml"

	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/internal/graph"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
	"github.com/metalk8s/metalk8s/internal/stackfile"
	"github.com/metalk8s/metalk8s/program"
)

// Options select what to plan.
type Options struct {
	// Dir is the project directory.
	Dir string
	// Stack names the stack file.
	Stack string
	// Simulate fills computed values with fake ones.
	Simulate bool
	// Site is the kind of Metal site simulated.
	Site mockcloud.Site
	// ShowSecrets shows secret values; only with Simulate, where every secret is simulated.
	ShowSecrets bool
}

// Plan is every resource the program registers for one stack.
type Plan struct {
	Project  string  `json:"project"`
	Stack    string  `json:"stack"`
	Simulate bool    `json:"simulate"`
	Site     string  `json:"site,omitempty"`
	Roots    []*Step `json:"resources"`
	// CriticalPath is the longest chain of slow steps (devices, remote commands, charts, objects
	// that wait on the cluster), first step first, as "type name".
	CriticalPath []string `json:"criticalPath"`
	// Outputs are the stack outputs, as far as they are known.
	Outputs map[string]any `json:"outputs"`
	// Placeholders are the encrypted settings replaced by placeholders.
	Placeholders []string `json:"placeholders,omitempty"`
	// Warnings are what the program warns about the configuration, as pulumi up would show them.
	Warnings     []string `json:"warnings,omitempty"`
	count, reads int
}

// Step is one resource to create, with its children.
type Step struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	URN    string `json:"urn"`
	Custom bool   `json:"custom"`
	Read   bool   `json:"read,omitempty"`
	// DeleteBeforeReplace: a replacement deletes this resource before creating the new one.
	DeleteBeforeReplace bool `json:"deleteBeforeReplace,omitempty"`
	// ReplacedBy are the inputs of this resource whose change makes the provider replace it.
	ReplacedBy []string `json:"replacedBy,omitempty"`
	// Refused are the inputs whose change the provider refuses.
	Refused   []string       `json:"refusedChanges,omitempty"`
	Inputs    map[string]any `json:"inputs,omitempty"`
	DependsOn []string       `json:"dependsOn,omitempty"`
	Children  []*Step        `json:"children,omitempty"`
}

// Rendering of values the plan cannot show.
const (
	computed = "(computed)"
	secret   = "[secret]"
)

// Make runs the program for a stack file under the fake cloud.
func Make(o Options) (*Plan, error) {
	project, err := projectName(o.Dir)
	if err != nil {
		return nil, err
	}
	sf, err := stackfile.Load(o.Dir, project, o.Stack)
	if err != nil {
		return nil, err
	}
	cloud := mockcloud.New(!o.Simulate, o.Site)
	servers := false
	p := &Plan{Project: project, Stack: o.Stack, Simulate: o.Simulate, Placeholders: sf.Placeholders, Outputs: map[string]any{}}
	err = cloud.Run(func(ctx *pulumi.Context) error {
		out, err := program.Program(ctx)
		if err != nil {
			return err
		}
		p.Warnings = out.Warnings
		servers = out.Servers != nil
		for k, v := range out.Map() {
			if p.Outputs[k], err = awaitRendered(ctx, v, o.ShowSecrets); err != nil {
				return fmt.Errorf("output %s: %w", k, err)
			}
		}
		return nil
	}, project, o.Stack, sf.Values, sf.SecretKeys)
	if err != nil {
		return nil, err
	}
	// The servers mode has no Metal site: the servers' addresses and peers are the user's.
	if o.Simulate && !servers {
		p.Site = string(o.Site)
	}
	p.Roots = tree(cloud.Resources(), o.ShowSecrets)
	p.count = len(cloud.Resources())
	for _, r := range graph.CriticalPath(cloud.Resources()) {
		p.CriticalPath = append(p.CriticalPath, r.Type+" "+r.Name)
	}
	for _, r := range cloud.Resources() {
		if r.Read {
			p.reads++
		}
	}
	return p, nil
}

// awaitRendered waits for one stack output and renders it like an input.
func awaitRendered(ctx *pulumi.Context, v pulumi.Input, showSecrets bool) (any, error) {
	r, err := internals.UnsafeAwaitOutput(ctx.Context(), pulumi.ToOutput(v))
	switch {
	case err != nil:
		return nil, err
	case !r.Known:
		return computed, nil
	case r.Secret && !showSecrets:
		return secret, nil
	}
	// Typed values (topology.Node, ...) carry json tags; a JSON round trip makes them plain.
	j, err := json.Marshal(r.Value)
	if err != nil {
		return nil, err
	}
	var plainValue any
	return plainValue, json.Unmarshal(j, &plainValue)
}

// projectName reads the project name from Pulumi.yaml.
func projectName(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	if err != nil {
		return "", err
	}
	var p struct {
		Name string `json:"name"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil || p.Name == "" {
		return "", fmt.Errorf("no project name in %s (%v)", filepath.Join(dir, "Pulumi.yaml"), err)
	}
	return p.Name, nil
}

// tree arranges the resources under their parents; siblings are ordered by name, then type.
func tree(rs []*mockcloud.Resource, showSecrets bool) []*Step {
	steps := map[string]*Step{}
	for _, r := range rs {
		s := &Step{Type: r.Type, Name: r.Name, URN: r.URN, Custom: r.Custom, Read: r.Read,
			DeleteBeforeReplace: r.DeleteBeforeReplace, Inputs: map[string]any{}}
		for k, v := range r.Inputs {
			s.Inputs[string(k)] = render(v, showSecrets)
			if metal.Replaces(r.Type, string(k)) {
				s.ReplacedBy = append(s.ReplacedBy, string(k))
			}
		}
		sort.Strings(s.ReplacedBy)
		s.Refused = metal.RefusedChanges[r.Type]
		s.DependsOn = append(s.DependsOn, r.DependsOn...)
		sort.Strings(s.DependsOn)
		steps[r.URN] = s
	}
	var roots []*Step
	for _, r := range rs {
		if parent, ok := steps[r.Parent]; ok {
			parent.Children = append(parent.Children, steps[r.URN])
		} else {
			roots = append(roots, steps[r.URN])
		}
	}
	var order func([]*Step)
	order = func(ss []*Step) {
		sort.Slice(ss, func(i, j int) bool {
			if ss[i].Name != ss[j].Name {
				return ss[i].Name < ss[j].Name
			}
			return ss[i].Type < ss[j].Type
		})
		for _, s := range ss {
			order(s.Children)
		}
	}
	order(roots)
	return roots
}

// render turns a property value into what the plan shows: plain values, with (computed) for
// values only the cloud knows and [secret] for secrets.
func render(v resource.PropertyValue, showSecrets bool) any {
	switch {
	case v.IsSecret() && showSecrets:
		return render(v.SecretValue().Element, showSecrets)
	case v.IsSecret():
		return secret
	case v.IsComputed():
		return computed
	case v.IsOutput():
		o := v.OutputValue()
		switch {
		case !o.Known:
			return computed
		case o.Secret && !showSecrets:
			return secret
		}
		return render(o.Element, showSecrets)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = render(e, showSecrets)
		}
		return m
	case v.IsArray():
		l := []any{}
		for _, e := range v.ArrayValue() {
			l = append(l, render(e, showSecrets))
		}
		return l
	case v.IsResourceReference():
		return v.ResourceReferenceValue().URN
	case v.IsNull():
		return nil
	}
	return v.V
}

// depName shows a dependency as the last part of its type and its name, e.g. "Device sv-controller".
func depName(urn string) string {
	u := resource.URN(urn)
	typ := string(u.Type())
	if i := strings.LastIndex(typ, ":"); i >= 0 {
		typ = typ[i+1:]
	}
	return typ + " " + u.Name()
}

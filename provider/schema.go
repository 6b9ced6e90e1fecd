package provider

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pulumi/pulumi-go-provider/middleware/schema"
	pschema "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/metalk8s/metalk8s/config"
)

// A type's key in the descriptions is its Go package's name and its name (config.Kubernetes); a
// field's adds the Go field name (config.Kubernetes.PodCIDR). descriptions.json holds them,
// taken from the doc comments (TestDescriptionsFollowTheDocComments regenerates it).
func typeKey(t reflect.Type) string {
	return t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:] + "." + t.Name()
}

// schemaBuilder turns Go types into schema types: the config types by their json names, the
// outputs and the types they hold by their pulumi names.
type schemaBuilder struct {
	desc  map[string]string
	reg   schema.RegisterDerivativeType
	types map[string]reflect.Type // object types registered, by token
}

// resourceSpec is the component's schema: its inputs are config.Cluster's keys, its outputs
// ClusterOutputs' fields.
func resourceSpec(desc map[string]string, reg schema.RegisterDerivativeType) (pschema.ResourceSpec, error) {
	b := &schemaBuilder{desc: desc, reg: reg, types: map[string]reflect.Type{}}
	inputs, _, err := b.properties(reflect.TypeFor[config.Cluster](), "json")
	if err != nil {
		return pschema.ResourceSpec{}, err
	}
	outputs, required, err := b.properties(reflect.TypeFor[ClusterOutputs](), "pulumi")
	if err != nil {
		return pschema.ResourceSpec{}, err
	}
	return pschema.ResourceSpec{
		ObjectTypeSpec: pschema.ObjectTypeSpec{
			Description: description,
			Type:        "object",
			Properties:  outputs,
			Required:    required,
		},
		InputProperties: inputs,
		IsComponent:     true,
	}, nil
}

// fieldName is a field's name under tag (json or pulumi) and whether the tag says it is
// optional; "" for a field that is not part of the type.
func fieldName(f reflect.StructField, tag string) (string, bool) {
	v, ok := f.Tag.Lookup(tag)
	if !ok || !f.IsExported() || v == "-" {
		return "", false
	}
	name, rest, _ := strings.Cut(v, ",")
	return name, strings.Contains(","+rest+",", ",optional,") || strings.Contains(","+rest+",", ",omitempty,")
}

// secretField says whether a field holds a secret: config's secret:"true", infer's
// provider:"secret".
func secretField(f reflect.StructField) bool {
	return f.Tag.Get("secret") == "true" || strings.Contains(","+f.Tag.Get("provider")+",", ",secret,")
}

// properties are the schema properties of a struct's fields named by tag, and the names of
// those that are required (pulumi tags only: every input is optional in the schema, since
// config.Parse applies the defaults and says what is missing).
func (b *schemaBuilder) properties(t reflect.Type, tag string) (map[string]pschema.PropertySpec, []string, error) {
	props := map[string]pschema.PropertySpec{}
	var required []string
	for _, f := range reflect.VisibleFields(t) {
		name, optional := fieldName(f, tag)
		if name == "" {
			continue
		}
		if _, dup := props[name]; dup {
			return nil, nil, fmt.Errorf("%s: two fields named %q", t, name)
		}
		ts, err := b.typeSpec(f.Type, tag)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		props[name] = pschema.PropertySpec{
			TypeSpec:    ts,
			Description: b.desc[typeKey(t)+"."+f.Name],
			Secret:      secretField(f),
		}
		if tag == "pulumi" && !optional {
			required = append(required, name)
		}
	}
	return props, required, nil
}

// typeSpec is the schema type of a Go type; a struct becomes an object type of the index module,
// registered once.
func (b *schemaBuilder) typeSpec(t reflect.Type, tag string) (pschema.TypeSpec, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return pschema.TypeSpec{Type: "string"}, nil
	case reflect.Bool:
		return pschema.TypeSpec{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return pschema.TypeSpec{Type: "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return pschema.TypeSpec{Type: "number"}, nil
	case reflect.Slice:
		items, err := b.typeSpec(t.Elem(), tag)
		return pschema.TypeSpec{Type: "array", Items: &items}, err
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return pschema.TypeSpec{}, fmt.Errorf("map key %s is not a string", t.Key())
		}
		values, err := b.typeSpec(t.Elem(), tag)
		return pschema.TypeSpec{Type: "object", AdditionalProperties: &values}, err
	case reflect.Struct:
		tk := Name + ":" + Module + ":" + t.Name()
		ref := pschema.TypeSpec{Ref: "#/types/" + tk}
		if seen, ok := b.types[tk]; ok {
			if seen != t {
				return pschema.TypeSpec{}, fmt.Errorf("types %s and %s would both be %s", seen, t, tk)
			}
			return ref, nil
		}
		b.types[tk] = t
		props, required, err := b.properties(t, tag)
		if err != nil {
			return pschema.TypeSpec{}, err
		}
		b.reg(tokens.Type(tk), pschema.ComplexTypeSpec{ObjectTypeSpec: pschema.ObjectTypeSpec{
			Description: b.desc[typeKey(t)], Type: "object", Properties: props, Required: required,
		}})
		return ref, nil
	}
	return pschema.TypeSpec{}, fmt.Errorf("no schema type for %s", t)
}

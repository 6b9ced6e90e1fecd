package crdcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
)

// ErrUnknownType is wrapped by the error Validate returns when no schema is
// loaded for the object's apiVersion and kind.
var ErrUnknownType = errors.New("no schema for apiVersion and kind")

// Problem is one way in which an object does not match its schema.
type Problem struct {
	// Field is the path of the offending field, such as "spec.addresses"
	// or "spec.nodeSelectors[0].matchLabels"; empty for the whole object.
	Field string
	// Detail says what is wrong with the field.
	Detail string
}

// String renders the problem as "field: detail".
func (p Problem) String() string {
	if p.Field == "" {
		return p.Detail
	}
	return p.Field + ": " + p.Detail
}

// ValidationError is returned by Validate and lists every problem found in
// one object.
type ValidationError struct {
	// APIVersion, Kind and Name identify the object, as far as they could be
	// read from it.
	APIVersion, Kind, Name string
	// Problems is sorted by field path.
	Problems []Problem
	// unknownType is set when no schema matched apiVersion and kind.
	unknownType bool
}

// Error lists all problems on one line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %q: ", e.APIVersion, e.Kind, e.Name)
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns ErrUnknownType when the object's type has no schema.
func (e *ValidationError) Unwrap() error {
	if e.unknownType {
		return ErrUnknownType
	}
	return nil
}

// Validate checks obj, a custom object in the form given to
// pulumi-kubernetes, against the schema selected by its apiVersion and
// kind. It reports, in a single *ValidationError, every problem it finds:
// an apiVersion/kind without schema, a missing or malformed metadata.name,
// malformed or unknown metadata fields, values of the wrong type or out of
// the schema's bounds, missing required fields and fields the schema does
// not declare (which the apiserver would prune, or reject under
// fieldValidation=Strict). It returns nil if obj is valid.
//
// Values may use any Go types that map onto JSON: strings, bools, numbers
// of any width, nil, slices, arrays, maps with string keys, pointers to
// those, named types based on them, and values implementing
// json.Marshaler. obj is not modified.
func (s *Schemas) Validate(obj map[string]any) error {
	verr := &ValidationError{}
	add := func(path, format string, args ...any) {
		verr.Problems = append(verr.Problems, Problem{Field: path, Detail: fmt.Sprintf(format, args...)})
	}
	addFieldErrors := func(errs field.ErrorList) {
		for _, fe := range errs {
			path, detail := fe.Field, fe.ErrorBody()
			if path == "<nil>" {
				// kube-openapi reports format errors ("Checked value must
				// be of type integer with format int64 in spec.myASN")
				// without a path; recover it from the message.
				path = ""
				if i := strings.LastIndex(detail, " in "); i >= 0 && !strings.ContainsAny(detail[i+4:], " \t") {
					path = detail[i+4:]
				}
			}
			verr.Problems = append(verr.Problems, Problem{Field: path, Detail: detail})
		}
	}

	// Work on a JSON-shaped deep copy: the apiserver algorithms only
	// understand map[string]any, []any, string, bool, int64 and float64,
	// and pruning deletes fields in place.
	normalized, err := normalize(obj, nil)
	if err != nil {
		add("", "%v", err)
		return finish(verr)
	}
	u, _ := normalized.(map[string]any)
	if u == nil {
		add("", "object is nil")
		return finish(verr)
	}

	apiVersion, apiVersionOK := stringField(u, "apiVersion", add)
	kind, kindOK := stringField(u, "kind", add)
	verr.APIVersion, verr.Kind = apiVersion, kind
	verr.Name = checkMetadata(u, add)

	if !apiVersionOK || !kindOK {
		return finish(verr)
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		add("apiVersion", "%v", err)
		return finish(verr)
	}
	ts, ok := s.types[gv.WithKind(kind)]
	if !ok {
		verr.unknownType = true
		s.explainUnknown(gv, kind, add)
		return finish(verr)
	}

	// Unknown fields first: pruning removes them, so the schema validator
	// below sees exactly what the apiserver would store.
	for _, p := range pruning.PruneWithOptions(u, ts.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		add(p, "unknown field")
	}
	addFieldErrors(validation.ValidateCustomResource(nil, u, ts.validator))
	return finish(verr)
}

// finish sorts the problems and returns verr, or nil if there are none.
func finish(verr *ValidationError) error {
	if len(verr.Problems) == 0 {
		return nil
	}
	sort.SliceStable(verr.Problems, func(i, j int) bool {
		a, b := verr.Problems[i], verr.Problems[j]
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Detail < b.Detail
	})
	return verr
}

// stringField reads a required top-level string field.
func stringField(u map[string]any, name string, add func(path, format string, args ...any)) (string, bool) {
	v, ok := u[name]
	if !ok || v == nil {
		add(name, "Required value")
		return "", false
	}
	str, ok := v.(string)
	if !ok {
		add(name, "must be a string, got %s", jsonType(v))
		return "", false
	}
	if str == "" {
		add(name, "Required value")
		return "", false
	}
	return str, true
}

// checkMetadata validates metadata the way the apiserver does on create for
// fields a client sets: it must decode into ObjectMeta without unknown
// fields, and carry a valid name (and namespace, if any). It returns the
// name if it could be read.
func checkMetadata(u map[string]any, add func(path, format string, args ...any)) string {
	raw, ok := u["metadata"]
	if !ok || raw == nil {
		add("metadata", "Required value")
		add("metadata.name", "Required value")
		return ""
	}
	m, ok := raw.(map[string]any)
	if !ok {
		add("metadata", "must be an object, got %s", jsonType(raw))
		return ""
	}

	data, err := json.Marshal(m)
	if err != nil { // cannot happen for normalized values
		add("metadata", "%v", err)
		return ""
	}
	var meta metav1.ObjectMeta
	strictErrs, err := kjson.UnmarshalStrict(data, &meta)
	if err != nil {
		add("metadata", "%v", err)
	}
	for _, se := range strictErrs {
		var fe kjson.FieldError
		if errors.As(se, &fe) {
			add("metadata."+fe.FieldPath(), "unknown field")
		} else {
			add("metadata", "%v", se)
		}
	}

	var name string
	switch v := m["name"].(type) {
	case nil:
		add("metadata.name", "Required value")
	case string:
		name = v
		if v == "" {
			add("metadata.name", "Required value")
			break
		}
		for _, msg := range utilvalidation.IsDNS1123Subdomain(v) {
			add("metadata.name", "Invalid value: %q: %s", v, msg)
		}
	default:
		add("metadata.name", "must be a string, got %s", jsonType(v))
	}
	if ns, ok := m["namespace"].(string); ok && ns != "" {
		for _, msg := range utilvalidation.IsDNS1123Label(ns) {
			add("metadata.namespace", "Invalid value: %q: %s", ns, msg)
		}
	}
	return name
}

// explainUnknown reports why apiVersion/kind has no schema, naming the
// versions that do exist for the kind or the kinds that exist in the group.
func (s *Schemas) explainUnknown(gv schema.GroupVersion, kind string, add func(path, format string, args ...any)) {
	var versions, kinds []string
	for _, gvk := range s.Types() {
		if gvk.Group != gv.Group {
			continue
		}
		if gvk.Kind == kind {
			versions = append(versions, gvk.GroupVersion().String())
		} else if len(kinds) == 0 || kinds[len(kinds)-1] != gvk.Kind {
			kinds = append(kinds, gvk.Kind)
		}
	}
	switch {
	case len(versions) > 0:
		add("apiVersion", "Unsupported value: %q: kind %s is served as %s", gv.String(), kind, strings.Join(versions, ", "))
	case len(kinds) > 0:
		add("kind", "Unsupported value: %q: group %s has kinds %s", kind, gv.Group, strings.Join(kinds, ", "))
	default:
		add("apiVersion", "Unsupported value: %q: no schema loaded for group %q", gv.String(), gv.Group)
	}
}

// jsonType names the JSON type of a normalized value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

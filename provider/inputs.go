package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/metalk8s/metalk8s/config"
)

// InputErrors are every problem with a component's inputs, reported together; each names its
// input by its path (workers.count, servers.peers[0].asn), as the stack configuration's errors
// name their key.
type InputErrors []config.FieldError

func (es InputErrors) Error() string { return config.ListErrors("invalid inputs", es) }

// DecodeInputs turns a component's inputs into the configuration the program composes, through
// config.Parse: the same strict decoding, defaults and validation as the stack configuration
// object, every problem reported at once. The inputs must be known values (they decide what is
// registered); a secret is accepted where the setting is secret (the program keeps it secret)
// and refused elsewhere, where its value would be shown in the state.
func DecodeInputs(inputs property.Map) (*config.Cluster, error) {
	var errs InputErrors
	obj := plainMap(inputs, "", reflect.TypeFor[config.Cluster](), &errs)
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	cfg, err := config.Parse(raw)
	var cerrs config.Errors
	if err != nil && !errors.As(err, &cerrs) {
		return nil, err
	}
	bad := errs.Keys()
	for _, e := range cerrs {
		e.Key = strings.TrimPrefix(strings.TrimPrefix(e.Key, config.Key), ".")
		if !under(e.Key, bad) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// Keys lists the inputs named by the errors, in order.
func (es InputErrors) Keys() []string {
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return keys
}

// under says whether key is one of keys or inside one: the validation's view of an input that
// could not be decoded is not a second problem.
func under(key string, keys []string) bool {
	for _, k := range keys {
		if key == k || strings.HasPrefix(key, k+".") || strings.HasPrefix(key, k+"[") {
			return true
		}
	}
	return false
}

// plainMap is an object input as plain JSON values; t is the config type it decodes into (nil
// where the key is unknown, which config.Parse reports).
func plainMap(m property.Map, at string, t reflect.Type, errs *InputErrors) map[string]any {
	fields := map[string]reflect.StructField{}
	if t != nil {
		for _, f := range reflect.VisibleFields(t) {
			if name, _ := fieldName(f, "json"); name != "" {
				fields[name] = f
			}
		}
	}
	out := map[string]any{}
	for k, v := range m.AllStable {
		f, known := fields[k]
		var ft reflect.Type
		if known {
			ft = f.Type
		}
		if pv, ok := plain(v, join(at, k), ft, known && secretField(f), errs); ok {
			out[k] = pv
		}
	}
	return out
}

// plain is one input as a plain JSON value, false when it cannot be one.
func plain(v property.Value, at string, t reflect.Type, secretOK bool, errs *InputErrors) (any, bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v.Secret() && !secretOK {
		*errs = append(*errs, config.FieldError{Key: at, Value: "[secret]", Detail: "is a secret, but this " +
			"setting is not secret: the program would hand it on as a plain value; pass it as a plain value"})
		return nil, false
	}
	switch {
	case v.IsComputed():
		*errs = append(*errs, config.FieldError{Key: at, Detail: "is not known yet (an output of a resource " +
			"not created yet): every setting decides what the cluster registers, so it must be known when the program runs"})
		return nil, false
	case v.IsNull():
		return nil, true
	case v.IsBool():
		return v.AsBool(), true
	case v.IsNumber():
		return v.AsNumber(), true
	case v.IsString():
		return v.AsString(), true
	case v.IsArray():
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			elem = t.Elem()
		}
		list := []any{}
		for i, e := range v.AsArray().All {
			// An element that cannot be decoded keeps its place, so that the others keep their index.
			pv, _ := plain(e, at+"["+strconv.Itoa(i)+"]", elem, false, errs)
			list = append(list, pv)
		}
		return list, true
	case v.IsMap():
		var st reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			st = t
		}
		return plainMap(v.AsMap(), at, st, errs), true
	}
	*errs = append(*errs, config.FieldError{Key: at, Detail: "must be a plain value (not an asset, an archive or a resource)"})
	return nil, false
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

package crdcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"

	utiljson "k8s.io/apimachinery/pkg/util/json"
)

var jsonMarshalerType = reflect.TypeFor[json.Marshaler]()

// normalize returns a deep copy of v made only of the types produced by
// decoding JSON the way the apiserver does: map[string]any, []any, string,
// bool, int64, float64 and nil. path locates v for error messages.
func normalize(v any, path []string) (any, error) {
	if v == nil {
		return nil, nil
	}
	// Fast paths for the common, already JSON-shaped values.
	switch x := v.(type) {
	case string, bool, int64:
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalize(e, appendKey(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, appendIndex(path, i))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	return normalizeValue(reflect.ValueOf(v), path)
}

// normalizeValue handles every other Go type via reflection.
func normalizeValue(rv reflect.Value, path []string) (any, error) {
	if rv.Type().Implements(jsonMarshalerType) {
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil, nil
		}
		return viaJSON(rv.Interface(), path)
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface(), path)
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return float64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s: %v cannot be represented in JSON", pathString(path), f)
		}
		// Integral floats decode from JSON as int64, as the apiserver sees them.
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return int64(f), nil
		}
		return f, nil
	case reflect.Map:
		if rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map key type %s is not a string type", pathString(path), rv.Type().Key())
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := it.Key().String()
			n, err := normalize(it.Value().Interface(), appendKey(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalize(rv.Index(i).Interface(), appendIndex(path, i))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: unsupported value of type %s (only JSON-like data can be validated; resolve pulumi Outputs first)", pathString(path), rv.Type())
}

// viaJSON converts a json.Marshaler by encoding it and decoding the result
// with the apiserver's number handling.
func viaJSON(v any, path []string) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", pathString(path), err)
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil, nil
	}
	var out any
	if err := utiljson.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %v", pathString(path), err)
	}
	return out, nil
}

func appendKey(path []string, k string) []string {
	p := make([]string, len(path), len(path)+1)
	copy(p, path)
	if len(p) > 0 {
		k = "." + k
	}
	return append(p, k)
}

func appendIndex(path []string, i int) []string {
	p := make([]string, len(path), len(path)+1)
	copy(p, path)
	return append(p, "["+strconv.Itoa(i)+"]")
}

func pathString(path []string) string {
	if len(path) == 0 {
		return "<object>"
	}
	var b bytes.Buffer
	for _, s := range path {
		b.WriteString(s)
	}
	return b.String()
}

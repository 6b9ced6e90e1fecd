package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	sigsjson "sigs.k8s.io/json"
)

// typeErrorPattern pulls the field path and the expected type out of a JSON type error.
var typeErrorPattern = regexp.MustCompile(`cannot unmarshal (.+?) into Go struct field [A-Za-z]+\.(\S+) of type (\S+)`)

// describeType says in words what a Go type of the configuration holds.
func describeType(goType string) string {
	t := strings.TrimPrefix(goType, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		elem := describeType(t[2:])
		elem = strings.TrimPrefix(strings.TrimPrefix(elem, "an "), "a ")
		return "a list of " + elem + "s"
	case strings.HasPrefix(t, "map["):
		return "an object"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "an object"
}

// Parse decodes the JSON value of the metalk8s:cluster key, applies the defaults and validates it.
// It reports unknown and duplicate keys, wrong types and every validation problem together as
// Errors, so a user fixes a stack file in one pass.
func Parse(raw []byte) (*Cluster, error) {
	var c Cluster
	var v collector
	strictErrs, err := sigsjson.UnmarshalStrict(raw, &c)
	if err != nil {
		return nil, Errors{decodeError(err)}
	}
	for _, se := range strictErrs {
		var fe sigsjson.FieldError
		if !errors.As(se, &fe) {
			v.errs = append(v.errs, FieldError{Key: Key, Detail: se.Error()})
			continue
		}
		detail := "unknown key"
		if strings.HasPrefix(se.Error(), "duplicate") {
			detail = "duplicate key"
		}
		v.add(fe.FieldPath(), nil, "%s", detail)
	}
	c.ApplyDefaults()
	v.errs = append(v.errs, c.Validate()...)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return &c, nil
}

// decodeError turns a syntax or type error into a FieldError naming the key where possible.
func decodeError(err error) FieldError {
	if m := typeErrorPattern.FindStringSubmatch(err.Error()); m != nil {
		return FieldError{Key: Key + "." + m[2], Detail: fmt.Sprintf("must be %s, not %s", describeType(m[3]), m[1])}
	}
	if ok, off := sigsjson.SyntaxErrorOffset(err); ok {
		return FieldError{Key: Key, Detail: fmt.Sprintf("is not a valid JSON object (at byte %d): %v", off, err)}
	}
	return FieldError{Key: Key, Detail: err.Error()}
}

// Package kobj turns typed Kubernetes objects (upstream API types) into the plain maps
// pulumi-kubernetes takes.
package kobj

import "encoding/json"

// Object converts a typed object to a map, leaving out what the upstream types always write but
// a manifest must not carry: the zero metadata.creationTimestamp and an empty status.
func Object(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return m, nil
}

// Objects converts several typed objects.
func Objects[T any](vs []T) ([]any, error) {
	out := make([]any, 0, len(vs))
	for _, v := range vs {
		m, err := Object(v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

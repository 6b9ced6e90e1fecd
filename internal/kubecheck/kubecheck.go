// Package kubecheck checks a kubeadm configuration file against the upstream Go types before it
// is shipped to a node. kubeadm itself only warns about unknown fields and the kubelet and
// kube-proxy drop some mistakes silently, so a misspelt or mistyped field would otherwise surface
// as a cluster that comes up subtly wrong, long after the Pulumi preview said all was well.
//
// Every document is decoded strictly (unknown fields, duplicate keys and wrong types are errors)
// into the types of kubeadm.k8s.io/v1beta4, kubelet.config.k8s.io/v1beta1 and
// kubeproxy.config.k8s.io/v1alpha1.
package kubecheck

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	kubeproxy "k8s.io/kube-proxy/config/v1alpha1"
	kubelet "k8s.io/kubelet/config/v1beta1"
	kubeadm "sigs.k8s.io/cluster-api/bootstrap/kubeadm/pkg/types/upstreamv1beta4"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The kinds a configuration file may hold, for CheckKinds.
const (
	// KindInit is kubeadm's InitConfiguration, read by `kubeadm init` only.
	KindInit = "InitConfiguration"
	// KindCluster is kubeadm's ClusterConfiguration, shared by the whole cluster.
	KindCluster = "ClusterConfiguration"
	// KindJoin is kubeadm's JoinConfiguration, read by `kubeadm join` only.
	KindJoin = "JoinConfiguration"
	// KindKubelet is the kubelet's KubeletConfiguration, which kubeadm passes on to every kubelet.
	KindKubelet = "KubeletConfiguration"
	// KindKubeProxy is kube-proxy's KubeProxyConfiguration, which kubeadm stores in a ConfigMap.
	KindKubeProxy = "KubeProxyConfiguration"
)

// kindInfo says which apiVersion a kind must carry and which Go type it decodes into.
type kindInfo struct {
	apiVersion string
	newObject  func() any
}

// known is taken from the upstream packages' own group versions so that a bump of a module
// cannot leave the apiVersion check behind.
var known = map[string]kindInfo{
	KindInit:      {kubeadm.GroupVersion.String(), func() any { return new(kubeadm.InitConfiguration) }},
	KindCluster:   {kubeadm.GroupVersion.String(), func() any { return new(kubeadm.ClusterConfiguration) }},
	KindJoin:      {kubeadm.GroupVersion.String(), func() any { return new(kubeadm.JoinConfiguration) }},
	KindKubelet:   {kubelet.SchemeGroupVersion.String(), func() any { return new(kubelet.KubeletConfiguration) }},
	KindKubeProxy: {kubeproxy.SchemeGroupVersion.String(), func() any { return new(kubeproxy.KubeProxyConfiguration) }},
}

// Document is one non-empty document of a configuration file.
type Document struct {
	// Kind is the document's kind as written, "" when the document could not be read at all.
	Kind string
	// Object is a pointer to the upstream type for Kind, such as *upstreamv1beta4.InitConfiguration.
	// It is nil when the kind or apiVersion is not supported, and only partly filled when the
	// document has problems, so use it only when Check returned no error.
	Object any
}

// Problem is one defect found in a configuration file.
type Problem struct {
	// Doc is the index of the document in the slice Check returns (empty documents are not
	// counted), or -1 when the problem concerns the file as a whole.
	Doc int
	// Line is the line of the file where the document starts, from 1; 0 when Doc is -1.
	Line int
	// Kind is the document's kind, "" when it could not be read.
	Kind string
	// Path is the JSON path of the offending field, such as "apiServer.extraArgs[1].value", or ""
	// when the problem is not tied to one field (a YAML syntax error, for instance).
	Path string
	// Message says what is wrong.
	Message string
}

// String formats the problem on one line, naming the document, its kind and the field.
func (p Problem) String() string {
	var b strings.Builder
	if p.Doc < 0 {
		b.WriteString("file")
	} else {
		fmt.Fprintf(&b, "document %d", p.Doc)
		if p.Kind != "" {
			fmt.Fprintf(&b, " (%s)", p.Kind)
		}
		fmt.Fprintf(&b, " at line %d", p.Line)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is what Check and CheckKinds return when something is wrong. It holds every problem
// found, so that one run is enough to fix a file: document by document, then those CheckKinds
// adds. Within a document fields come in alphabetical order, the order of the JSON that the
// YAML is converted to.
type Error struct {
	Problems []Problem
}

// Error lists the problems, one a line.
func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "kubeadm configuration: " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kubeadm configuration: %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// Check decodes every document of a kubeadm configuration file strictly into its upstream type.
// The documents are returned even when there are problems, so that a caller can see what was
// understood; the error, an *Error, then lists every problem in every document.
func Check(file []byte) ([]Document, error) {
	docs, _, problems := check(file)
	return docs, asError(problems)
}

// CheckKinds is Check plus a check that the file holds exactly the given kinds, once each: a
// file meant for `kubeadm join` that lacks its JoinConfiguration would otherwise pass.
func CheckKinds(file []byte, kinds ...string) error {
	docs, starts, problems := check(file)
	want := map[string]bool{}
	for _, k := range kinds {
		if _, ok := known[k]; !ok {
			problems = append(problems, Problem{Doc: -1, Message: fmt.Sprintf("CheckKinds was asked for unsupported kind %q", k)})
		}
		want[k] = true
	}
	first := map[string]int{}
	for i, d := range docs {
		if _, ok := known[d.Kind]; !ok {
			continue // Check has reported it already
		}
		p := Problem{Doc: i, Line: starts[i], Kind: d.Kind, Path: "kind"}
		switch f, seen := first[d.Kind]; {
		case !want[d.Kind]:
			p.Message = "kind not expected in this file, want only " + strings.Join(kinds, ", ")
			if len(kinds) == 0 {
				p.Message = "kind not expected in this file, want no document"
			}
		case seen:
			p.Message = fmt.Sprintf("second %s, the first is document %d", d.Kind, f)
		default:
			first[d.Kind] = i
			continue
		}
		problems = append(problems, p)
	}
	for _, k := range kinds {
		if _, ok := first[k]; !ok && want[k] {
			want[k] = false // report a kind listed twice only once
			problems = append(problems, Problem{Doc: -1, Message: "no " + k + " document"})
		}
	}
	return asError(problems)
}

// asError returns nil for no problems, so that callers can test err != nil as usual.
func asError(problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &Error{Problems: problems}
}

// rawDocument is one document of the file as text, before decoding.
type rawDocument struct {
	line int // where it starts in the file, from 1
	text []byte
}

// split cuts the file on separator lines. Documents are not left to the YAML parser because
// sigs.k8s.io/yaml reads only the first document of its input and ignores the rest.
func split(file []byte) []rawDocument {
	var docs []rawDocument
	start, cur := 1, 0
	lines := bytes.SplitAfter(file, []byte("\n"))
	for i, l := range lines {
		if isSeparator(l) {
			docs = append(docs, rawDocument{start, bytes.Join(lines[cur:i], nil)})
			start, cur = i+2, i+1
		}
	}
	return append(docs, rawDocument{start, bytes.Join(lines[cur:], nil)})
}

// isSeparator accepts a trailing CR so that a file edited on Windows still splits.
func isSeparator(line []byte) bool {
	return string(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))) == "---"
}

// strayMarker finds a line that YAML takes for a document boundary but split does not, such as
// "--- # init" or "...": what follows it would be dropped silently by the YAML parser.
func strayMarker(text []byte) (offset int, found bool) {
	for i, l := range bytes.SplitAfter(text, []byte("\n")) {
		l = bytes.TrimRight(l, "\r\n")
		for _, m := range []string{"---", "..."} {
			if rest, ok := bytes.CutPrefix(l, []byte(m)); ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t') {
				return i, true
			}
		}
	}
	return 0, false
}

// toJSON converts one document. It pads the text with the lines before it so that the line
// numbers in YAML errors are those of the file, not of the document.
func toJSON(raw rawDocument) ([]byte, error) {
	padded := append(bytes.Repeat([]byte("\n"), raw.line-1), raw.text...)
	return yaml.YAMLToJSONStrict(padded)
}

// toJSONLenient is toJSON accepting duplicate keys, the last one winning.
func toJSONLenient(raw rawDocument) ([]byte, error) {
	padded := append(bytes.Repeat([]byte("\n"), raw.line-1), raw.text...)
	return yaml.YAMLToJSON(padded)
}

// isEmpty is true for a document holding only comments or blanks, which YAML reads as null.
func isEmpty(j []byte) bool {
	return string(bytes.TrimSpace(j)) == "null"
}

// check does the work of Check; it also returns where each document starts, for CheckKinds.
func check(file []byte) ([]Document, []int, []Problem) {
	var docs []Document
	var starts []int
	var problems []Problem
	for _, raw := range split(file) {
		j, err := toJSON(raw)
		if err == nil && isEmpty(j) {
			continue
		}
		doc, found := checkDocument(raw, j, err)
		for _, fp := range found {
			problems = append(problems, Problem{Doc: len(docs), Line: raw.line, Kind: doc.Kind, Path: fp.path, Message: fp.message})
		}
		docs = append(docs, doc)
		starts = append(starts, raw.line)
	}
	return docs, starts, problems
}

// checkDocument checks one non-empty document, given its strict conversion to JSON.
func checkDocument(raw rawDocument, j []byte, err error) (Document, []fieldProblem) {
	var doc Document
	var found []fieldProblem
	report := func(path, msg string) {
		found = append(found, fieldProblem{path, msg})
	}
	if n, ok := strayMarker(raw.text); ok {
		report("", fmt.Sprintf("line %d is a YAML document marker: the parser ignores what follows it; separate documents with a line of exactly ---", raw.line+n))
	}
	if err != nil {
		found = append(found, yamlProblems(raw.text, err)...)
		// A duplicate key is a strict-only error: read the document leniently to learn its
		// kind and find the problems in its other fields.
		if j, err = toJSONLenient(raw); err != nil {
			return doc, found
		}
	}
	var head map[string]any
	if err := json.Unmarshal(j, &head); err != nil || head == nil {
		report("", "document is not a mapping")
		return doc, found
	}
	kind, ok := head["kind"].(string)
	if !ok || kind == "" {
		report("kind", "missing or not a string")
		return doc, found
	}
	doc.Kind = kind
	info, ok := known[kind]
	if !ok {
		report("kind", fmt.Sprintf("unsupported kind %q, want one of %s", kind, strings.Join(knownKinds(), ", ")))
		return doc, found
	}
	if v, _ := head["apiVersion"].(string); v != info.apiVersion {
		// Decoding a document of another version would bury this one line under misleading
		// complaints about fields that moved between versions.
		report("apiVersion", fmt.Sprintf("got %s, want %q for %s", describe(head["apiVersion"]), info.apiVersion, kind))
		return doc, found
	}
	doc.Object = info.newObject()
	return doc, append(found, decode(j, doc.Object)...)
}

// describe quotes a value for a message, saying so when it is absent.
func describe(v any) string {
	if v == nil {
		return "none"
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

func knownKinds() []string {
	var ks []string
	for k := range known {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// yamlMessages splits the YAML parser's list of errors (one a line after a heading) into
// separate messages, so that each one is its own problem.
func yamlMessages(err error) []string {
	msg := err.Error()
	const heading = "yaml: unmarshal errors:\n"
	if !strings.HasPrefix(msg, heading) {
		return []string{msg}
	}
	var out []string
	for l := range strings.SplitSeq(strings.TrimPrefix(msg, heading), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, "yaml: "+l)
		}
	}
	return out
}

var duplicateMessage = regexp.MustCompile(`^yaml: line (\d+): key .* already set in map$`)

// yamlProblems turns a strict YAML error into problems. The YAML parser catches duplicate keys
// before the JSON decoder could, and names only their line: find their paths too.
func yamlProblems(text []byte, err error) []fieldProblem {
	msgs := yamlMessages(err)
	paths := duplicatePaths(text)
	var out []fieldProblem
	for i, msg := range msgs {
		m := duplicateMessage.FindStringSubmatch(msg)
		if m == nil || len(paths) != len(msgs) {
			// Not only duplicates, or the walk disagrees with the parser: do not guess.
			out = append(out, fieldProblem{"", msg})
			continue
		}
		out = append(out, fieldProblem{paths[i], "duplicate key at line " + m[1]})
	}
	return out
}

// duplicatePaths lists the paths of repeated keys in the order the YAML parser reports them.
// Decoding into MapSlice keeps every key, nested mappings included, where a map would not.
func duplicatePaths(text []byte) []string {
	var root yamlv2.MapSlice
	if yamlv2.Unmarshal(text, &root) != nil {
		return nil
	}
	var out []string
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case yamlv2.MapSlice:
			seen := map[string]bool{}
			for _, item := range v {
				p := join(path, fmt.Sprint(item.Key))
				if seen[p] {
					out = append(out, p)
				}
				seen[p] = true
				walk(item.Value, p)
			}
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(root, "")
	return out
}

// fieldProblem is a decoding problem at a path relative to the value being decoded.
type fieldProblem struct {
	path, message string
}

// unmarshalStrict asks for duplicate fields too, although the strict YAML conversion rejects
// duplicate keys first, so that the check does not depend on that.
func unmarshalStrict(j []byte, v any) ([]error, error) {
	return sigsjson.UnmarshalStrict(j, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
}

// decode decodes j strictly into v, a pointer, and returns every problem.
func decode(j []byte, v any) []fieldProblem {
	strict, err := unmarshalStrict(j, v)
	if err == nil {
		return strictProblems(strict, "")
	}
	// The decoder keeps only its first non-strict error (a wrong type, say) and then drops
	// the strict ones, so look for all of them by decoding the value piece by piece.
	return locate(j, reflect.TypeOf(v).Elem(), "")
}

// strictProblems turns the strict errors into problems under prefix.
func strictProblems(errs []error, prefix string) []fieldProblem {
	var out []fieldProblem
	for _, e := range errs {
		msg, path := e.Error(), ""
		var fe sigsjson.FieldError
		if errors.As(e, &fe) {
			path = fe.FieldPath()
			// The message repeats the path ("unknown field \"a.b\""): keep only the verdict.
			if m, ok := strings.CutSuffix(msg, " "+strconv.Quote(path)); ok {
				msg = m
			}
		}
		out = append(out, fieldProblem{join(prefix, path), msg})
	}
	return out
}

// join appends a relative path to a prefix, without a dot before an index.
func join(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "" || strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
	argsType        = reflect.TypeFor[[]kubeadm.Arg]()
)

// locate decodes j into a fresh value of type t and, if that fails, decodes its members one by
// one to find every failing field. A value whose own decoding fails (a leaf, or a type that
// decodes itself, like a duration) is reported as a whole.
func locate(j []byte, t reflect.Type, path string) []fieldProblem {
	strict, err := unmarshalStrict(j, reflect.New(t).Interface())
	if err == nil {
		return strictProblems(strict, path)
	}
	var out []fieldProblem
	if elem := t; !decodesItself(elem) {
		for elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		if !decodesItself(elem) {
			out = locateMembers(j, elem, path)
		}
	}
	if len(out) > 0 {
		return out
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if t == argsType && bytes.HasPrefix(bytes.TrimSpace(j), []byte("{")) {
		msg += " (v1beta4 wants a list of {name, value}, not the map of v1beta3)"
	}
	return []fieldProblem{{path, msg}}
}

// decodesItself is true for a type with its own decoding, whose members mean nothing to JSON.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(unmarshalerType) || p.Implements(textType)
}

// locateMembers recurses into the members of a struct, map, slice or array; it returns nothing
// when j does not have the shape of t, leaving the caller to report the mismatch.
func locateMembers(j []byte, t reflect.Type, path string) []fieldProblem {
	var out []fieldProblem
	switch t.Kind() {
	case reflect.Struct:
		members, ok := objectMembers(j)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for _, m := range members {
			ft, ok := fields[m.key]
			if !ok {
				out = append(out, fieldProblem{join(path, m.key), "unknown field"})
				continue
			}
			out = append(out, locate(m.value, ft, join(path, m.key))...)
		}
	case reflect.Map:
		members, ok := objectMembers(j)
		if !ok || t.Key().Kind() != reflect.String {
			return nil
		}
		for _, m := range members {
			out = append(out, locate(m.value, t.Elem(), join(path, m.key))...)
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(j, &items) != nil {
			return nil
		}
		for i, item := range items {
			out = append(out, locate(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// member is one key of a JSON object with its raw value.
type member struct {
	key   string
	value json.RawMessage
}

// objectMembers reads a JSON object keeping its keys in order, so that problems come out in a
// stable order (the YAML to JSON conversion has sorted the keys already).
func objectMembers(j []byte) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(j))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{key, v})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return out, true
}

// jsonFields maps the JSON names of a struct's fields to their types the way encoding/json
// sees them: fields of embedded structs without a name are promoted, unless an outer field has
// the same name.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var embedded []reflect.Type
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	for _, e := range embedded {
		for name, ft := range jsonFields(e) {
			if _, ok := out[name]; !ok {
				out[name] = ft
			}
		}
	}
	return out
}

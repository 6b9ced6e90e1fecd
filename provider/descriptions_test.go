package provider

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// update regenerates the golden files (descriptions.json, testdata/schema.json): go test
// ./provider -update, then review the diff.
var update = flag.Bool("update", false, "rewrite descriptions.json and testdata/schema.json")

// docSources are the packages whose types make up the schema.
var docSources = []string{"../config", "../components/topology", "."}

// docComments are the doc comments of every exported struct type and field of the schema's
// packages, keyed as typeKey does (package.Type, package.Type.Field), one line each.
func docComments(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range docSources {
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			pkg := f.Name.Name
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.TYPE {
					continue
				}
				for _, spec := range gd.Specs {
					ts := spec.(*ast.TypeSpec)
					st, ok := ts.Type.(*ast.StructType)
					if !ok || !ts.Name.IsExported() {
						continue
					}
					doc := ts.Doc
					if doc == nil && len(gd.Specs) == 1 {
						doc = gd.Doc
					}
					if text := oneLine(doc); text != "" {
						out[pkg+"."+ts.Name.Name] = text
					}
					for _, field := range st.Fields.List {
						for _, n := range field.Names {
							if text := oneLine(field.Doc); n.IsExported() && text != "" {
								out[pkg+"."+ts.Name.Name+"."+n.Name] = text
							}
						}
					}
				}
			}
		}
	}
	return out
}

func oneLine(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

// TestDescriptionsFollowTheDocComments keeps descriptions.json (embedded in the provider, which
// has no sources to read at run time) equal to the doc comments of the config, topology and
// provider types: the schema describes every input as the configuration's own documentation does.
func TestDescriptionsFollowTheDocComments(t *testing.T) {
	want := docComments(t)
	if *update {
		writeJSON(t, "descriptions.json", want)
		return
	}
	var got map[string]string
	if err := json.Unmarshal(descriptionsJSON, &got); err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for k, v := range want {
		if got[k] != v {
			diffs = append(diffs, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("descriptions.json is stale for %v: go test ./provider -update", diffs)
	}
}

// writeJSON writes v as indented JSON with a final newline.
func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

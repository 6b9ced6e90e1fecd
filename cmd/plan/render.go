package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// WriteJSON prints the plan as JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WriteText prints the plan as a tree, the way `pulumi preview` lists resources, with each
// resource's inputs below it.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := "preview: values only the cloud knows are shown as " + computed
	switch {
	case p.Simulate && p.Site != "":
		mode = fmt.Sprintf("simulated at a %s site: fake values from the documentation ranges", p.Site)
	case p.Simulate:
		mode = "simulated: fake values from the documentation ranges"
	}
	fmt.Fprintf(&b, "Plan of project %s, stack %s (%s)\n", p.Project, p.Stack, mode)
	for _, ph := range p.Placeholders {
		fmt.Fprintf(&b, "note: %s is encrypted; an offline placeholder stands in for it\n", ph)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	fmt.Fprintf(&b, "\n+ pulumi:pulumi:Stack %s-%s\n", p.Project, p.Stack)
	for _, s := range p.Roots {
		writeStep(&b, s, 1)
	}
	names := make([]string, len(p.CriticalPath))
	for i, step := range p.CriticalPath {
		names[i] = step[strings.LastIndex(step, " ")+1:]
	}
	fmt.Fprintf(&b, "\ncritical path: %d steps: %s\n", len(names), strings.Join(names, " → "))
	b.WriteString("\nOutputs:\n")
	writeMap(&b, p.Outputs, "    ")
	fmt.Fprintf(&b, "\nResources: %d to create, %d to read\n", p.count+1-p.reads, p.reads)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeStep(b *strings.Builder, s *Step, depth int) {
	pad := strings.Repeat("  ", depth)
	op, note := "+", ""
	if s.Read {
		op, note = ">", " (read)"
	}
	fmt.Fprintf(b, "%s%s %s %s%s\n", pad, op, s.Type, s.Name, note)
	if len(s.DependsOn) > 0 {
		names := make([]string, len(s.DependsOn))
		for i, d := range s.DependsOn {
			names[i] = depName(d)
		}
		fmt.Fprintf(b, "%s    (depends on %s)\n", pad, strings.Join(names, ", "))
	}
	if len(s.ReplacedBy) > 0 {
		fmt.Fprintf(b, "%s    (replaced when %s changes)\n", pad, strings.Join(s.ReplacedBy, " or "))
	}
	if s.DeleteBeforeReplace {
		fmt.Fprintf(b, "%s    (a replacement deletes it first)\n", pad)
	}
	if len(s.Refused) > 0 {
		fmt.Fprintf(b, "%s    (the provider refuses a change of %s)\n", pad, strings.Join(s.Refused, " or "))
	}
	writeMap(b, s.Inputs, pad+"    ")
	for _, c := range s.Children {
		writeStep(b, c, depth+1)
	}
}

// writeMap prints a map as YAML-like lines with sorted keys.
func writeMap(b *strings.Builder, m map[string]any, pad string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		writeValue(b, k+":", m[k], pad)
	}
}

func writeValue(b *strings.Builder, label string, v any, pad string) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			fmt.Fprintf(b, "%s%s {}\n", pad, label)
			return
		}
		fmt.Fprintf(b, "%s%s\n", pad, label)
		writeMap(b, t, pad+"  ")
	case []any:
		if len(t) == 0 {
			fmt.Fprintf(b, "%s%s []\n", pad, label)
			return
		}
		fmt.Fprintf(b, "%s%s\n", pad, label)
		for _, e := range t {
			writeValue(b, "-", e, pad+"  ")
		}
	case string:
		if strings.Contains(t, "\n") {
			fmt.Fprintf(b, "%s%s |\n", pad, label)
			for _, line := range strings.Split(strings.TrimRight(t, "\n"), "\n") {
				fmt.Fprintf(b, "%s  %s\n", pad, line)
			}
			return
		}
		if t == computed || t == secret {
			fmt.Fprintf(b, "%s%s %s\n", pad, label, t)
			return
		}
		fmt.Fprintf(b, "%s%s %s\n", pad, label, strconv.Quote(t))
	case float64:
		fmt.Fprintf(b, "%s%s %s\n", pad, label, strconv.FormatFloat(t, 'f', -1, 64))
	default:
		fmt.Fprintf(b, "%s%s %v\n", pad, label, t)
	}
}

package tests

import (
	"strings"
	"testing"
)

// TestEveryScriptIsReadWhole checks every script a remote step pipes to bash -s, in both modes: its
// body must be one block (opened after the header comment, closed on the last line) whose first
// command points standard input at /dev/null. bash reads a whole compound command before running
// it, so a child that reads standard input (a dpkg prompt, kubectl or kubeadm waiting on input)
// finds nothing there instead of eating the rest of the script. The script harness of
// components/bootstrap shows what happens without it (TestChildReadsStdin); this test makes sure
// no step's script, the Calico ones included, is left out.
func TestEveryScriptIsReadWhole(t *testing.T) {
	for _, mode := range []string{"calico", "bird-local-peer"} {
		t.Run(mode, func(t *testing.T) {
			c := devCluster(t)
			set(t, c, "loadBalancer.mode", mode)
			r := run(t, c, runOptions{})
			if r.err != nil {
				t.Fatal(r.err)
			}
			checked := 0
			for _, res := range r.ofType(commandToken) {
				if input(res, "stdin") == nil {
					continue
				}
				script := stdin(t, r, res.Name)
				if !strings.HasPrefix(script, "#!") {
					continue
				}
				checked++
				if !strings.Contains(script, "\n{\nexec </dev/null\n") {
					t.Errorf("%s: the script is not one block reading /dev/null", res.Name)
				}
				if !strings.HasSuffix(script, "\n}\n") {
					t.Errorf("%s: the script's block is not closed on its last line", res.Name)
				}
			}
			if checked < 8 {
				t.Errorf("only %d scripts checked", checked)
			}
		})
	}
}

package bootstrap

import (
	"fmt"
	"strings"
	"testing"
)

// TestTokenStepsRace: token steps of workers added at once run together on the controller, and
// each may find no Secret before any has created it. The API server then refuses every create but
// the first with AlreadyExists (kubectl create exits 1 and prints "Error from server
// (AlreadyExists)"); the kubectl stand-in does the same. Every step must succeed and one Secret
// exist.
func TestTokenStepsRace(t *testing.T) {
	t.Run("lost the race", func(t *testing.T) {
		// Another step created the Secret after this one looked for it: the look fails once.
		n := newNode(t)
		apiUp(t, n)
		n.setState(t, "secrets/kube-system/bootstrap-token-"+testTokenID, "made by another step\n")
		n.inject(t, "1 1 kubectl * get secret *")
		r := n.run(t, tokenScript(t))
		mustSucceed(t, r)
		wantCalls(t, r.calls, "kubectl * create -f -", 1)
		if s, _ := n.readState(t, "secrets/kube-system/bootstrap-token-"+testTokenID); s != "made by another step\n" {
			t.Errorf("the Secret was replaced:\n%s", s)
		}
	})
	t.Run("refused otherwise", func(t *testing.T) {
		// AlreadyExists is success only once the Secret is seen: a refusal of another kind fails.
		n := newNode(t)
		apiUp(t, n)
		n.inject(t, "1 always kubectl * create -f -")
		if r := n.run(t, tokenScript(t)); r.code == 0 {
			t.Errorf("succeeded though the Secret was never created; stderr:\n%s", r.stderr)
		}
	})
	t.Run("five at once", func(t *testing.T) {
		n := newNode(t)
		apiUp(t, n)
		s := tokenScript(t)
		t.Run("steps", func(t *testing.T) {
			for i := range 5 {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					t.Parallel()
					mustSucceed(t, n.run(t, s))
				})
			}
		})
		secret, ok := n.readState(t, "secrets/kube-system/bootstrap-token-"+testTokenID)
		if !ok || !strings.Contains(secret, "token-secret: "+testTokenSecret) {
			t.Errorf("no valid Secret after the parallel steps:\n%s", secret)
		}
	})
}

// TestChildReadsStdin: the scripts arrive on bash's standard input (bash -s, as remote.Command
// sends them), which a child inherits. bash reads such a script a command at a time, so a child
// that reads its standard input (a stand-in doing so here, a dpkg conffile prompt on a node) used
// to take the rest of the script with it and the script ended early with success. Every command
// the scripts run must find nothing there.
func TestChildReadsStdin(t *testing.T) {
	for _, c := range []struct {
		name, reader, calls string
		script              func(*testing.T) script
		seed                func(*testing.T, *node)
		check               func(*testing.T, *node, result)
	}{
		{"token", "kubectl", "kubectl * get secret *", tokenScript, apiUp, checkToken},
		{"init", "kubeadm", "kubeadm *", initScript, func(*testing.T, *node) {}, checkInit},
	} {
		t.Run(c.name+" with "+c.reader, func(t *testing.T) {
			n := newNode(t)
			c.seed(t, n)
			n.setState(t, "reads-stdin/"+c.reader, c.calls)
			r := n.run(t, c.script(t))
			mustSucceed(t, r)
			c.check(t, n, r)
		})
	}
}

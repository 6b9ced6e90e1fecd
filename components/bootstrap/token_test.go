package bootstrap

import (
	"strconv"
	"strings"
	"testing"
)

// TestJoinRemovesAnOldJoinFile: metalk8s used to keep the kubeadm join file, holding the join token
// every worker shared, on every worker. A join step that runs again on such a worker (its standard
// input changed when workers got tokens of their own) leaves the joined node alone and removes the
// file; nothing else changes.
func TestJoinRemovesAnOldJoinFile(t *testing.T) {
	n := newNode(t)
	joined(t, n)
	before := n.snapshot(t)
	n.write(t, "etc/metalk8s/kubeadm-join.yaml", "discovery:\n  bootstrapToken:\n    token: shared.0123456789abcdef\n", 0o600)
	r := n.run(t, joinScript(t))
	mustSucceed(t, r)
	noKubeadm(t, n, r)
	wantAbsent(t, n, "etc/metalk8s/kubeadm-join.yaml")
	if d := diff(before, n.snapshot(t)); d != "" {
		t.Errorf("the node changed otherwise:\n%s", d)
	}
	if !strings.Contains(r.stderr, "removed the join file an earlier run left") {
		t.Errorf("stderr does not say the old file went:\n%s", r.stderr)
	}
}

// TestChildReadsStdin: the scripts arrive on bash's standard input (bash -s, as remote.Command
// sends them), which a child inherits. bash reads such a script a command at a time, so a child
// that reads its standard input (a stand-in doing so here, a dpkg conffile prompt on a node) used
// to take the rest of the script with it and the script ended early with success. Every command
// the scripts run must find nothing there; inside the token retirement's loop too, whose input is
// the list of tokens (a deletion reading it would leave the rest of the list undeleted).
func TestChildReadsStdin(t *testing.T) {
	for _, c := range []struct {
		name, reader, calls string
		script              func(*testing.T) script
		seed                func(*testing.T, *node)
		check               func(*testing.T, *node, result)
	}{
		{"token", "kubectl", "kubectl * get secret *", tokenScript, apiUp, checkToken},
		{"init", "kubeadm", "kubeadm *", initScript, func(*testing.T, *node) {}, checkInit},
		{"retire-tokens", "kubectl", "kubectl * delete secret *", retireTokensScript, withTokens, checkRetired},
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

// TestTokenTTLValidated: a join token's TTL must lie ahead (kubeadm's TTL of 0 is a token that
// never expires); the default is DefaultTokenTTLMinutes, and a negative one is refused, naming it.
func TestTokenTTLValidated(t *testing.T) {
	for ttl, ok := range map[int]bool{0: true, 1: true, 60: true, -1: false, -60: false} {
		a := shapeArgs()
		a.TokenTTLMinutes = ttl
		a = a.withDefaults()
		err := a.validate()
		if got := err == nil; got != ok {
			t.Errorf("TokenTTLMinutes %d: accepted %v, want %v (%v)", ttl, got, ok, err)
		}
		if err != nil && !strings.Contains(err.Error(), "TokenTTLMinutes "+strconv.Itoa(ttl)) {
			t.Errorf("TokenTTLMinutes %d: the error does not name it: %v", ttl, err)
		}
		if ttl == 0 && a.TokenTTLMinutes != DefaultTokenTTLMinutes {
			t.Errorf("the default TTL is %d, want %d", a.TokenTTLMinutes, DefaultTokenTTLMinutes)
		}
	}
	if _, err := RenderToken(TokenData{Worker: "w", TokenID: "abcdef", TokenSecret: "0123456789abcdef"}); err == nil {
		t.Error("a token script with a TTL of 0 rendered")
	}
}

package bootstrap

import (
	"strings"
	"testing"
)

// TestPrepareRefusesOtherSystems: the preparation adds Docker's and pkgs.k8s.io's Ubuntu
// repositories (download.docker.com/linux/ubuntu, by the release's codename), which serve no
// other system; on anything but Ubuntu 22.04 or 24.04 it stops before changing anything, naming
// the node and the system found.
func TestPrepareRefusesOtherSystems(t *testing.T) {
	for _, c := range []struct {
		name, osRelease string
		ok              bool
	}{
		{"ubuntu-24.04", osRelease, true},
		{"ubuntu-22.04", strings.NewReplacer("noble", "jammy", "24.04", "22.04").Replace(osRelease), true},
		{"debian-12", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n", false},
		{"ubuntu-20.04", strings.NewReplacer("noble", "focal", "24.04", "20.04").Replace(osRelease), false},
		{"quoted-rocky", "ID=\"rocky\"\nVERSION_ID=\"9.4\"\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t)
			n.write(t, "etc/os-release", c.osRelease, 0o644)
			r := n.run(t, prepareScript(t, false))
			if c.ok {
				// The stand-in repositories serve noble's packages only: on jammy the run goes
				// past the check and stops at the package candidates.
				if strings.Contains(r.stderr, "metalk8s prepares Ubuntu") {
					t.Errorf("refused a supported system:\n%s", r.stderr)
				}
				return
			}
			if r.code == 0 {
				t.Fatal("prepared a system it has no packages for")
			}
			if !strings.Contains(r.stderr, testWorker+" runs ") || !strings.Contains(r.stderr, "Ubuntu 22.04 (jammy) and 24.04 (noble) only") {
				t.Errorf("the refusal does not say what was found and what is needed:\n%s", r.stderr)
			}
			if ch := changes(r.calls); len(ch) > 0 {
				t.Errorf("changed the machine before refusing: %v", ch)
			}
		})
	}
}

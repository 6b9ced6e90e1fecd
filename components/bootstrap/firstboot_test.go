package bootstrap

import (
	"strings"
	"testing"
)

// TestFirstBoot: on a new Ubuntu 24.04 machine cloud-init, and the unattended upgrades and apt
// runs it starts, hold apt's locks for minutes. apt-get install fails at once on dpkg's lock
// ("Could not get lock /var/lib/dpkg/lock-frontend") unless DPkg::Lock::Timeout lets it wait
// (apt.conf(5)); apt-get update takes the package lists' lock, which it never waits for
// (pkgAcquire::GetLock in apt-pkg/acquire.cc at apt 3.1.12; apt-get update of apt 2.6.1 run here
// against a held lock exits 100 at once), so only its retries outlast it. The stand-ins model
// both: apt-get install fails while $state/dpkg-lock is held longer than its lock timeout, and
// `cloud-init status --wait` returns once cloud-init's own apt runs are over; apt-get update fails
// until the script has slept as long as $state/lists-lock says.
func TestFirstBoot(t *testing.T) {
	for _, c := range []struct {
		lock, holder string
	}{
		{"dpkg-lock", "cloud-init 900"},      // released when cloud-init finishes
		{"dpkg-lock", "unattended-upgr 300"}, // outlives cloud-init: apt's lock timeout covers it
		{"lists-lock", "apt.systemd.daily 150"},
	} {
		t.Run(c.lock+"/"+c.holder, func(t *testing.T) {
			n := newNode(t)
			n.setState(t, c.lock, c.holder+"\n")
			r := n.run(t, prepareScript(t, false))
			mustSucceed(t, r)
			checkPrepared(false)(t, n, r)
			wantCalls(t, r.calls, "cloud-init status --wait", 1)
		})
	}
}

// TestPackageListsLockHeldThreeMinutes: a lists lock held for three minutes fails apt-get
// update nine times; the tenth attempt, after 180 s of waiting, gets it.
func TestPackageListsLockHeldThreeMinutes(t *testing.T) {
	n := newNode(t)
	n.setState(t, "lists-lock", "apt.systemd.daily 180\n")
	r := n.run(t, prepareScript(t, false))
	mustSucceed(t, r)
	wantCalls(t, r.calls, "apt-get update *", 10)
	if got := strings.Join(sleeps(r.calls), " "); got != updateBackoff {
		t.Errorf("slept %q, want %q", got, updateBackoff)
	}
}

package bootstrap

import "testing"

// TestFirstBoot: on a new Ubuntu 24.04 machine cloud-init, and the unattended upgrades it starts,
// hold dpkg's lock for minutes; apt then fails at once ("Could not get lock
// /var/lib/dpkg/lock-frontend") unless DPkg::Lock::Timeout lets it wait (apt.conf(5)), and the
// retries' budget of about 30 seconds ran out. The stand-ins model that: apt-get fails while
// $state/dpkg-lock is held longer than its lock timeout, and `cloud-init status --wait` returns
// once cloud-init's own apt runs are over.
func TestFirstBoot(t *testing.T) {
	for _, lock := range []string{
		"cloud-init 900",      // released when cloud-init finishes
		"unattended-upgr 300", // outlives cloud-init: apt's lock timeout covers it
	} {
		t.Run(lock, func(t *testing.T) {
			n := newNode(t)
			n.setState(t, "dpkg-lock", lock+"\n")
			r := n.run(t, prepareScript(t, false))
			mustSucceed(t, r)
			checkPrepared(false)(t, n, r)
			wantCalls(t, r.calls, "cloud-init status --wait", 1)
		})
	}
}

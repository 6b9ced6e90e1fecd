package realkube

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Netns is a network namespace of the test's own: only its loopback interface, up, carrying the
// addresses a node would have. Nothing in it reaches the machine's network.
type Netns struct {
	// Name is the namespace's name under /run/netns.
	Name string
	ip   string
}

var netnsSeq atomic.Int64

// namePrefix starts the names of the namespaces the tests make; the process ID follows.
const namePrefix = "metalk8s-test-"

// NewNetns makes a network namespace whose lo carries addrs (each as a /32) and removes it when
// the test ends. It needs root and iproute2's ip; without them the test is skipped (fails with
// CI=true). Namespaces left by test processes that no longer exist are removed first.
func NewNetns(t testing.TB, addrs ...string) *Netns {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "network namespaces need root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		missing(t, "ip (iproute2) is not installed; the test command installs it")
	}
	removeStale(ip)
	n := &Netns{Name: fmt.Sprintf("%s%d-%d", namePrefix, os.Getpid(), netnsSeq.Add(1)), ip: ip}
	if r := Run(exec.Command(ip, "netns", "add", n.Name), 10*time.Second); r.Err != nil {
		t.Fatalf("%s", r)
	}
	t.Cleanup(func() {
		if r := Run(exec.Command(ip, "netns", "delete", n.Name), 10*time.Second); r.Err != nil {
			t.Errorf("%s", r)
		}
	})
	// Dummy interfaces are not available in every sandbox; addresses on lo are.
	steps := [][]string{{"link", "set", "lo", "up"}}
	for _, a := range addrs {
		steps = append(steps, []string{"addr", "add", a + "/32", "dev", "lo"})
	}
	for _, s := range steps {
		if r := Run(exec.Command(ip, append([]string{"-n", n.Name}, s...)...), 10*time.Second); r.Err != nil {
			t.Fatalf("%s", r)
		}
	}
	return n
}

// removeStale deletes the namespaces of test processes that have exited.
func removeStale(ip string) {
	r := Run(exec.Command(ip, "netns", "list"), 10*time.Second)
	for _, line := range strings.Split(r.Stdout, "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, namePrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			Run(exec.Command(ip, "netns", "delete", name), 10*time.Second)
		}
	}
}

// Command runs path with args inside the namespace. ip netns exec enters the namespace and then
// executes path itself, so the process started is path's, with path's PID.
func (n *Netns) Command(path string, args ...string) *exec.Cmd {
	return exec.Command(n.ip, append([]string{"netns", "exec", n.Name, path}, args...)...)
}

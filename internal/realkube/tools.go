// Package realkube lets tests run the real Kubernetes tools on what metalk8s renders: it finds the
// binaries scripts/kube-tools.sh builds (kubeadm, kube-apiserver, kube-controller-manager, kubectl
// v1.37.2, etcd v3.7.0 and discover, kubeadm's own join discovery), runs them with bounded
// timeouts, checks a kubeadm file with the loader of the subcommand it is handed to, has kubeadm
// write a control plane's certificates, kubeconfigs and static Pod manifests in a scratch
// directory, and starts etcd, kube-apiserver and kube-controller-manager from those manifests in
// a network namespace of their own.
//
// A test that needs the tools is skipped when they are missing, and fails instead when CI=true.
package realkube

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Env names the directory holding the tools; the test command sets it to what
// scripts/kube-tools.sh prints.
const Env = "METALK8S_KUBE_TOOLS"

// Names are the tools the directory must hold.
var Names = []string{"kubeadm", "kube-apiserver", "kube-controller-manager", "kubectl", "etcd", "discover"}

// Tools is a directory of the built tools.
type Tools struct{ dir string }

// Need returns the tools, or skips the test when they are missing (fails it with CI=true).
func Need(t testing.TB) Tools {
	t.Helper()
	dir := os.Getenv(Env)
	problem := ""
	if dir == "" {
		problem = Env + " is not set"
	} else {
		for _, n := range Names {
			if info, err := os.Stat(filepath.Join(dir, n)); err != nil || info.Mode()&0o111 == 0 {
				problem = fmt.Sprintf("%s/%s is missing", dir, n)
				break
			}
		}
	}
	if problem != "" {
		missing(t, problem+" (export "+Env+"=$(bash scripts/kube-tools.sh); the test command does)")
	}
	return Tools{dir: dir}
}

// missing skips the test, or fails it in CI, where the test command provides everything.
func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required in CI: %s", why)
	}
	t.Skip(why)
}

// Path is the path of the tool name.
func (tl Tools) Path(name string) string { return filepath.Join(tl.dir, name) }

// Dir is the directory holding the tools.
func (tl Tools) Dir() string { return tl.dir }

// Command returns the tool name with args, ready for Run.
func (tl Tools) Command(name string, args ...string) *exec.Cmd {
	return exec.Command(tl.Path(name), args...)
}

// Result is what one command did.
type Result struct {
	// Args is the command line.
	Args []string
	// Stdout and Stderr are what it printed.
	Stdout, Stderr string
	// Err is nil when it exited 0.
	Err error
}

func (r Result) String() string {
	status := "ok"
	if r.Err != nil {
		status = r.Err.Error()
	}
	return fmt.Sprintf("%s: %s\nstdout:\n%s\nstderr:\n%s", strings.Join(r.Args, " "), status, r.Stdout, r.Stderr)
}

// ErrTimeout is the error of a command that ran out of time.
var ErrTimeout = errors.New("timed out")

// Run runs cmd to completion within timeout, in a process group of its own: when time runs out,
// the group (cmd and whatever it started) is killed by cmd's PID. Stdout and stderr are captured
// unless cmd already has them set.
func Run(cmd *exec.Cmd, timeout time.Duration) Result {
	var stdout, stderr bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.WaitDelay = 5 * time.Second
	r := Result{Args: cmd.Args}
	if err := cmd.Start(); err != nil {
		r.Err = err
		return r
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case r.Err = <-done:
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		r.Err = fmt.Errorf("%w after %v", ErrTimeout, timeout)
	}
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	return r
}

// warningLine matches a warning in a Kubernetes tool's output: a klog warning ("W1201 21:21:23.68
// ... utils.go:69] ...", how kubeadm reports a questionable configuration value, such as a
// clusterDNS other than the one it deploys) or a preflight-style "[WARNING ...]".
var warningLine = regexp.MustCompile(`(?m)^(W\d{4} \d\d:\d\d:\d\d\.\d+ .*|.*\[WARNING[^\]]*\].*|.*\bWARNING:.*)$`)

// Warnings returns the warning lines of a tool's output.
func Warnings(output string) []string {
	return warningLine.FindAllString(output, -1)
}

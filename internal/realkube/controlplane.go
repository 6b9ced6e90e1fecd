package realkube

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bounds of the control plane's life.
const (
	// ReadyTimeout bounds the wait for kube-apiserver's /readyz after it starts.
	ReadyTimeout = 120 * time.Second
	// StopTimeout bounds the wait for a component to exit after SIGTERM; then it is killed.
	StopTimeout = 20 * time.Second
	// KubectlTimeout bounds one kubectl call.
	KubectlTimeout = 60 * time.Second
)

// ControlPlane is etcd, kube-apiserver and kube-controller-manager (whose bootstrap signer signs
// cluster-info for token discovery) started from the static Pod manifests kubeadm wrote, in a
// network namespace, without a kubelet.
type ControlPlane struct {
	*Files
	Tools Tools
	// Netns is where the components listen and where Command runs.
	Netns *Netns
	// Admin is kubeadm's admin.conf (group kubeadm:cluster-admins, bound to cluster-admin as
	// kubeadm init binds it); SuperAdmin is super-admin.conf (system:masters).
	Admin, SuperAdmin string
	procs             []*component
}

// component is one running control-plane process.
type component struct {
	name string
	cmd  *exec.Cmd
	// log is the file its output goes to.
	log  string
	done chan struct{}
	err  error
}

// Start starts etcd, kube-apiserver and kube-controller-manager with the command lines of the
// manifests in f, in a new network namespace whose lo carries addrs (the node's addresses the
// manifests name), waits for /readyz, and binds kubeadm:cluster-admins to cluster-admin with the
// super-admin kubeconfig, as kubeadm init does. The command lines are used as kubeadm wrote them
// but for paths: the binaries are the built tools and the kubeconfigs kubeadm reads from
// /etc/kubernetes are f's. Everything is stopped, by its own PID, when the test ends.
func Start(t testing.TB, tl Tools, f *Files, addrs ...string) *ControlPlane {
	t.Helper()
	cp := &ControlPlane{
		Files: f, Tools: tl, Netns: NewNetns(t, addrs...),
		Admin: filepath.Join(f.KubeconfigDir, "admin.conf"), SuperAdmin: filepath.Join(f.KubeconfigDir, "super-admin.conf"),
	}
	t.Cleanup(func() { cp.stop(t) })
	cp.start(t, "etcd")
	cp.start(t, "kube-apiserver")
	cp.waitReady(t)
	if r := cp.Kubectl(cp.SuperAdmin, "create", "clusterrolebinding", "kubeadm:cluster-admins",
		"--clusterrole=cluster-admin", "--group=kubeadm:cluster-admins"); r.Err != nil {
		t.Fatalf("%s", r)
	}
	cp.start(t, "kube-controller-manager")
	return cp
}

// commandLine is a manifest's command with its paths made local.
func (cp *ControlPlane) commandLine(t testing.TB, name string) []string {
	t.Helper()
	command := cp.Manifests[name].Spec.Containers[0].Command
	if len(command) == 0 || command[0] != name {
		t.Fatalf("%s.yaml runs %v", name, command)
	}
	args := []string{cp.Tools.Path(name)}
	for _, a := range command[1:] {
		flag, value, ok := strings.Cut(a, "=")
		if ok && strings.HasPrefix(value, "/") {
			if rest, kube := strings.CutPrefix(value, "/etc/kubernetes/"); kube && !strings.Contains(rest, "/") {
				value = filepath.Join(cp.KubeconfigDir, rest)
			}
			if !strings.HasPrefix(value, cp.Dir+"/") {
				t.Fatalf("%s.yaml: %s names a path of the machine, not of the scratch directory", name, a)
			}
			a = flag + "=" + value
		}
		args = append(args, a)
	}
	return args
}

// start starts one component in the namespace.
func (cp *ControlPlane) start(t testing.TB, name string) {
	t.Helper()
	args := cp.commandLine(t, name)
	c := &component{name: name, cmd: cp.Netns.Command(args[0], args[1:]...), log: filepath.Join(cp.Dir, name+".log"), done: make(chan struct{})}
	out, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	c.cmd.Stdout, c.cmd.Stderr = out, out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.cmd.WaitDelay = 5 * time.Second
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	cp.procs = append(cp.procs, c)
}

// waitReady waits, at most ReadyTimeout, for kube-apiserver to answer /readyz.
func (cp *ControlPlane) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(ReadyTimeout)
	for {
		r := cp.Kubectl(cp.SuperAdmin, "get", "--raw", "/readyz", "--request-timeout=5s")
		if r.Err == nil {
			return
		}
		for _, c := range cp.procs {
			select {
			case <-c.done:
				t.Fatalf("%s exited (%v) before the API server was ready:\n%s", c.name, c.err, cp.Log(c.name))
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API server was not ready after %v: %s\nkube-apiserver:\n%s", ReadyTimeout, r, cp.Log("kube-apiserver"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Log returns the last lines a component printed.
func (cp *ControlPlane) Log(name string) string {
	for _, c := range cp.procs {
		if c.name == name {
			b, _ := os.ReadFile(c.log)
			lines := strings.Split(string(b), "\n")
			return strings.Join(lines[max(0, len(lines)-40):], "\n")
		}
	}
	return ""
}

// stop stops the components in reverse order: SIGTERM to each by its PID, SIGKILL after
// StopTimeout.
func (cp *ControlPlane) stop(t testing.TB) {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		c := cp.procs[i]
		pid := c.cmd.Process.Pid
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(StopTimeout):
			t.Logf("%s (PID %d) did not stop within %v: killing it", c.name, pid, StopTimeout)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			select {
			case <-c.done:
			case <-time.After(StopTimeout):
				t.Errorf("%s (PID %d) survived SIGKILL", c.name, pid)
			}
		}
	}
}

// Command returns a tool (by name, or a path) with args, run inside the control plane's namespace.
func (cp *ControlPlane) Command(tool string, args ...string) *exec.Cmd {
	if !strings.Contains(tool, "/") {
		tool = cp.Tools.Path(tool)
	}
	return cp.Netns.Command(tool, args...)
}

// Kubectl runs kubectl with kubeconfig inside the namespace, within KubectlTimeout.
func (cp *ControlPlane) Kubectl(kubeconfig string, args ...string) Result {
	return Run(cp.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...), KubectlTimeout)
}

// KubectlStdin is Kubectl with standard input.
func (cp *ControlPlane) KubectlStdin(kubeconfig, stdin string, args ...string) Result {
	cmd := cp.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	return Run(cmd, KubectlTimeout)
}

// Kubeadm runs kubeadm with args inside the namespace, within KubeadmTimeout.
func (cp *ControlPlane) Kubeadm(args ...string) Result {
	return Run(cp.Command("kubeadm", args...), KubeadmTimeout)
}

// KubeadmWithEtcKubernetes runs kubeadm like Kubeadm, but with /etc/kubernetes holding the
// control plane's kubeconfigs, for the phases that read /etc/kubernetes/admin.conf and have no
// --kubeconfig flag (mark-control-plane: initData.Client in kubeadm's cmd/init.go always takes
// the default path then). ip netns exec gives the command a mount namespace of its own, whose
// mounts do not reach the machine; there an overlay over /etc adds kubernetes/ from the scratch
// directory, and whatever kubeadm writes below /etc lands there too.
func (cp *ControlPlane) KubeadmWithEtcKubernetes(args ...string) Result {
	overlay := filepath.Join(cp.Dir, "etc-overlay")
	upper, work := filepath.Join(overlay, "upper"), filepath.Join(overlay, "work")
	for _, d := range []string{filepath.Join(upper, "kubernetes"), work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return Result{Err: err}
		}
	}
	for _, conf := range []string{"admin.conf", "super-admin.conf"} {
		b, err := os.ReadFile(filepath.Join(cp.KubeconfigDir, conf))
		if err == nil {
			err = os.WriteFile(filepath.Join(upper, "kubernetes", conf), b, 0o600)
		}
		if err != nil {
			return Result{Err: err}
		}
	}
	script := `mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc || exit; shift 2; exec "$@"`
	return Run(cp.Netns.Command("/bin/sh", append([]string{"-c", script, "sh", upper, work, cp.Tools.Path("kubeadm")}, args...)...), KubeadmTimeout)
}

// Env returns the environment for a command run in the namespace: the machine's, with the
// tools' directory first on PATH.
func (cp *ControlPlane) Env(extra ...string) []string {
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PATH=") {
			env = append(env, e)
		}
	}
	return append(append(env, "PATH="+cp.Tools.Dir()+":"+os.Getenv("PATH")), extra...)
}

// Describe is a one-line account of the control plane, for test logs.
func (cp *ControlPlane) Describe() string {
	var parts []string
	for _, c := range cp.procs {
		parts = append(parts, fmt.Sprintf("%s (PID %d)", c.name, c.cmd.Process.Pid))
	}
	return "control plane in netns " + cp.Netns.Name + ": " + strings.Join(parts, ", ")
}

// Package sshlab runs OpenSSH's sshd in network namespaces of its own, for tests that connect
// to real SSH servers the way Pulumi's remote commands do: a client namespace where connections
// start, a bastion (jump host) namespace the client reaches, and a target namespace only the
// bastion reaches. Nothing leaves these namespaces: none of them has an interface in the
// machine's own namespace or a default route.
//
// Every sshd is stopped by its PID and every namespace removed by Close; every wait is bounded.
package sshlab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/metalk8s/metalk8s/internal/netns"
)

// Addresses of the lab, from the documentation ranges (RFC 5737). The namespaces have routing
// tables of their own, so these do not clash with the machine's addresses.
var (
	// ClientAddr is the client namespace's address, on the link to the bastion.
	ClientAddr = netip.MustParseAddr("198.51.100.1")
	// BastionAddr is the bastion's address on the client's link: the address one jumps through.
	BastionAddr = netip.MustParseAddr("198.51.100.2")
	// BastionInner is the bastion's address on the target's link.
	BastionInner = netip.MustParseAddr("192.0.2.9")
	// TargetAddrs are the target namespace's addresses: reachable from the bastion only.
	TargetAddrs = []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.11")}
)

// Tools are the programs the lab runs.
type Tools struct {
	// IP is iproute2's ip; SSHD is OpenSSH's sshd.
	IP, SSHD string
}

// FindTools finds ip and sshd (also in /usr/sbin, which is not on every PATH) and checks that the
// process may create namespaces (root). It names every missing piece.
func FindTools() (Tools, error) {
	var t Tools
	var missing []string
	for _, x := range []struct {
		name, pkg string
		into      *string
	}{{"ip", "iproute2", &t.IP}, {"sshd", "openssh-server", &t.SSHD}} {
		p, err := exec.LookPath(x.name)
		if err != nil {
			p, err = exec.LookPath(filepath.Join("/usr/sbin", x.name))
		}
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", x.name, x.pkg))
			continue
		}
		*x.into = p
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces)")
	}
	if len(missing) > 0 {
		return Tools{}, fmt.Errorf("sshlab: missing %s", strings.Join(missing, ", "))
	}
	return t, nil
}

// Lab is the three namespaces and the sshd servers started in them.
type Lab struct {
	// Client, Bastion and Target are the namespaces' names (under /run/netns).
	Client, Bastion, Target string

	tools      Tools
	dir        string
	namespaces []string
	procs      []*process
	servers    int
}

// process is one sshd.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// namespacePrefix starts every namespace name of a lab; the creating process's PID follows.
const namespacePrefix = "mk8sssh-"

// commandTimeout bounds every ip command; startTimeout the wait for an sshd to listen;
// stopTimeout each of the waits for an sshd to exit.
const (
	commandTimeout = 20 * time.Second
	startTimeout   = 10 * time.Second
	stopTimeout    = 5 * time.Second
)

var labSeq atomic.Int32

// Start makes the namespaces and links under dir (configurations, keys, logs). On error,
// whatever was made is removed.
func Start(ctx context.Context, tools Tools, dir string) (l *Lab, err error) {
	prefix := fmt.Sprintf("%s%d-%d-", namespacePrefix, os.Getpid(), labSeq.Add(1))
	l = &Lab{Client: prefix + "client", Bastion: prefix + "bastion", Target: prefix + "target", tools: tools, dir: dir}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.Close())
			l = nil
		}
	}()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		return nil, err
	}
	if err := l.sweep(ctx); err != nil {
		return l, err
	}
	for _, ns := range []string{l.Client, l.Bastion, l.Target} {
		if err := l.ip(ctx, "netns", "add", ns); err != nil {
			return l, err
		}
		l.namespaces = append(l.namespaces, ns)
		if err := l.ip(ctx, "-n", ns, "link", "set", "lo", "up"); err != nil {
			return l, err
		}
	}
	// Links are made directly inside the namespaces, so no interface ever shows in the machine's.
	steps := [][]string{
		{"link", "add", "eth0", "netns", l.Client, "type", "veth", "peer", "name", "front", "netns", l.Bastion},
		{"link", "add", "eth0", "netns", l.Target, "type", "veth", "peer", "name", "back", "netns", l.Bastion},
		{"-n", l.Client, "addr", "add", ClientAddr.String() + "/29", "dev", "eth0"},
		{"-n", l.Bastion, "addr", "add", BastionAddr.String() + "/29", "dev", "front"},
		{"-n", l.Bastion, "addr", "add", BastionInner.String() + "/29", "dev", "back"},
	}
	for _, a := range TargetAddrs {
		steps = append(steps, []string{"-n", l.Target, "addr", "add", a.String() + "/29", "dev", "eth0"})
	}
	steps = append(steps,
		[]string{"-n", l.Client, "link", "set", "eth0", "up"},
		[]string{"-n", l.Bastion, "link", "set", "front", "up"},
		[]string{"-n", l.Bastion, "link", "set", "back", "up"},
		[]string{"-n", l.Target, "link", "set", "eth0", "up"},
	)
	for _, s := range steps {
		if err := l.ip(ctx, s...); err != nil {
			return l, err
		}
	}
	return l, nil
}

// ip runs ip(8) within commandTimeout.
func (l *Lab) ip(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, l.tools.IP, args...)
	cmd.Stderr = &errb
	cmd.WaitDelay = stopTimeout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return nil
}

// sweep removes the namespaces left by labs of processes that no longer exist (a test binary
// killed before its cleanup ran).
func (l *Lab) sweep(ctx context.Context) error {
	return netns.Sweep(ctx, namespacePrefix, func(ctx context.Context, name string) error {
		return l.ip(ctx, "netns", "del", name)
	})
}

// Server is one running sshd.
type Server struct {
	// Addr and Port are where it listens.
	Addr netip.Addr
	Port int
	// HostKey is its host key, generated for it.
	HostKey ssh.PublicKey
	// Log is the file its messages (sshd -e) go to.
	Log string
}

// ServerConfig is what an sshd accepts and what its sessions get.
type ServerConfig struct {
	// AuthorizedKeys are the keys each user may log in with; other users cannot log in.
	AuthorizedKeys map[string][]ssh.PublicKey
	// Env are NAME=VALUE variables every session gets (sshd_config SetEnv): they override the
	// ones sshd sets itself (PATH, HOME). A value may not hold white space, quotes, '#' or '\'.
	Env []string
	// Forwarding lets clients open TCP connections from the server (a bastion); off, sshd
	// refuses them.
	Forwarding bool
}

// envEntry reports whether e may go on a SetEnv line: sshd_config splits a line at white space
// and reads quotes and '#'.
func envEntry(e string) bool {
	name, value, ok := strings.Cut(e, "=")
	return ok && name != "" && !strings.ContainsAny(name+value, " \t\n\"'#\\")
}

// StartSSHD starts an sshd in namespace ns, listening on addr:port, with a configuration and a
// host key of its own, and waits until it listens.
func (l *Lab) StartSSHD(ns string, addr netip.Addr, port int, cfg ServerConfig) (*Server, error) {
	l.servers++
	name := fmt.Sprintf("sshd-%d", l.servers)
	dir := filepath.Join(l.dir, name)
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	hostKeyFile := filepath.Join(dir, "host_ed25519_key")
	if err := os.WriteFile(hostKeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	for user, pubs := range cfg.AuthorizedKeys {
		if user == "" || strings.ContainsAny(user, "/%") {
			return nil, fmt.Errorf("sshlab: user name %q", user)
		}
		var b []byte
		for _, p := range pubs {
			b = append(b, ssh.MarshalAuthorizedKey(p)...)
		}
		if err := os.WriteFile(filepath.Join(keys, user), b, 0o600); err != nil {
			return nil, err
		}
	}
	forwarding := "no"
	if cfg.Forwarding {
		forwarding = "yes"
	}
	lines := []string{
		fmt.Sprintf("ListenAddress %s", net.JoinHostPort(addr.String(), strconv.Itoa(port))),
		"HostKey " + hostKeyFile,
		"PidFile none",
		// Keys only: no PAM (its session modules could change the environment), no passwords.
		"UsePAM no",
		"AuthenticationMethods publickey",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		// %u is the user logging in: a user without a file here has no key.
		"AuthorizedKeysFile " + filepath.Join(keys, "%u"),
		// The test's temporary directory sits below /tmp, which StrictModes would refuse.
		"StrictModes no",
		"AllowTcpForwarding " + forwarding,
		"AllowAgentForwarding no",
		"X11Forwarding no",
		"PermitTunnel no",
		"PermitUserEnvironment no",
		"PrintMotd no",
		"LogLevel VERBOSE",
	}
	if len(cfg.Env) > 0 {
		for _, e := range cfg.Env {
			if !envEntry(e) {
				return nil, fmt.Errorf("sshlab: environment entry %q", e)
			}
		}
		// Only the first SetEnv line counts: every variable goes on one.
		lines = append(lines, "SetEnv "+strings.Join(cfg.Env, " "))
	}
	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "sshd.log")
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	// sshd re-executes itself for each connection: it must be started by its absolute path.
	// `ip netns exec` enters the namespace and executes sshd in place: the PID is sshd's.
	cmd := exec.Command(l.tools.IP, "netns", "exec", ns, l.tools.SSHD, "-D", "-e", "-f", config)
	cmd.Stdout, cmd.Stderr = f, f
	// Should the test process die without Close, sshd dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("sshlab: starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logFile, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	l.procs = append(l.procs, p)
	srv := &Server{Addr: addr, Port: port, HostKey: signer.PublicKey(), Log: logFile}
	if err := p.waitListening(); err != nil {
		return nil, err
	}
	return srv, nil
}

// waitListening waits up to startTimeout for sshd's "Server listening on" message.
func (p *process) waitListening() error {
	deadline := time.After(startTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if text, _ := os.ReadFile(p.log); bytes.Contains(text, []byte("Server listening on ")) {
			return nil
		}
		select {
		case <-p.done:
			text, _ := os.ReadFile(p.log)
			return fmt.Errorf("sshlab: %s exited: %s", p.name, text)
		case <-deadline:
			text, _ := os.ReadFile(p.log)
			return fmt.Errorf("sshlab: %s did not listen within %v: %s", p.name, startTimeout, text)
		case <-tick.C:
		}
	}
}

// LogLines returns the server's log, one message a line.
func (s *Server) LogLines() []string {
	f, err := os.Open(s.Log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// Dial opens a connection from the client namespace, as if Pulumi ran there. The socket is made
// by a goroutine locked to an OS thread that enters the namespace (setns(2)) and goes back to the
// process's own namespace before it unlocks the thread; a socket stays in the namespace it was
// made in. Only when going back fails does the thread stay locked, and the Go runtime discards it
// when the goroutine returns. A discarded thread is a risk of its own: a child started from it
// with Pdeathsig (every sshd here) is killed with it, so the thread is kept whenever it can be.
func (l *Lab) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer own.Close()
		f, err := os.Open(filepath.Join("/run/netns", l.Client))
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("setns %s: %w", l.Client, err)}
			return
		}
		// An address literal: no name lookup, which could run on other threads.
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if back := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); back == nil {
			runtime.UnlockOSThread()
		}
		done <- result{c, err}
	}()
	r := <-done
	return r.conn, r.err
}

// Close stops every sshd by its PID (SIGTERM, then SIGKILL after stopTimeout) and waits for it,
// then deletes every namespace, with it every link. It returns every failure.
func (l *Lab) Close() error {
	var errs []error
	for i := len(l.procs) - 1; i >= 0; i-- {
		p := l.procs[i]
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("stopping %s (pid %d): %w", p.name, p.cmd.Process.Pid, err))
		}
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			select {
			case <-p.done:
			case <-time.After(stopTimeout):
				errs = append(errs, fmt.Errorf("%s (pid %d) did not exit", p.name, p.cmd.Process.Pid))
			}
		}
	}
	l.procs = nil
	for i := len(l.namespaces) - 1; i >= 0; i-- {
		if err := l.ip(context.Background(), "netns", "del", l.namespaces[i]); err != nil {
			errs = append(errs, err)
		}
	}
	l.namespaces = nil
	return errors.Join(errs...)
}

// Exited reports every sshd that stopped before Close, with the end of its log.
func (l *Lab) Exited() error {
	var errs []error
	for _, p := range l.procs {
		select {
		case <-p.done:
			text, _ := os.ReadFile(p.log)
			if len(text) > 2000 {
				text = text[len(text)-2000:]
			}
			errs = append(errs, fmt.Errorf("%s (pid %d) exited: %s: %s", p.name, p.cmd.Process.Pid, p.cmd.ProcessState, text))
		default:
		}
	}
	return errors.Join(errs...)
}

// Namespaces are the namespaces the lab made and has not removed yet.
func (l *Lab) Namespaces() []string { return slices.Clone(l.namespaces) }

// PIDs are the sshd processes the lab started and has not stopped yet.
func (l *Lab) PIDs() []int {
	var pids []int
	for _, p := range l.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return pids
}

package bgplab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/metalk8s/metalk8s/internal/netns"
)

// Tools are the programs the lab runs, found by FindTools.
type Tools struct {
	IP, BIRD, BIRDC, GoBGPD, GoBGP string
}

// FindTools looks up ip (iproute2), bird and birdc (bird), gobgpd and gobgp (gobgpd); Debian
// puts the first three in /usr/sbin, which is not on every user's PATH. It names every missing one.
func FindTools() (Tools, error) {
	var t Tools
	var missing []string
	for _, x := range []struct {
		name, pkg string
		into      *string
	}{{"ip", "iproute2", &t.IP}, {"bird", "bird", &t.BIRD}, {"birdc", "bird", &t.BIRDC}, {"gobgpd", "gobgpd", &t.GoBGPD}, {"gobgp", "gobgpd", &t.GoBGP}} {
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
	if len(missing) > 0 {
		return Tools{}, fmt.Errorf("bgplab: missing %s", strings.Join(missing, ", "))
	}
	return t, nil
}

// Topology is what Start builds.
type Topology struct {
	// Calico holds the nodes and the Calico objects their BIRD configurations come from.
	Calico Calico
	// Gateways are each node's private gateway, by node name: the fabric's end of its link.
	Gateways map[string]netip.Addr
	// Routers are the top-of-rack routers, all in the fabric namespace.
	Routers []Router
	// Speakers are MetalLB stand-ins on nodes.
	Speakers []Speaker
	// DefaultRoute gives every node a default route through its gateway, as real nodes have.
	DefaultRoute bool
}

// process is one daemon the lab started.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	// group says the process leads a process group of its own, which Close signals whole.
	group bool
}

// Lab is a running set of namespaces and daemons. Close stops and removes all of them.
type Lab struct {
	tools      Tools
	dir        string
	fabric     string
	namespaces []string
	procs      []*process
	// nodeNS and nodeSock are each node's namespace and BIRD control socket.
	nodeNS, nodeSock map[string]string
	nodeIP           map[string]netip.Addr
	// routerSock (BIRD) and routerAPI (gobgpd API port) by router address.
	routerSock map[netip.Addr]string
	routerAPI  map[netip.Addr]int
	// speakerNS are the nodes with a speaker.
	speakers []Speaker
	// expected are the BGP sessions that must come up, by daemon, for WaitEstablished.
	nodeProtocols map[string][]string
	routerPeers   map[netip.Addr][]netip.Addr
	// closers stop what runs inside the test process (API server stand-ins), in the order they
	// were started.
	closers []func() error
	// ca signs the API server stand-ins' certificates, made on first use; serial numbers them.
	ca     *apiCA
	serial int64
}

// labSeq tells apart the labs of one process.
var labSeq atomic.Int32

// commandTimeout bounds every short command (ip, birdc, gobgp).
const commandTimeout = 20 * time.Second

// run runs a short command and returns its standard output.
func (l *Lab) run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// ip runs ip(8).
func (l *Lab) ip(ctx context.Context, args ...string) error {
	_, err := l.run(ctx, l.tools.IP, args...)
	return err
}

// inNS runs a short command inside a namespace.
func (l *Lab) inNS(ctx context.Context, ns, name string, args ...string) (string, error) {
	return l.run(ctx, l.tools.IP, append([]string{"netns", "exec", ns, name}, args...)...)
}

// addNS creates a namespace with loopback up and records it for Close.
func (l *Lab) addNS(ctx context.Context, ns string) error {
	if err := l.ip(ctx, "netns", "add", ns); err != nil {
		return err
	}
	l.namespaces = append(l.namespaces, ns)
	return l.ip(ctx, "-n", ns, "link", "set", "lo", "up")
}

// start starts a daemon inside a namespace. `ip netns exec` execs the program in place, so the
// process's PID is the daemon's own.
func (l *Lab) start(ns, name, prog string, args ...string) error {
	return l.startProcess(ns, name, false, prog, args...)
}

// startGroup starts a program inside a namespace as the leader of a process group of its own.
func (l *Lab) startGroup(ns, name, prog string, args ...string) error {
	return l.startProcess(ns, name, true, prog, args...)
}

func (l *Lab) startProcess(ns, name string, group bool, prog string, args ...string) error {
	logFile := filepath.Join(l.dir, name+".log")
	f, err := os.Create(logFile)
	if err != nil {
		return err
	}
	cmd := exec.Command(l.tools.IP, append([]string{"netns", "exec", ns, prog}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	// Should the test process die without Close, its daemons die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: group}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("bgplab: starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logFile, done: make(chan struct{}), group: group}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	l.procs = append(l.procs, p)
	return nil
}

// Start builds the topology under dir (configurations, sockets, logs): a fabric namespace
// holding every node's gateway and the routers, one namespace per node joined to the fabric by a
// veth pair, each node's BIRD with the configuration Calico would give it, the routers and the
// speakers. On error, whatever was started is stopped and removed.
func Start(ctx context.Context, tools Tools, dir string, topo Topology) (lab *Lab, err error) {
	l := &Lab{tools: tools, dir: dir, nodeNS: map[string]string{}, nodeSock: map[string]string{}, nodeIP: map[string]netip.Addr{},
		routerSock: map[netip.Addr]string{}, routerAPI: map[netip.Addr]int{}, speakers: topo.Speakers,
		nodeProtocols: map[string][]string{}, routerPeers: map[netip.Addr][]netip.Addr{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.Close())
		}
	}()
	if err := l.sweep(ctx); err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("%s%d-%d", namespacePrefix, os.Getpid(), labSeq.Add(1))
	l.fabric = prefix + "-fabric"
	if err := l.addNS(ctx, l.fabric); err != nil {
		return nil, err
	}
	if _, err := l.inNS(ctx, l.fabric, "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		// sysctl lives in procps; /proc works without it.
		if _, err := l.inNS(ctx, l.fabric, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"); err != nil {
			return nil, err
		}
	}
	nodes := topo.Calico.Nodes
	gateways := map[netip.Addr]bool{}
	for i, n := range nodes {
		gw, ok := topo.Gateways[n.Name]
		if !ok || !n.Address.Contains(gw) || gw == n.Address.Addr() {
			return nil, fmt.Errorf("bgplab: node %s: gateway %v is not on its network %s", n.Name, gw, n.Address)
		}
		gateways[gw] = true
		ns := fmt.Sprintf("%s-n%d", prefix, i)
		l.nodeNS[n.Name] = ns
		l.nodeIP[n.Name] = n.Address.Addr()
		if err := l.addNS(ctx, ns); err != nil {
			return nil, err
		}
		fabricEnd := fmt.Sprintf("n%d", i)
		steps := [][]string{
			{"link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", fabricEnd, "netns", l.fabric},
			{"-n", ns, "addr", "add", n.Address.String(), "dev", "eth0"},
			{"-n", ns, "link", "set", "eth0", "up"},
			{"-n", l.fabric, "addr", "add", netip.PrefixFrom(gw, n.Address.Bits()).String(), "dev", fabricEnd},
			{"-n", l.fabric, "link", "set", fabricEnd, "up"},
		}
		// The private network: every other node through the gateway (Metal routes 10.0.0.0/8 so).
		for _, o := range nodes {
			if o.Name != n.Name {
				steps = append(steps, []string{"-n", ns, "route", "add", netip.PrefixFrom(o.Address.Addr(), 32).String(), "via", gw.String()})
			}
		}
		if topo.DefaultRoute {
			steps = append(steps, []string{"-n", ns, "route", "add", "default", "via", gw.String()})
		}
		for _, s := range steps {
			if err := l.ip(ctx, s...); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range topo.Routers {
		if !gateways[r.Address] {
			if err := l.ip(ctx, "-n", l.fabric, "addr", "add", netip.PrefixFrom(r.Address, 32).String(), "dev", "lo"); err != nil {
				return nil, err
			}
		}
	}

	// Each node's BIRD, and the sessions it must bring up.
	neighbors := map[netip.Addr][]routerNeighbor{}
	for _, n := range nodes {
		bc, err := topo.Calico.config(n.Name)
		if err != nil {
			return nil, err
		}
		conf, err := render("node-bird.cfg.tmpl", bc)
		if err != nil {
			return nil, err
		}
		file := filepath.Join(dir, n.Name+".bird.cfg")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		if out, err := l.run(ctx, tools.BIRD, "-p", "-c", file); err != nil {
			return nil, fmt.Errorf("bgplab: BIRD refuses the configuration of %s: %w %s", n.Name, err, out)
		}
		l.nodeSock[n.Name] = filepath.Join(dir, n.Name+".ctl")
		if err := l.start(l.nodeNS[n.Name], n.Name+".bird", tools.BIRD, "-f", "-c", file, "-s", l.nodeSock[n.Name]); err != nil {
			return nil, err
		}
		for _, p := range bc.Peers {
			isRouter := slices.ContainsFunc(topo.Routers, func(r Router) bool { return r.Address == p.IP })
			isSpeaker := p.IP == netip.MustParseAddr("127.0.0.1") && slices.ContainsFunc(topo.Speakers, func(s Speaker) bool { return s.Node == n.Name })
			if p.Mesh || isRouter || isSpeaker {
				l.nodeProtocols[n.Name] = append(l.nodeProtocols[n.Name], p.Name)
			}
			if isRouter {
				neighbors[p.IP] = append(neighbors[p.IP], routerNeighbor{Name: symbol(n.Name), IP: bc.Address, Local: p.IP, ASN: bc.ASN})
				l.routerPeers[p.IP] = append(l.routerPeers[p.IP], bc.Address)
			}
		}
	}

	for i, r := range topo.Routers {
		rc := routerConfig{Router: r, Neighbors: neighbors[r.Address]}
		name := "router-" + r.Address.String()
		switch r.Daemon {
		case GoBGP:
			conf, err := render("router-gobgpd.toml.tmpl", rc)
			if err != nil {
				return nil, err
			}
			file := filepath.Join(dir, name+".toml")
			if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
				return nil, err
			}
			port := 50051 + i
			l.routerAPI[r.Address] = port
			if err := l.start(l.fabric, name, tools.GoBGPD, "-f", file, "-t", "toml", "--api-hosts", fmt.Sprintf("127.0.0.1:%d", port), "--pprof-disable"); err != nil {
				return nil, err
			}
		case BIRD:
			conf, err := render("router-bird.cfg.tmpl", rc)
			if err != nil {
				return nil, err
			}
			file := filepath.Join(dir, name+".bird.cfg")
			if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
				return nil, err
			}
			if out, err := l.run(ctx, tools.BIRD, "-p", "-c", file); err != nil {
				return nil, fmt.Errorf("bgplab: BIRD refuses the router configuration: %w %s", err, out)
			}
			l.routerSock[r.Address] = filepath.Join(dir, name+".ctl")
			if err := l.start(l.fabric, name, tools.BIRD, "-f", "-c", file, "-s", l.routerSock[r.Address]); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("bgplab: router %s: unknown daemon %q", r.Address, r.Daemon)
		}
	}

	for _, s := range topo.Speakers {
		ns, ok := l.nodeNS[s.Node]
		if !ok {
			return nil, fmt.Errorf("bgplab: speaker on unknown node %q", s.Node)
		}
		i := slices.IndexFunc(nodes, func(n Node) bool { return n.Name == s.Node })
		conf, err := render("speaker-gobgpd.toml.tmpl", speakerConfig{Speaker: s, RouterID: nodes[i].Address.Addr()})
		if err != nil {
			return nil, err
		}
		file := filepath.Join(dir, s.Node+".speaker.toml")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		if err := l.start(ns, s.Node+".speaker", tools.GoBGPD, "-f", file, "-t", "toml", "--api-hosts", "127.0.0.1:50051", "--pprof-disable"); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// namespacePrefix starts the name of every namespace a lab creates, followed by the PID of the
// process that created it.
const namespacePrefix = "mk8slab-"

// sweep removes the namespaces left by labs of processes that no longer exist (a test binary
// killed before its cleanup ran).
func (l *Lab) sweep(ctx context.Context) error {
	return netns.Sweep(ctx, namespacePrefix, func(ctx context.Context, name string) error {
		return l.ip(ctx, "netns", "del", name)
	})
}

// symbol turns a node name into a BIRD symbol.
func symbol(name string) string {
	return "n_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}

// Announce makes the speakers announce their prefixes. The gobgpd API answers once gobgpd is up;
// the speaker's session may not be: gobgpd sends the routes when it is.
func (l *Lab) Announce(ctx context.Context) error {
	for _, s := range l.speakers {
		for _, p := range s.Prefixes {
			if err := retry(ctx, func() error {
				_, err := l.inNS(ctx, l.nodeNS[s.Node], l.tools.GoBGP, "-p", "50051", "global", "rib", "add", "-a", "ipv4", p.String())
				return err
			}); err != nil {
				return fmt.Errorf("bgplab: speaker on %s: %w", s.Node, err)
			}
		}
	}
	return nil
}

// pollInterval paces every wait.
const pollInterval = 300 * time.Millisecond

// retry calls f until it succeeds or ctx ends, returning f's last error then.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// WaitEstablished waits until every expected session is Established: each node's mesh, router
// and speaker sessions, and each router's sessions with the nodes. It fails when ctx ends first,
// listing the sessions that are not up.
func (l *Lab) WaitEstablished(ctx context.Context) error {
	return retry(ctx, func() error {
		if err := l.exited(); err != nil {
			return err
		}
		var down []string
		for node, want := range l.nodeProtocols {
			states, err := l.birdProtocols(ctx, l.nodeSock[node])
			if err != nil {
				return err
			}
			for _, p := range want {
				if states[p] != "Established" {
					down = append(down, fmt.Sprintf("%s %s (%s)", node, p, states[p]))
				}
			}
		}
		for r, peers := range l.routerPeers {
			states, err := l.routerStates(ctx, r)
			if err != nil {
				return err
			}
			for _, p := range peers {
				if states[p] != "Established" {
					down = append(down, fmt.Sprintf("router %s with %s (%s)", r, p, states[p]))
				}
			}
		}
		if len(down) > 0 {
			slices.Sort(down)
			return fmt.Errorf("bgplab: sessions not established: %s", strings.Join(down, "; "))
		}
		return nil
	})
}

// exited reports a daemon that is no longer running, with the end of its log.
func (l *Lab) exited() error {
	for _, p := range l.procs {
		select {
		case <-p.done:
			log, _ := os.ReadFile(p.log)
			return fmt.Errorf("bgplab: %s exited: %s", p.name, tail(string(log), 800))
		default:
		}
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Close stops the API server stand-ins, then every daemon by its PID, or its process group when it
// leads one (SIGTERM, then SIGKILL after 5 s), and waits for it, then deletes every namespace,
// with it every veth. It returns every failure.
func (l *Lab) Close() error {
	var errs []error
	for _, c := range l.closers {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	l.closers = nil
	for i := len(l.procs) - 1; i >= 0; i-- {
		p := l.procs[i]
		if err := p.signal(syscall.SIGTERM); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s (pid %d): %w", p.name, p.cmd.Process.Pid, err))
		}
		select {
		case <-p.done:
			if p.group {
				// What the leader left behind (a probe in flight) goes with it.
				_ = p.signal(syscall.SIGKILL)
			}
		case <-time.After(5 * time.Second):
			_ = p.signal(syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
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

// signal sends sig to the process, or to its whole group when it leads one; a process (or group)
// that is gone already is not an error.
func (p *process) signal(sig syscall.Signal) error {
	var err error
	if p.group {
		err = syscall.Kill(-p.cmd.Process.Pid, sig)
	} else {
		err = p.cmd.Process.Signal(sig)
	}
	if errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Namespaces are the namespaces the lab created and has not removed yet.
func (l *Lab) Namespaces() []string { return slices.Clone(l.namespaces) }

// PIDs are the daemons the lab started and has not stopped yet.
func (l *Lab) PIDs() []int {
	var pids []int
	for _, p := range l.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return pids
}

// NodeNamespace is a node's namespace.
func (l *Lab) NodeNamespace(node string) string { return l.nodeNS[node] }

// Dir holds the configurations and logs.
func (l *Lab) Dir() string { return l.dir }

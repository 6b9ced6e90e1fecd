package bgplab

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// inNamespace runs f on an OS thread switched into the network namespace ns: the sockets f
// creates (a listener, a dialled connection) belong to ns for as long as they live, whichever
// thread uses them later. f must create its sockets itself, not in goroutines of its own. Should
// the thread fail to switch back, it stays locked and the runtime discards it with the goroutine.
func inNamespace(ns string, f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("bgplab: entering namespace %s: %w", ns, err)
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return errors.Join(ferr, fmt.Errorf("bgplab: leaving namespace %s: %w", ns, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// APIServer stands in for a controller's kube-apiserver as its readiness probe sees it: an HTTPS
// listener on the node's address that answers GET /readyz with 200 "ok". Stop closes the
// listener and every connection (new connections are refused, as after the process exits); Hang
// keeps accepting connections but answers no request (a wedged process), until Resume or Stop.
type APIServer struct {
	srv     *http.Server
	ln      net.Listener
	hung    atomic.Bool
	release chan struct{}
	once    sync.Once
	done    chan struct{}
}

// selfSigned makes a throw-away serving certificate; the kubelet's HTTPS probes do not verify it.
func selfSigned(host netip.Addr) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{host.AsSlice()},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// StartAPIServer starts an APIServer in a node's namespace on addr. Close stops it too.
func (l *Lab) StartAPIServer(node string, addr netip.AddrPort) (*APIServer, error) {
	ns, ok := l.nodeNS[node]
	if !ok {
		return nil, fmt.Errorf("bgplab: no node %q", node)
	}
	cert, err := selfSigned(addr.Addr())
	if err != nil {
		return nil, err
	}
	a := &APIServer{release: make(chan struct{}), done: make(chan struct{})}
	if err := inNamespace(ns, func() error {
		var err error
		a.ln, err = net.Listen("tcp", addr.String())
		return err
	}); err != nil {
		return nil, fmt.Errorf("bgplab: API server on %s: %w", node, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if a.hung.Load() {
			select {
			case <-a.release:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write([]byte("ok"))
	})
	a.srv = &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: nil}
	go func() {
		_ = a.srv.ServeTLS(a.ln, "", "")
		close(a.done)
	}()
	l.closers = append(l.closers, a.Stop)
	return a, nil
}

// Hang makes the server stop answering while it keeps accepting connections.
func (a *APIServer) Hang() {
	a.hung.Store(true)
}

// Stop closes the listener and every open connection, and waits for the server to end.
func (a *APIServer) Stop() error {
	var err error
	a.once.Do(func() {
		close(a.release)
		err = a.srv.Close()
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
			err = errors.Join(err, errors.New("bgplab: API server did not stop"))
		}
	})
	return err
}

// Probe is an HTTPS readiness probe as a Pod spec sets it, run the way the kubelet runs one.
type Probe struct {
	// Path and Port are the httpGet path and port (the host is the node's address).
	Path string
	Port uint16
	// Period, Timeout: periodSeconds, timeoutSeconds.
	Period, Timeout time.Duration
	// FailureThreshold, SuccessThreshold: consecutive results that change the state.
	FailureThreshold, SuccessThreshold int
}

// KubeadmAPIServerReadiness is the readinessProbe of the kube-apiserver static Pod that kubeadm
// v1.37.2 writes (cmd/kubeadm/app/util/staticpod/utils.go ReadinessProbe: createHTTPProbe(host,
// "/readyz", "probe-port", HTTPS, initialDelaySeconds 0, timeoutSeconds 15, failureThreshold 3,
// periodSeconds 1), the named port being the container port 6443; seen in the manifest the real
// kubeadm writes with `kubeadm init phase control-plane apiserver`), successThreshold left at
// Kubernetes' default 1.
var KubeadmAPIServerReadiness = Probe{Path: "/readyz", Port: 6443, Period: time.Second, Timeout: 15 * time.Second,
	FailureThreshold: 3, SuccessThreshold: 1}

// Transition is a change of an Announcer's readiness.
type Transition struct {
	// Ready is the new state.
	Ready bool
	// Decided is when the probe that made the change ended.
	Decided time.Time
	// Applied is when the address was added to or removed from the loopback.
	Applied time.Time
}

// Announcer models the per-controller health check of the API address: it probes the node's API
// server as the kubelet probes a container (pkg/kubelet/prober of v1.37.2: one probe at once, the
// first right away, then on every tick of a Period ticker; an HTTP status in [200, 400) succeeds;
// no keep-alive; the certificate is not verified; the result changes after FailureThreshold or
// SuccessThreshold equal results in a row; the state starts as not ready), and keeps Address on
// the node's loopback exactly while the result is ready. Calico's BIRD announces the address from
// there (its `protocol direct` takes every interface but cali* and kube-ipvs*).
type Announcer struct {
	lab     *Lab
	node    string
	address netip.Prefix
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	changes []Transition
	err     error
}

// StartAnnouncer starts an Announcer for node, probing host with probe and holding address.
// Close stops it too; it leaves the address as it was.
func (l *Lab) StartAnnouncer(node string, host netip.Addr, probe Probe, address netip.Prefix) (*Announcer, error) {
	ns, ok := l.nodeNS[node]
	if !ok {
		return nil, fmt.Errorf("bgplab: no node %q", node)
	}
	a := &Announcer{lab: l, node: node, address: address, stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{
		Timeout: probe.Timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var c net.Conn
				err := inNamespace(ns, func() error {
					var err error
					c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
					return err
				})
				return c, err
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := fmt.Sprintf("https://%s%s", netip.AddrPortFrom(host, probe.Port), probe.Path)
	go func() {
		defer close(a.done)
		ticker := time.NewTicker(probe.Period)
		defer ticker.Stop()
		ready, last, run := false, false, 0
		for {
			ok := probeOnce(client, url)
			if ok == last {
				run++
			} else {
				last, run = ok, 1
			}
			decided := time.Now()
			if (ok && run >= probe.SuccessThreshold || !ok && run >= probe.FailureThreshold) && ok != ready {
				ready = ok
				if err := a.apply(ready); err != nil {
					a.mu.Lock()
					a.err = err
					a.mu.Unlock()
					return
				}
				a.mu.Lock()
				a.changes = append(a.changes, Transition{Ready: ready, Decided: decided, Applied: time.Now()})
				a.mu.Unlock()
			}
			select {
			case <-a.stop:
				return
			case <-ticker.C:
			}
		}
	}()
	l.closers = append(l.closers, a.Stop)
	return a, nil
}

// probeOnce is one HTTP probe: a status in [200, 400) within the client's timeout.
func probeOnce(client *http.Client, url string) bool {
	res, err := client.Get(url)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest
}

// apply puts the address on the loopback or takes it off.
func (a *Announcer) apply(ready bool) error {
	verb := map[bool]string{true: "add", false: "del"}[ready]
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	return a.lab.ip(ctx, "-n", a.lab.nodeNS[a.node], "addr", verb, a.address.String(), "dev", "lo")
}

// Transitions are the readiness changes so far, oldest first, and the error that stopped the
// Announcer, if any.
func (a *Announcer) Transitions() ([]Transition, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Transition(nil), a.changes...), a.err
}

// Stop ends the probing (waiting for a probe in flight, at most its timeout).
func (a *Announcer) Stop() error {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	select {
	case <-a.done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("bgplab: announcer on %s did not stop", a.node)
	}
}

package bgplab

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
// listener on the node's address, with a certificate for that address signed by the lab's CA
// (APIServerCA), that answers GET /readyz with 200 "ok". Stop closes the
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

// apiCA is the lab's stand-in for the cluster CA, which signs the API server stand-ins'
// certificates: the health check verifies them against it, as it verifies a real API server's
// against /etc/kubernetes/pki/ca.crt.
type apiCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// file holds the certificate in PEM.
	file string
}

// newKeyPair makes a P-256 certificate from tmpl, signed by parent (itself when parent is nil).
func newKeyPair(tmpl *x509.Certificate, parent *apiCA) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	signer, issuer := key, tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, der, err
}

// APIServerCA is the file holding the CA certificate (PEM) that signs every API server
// stand-in's certificate, made on first use.
func (l *Lab) APIServerCA() (string, error) {
	if l.ca != nil {
		return l.ca.file, nil
	}
	cert, key, der, err := newKeyPair(&x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil)
	if err != nil {
		return "", err
	}
	file := filepath.Join(l.dir, "api-ca.crt")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", err
	}
	l.ca = &apiCA{cert: cert, key: key, file: file}
	return file, nil
}

// servingCert is an API server stand-in's certificate for host, signed by the lab's CA.
func (l *Lab) servingCert(host netip.Addr) (tls.Certificate, error) {
	if _, err := l.APIServerCA(); err != nil {
		return tls.Certificate{}, err
	}
	l.serial++
	_, key, der, err := newKeyPair(&x509.Certificate{
		SerialNumber: big.NewInt(l.serial + 1),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{host.AsSlice()},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, l.ca)
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
	cert, err := l.servingCert(addr.Addr())
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

// Probe is an HTTPS readiness probe as a Pod spec sets it.
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

// HoldsAddress says whether a node's loopback holds prefix.
func (l *Lab) HoldsAddress(ctx context.Context, node string, prefix netip.Prefix) (bool, error) {
	ns, ok := l.nodeNS[node]
	if !ok {
		return false, fmt.Errorf("bgplab: no node %q", node)
	}
	out, err := l.run(ctx, l.tools.IP, "-n", ns, "-o", "address", "show", "dev", "lo", "to", prefix.String())
	return strings.TrimSpace(out) != "", err
}

// StartProgram runs a program (a health check) in a node's namespace, in a process group of its
// own: Close stops the group, the program's children (a probe in flight) with it. Its standard
// output and error go to name's log.
func (l *Lab) StartProgram(node, name string, argv ...string) error {
	ns, ok := l.nodeNS[node]
	if !ok {
		return fmt.Errorf("bgplab: no node %q", node)
	}
	if len(argv) == 0 {
		return errors.New("bgplab: no program")
	}
	return l.startGroup(ns, name, argv[0], argv[1:]...)
}

// Log is what a program the lab started has written so far.
func (l *Lab) Log(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, name+".log"))
	return string(b), err
}

// StopProgram stops a program StartProgram started, its process group whole (SIGTERM, then
// SIGKILL after 5 s), as systemd stops a service's processes, and forgets it.
func (l *Lab) StopProgram(name string) error {
	i := slices.IndexFunc(l.procs, func(p *process) bool { return p.name == name && p.group })
	if i < 0 {
		return fmt.Errorf("bgplab: no program %q", name)
	}
	p := l.procs[i]
	if err := p.signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("bgplab: stopping %s: %w", name, err)
	}
	select {
	case <-p.done:
		_ = p.signal(syscall.SIGKILL)
	case <-time.After(5 * time.Second):
		_ = p.signal(syscall.SIGKILL)
		<-p.done
	}
	l.procs = slices.Delete(l.procs, i, i+1)
	return nil
}

// RunOnNode runs a short command in a node's namespace and returns its standard output.
func (l *Lab) RunOnNode(ctx context.Context, node string, argv ...string) (string, error) {
	ns, ok := l.nodeNS[node]
	if !ok {
		return "", fmt.Errorf("bgplab: no node %q", node)
	}
	if len(argv) == 0 {
		return "", errors.New("bgplab: no command")
	}
	return l.inNS(ctx, ns, argv[0], argv[1:]...)
}

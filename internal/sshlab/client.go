package sshlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// The client below connects and runs a command the way pulumi-command v1.2.1's remote.Command
// does (read in github.com/pulumi/pulumi-command, tag v1.2.1,
// provider/pkg/provider/remote/connection.go and commandOutputs.go):
//   - authentication is the private key only (ssh.ParsePrivateKey, ssh.PublicKeys); a password
//     and an agent are used only when given, and metalk8s gives neither;
//   - without a host key the server's key is not checked (ssh.InsecureIgnoreHostKey); with one,
//     only that key is accepted (ssh.FixedHostKey);
//   - each dial has PerDialTimeout seconds (ssh.ClientConfig.Timeout);
//   - with a proxy it dials the proxy first (with the proxy's own user, key and dial error
//     limit), then opens a TCP connection from the proxy to host:port (proxyClient.Dial), then
//     runs the SSH handshake with the host over it (ssh.NewClientConn, the host's user and key);
//     every stage is retried until DialErrorLimit failures (-1: no limit), the stages after the
//     proxy with the host's limit;
//   - retries wait as the SDK's retry.Until does: 100 ms, growing by half, at most 5 s;
//   - the command runs in one session (session.Run(create)) with the standard input set only
//     when it is not empty; a non-zero exit status fails the step.

// Endpoint is one SSH server's settings, as a remote.Command's connection (or its proxy)
// carries them.
type Endpoint struct {
	Host string
	Port int
	User string
	// PrivateKey is the key, PEM.
	PrivateKey string
	// HostKey is the expected host key, authorized_keys format; empty: not checked.
	HostKey string
	// DialErrorLimit is how many failed dials are tolerated; -1: no limit.
	DialErrorLimit int
	// PerDialTimeout bounds each dial, in seconds; 0: no bound.
	PerDialTimeout int
}

// Connection is a remote command's connection: the host, and the bastion in front of it.
type Connection struct {
	Endpoint
	Proxy *Endpoint
}

// Client connects as pulumi-command does.
type Client struct {
	// Dial opens a TCP connection from where Pulumi runs.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxDials, when set, caps the dials of every stage below what DialErrorLimit allows, so
	// that a test of a connection that must fail need not wait through minutes of retries.
	MaxDials int
}

// Result is what a command did on the server.
type Result struct {
	Stdout, Stderr string
	// Exit is the command's exit status.
	Exit int
}

// config is the client configuration of an endpoint.
func (e Endpoint) config() (*ssh.ClientConfig, error) {
	signer, err := ssh.ParsePrivateKey([]byte(e.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	cfg := &ssh.ClientConfig{
		User:            e.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // as pulumi-command without a host key
		Timeout:         time.Duration(e.PerDialTimeout) * time.Second,
	}
	if e.HostKey != "" {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(e.HostKey))
		if err != nil {
			return nil, fmt.Errorf("host key: %w", err)
		}
		cfg.HostKeyCallback = ssh.FixedHostKey(key)
		cfg.HostKeyAlgorithms = []string{key.Type()}
	}
	return cfg, nil
}

func (e Endpoint) address() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// retry calls f until it succeeds or limit failures were tolerated, waiting between calls.
func retry[T any](ctx context.Context, c Client, stage string, limit int, f func() (T, error)) (T, error) {
	delay := 100 * time.Millisecond
	for dials := 1; ; dials++ {
		v, err := f()
		if err == nil {
			return v, nil
		}
		if (limit > -1 && dials > limit) || (c.MaxDials > 0 && dials >= c.MaxDials) {
			var zero T
			return zero, fmt.Errorf("%s: after %d failed attempts: %w", stage, dials, err)
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, fmt.Errorf("%s: %w (last error: %v)", stage, ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(time.Duration(float64(delay)*1.5), 5*time.Second)
	}
}

// handshake runs the SSH handshake over a new connection made by dial.
func handshake(ctx context.Context, dial func() (net.Conn, error), addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	if cfg.Timeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// Connect opens an SSH client to the connection's host, through its proxy if it has one. Closing
// the client closes the proxy's too.
func (c Client) Connect(ctx context.Context, conn Connection) (*ssh.Client, error) {
	cfg, err := conn.config()
	if err != nil {
		return nil, err
	}
	tcp := func(addr string, timeout int) func() (net.Conn, error) {
		return func() (net.Conn, error) {
			dctx := ctx
			if timeout > 0 {
				var cancel context.CancelFunc
				dctx, cancel = context.WithTimeout(ctx, time.Duration(timeout)*time.Second)
				defer cancel()
			}
			return c.Dial(dctx, "tcp", addr)
		}
	}
	endpoint := conn.address()
	if conn.Proxy == nil {
		return retry(ctx, c, "dial", conn.DialErrorLimit, func() (*ssh.Client, error) {
			return handshake(ctx, tcp(endpoint, conn.PerDialTimeout), endpoint, cfg)
		})
	}
	proxyCfg, err := conn.Proxy.config()
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	proxyAddr := conn.Proxy.address()
	proxy, err := retry(ctx, c, "dial proxy", conn.Proxy.DialErrorLimit, func() (*ssh.Client, error) {
		return handshake(ctx, tcp(proxyAddr, conn.Proxy.PerDialTimeout), proxyAddr, proxyCfg)
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	bridge, err := retry(ctx, c, "dial from proxy", conn.DialErrorLimit, func() (net.Conn, error) {
		return proxy.Dial("tcp", endpoint)
	})
	if err != nil {
		proxy.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	client, err := retry(ctx, c, "dial", conn.DialErrorLimit, func() (*ssh.Client, error) {
		return handshake(ctx, func() (net.Conn, error) { return bridge, nil }, endpoint, cfg)
	})
	if err != nil {
		proxy.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	go func() {
		_ = client.Wait()
		proxy.Close()
	}()
	return client, nil
}

// Run connects, runs command in one session with stdin, and returns what it printed and its exit
// status. A command still running when ctx ends is cut off with its connection.
func (c Client) Run(ctx context.Context, conn Connection, command, stdin string) (Result, error) {
	client, err := c.Connect(ctx, conn)
	if err != nil {
		return Result{}, err
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	session, err := client.NewSession()
	if err != nil {
		return Result{}, err
	}
	defer session.Close()
	if stdin != "" {
		session.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	session.Stdout, session.Stderr = &stdout, &stderr
	err = session.Run(command)
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit):
		r.Exit = exit.ExitStatus()
	case err != nil:
		if ctx.Err() != nil {
			return r, fmt.Errorf("running %q: %w", command, ctx.Err())
		}
		return r, fmt.Errorf("running %q: %w", command, err)
	}
	return r, nil
}

package bgplab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Route is one path to a prefix in a BGP speaker's table.
type Route struct {
	// Prefix is the destination.
	Prefix netip.Prefix
	// Protocol is the BIRD protocol that brought it (a node's Mesh_…, Node_…, static1, …), or
	// the neighbour's address for gobgpd.
	Protocol string
	// From is the BGP neighbour it came from, when it came over BGP.
	From netip.Addr
	// NextHop is the BGP NEXT_HOP attribute.
	NextHop netip.Addr
	// ASPath is the AS path as received.
	ASPath []uint32
	// Kind is BIRD's route type ("unicast", "unreachable", "blackhole", …), empty for gobgpd.
	Kind string
}

// String shows a route in test failures.
func (r Route) String() string {
	return fmt.Sprintf("%s from %v (%s) next hop %v AS path %v %s", r.Prefix, r.From, r.Protocol, r.NextHop, r.ASPath, r.Kind)
}

// KernelRoute is a route BIRD programmed into a node's kernel.
type KernelRoute struct {
	Dst     string `json:"dst"`
	Gateway string `json:"gateway"`
	Dev     string `json:"dev"`
	Type    string `json:"type"`
}

// protocolLine is one line of `birdc show protocols`.
var protocolLine = regexp.MustCompile(`^(\S+)\s+BGP\s+\S+\s+\S+\s+\S+\s*(\S*)`)

// birdProtocols returns the BGP protocols of a BIRD and their state (Established, Active, …).
func (l *Lab) birdProtocols(ctx context.Context, sock string) (map[string]string, error) {
	out, err := l.run(ctx, l.tools.BIRDC, "-s", sock, "show", "protocols")
	if err != nil {
		return nil, err
	}
	states := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if m := protocolLine.FindStringSubmatch(line); m != nil {
			states[m[1]] = m[2]
		}
	}
	return states, nil
}

// sessionLine is one line of `birdc show protocols` for a BGP protocol: name, state, since, info.
var sessionLine = regexp.MustCompile(`^(\S+)\s+BGP\s+\S+\s+(\S+)\s+(\S+)\s*(\S*)`)

// Session is a BGP protocol of a node's BIRD as `birdc show protocols` shows it.
type Session struct {
	// State is the BGP state (Established, Active, ...).
	State string
	// Since is when the protocol last changed state (BIRD's time format, to the second).
	Since string
}

// NodeSessions are the BGP protocols of a node's BIRD, by protocol name.
func (l *Lab) NodeSessions(ctx context.Context, node string) (map[string]Session, error) {
	sock, ok := l.nodeSock[node]
	if !ok {
		return nil, fmt.Errorf("bgplab: no node %q", node)
	}
	out, err := l.run(ctx, l.tools.BIRDC, "-s", sock, "show", "protocols")
	if err != nil {
		return nil, err
	}
	sessions := map[string]Session{}
	for _, line := range strings.Split(out, "\n") {
		if m := sessionLine.FindStringSubmatch(line); m != nil {
			sessions[m[1]] = Session{State: m[4], Since: m[3]}
		}
	}
	return sessions, nil
}

// routerStates returns a router's session state by neighbour address.
func (l *Lab) routerStates(ctx context.Context, router netip.Addr) (map[netip.Addr]string, error) {
	states := map[netip.Addr]string{}
	if sock, ok := l.routerSock[router]; ok {
		protocols, err := l.birdProtocols(ctx, sock)
		if err != nil {
			return nil, err
		}
		for _, ip := range l.routerPeers[router] {
			states[ip] = protocols[l.routerProtocol(ip)]
		}
		return states, nil
	}
	out, err := l.inNS(ctx, l.fabric, l.tools.GoBGP, "-p", strconv.Itoa(l.routerAPI[router]), "-j", "neighbor")
	if err != nil {
		return nil, err
	}
	var peers []struct {
		State struct {
			NeighborAddress string `json:"neighbor_address"`
			SessionState    int    `json:"session_state"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &peers); err != nil {
		return nil, fmt.Errorf("bgplab: gobgp neighbor: %w: %s", err, tail(out, 300))
	}
	for _, p := range peers {
		ip, err := netip.ParseAddr(p.State.NeighborAddress)
		if err != nil {
			return nil, fmt.Errorf("bgplab: gobgp neighbor address %q", p.State.NeighborAddress)
		}
		// gobgp's API numbers the FSM states; 6 is ESTABLISHED.
		states[ip] = map[bool]string{true: "Established", false: fmt.Sprintf("state %d", p.State.SessionState)}[p.State.SessionState == 6]
	}
	return states, nil
}

// routerProtocol is the router BIRD's protocol name for a node address.
func (l *Lab) routerProtocol(ip netip.Addr) string {
	for name, a := range l.nodeIP {
		if a == ip {
			return symbol(name)
		}
	}
	return ""
}

// birdRouteHead is the first line of a route in `birdc show route all`: prefix (on the first
// path only), then the route type or next hop, then [protocol since from neighbour].
var birdRouteHead = regexp.MustCompile(`^(\S+)?\s+(unreachable|blackhole|prohibited|via \S+ on \S+|dev \S+)\s+\[(\S+) [^\]]*?(?: from (\S+))?\]`)

// parseBIRDRoutes reads `birdc show route all`.
func parseBIRDRoutes(out string) ([]Route, error) {
	var routes []Route
	var prefix netip.Prefix
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "\t") {
			if len(routes) == 0 {
				continue
			}
			r := &routes[len(routes)-1]
			attr := strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(attr, "BGP.next_hop:"):
				f := strings.Fields(strings.TrimPrefix(attr, "BGP.next_hop:"))
				if len(f) > 0 {
					r.NextHop, _ = netip.ParseAddr(f[0])
				}
			case strings.HasPrefix(attr, "BGP.as_path:"):
				for _, a := range strings.Fields(strings.TrimPrefix(attr, "BGP.as_path:")) {
					n, err := strconv.ParseUint(a, 10, 32)
					if err != nil {
						return nil, fmt.Errorf("bgplab: AS path %q", attr)
					}
					r.ASPath = append(r.ASPath, uint32(n))
				}
			case strings.HasPrefix(attr, "Type:") && r.Kind == "":
				if f := strings.Fields(attr); len(f) > 2 {
					r.Kind = f[2]
				}
			}
			continue
		}
		m := birdRouteHead.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[1] != "" {
			p, err := netip.ParsePrefix(m[1])
			if err != nil {
				return nil, fmt.Errorf("bgplab: route line %q", line)
			}
			prefix = p
		}
		r := Route{Prefix: prefix, Protocol: m[3]}
		if m[4] != "" {
			r.From, _ = netip.ParseAddr(m[4])
		}
		if strings.HasPrefix(m[2], "unreachable") || strings.HasPrefix(m[2], "blackhole") || strings.HasPrefix(m[2], "prohibited") {
			r.Kind = m[2]
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// NodeRoutes are the routes in a node's BIRD.
func (l *Lab) NodeRoutes(ctx context.Context, node string) ([]Route, error) {
	out, err := l.run(ctx, l.tools.BIRDC, "-s", l.nodeSock[node], "show", "route", "all")
	if err != nil {
		return nil, err
	}
	return parseBIRDRoutes(out)
}

// KernelRoutes are the routes BIRD put into a node's kernel (proto bird).
func (l *Lab) KernelRoutes(ctx context.Context, node string) ([]KernelRoute, error) {
	out, err := l.run(ctx, l.tools.IP, "-n", l.nodeNS[node], "-j", "route", "show", "proto", "bird")
	if err != nil {
		return nil, err
	}
	var routes []KernelRoute
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		return nil, fmt.Errorf("bgplab: ip -j route: %w: %s", err, tail(out, 300))
	}
	for i := range routes {
		if routes[i].Type == "" {
			routes[i].Type = "unicast"
		}
	}
	return routes, nil
}

// RouterRoutes are the routes a router received, one per neighbour and prefix.
func (l *Lab) RouterRoutes(ctx context.Context, router netip.Addr) ([]Route, error) {
	if sock, ok := l.routerSock[router]; ok {
		out, err := l.run(ctx, l.tools.BIRDC, "-s", sock, "show", "route", "all")
		if err != nil {
			return nil, err
		}
		return parseBIRDRoutes(out)
	}
	port, ok := l.routerAPI[router]
	if !ok {
		return nil, fmt.Errorf("bgplab: no router %s", router)
	}
	out, err := l.inNS(ctx, l.fabric, l.tools.GoBGP, "-p", strconv.Itoa(port), "-j", "global", "rib", "-a", "ipv4")
	if err != nil {
		return nil, err
	}
	return parseGoBGPRIB(out)
}

// parseGoBGPRIB reads `gobgp -j global rib`: paths by prefix, with their attributes.
func parseGoBGPRIB(out string) ([]Route, error) {
	var rib map[string][]struct {
		Neighbor string            `json:"neighbor-ip"`
		Attrs    []json.RawMessage `json:"attrs"`
	}
	if err := json.Unmarshal([]byte(out), &rib); err != nil {
		return nil, fmt.Errorf("bgplab: gobgp global rib: %w: %s", err, tail(out, 300))
	}
	var routes []Route
	for prefix, paths := range rib {
		p, err := netip.ParsePrefix(prefix)
		if err != nil {
			return nil, fmt.Errorf("bgplab: gobgp prefix %q", prefix)
		}
		for _, path := range paths {
			r := Route{Prefix: p, Protocol: path.Neighbor}
			r.From, _ = netip.ParseAddr(path.Neighbor)
			for _, raw := range path.Attrs {
				var a struct {
					Type    int    `json:"type"`
					NextHop string `json:"nexthop"`
					ASPaths []struct {
						ASNs []uint32 `json:"asns"`
					} `json:"as_paths"`
				}
				if err := json.Unmarshal(raw, &a); err != nil {
					return nil, fmt.Errorf("bgplab: gobgp attribute %s: %w", raw, err)
				}
				switch a.Type {
				case 2: // AS_PATH
					for _, seg := range a.ASPaths {
						r.ASPath = append(r.ASPath, seg.ASNs...)
					}
				case 3: // NEXT_HOP
					r.NextHop, _ = netip.ParseAddr(a.NextHop)
				}
			}
			routes = append(routes, r)
		}
	}
	return routes, nil
}

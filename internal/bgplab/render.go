package bgplab

import (
	"bytes"
	"embed"
	"fmt"
	"net/netip"
	"text/template"
)

//go:embed templates
var templateFS embed.FS

var templates = template.Must(template.New("bgplab").Option("missingkey=error").ParseFS(templateFS, "templates/*.tmpl"))

func render(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("bgplab: %s: %w", name, err)
	}
	return b.String(), nil
}

// BIRDConfig renders the BIRD configuration calico-node would run on a node for these objects.
func (c Calico) BIRDConfig(node string) (string, error) {
	bc, err := c.config(node)
	if err != nil {
		return "", err
	}
	return render("node-bird.cfg.tmpl", bc)
}

// Daemon is a BGP implementation the lab runs.
type Daemon string

// The daemons the lab runs.
const (
	GoBGP Daemon = "gobgpd"
	BIRD  Daemon = "bird"
)

// Router is a top-of-rack router: every node with a BGPPeer to its address peers with it.
type Router struct {
	// Address is the router's address: a node's private gateway or a link-local address.
	Address netip.Addr
	// ASN is the router's ASN.
	ASN uint32
	// Daemon runs it.
	Daemon Daemon
}

// routerNeighbor is one session of a router.
type routerNeighbor struct {
	// Name is the node, which names the BIRD protocol.
	Name string
	// IP is the node's address; Local the router's address for the session.
	IP, Local netip.Addr
	// ASN is the node's.
	ASN uint32
}

// routerConfig is what a router's configuration is rendered from.
type routerConfig struct {
	Router    Router
	Neighbors []routerNeighbor
}

// Speaker stands in for MetalLB's native BGP speaker on a node: gobgpd connecting to the node's
// BIRD on 127.0.0.1, announcing Prefixes with no next hop of its own, so that gobgpd, like
// MetalLB's speaker, sends its connection's local address (127.0.0.1) as next hop.
type Speaker struct {
	// Node runs the speaker.
	Node string
	// ASN is the speaker's; PeerASN the node's.
	ASN, PeerASN uint32
	// Prefixes are announced, e.g. a service's LoadBalancer address as /32.
	Prefixes []netip.Prefix
}

// speakerConfig is what a speaker's gobgpd configuration is rendered from.
type speakerConfig struct {
	Speaker  Speaker
	RouterID netip.Addr
}

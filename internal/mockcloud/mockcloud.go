// Package mockcloud runs the metalk8s program offline against a fake of the clouds it talks to.
// It serves the Pulumi engine's resource monitor on a loopback port, records every resource and
// invoke the program registers, and answers them the way the real providers would: in a preview
// it knows nothing the cloud would compute; otherwise it fills computed values with fake
// addresses from the documentation ranges (RFC 5737).
//
// It serves the monitor itself rather than using pulumi.WithMocks because the SDK's mock monitor
// cannot carry a secret whose value is still unknown (it fails with "malformed RPC secret"),
// which every preview of a remote command or a kubeconfig produces.
//
// It stands in for Equinix Metal and the other providers only; the program's own logic runs as is.
package mockcloud

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Site is the kind of Equinix Metal site the fake devices live at.
type Site string

const (
	// SiteIBX is a newer site: every node peers with 169.254.255.1 and 169.254.255.2 (multihop).
	SiteIBX Site = "ibx"
	// SiteLegacy is an older site: every node peers with its private /31 gateway.
	SiteLegacy Site = "legacy"
)

// Resource is one registered resource as the engine saw it.
type Resource struct {
	Type      string
	Name      string
	URN       string
	Parent    string
	Custom    bool
	ID        string
	Inputs    resource.PropertyMap
	Outputs   resource.PropertyMap
	DependsOn []string
	// PropertyDeps maps an input property to the URNs it came from.
	PropertyDeps map[string][]string
	Version      string
	PluginURL    string
	// Provider is the provider reference the resource was registered with.
	Provider string
	// AdditionalSecretOutputs are the outputs the program asked the engine to keep secret.
	AdditionalSecretOutputs []string
	// DeleteBeforeReplace is set when a replacement must delete the old resource first.
	DeleteBeforeReplace bool
	// Seq is the order in which the engine saw the registration.
	Seq int
	// Read is true for an existing resource the program read instead of creating.
	Read bool
}

// Invoke is one function call as the engine saw it.
type Invoke struct {
	Token string
	Args  resource.PropertyMap
	Seq   int
}

// Cloud is the fake. Its zero value is not usable; call New.
type Cloud struct {
	// Preview makes the fake behave as in `pulumi preview`: no IDs, no computed outputs.
	Preview bool
	// Site selects the BGP neighbour layout.
	Site Site
	// FailOn makes NewResource fail for the resource of that name (fault injection).
	FailOn map[string]error
	// Loopback serves the engine over gRPC on the loopback interface for a deployment too, as it
	// always is for a preview (see Run).
	Loopback bool
	// Slow delays the creation of resources of a type, to expose missing dependencies.
	Slow map[string]time.Duration
	// RealKeys makes the tls provider's keys and certificates real (see realKeys), for tests that
	// hand them to the real Kubernetes tools. Off, they are fixed fakes, so that renders are stable.
	RealKeys bool

	project, stack string

	mu        sync.Mutex
	seq       int
	resources []*Resource
	invokes   []Invoke
	devices   map[string]device // by device ID
	sessions  map[string]bool   // device IDs with a BGP session
	projects  map[string]resource.PropertyMap
}

type device struct {
	hostname, projectID   string
	public, publicGateway string
	private, gateway      string
}

// New returns a fake for a preview or a simulated deployment at the given kind of site.
func New(preview bool, site Site) *Cloud {
	return &Cloud{
		Preview: preview, Site: site, FailOn: map[string]error{}, Slow: map[string]time.Duration{},
		devices: map[string]device{}, sessions: map[string]bool{}, projects: map[string]resource.PropertyMap{},
	}
}

// Resources returns the registrations in a stable order: by URN.
func (c *Cloud) Resources() []*Resource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]*Resource(nil), c.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// Invokes returns the function calls in the order the engine saw them.
func (c *Cloud) Invokes() []Invoke {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Invoke(nil), c.invokes...)
}

// register records a resource registration and answers it as the cloud would.
func (c *Cloud) register(req *pulumirpc.RegisterResourceRequest, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	if err, ok := c.FailOn[req.GetName()]; ok {
		// The engine reports a failed step with the resource it belongs to.
		return "", nil, fmt.Errorf("%s (%s): %w", req.GetType(), req.GetName(), err)
	}
	if d := c.Slow[req.GetType()]; d > 0 && !c.Preview {
		time.Sleep(d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	r := &Resource{
		Type: req.GetType(), Name: req.GetName(), Custom: req.GetCustom(), Inputs: inputs, Seq: c.seq,
		Parent: req.GetParent(), DependsOn: req.GetDependencies(), Version: req.GetVersion(),
		PluginURL: req.GetPluginDownloadURL(), Provider: req.GetProvider(),
		AdditionalSecretOutputs: req.GetAdditionalSecretOutputs(), PropertyDeps: map[string][]string{},
		DeleteBeforeReplace: req.GetDeleteBeforeReplace(),
	}
	for k, v := range req.GetPropertyDependencies() {
		r.PropertyDeps[k] = v.GetUrns()
	}
	r.URN = c.urn(r.Parent, r.Type, r.Name)
	c.resources = append(c.resources, r)
	if !r.Custom {
		return "", inputs, nil
	}
	if c.Preview {
		// A create in a preview knows its inputs and nothing else.
		r.Outputs = inputs
		return "", inputs, nil
	}
	id, out, err := c.create(r.Type, r.Name, inputs)
	r.ID, r.Outputs = id, out
	return id, out, err
}

// urn builds a URN exactly as the mock engine does, so parents and dependencies match.
func (c *Cloud) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(c.stack), tokens.PackageName(c.project), parentType, tokens.Type(typ), name))
}

// read records a read of an existing resource and answers it as the cluster would: unknown in a
// preview, else what the fake knows of it.
func (c *Cloud) read(req *pulumirpc.ReadResourceRequest) (resource.PropertyMap, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	r := &Resource{
		Type: req.GetType(), Name: req.GetName(), Custom: true, ID: req.GetId(), Read: true, Seq: c.seq,
		Parent: req.GetParent(), DependsOn: req.GetDependencies(), Provider: req.GetProvider(),
		Inputs: resource.PropertyMap{}, PropertyDeps: map[string][]string{},
	}
	r.URN = c.urn(r.Parent, r.Type, r.Name)
	c.resources = append(c.resources, r)
	if c.Preview {
		return nil, false, nil
	}
	state, err := c.readState(req.GetType(), req.GetId())
	r.Outputs = state
	return state, err == nil, err
}

// invoke records a function call and answers it as the cloud would.
func (c *Cloud) invoke(token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.invokes = append(c.invokes, Invoke{Token: token, Args: args, Seq: c.seq})
	switch token {
	case "equinix:metal/getDeviceBgpNeighbors:getDeviceBgpNeighbors":
		return c.bgpNeighbors(args)
	}
	return nil, fmt.Errorf("mockcloud: unexpected invoke %s", token)
}

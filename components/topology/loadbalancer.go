package topology

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LoadBalancerMode says who announces LoadBalancer addresses to the top-of-rack routers.
type LoadBalancerMode string

const (
	// ModeCalico: Calico announces the LoadBalancer ranges over its own sessions with the routers;
	// MetalLB only assigns addresses (controller, no speakers).
	ModeCalico LoadBalancerMode = "calico"
	// ModeBirdLocalPeer is the guide's design: MetalLB speakers peer with the node's own Calico
	// BIRD on 127.0.0.1, and Calico re-announces to the routers.
	ModeBirdLocalPeer LoadBalancerMode = "bird-local-peer"
)

// Modes lists the valid modes.
var Modes = []LoadBalancerMode{ModeCalico, ModeBirdLocalPeer}

// Node labels shared by the components.
const (
	// SpeakerLabel marks the nodes that run a MetalLB speaker (the workers). Calico's 127.0.0.1
	// peer applies only to them, so no node waits for a speaker that will never come.
	SpeakerLabel = "metalk8s.io/metallb-speaker"
	// SpeakerLabelValue is the label's value on those nodes.
	SpeakerLabelValue = "true"
)

// ErrPoolRange means a LoadBalancer range holds an address that is not free for services (a
// node's own address, another pool's range).
var ErrPoolRange = errors.New("LoadBalancer range holds an address in use")

// DefaultMetalLBASN is the private ASN of MetalLB's speakers in ModeBirdLocalPeer.
const DefaultMetalLBASN = 65480

// LoadBalancerPool is a named set of address ranges LoadBalancer services get addresses from.
// One value feeds both MetalLB (the pool) and Calico (what it announces or lets through), so a
// range is never written twice.
type LoadBalancerPool struct {
	// Name of the pool: plain, it names resources and is what services ask for.
	Name string
	// CIDRs of the pool; they may come from reserved blocks.
	CIDRs []pulumi.StringInput
	// AutoAssign lets MetalLB hand out the pool's addresses to services that do not ask for a pool.
	AutoAssign bool
}

// Validate reports a mode that is neither ModeCalico nor ModeBirdLocalPeer.
func (m LoadBalancerMode) Validate() error {
	if !slices.Contains(Modes, m) {
		return fmt.Errorf("invalid Mode %q: must be %q or %q", m, ModeCalico, ModeBirdLocalPeer)
	}
	return nil
}

// ValidatePools reports every pool without a unique name or without CIDRs.
func ValidatePools(pools []LoadBalancerPool) error {
	var errs []error
	names := map[string]bool{}
	for i, p := range pools {
		if p.Name == "" || names[p.Name] {
			errs = append(errs, fmt.Errorf("invalid Pools[%d].Name %q: must be set and unique", i, p.Name))
		}
		names[p.Name] = true
		if len(p.CIDRs) == 0 {
			errs = append(errs, fmt.Errorf("invalid Pools[%d] (%s): no CIDRs", i, p.Name))
		}
	}
	return errors.Join(errs...)
}

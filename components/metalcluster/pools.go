package metalcluster

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/components/metal"
	"github.com/metalk8s/metalk8s/components/topology"
)

// ErrPoolRange means a LoadBalancer range holds an address that is not free for services.
var ErrPoolRange = topology.ErrPoolRange

// CheckPools returns the pools with every range checked once the cloud knows it: a range written
// out may hold no node's own address (public or private), and no range may hold Metal's metadata
// service or an address of another pool's range (a reserved block's among them). Some of these are values only Metal knows (the nodes' addresses, the
// reserved blocks' CIDRs), so the check runs inside each range's output: a range that fails it
// fails every object built from it (the MetalLB IPAddressPool, Calico's announcements) with an
// error naming the pool, the range and the address, and none of them is created.
func (c *MetalCluster) CheckPools(pools []topology.LoadBalancerPool) []topology.LoadBalancerPool {
	addrs := make(pulumi.Array, 0, 2*len(c.Nodes))
	for _, n := range c.Nodes {
		addrs = append(addrs, pulumi.All(pulumi.String(n.Hostname), n.Device.AccessPrivateIpv4, n.Device.AccessPublicIpv4))
	}
	nodes := addrs.ToArrayOutput()
	var all pulumi.Array
	for _, p := range pools {
		for _, cidr := range p.CIDRs {
			all = append(all, pulumi.All(pulumi.String(p.Name), cidr))
		}
	}
	ranges := all.ToArrayOutput()
	out := make([]topology.LoadBalancerPool, len(pools))
	k := 0
	for i, p := range pools {
		out[i] = p
		out[i].CIDRs = make([]pulumi.StringInput, len(p.CIDRs))
		for j, cidr := range p.CIDRs {
			self := k
			k++
			name := p.Name
			// A range written out (a private range) may hold a node's address, so it waits for
			// every device; a reserved block's range cannot (Metal hands out block and device
			// addresses from different pools), so it waits for no device, and neither do the
			// objects built from it.
			against := pulumi.Input(pulumi.Array{})
			if _, static := cidr.(pulumi.String); static {
				against = nodes
			}
			out[i].CIDRs[j] = pulumi.All(cidr, against, ranges).ApplyT(func(v []any) (string, error) {
				return checkRange(name, v[0].(string), self, v[1].([]any), v[2].([]any))
			}).(pulumi.StringOutput)
		}
	}
	return out
}

// checkRange checks one range (index self among all ranges) against the nodes' addresses (each
// [hostname, private, public]), the metadata service and the other ranges (each [pool, cidr]).
func checkRange(pool, cidr string, self int, nodes, ranges []any) (string, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "", fmt.Errorf("pool %s: range %q: %w", pool, cidr, err)
	}
	var errs []error
	for _, n := range nodes {
		node := n.([]any)
		for i, kind := range []string{"private", "public"} {
			addr, err := netip.ParseAddr(node[1+i].(string))
			if err == nil && prefix.Contains(addr) {
				errs = append(errs, fmt.Errorf("%w: pool %s range %s holds node %s's %s address %s",
					ErrPoolRange, pool, cidr, node[0], kind, addr))
			}
		}
	}
	if md := netip.MustParseAddr(metal.MetadataIPv4); prefix.Contains(md) {
		errs = append(errs, fmt.Errorf("%w: pool %s range %s holds Equinix Metal's metadata service %s", ErrPoolRange, pool, cidr, md))
	}
	for k, r := range ranges {
		other := r.([]any)
		if k == self {
			continue
		}
		if op, err := netip.ParsePrefix(other[1].(string)); err == nil && op.Overlaps(prefix) {
			errs = append(errs, fmt.Errorf("%w: pool %s range %s overlaps pool %s range %s", ErrPoolRange, pool, cidr, other[0], op))
		}
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return cidr, nil
}

package metal

import (
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// BgpSession is a device's BGP session with its top-of-rack routers.
type BgpSession struct {
	pulumi.CustomResourceState

	// DeviceId the session belongs to.
	DeviceId pulumi.StringOutput `pulumi:"deviceId"`
	// Status of the session as Metal sees it (up, down, unknown).
	Status pulumi.StringOutput `pulumi:"status"`
}

// BgpSessionArgs are the inputs of a BgpSession.
type BgpSessionArgs struct {
	// DeviceId the session belongs to (required).
	DeviceId pulumi.StringInput
	// AddressFamily is ipv4 or ipv6 (required).
	AddressFamily pulumi.StringInput
	// DefaultRoute asks the routers to send a default route.
	DefaultRoute pulumi.BoolPtrInput
}

// NewBgpSession registers a BgpSession.
func NewBgpSession(ctx *pulumi.Context, name string, args *BgpSessionArgs, opts ...pulumi.ResourceOption) (*BgpSession, error) {
	if args == nil {
		args = &BgpSessionArgs{}
	}
	m := inputs("deviceId", args.DeviceId, "addressFamily", args.AddressFamily, "defaultRoute", args.DefaultRoute)
	if err := checkRequired(BgpSessionToken, m, "deviceId", "addressFamily"); err != nil {
		return nil, err
	}
	var res BgpSession
	if err := ctx.RegisterResource(BgpSessionToken, name, m, &res, pluginOptions(opts)...); err != nil {
		return nil, err
	}
	return &res, nil
}

// GetDeviceBgpNeighborsOutputArgs are the arguments of GetDeviceBgpNeighborsOutput.
type GetDeviceBgpNeighborsOutputArgs struct {
	// DeviceId whose neighbours to read.
	DeviceId pulumi.StringInput `pulumi:"deviceId"`
}

// ElementType is GetDeviceBgpNeighborsArgs.
func (GetDeviceBgpNeighborsOutputArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*GetDeviceBgpNeighborsArgs)(nil)).Elem()
}

// GetDeviceBgpNeighborsArgs are the plain arguments of the invoke.
type GetDeviceBgpNeighborsArgs struct {
	// DeviceId whose neighbours to read.
	DeviceId string `pulumi:"deviceId"`
}

// GetDeviceBgpNeighborsResult is what Metal knows of a device's BGP neighbours.
type GetDeviceBgpNeighborsResult struct {
	// BgpNeighbors has one entry per address family with a session.
	BgpNeighbors []GetDeviceBgpNeighborsBgpNeighbor `pulumi:"bgpNeighbors"`
	// DeviceId the neighbours belong to.
	DeviceId string `pulumi:"deviceId"`
	// Id of the data source.
	Id string `pulumi:"id"`
}

// GetDeviceBgpNeighborsBgpNeighbor is one address family's neighbour data.
type GetDeviceBgpNeighborsBgpNeighbor struct {
	// AddressFamily is 4 or 6.
	AddressFamily int `pulumi:"addressFamily"`
	// CustomerAs is the device's ASN.
	CustomerAs int `pulumi:"customerAs"`
	// CustomerIp is the address the device's sessions come from.
	CustomerIp string `pulumi:"customerIp"`
	// Md5Enabled says whether the sessions use a password.
	Md5Enabled bool `pulumi:"md5Enabled"`
	// Md5Password is that password (secret; never copied into outputs by this project).
	Md5Password string `pulumi:"md5Password"`
	// Multihop is true where the peers are not directly connected (the link-local peers).
	Multihop bool `pulumi:"multihop"`
	// PeerAs is the routers' ASN.
	PeerAs int `pulumi:"peerAs"`
	// PeerIps are the routers' addresses: one private gateway, or 169.254.255.1 and .2.
	PeerIps []string `pulumi:"peerIps"`
	// RoutesIns are the routes the routers send (note the plural: the provider's name).
	RoutesIns []GetDeviceBgpNeighborsBgpNeighborRoute `pulumi:"routesIns"`
	// RoutesOuts are the routes the routers accept from the device.
	RoutesOuts []GetDeviceBgpNeighborsBgpNeighborRoute `pulumi:"routesOuts"`
}

// GetDeviceBgpNeighborsBgpNeighborRoute is one route of a neighbour.
type GetDeviceBgpNeighborsBgpNeighborRoute struct {
	// Exact says whether only the exact prefix is accepted.
	Exact bool `pulumi:"exact"`
	// Route is the prefix.
	Route string `pulumi:"route"`
}

// GetDeviceBgpNeighborsResultOutput is an output of GetDeviceBgpNeighborsResult.
type GetDeviceBgpNeighborsResultOutput struct{ *pulumi.OutputState }

// ElementType is GetDeviceBgpNeighborsResult.
func (GetDeviceBgpNeighborsResultOutput) ElementType() reflect.Type {
	return reflect.TypeOf((*GetDeviceBgpNeighborsResult)(nil)).Elem()
}

// BgpNeighbors is the neighbour list.
func (o GetDeviceBgpNeighborsResultOutput) BgpNeighbors() pulumi.Output {
	return o.ApplyT(func(r GetDeviceBgpNeighborsResult) []GetDeviceBgpNeighborsBgpNeighbor { return r.BgpNeighbors })
}

// GetDeviceBgpNeighborsOutput reads a device's BGP neighbours. Its arguments may be outputs; pass
// pulumi.DependsOn with the device's BgpSession, since Metal lists neighbours only once a session
// exists. In a preview with an unknown device ID the read is skipped and the result is unknown.
func GetDeviceBgpNeighborsOutput(ctx *pulumi.Context, args GetDeviceBgpNeighborsOutputArgs, opts ...pulumi.InvokeOption) GetDeviceBgpNeighborsResultOutput {
	opts = append([]pulumi.InvokeOption{
		pulumi.Version(PluginVersion),
		pulumi.PluginDownloadURL(PluginDownloadURL),
	}, opts...)
	return ctx.InvokeOutput(GetDeviceBgpNeighborsToken, args, GetDeviceBgpNeighborsResultOutput{},
		pulumi.InvokeOutputOptions{InvokeOptions: opts}).(GetDeviceBgpNeighborsResultOutput)
}

func init() {
	pulumi.RegisterOutputType(GetDeviceBgpNeighborsResultOutput{})
}

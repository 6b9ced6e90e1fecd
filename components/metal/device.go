package metal

import (
	"fmt"
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Device is an Equinix Metal server.
type Device struct {
	pulumi.CustomResourceState

	// Hostname of the device.
	Hostname pulumi.StringOutput `pulumi:"hostname"`
	// AccessPublicIpv4 is the device's public IPv4 address.
	AccessPublicIpv4 pulumi.StringOutput `pulumi:"accessPublicIpv4"`
	// AccessPrivateIpv4 is the device's private IPv4 address, the one BGP sessions come from.
	AccessPrivateIpv4 pulumi.StringOutput `pulumi:"accessPrivateIpv4"`
	// Network lists the device's addresses with their gateways.
	Network DeviceNetworkArrayOutput `pulumi:"network"`
}

// DeviceArgs are the inputs of a Device.
type DeviceArgs struct {
	// Hostname of the device.
	Hostname pulumi.StringPtrInput
	// Plan is the server plan slug (required). Changing it replaces the device.
	Plan pulumi.StringInput
	// Metro the device is deployed in. Changing it replaces the device.
	Metro pulumi.StringPtrInput
	// OperatingSystem image slug (required).
	OperatingSystem pulumi.StringInput
	// BillingCycle is hourly or monthly.
	BillingCycle pulumi.StringPtrInput
	// ProjectId the device belongs to (required). Changing it replaces the device.
	ProjectId pulumi.StringInput
	// ProjectSshKeyIds are the project keys the device trusts. Changing them replaces the device.
	ProjectSshKeyIds pulumi.StringArrayInput
	// UserData is cloud-init data; always stored as a secret. Changing it replaces the device
	// unless Behavior.AllowChanges lists user_data.
	UserData pulumi.StringPtrInput
	// Tags on the device.
	Tags pulumi.StringArrayInput
	// Behavior lists attributes that may change without replacing the device.
	Behavior *DeviceBehaviorArgs
	// IpAddresses are the address types the device is created with. Unset, Metal gives it a
	// public IPv4, a private IPv4 and a public IPv6 address. The provider uses it only when it
	// creates the device: a change neither updates nor replaces an existing one.
	IpAddresses DeviceIpAddressArray
}

// Address types of a device's IpAddresses.
const (
	AddressTypePublicIPv4  = "public_ipv4"
	AddressTypePrivateIPv4 = "private_ipv4"
	AddressTypePublicIPv6  = "public_ipv6"
)

// DeviceIpAddressArgs is one address type a device is created with.
type DeviceIpAddressArgs struct {
	// Type is public_ipv4, private_ipv4 or public_ipv6 (required).
	Type pulumi.StringInput
	// Cidr is the prefix length of the block assigned to the device.
	Cidr pulumi.IntPtrInput
	// ReservationIds are reserved blocks to take the addresses from.
	ReservationIds pulumi.StringArrayInput
}

// DeviceIpAddressArray is a device's list of address types.
type DeviceIpAddressArray []DeviceIpAddressArgs

// DeviceBehaviorArgs says which attributes may change in place.
type DeviceBehaviorArgs struct {
	// AllowChanges names attributes (e.g. user_data) that change without a replacement.
	AllowChanges pulumi.StringArrayInput
}

// NewDevice registers a Device.
func NewDevice(ctx *pulumi.Context, name string, args *DeviceArgs, opts ...pulumi.ResourceOption) (*Device, error) {
	if args == nil {
		args = &DeviceArgs{}
	}
	m := inputs("hostname", args.Hostname, "plan", args.Plan, "metro", args.Metro,
		"operatingSystem", args.OperatingSystem, "billingCycle", args.BillingCycle,
		"projectId", args.ProjectId, "projectSshKeyIds", args.ProjectSshKeyIds, "tags", args.Tags)
	if args.UserData != nil {
		m["userData"] = pulumi.ToSecret(args.UserData)
	}
	if b := args.Behavior; b != nil {
		m["behavior"] = inputs("allowChanges", b.AllowChanges)
	}
	if len(args.IpAddresses) > 0 {
		addrs := make(pulumi.Array, len(args.IpAddresses))
		for i, a := range args.IpAddresses {
			addr := inputs("type", a.Type, "cidr", a.Cidr, "reservationIds", a.ReservationIds)
			if err := checkRequired(fmt.Sprintf("%s ipAddresses[%d]", DeviceToken, i), addr, "type"); err != nil {
				return nil, err
			}
			addrs[i] = addr
		}
		m["ipAddresses"] = addrs
	}
	if err := checkRequired(DeviceToken, m, "plan", "operatingSystem", "projectId"); err != nil {
		return nil, err
	}
	var res Device
	opts = append(pluginOptions(opts), pulumi.AdditionalSecretOutputs([]string{"userData"}))
	if err := ctx.RegisterResource(DeviceToken, name, m, &res, opts...); err != nil {
		return nil, err
	}
	return &res, nil
}

// DeviceNetwork is one address of a device.
type DeviceNetwork struct {
	// Address is the IP address.
	Address string `pulumi:"address"`
	// Cidr is the prefix length of the address's network.
	Cidr int `pulumi:"cidr"`
	// Family is 4 or 6.
	Family int `pulumi:"family"`
	// Gateway of the address's network.
	Gateway string `pulumi:"gateway"`
	// Public is false for the private network.
	Public bool `pulumi:"public"`
}

// DeviceNetworkArrayOutput is an output of []DeviceNetwork.
type DeviceNetworkArrayOutput struct{ *pulumi.OutputState }

// ElementType is []DeviceNetwork.
func (DeviceNetworkArrayOutput) ElementType() reflect.Type {
	return reflect.TypeOf((*[]DeviceNetwork)(nil)).Elem()
}

func init() {
	pulumi.RegisterOutputType(DeviceNetworkArrayOutput{})
}

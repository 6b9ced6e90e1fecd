package metal

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// IpBlockType is the kind of a reserved IP block.
type IpBlockType string

// Reserved block types this project reserves.
const (
	IpBlockTypePublicIPv4 IpBlockType = "public_ipv4"
	IpBlockTypeGlobalIPv4 IpBlockType = "global_ipv4"
)

// ReservedIpBlock is a block of elastic IP addresses reserved in a project.
type ReservedIpBlock struct {
	pulumi.CustomResourceState

	// CidrNotation is the block as address/prefix, e.g. 147.75.194.92/31.
	CidrNotation pulumi.StringOutput `pulumi:"cidrNotation"`
	// Network is the block's network address.
	Network pulumi.StringOutput `pulumi:"network"`
	// Cidr is the prefix length.
	Cidr pulumi.IntOutput `pulumi:"cidr"`
	// Gateway of the block.
	Gateway pulumi.StringOutput `pulumi:"gateway"`
	// Address is the first address of the block.
	Address pulumi.StringOutput `pulumi:"address"`
}

// ReservedIpBlockArgs are the inputs of a ReservedIpBlock.
type ReservedIpBlockArgs struct {
	// ProjectId the block is reserved in (required).
	ProjectId pulumi.StringInput
	// Type is public_ipv4 or global_ipv4.
	Type pulumi.StringPtrInput
	// Metro of a public block; must be unset for a global block.
	Metro pulumi.StringPtrInput
	// Quantity of addresses, a power of two (required).
	Quantity pulumi.IntPtrInput
	// Description shown in the Metal console.
	Description pulumi.StringPtrInput
	// Tags on the block.
	Tags pulumi.StringArrayInput
}

// NewReservedIpBlock registers a ReservedIpBlock.
func NewReservedIpBlock(ctx *pulumi.Context, name string, args *ReservedIpBlockArgs, opts ...pulumi.ResourceOption) (*ReservedIpBlock, error) {
	if args == nil {
		args = &ReservedIpBlockArgs{}
	}
	m := inputs("projectId", args.ProjectId, "type", args.Type, "metro", args.Metro,
		"quantity", args.Quantity, "description", args.Description, "tags", args.Tags)
	if err := checkRequired(ReservedIpBlockToken, m, "projectId", "quantity"); err != nil {
		return nil, err
	}
	var res ReservedIpBlock
	if err := ctx.RegisterResource(ReservedIpBlockToken, name, m, &res, pluginOptions(opts)...); err != nil {
		return nil, err
	}
	return &res, nil
}

package metal

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Project is an Equinix Metal project.
type Project struct {
	pulumi.CustomResourceState

	// Name of the project.
	Name pulumi.StringOutput `pulumi:"name"`
	// OrganizationId that owns the project.
	OrganizationId pulumi.StringOutput `pulumi:"organizationId"`
}

// ProjectArgs are the inputs of a Project.
type ProjectArgs struct {
	// Name of the project (required).
	Name pulumi.StringInput
	// OrganizationId that owns the project.
	OrganizationId pulumi.StringPtrInput
	// BgpConfig enables BGP for the project's devices.
	BgpConfig *ProjectBgpConfigArgs
}

// ProjectBgpConfigArgs is the project's BGP configuration.
type ProjectBgpConfigArgs struct {
	// DeploymentType is local (private ASN, the project's own ranges) or global.
	DeploymentType pulumi.StringInput
	// Asn is the project's local ASN.
	Asn pulumi.IntInput
	// Md5 is the optional BGP session password; it is always stored as a secret.
	Md5 pulumi.StringPtrInput
}

// NewProject registers a Project.
func NewProject(ctx *pulumi.Context, name string, args *ProjectArgs, opts ...pulumi.ResourceOption) (*Project, error) {
	if args == nil {
		args = &ProjectArgs{}
	}
	m := inputs("name", args.Name, "organizationId", args.OrganizationId)
	if b := args.BgpConfig; b != nil {
		bgp := inputs("deploymentType", b.DeploymentType, "asn", b.Asn)
		if b.Md5 != nil {
			bgp["md5"] = pulumi.ToSecret(b.Md5)
		}
		if err := checkRequired(ProjectToken+" bgpConfig", bgp, "deploymentType", "asn"); err != nil {
			return nil, err
		}
		m["bgpConfig"] = bgp
	}
	if err := checkRequired(ProjectToken, m, "name"); err != nil {
		return nil, err
	}
	var res Project
	// The engine keeps an output secret when its input was, so bgpConfig.md5 stays secret in state.
	if err := ctx.RegisterResource(ProjectToken, name, m, &res, pluginOptions(opts)...); err != nil {
		return nil, err
	}
	return &res, nil
}

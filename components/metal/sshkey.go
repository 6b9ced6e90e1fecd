package metal

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// ProjectSshKey is an SSH public key that devices of one project trust.
type ProjectSshKey struct {
	pulumi.CustomResourceState

	// Fingerprint of the key.
	Fingerprint pulumi.StringOutput `pulumi:"fingerprint"`
}

// ProjectSshKeyArgs are the inputs of a ProjectSshKey.
type ProjectSshKeyArgs struct {
	// Name of the key (required).
	Name pulumi.StringInput
	// ProjectId the key belongs to (required).
	ProjectId pulumi.StringInput
	// PublicKey in authorized_keys format (required).
	PublicKey pulumi.StringInput
}

// NewProjectSshKey registers a ProjectSshKey.
func NewProjectSshKey(ctx *pulumi.Context, name string, args *ProjectSshKeyArgs, opts ...pulumi.ResourceOption) (*ProjectSshKey, error) {
	if args == nil {
		args = &ProjectSshKeyArgs{}
	}
	m := inputs("name", args.Name, "projectId", args.ProjectId, "publicKey", args.PublicKey)
	if err := checkRequired(ProjectSshKeyToken, m, "name", "projectId", "publicKey"); err != nil {
		return nil, err
	}
	var res ProjectSshKey
	if err := ctx.RegisterResource(ProjectSshKeyToken, name, m, &res, pluginOptions(opts)...); err != nil {
		return nil, err
	}
	return &res, nil
}

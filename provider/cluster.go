package provider

import (
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/program"
)

// Cluster is the whole cluster as one component, in either mode: the components the metalk8s
// program composes (program.Compose), as children of this one. Its outputs are the program's
// stack outputs (ClusterOutputs).
type Cluster struct {
	pulumi.ResourceState

	// Outputs are the composed components.
	Outputs *program.Outputs
}

// Annotate gives the component its lasting type token (see Token).
func (c *Cluster) Annotate(a infer.Annotator) {
	a.SetToken(Module, TypeName)
}

// NewCluster registers the component and, under it, everything the program registers for the
// configuration cfg (parsed with config.Parse), every resource name prefixed by name. Its
// outputs are the program's stack outputs.
func NewCluster(ctx *pulumi.Context, name string, cfg *config.Cluster, opts ...pulumi.ResourceOption) (*Cluster, error) {
	c := &Cluster{}
	if err := ctx.RegisterComponentResource(Token, name, c, opts...); err != nil {
		return nil, err
	}
	out, err := program.Compose(ctx, name, cfg, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	c.Outputs = out
	if err := ctx.RegisterResourceOutputs(c, out.Map()); err != nil {
		return nil, err
	}
	return c, nil
}

package calicobgp

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/metalk8s/metalk8s/components/topology"
)

// logEngine is the engine side of a preview: it keeps every log message the program sends,
// which is what pulumi preview and up print (the SDK's own mocks drop them).
type logEngine struct {
	pulumirpc.UnimplementedEngineServer
	mu   sync.Mutex
	logs []*pulumirpc.LogRequest
	root string
}

func (e *logEngine) Log(_ context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logs = append(e.logs, req)
	return &emptypb.Empty{}, nil
}

func (e *logEngine) GetRootResource(context.Context, *pulumirpc.GetRootResourceRequest) (*pulumirpc.GetRootResourceResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &pulumirpc.GetRootResourceResponse{Urn: e.root}, nil
}

func (e *logEngine) SetRootResource(_ context.Context, req *pulumirpc.SetRootResourceRequest) (*pulumirpc.SetRootResourceResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.root = req.GetUrn()
	return &pulumirpc.SetRootResourceResponse{}, nil
}

// previewMonitor accepts every registration of a preview: a URN, no ID, the inputs as outputs.
type previewMonitor struct {
	pulumirpc.UnimplementedResourceMonitorServer
}

func (previewMonitor) SupportsFeature(context.Context, *pulumirpc.SupportsFeatureRequest) (*pulumirpc.SupportsFeatureResponse, error) {
	return &pulumirpc.SupportsFeatureResponse{}, nil
}

func (previewMonitor) RegisterResource(_ context.Context, req *pulumirpc.RegisterResourceRequest) (*pulumirpc.RegisterResourceResponse, error) {
	return &pulumirpc.RegisterResourceResponse{Urn: "urn:pulumi:s::p::" + req.GetType() + "::" + req.GetName(), Object: req.GetObject()}, nil
}

func (previewMonitor) RegisterResourceOutputs(context.Context, *pulumirpc.RegisterResourceOutputsRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// TestModeWarningIsLogged previews the component in each mode with an engine that keeps the
// program's log messages: bird-local-peer logs LocalPeerWarning once, as a warning on the
// component, and returns it in Warnings; calico logs and returns nothing.
func TestModeWarningIsLogged(t *testing.T) {
	for _, mode := range []topology.LoadBalancerMode{topology.ModeCalico, topology.ModeBirdLocalPeer} {
		t.Run(string(mode), func(t *testing.T) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			engine := &logEngine{}
			srv := grpc.NewServer()
			pulumirpc.RegisterResourceMonitorServer(srv, previewMonitor{})
			pulumirpc.RegisterEngineServer(srv, engine)
			go func() { _ = srv.Serve(lis) }()
			defer srv.Stop()

			var warnings []string
			err = pulumi.RunErr(func(ctx *pulumi.Context) error {
				provider, err := kubernetes.NewProvider(ctx, "k", nil)
				if err != nil {
					return err
				}
				c, err := NewCalicoBGP(ctx, "c", &CalicoBGPArgs{Provider: provider, Shell: shell{template: fixture(t, v331Fixture)}, PodCIDR: "172.16.0.0/12", Mode: mode,
					Pools: []topology.LoadBalancerPool{{Name: "p", CIDRs: []pulumi.StringInput{pulumi.String("192.0.2.0/30")}}}})
				if err != nil {
					return err
				}
				warnings = c.Warnings
				return nil
			}, func(ri *pulumi.RunInfo) {
				ri.Project, ri.Stack, ri.DryRun = "p", "s", true
				ri.MonitorAddr, ri.EngineAddr = lis.Addr().String(), lis.Addr().String()
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if mode == topology.ModeBirdLocalPeer {
				want = []string{LocalPeerWarning}
			}
			if !slices.Equal(warnings, want) {
				t.Errorf("Warnings %q, want %q", warnings, want)
			}
			var logged []string
			for _, l := range engine.logs {
				if l.GetSeverity() == pulumirpc.LogSeverity_WARNING {
					logged = append(logged, l.GetMessage())
					if want := "urn:pulumi:s::p::" + TypeToken + "::c"; l.GetUrn() != want {
						t.Errorf("warning logged on %q, want the component %q", l.GetUrn(), want)
					}
				}
			}
			if !slices.Equal(logged, want) {
				t.Errorf("logged warnings %q, want %q", logged, want)
			}
		})
	}
}

// shell stands in for bootstrap.Bootstrap: each script becomes a step that runs nothing; the
// read of the stock BIRD template returns template.
type shell struct{ template string }

type step struct{ pulumi.ResourceState }

func (sh shell) RunScript(ctx *pulumi.Context, name string, _ pulumi.StringInput, opts ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.Resource, error) {
	s := &step{}
	if err := ctx.RegisterComponentResource("test:index:Step", name, s, opts...); err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	out := ""
	if strings.HasSuffix(name, "-bird-template") {
		out = sh.template
	}
	return pulumi.String(out).ToStringOutput(), s, nil
}

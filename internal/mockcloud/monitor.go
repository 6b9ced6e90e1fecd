package mockcloud

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// marshalling keeps unknowns, secrets and resource references, as the real engine does.
var marshalling = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}

// Run runs a Pulumi program against the fake, with a stack's configuration.
//
// A simulated deployment runs in process, through the SDK's own mock monitor (pulumi.MockResourceMonitor).
// A preview goes through a resource monitor served over gRPC on the loopback interface instead:
// the SDK's mock monitor drops unknown values, and a secret whose value is unknown (the output of
// every remote command in a preview) fails there with "malformed RPC secret: missing value".
// Both answer from the same fake and record the same things.
func (c *Cloud) Run(program pulumi.RunFunc, project, stack string, cfg map[string]string, secretKeys []string) error {
	c.project, c.stack = project, stack
	info := func(ri *pulumi.RunInfo) {
		ri.Project, ri.Stack = project, stack
		ri.DryRun = c.Preview
		ri.Config, ri.ConfigSecretKeys = cfg, secretKeys
	}
	if !c.Preview && !c.Loopback {
		return pulumi.RunErr(program, func(ri *pulumi.RunInfo) {
			info(ri)
			ri.MonitorAddr, ri.EngineAddr = "", ""
			ri.Mocks = mocks{c}
		})
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("mockcloud: %w", err)
	}
	srv := grpc.NewServer()
	pulumirpc.RegisterResourceMonitorServer(srv, &monitor{cloud: c})
	pulumirpc.RegisterEngineServer(srv, &engine{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	return pulumi.RunErr(program, func(ri *pulumi.RunInfo) {
		info(ri)
		ri.MonitorAddr, ri.EngineAddr = lis.Addr().String(), lis.Addr().String()
	})
}

// Mocks answers the SDK's mock monitor interface from the fake, for an engine other than Run's
// (pulumi-go-provider's integration server, which constructs a component package's component
// against it), recording URNs for the given project and stack.
func (c *Cloud) Mocks(project, stack string) pulumi.MockResourceMonitor {
	c.project, c.stack = project, stack
	return mocks{c}
}

// mocks answers the SDK's mock monitor from the fake: registrations and reads arrive with the
// whole request, so the fake records dependencies and options as it does over gRPC.
type mocks struct{ cloud *Cloud }

func (m mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if args.ReadRPC != nil {
		state, _, err := m.cloud.read(args.ReadRPC)
		return args.ReadRPC.GetId(), state, err
	}
	return m.cloud.register(args.RegisterRPC, args.Inputs)
}

func (m mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return m.cloud.invoke(args.Token, args.Args)
}

// monitor is the engine's resource monitor, answered by the fake.
type monitor struct {
	pulumirpc.UnimplementedResourceMonitorServer
	cloud *Cloud
}

func (m *monitor) GetDeploymentInfo(context.Context, *emptypb.Empty) (*pulumirpc.DeploymentInfo, error) {
	return &pulumirpc.DeploymentInfo{
		Project: m.cloud.project, Stack: m.cloud.stack,
		SupportedFeatures: []pulumirpc.ResourceMonitorFeature{
			pulumirpc.ResourceMonitorFeature_RESOURCE_MONITOR_FEATURE_SECRETS,
			pulumirpc.ResourceMonitorFeature_RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
		},
	}, nil
}

func (m *monitor) SupportsFeature(_ context.Context, req *pulumirpc.SupportsFeatureRequest) (*pulumirpc.SupportsFeatureResponse, error) {
	switch req.GetId() {
	case "secrets", "resourceReferences":
		return &pulumirpc.SupportsFeatureResponse{HasSupport: true}, nil
	}
	return &pulumirpc.SupportsFeatureResponse{HasSupport: false}, nil
}

func (m *monitor) RegisterResource(_ context.Context, req *pulumirpc.RegisterResourceRequest) (*pulumirpc.RegisterResourceResponse, error) {
	c := m.cloud
	if req.GetType() == string(resource.RootStackType) && req.GetParent() == "" {
		return &pulumirpc.RegisterResourceResponse{Urn: c.urn("", req.GetType(), req.GetName())}, nil
	}
	inputs, err := plugin.UnmarshalProperties(req.GetObject(), marshalling)
	if err != nil {
		return nil, err
	}
	id, state, err := c.register(req, inputs)
	if err != nil {
		return nil, err
	}
	out, err := plugin.MarshalProperties(state, marshalling)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.RegisterResourceResponse{Urn: c.urn(req.GetParent(), req.GetType(), req.GetName()), Id: id, Object: out}, nil
}

func (m *monitor) ReadResource(_ context.Context, req *pulumirpc.ReadResourceRequest) (*pulumirpc.ReadResourceResponse, error) {
	c := m.cloud
	state, known, err := c.read(req)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.ReadResourceResponse{Urn: c.urn(req.GetParent(), req.GetType(), req.GetName()), Id: req.GetId(), Unknown: !known}
	if known {
		if resp.Properties, err = plugin.MarshalProperties(state, marshalling); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func (m *monitor) RegisterResourceOutputs(context.Context, *pulumirpc.RegisterResourceOutputsRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (m *monitor) Invoke(_ context.Context, req *pulumirpc.ResourceInvokeRequest) (*pulumirpc.ResourceInvokeResponse, error) {
	args, err := plugin.UnmarshalProperties(req.GetArgs(), marshalling)
	if err != nil {
		return nil, err
	}
	result, err := m.cloud.invoke(req.GetTok(), args)
	if err != nil {
		return &pulumirpc.ResourceInvokeResponse{Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	ret, err := plugin.MarshalProperties(result, marshalling)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ResourceInvokeResponse{Return: ret}, nil
}

func (m *monitor) SignalAndWaitForShutdown(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// engine takes the program's log messages and remembers the root resource.
type engine struct {
	pulumirpc.UnimplementedEngineServer
	mu   sync.Mutex
	root string
}

func (e *engine) Log(context.Context, *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (e *engine) GetRootResource(context.Context, *pulumirpc.GetRootResourceRequest) (*pulumirpc.GetRootResourceResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &pulumirpc.GetRootResourceResponse{Urn: e.root}, nil
}

func (e *engine) SetRootResource(_ context.Context, req *pulumirpc.SetRootResourceRequest) (*pulumirpc.SetRootResourceResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.root = req.GetUrn()
	return &pulumirpc.SetRootResourceResponse{}, nil
}

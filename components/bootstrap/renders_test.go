package bootstrap

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// TestRenderingDoesNotGrowWithTheCluster counts template executions for a whole bootstrap of 2
// and of 40 workers: the scripts every node shares are rendered once and filled in per node, so
// both counts must be equal. (Not parallel: the counter is the package's.)
func TestRenderingDoesNotGrowWithTheCluster(t *testing.T) {
	count := func(workers int) int64 {
		host := func(name string, i int) Host {
			addr := fmt.Sprintf("192.0.2.%d", i+1)
			return Host{Name: name, SSHAddress: pulumi.String(addr), PublicIPv4: pulumi.String(addr),
				PrivateIPv4: pulumi.String(fmt.Sprintf("10.0.0.%d", i+1)), Labels: map[string]string{"example.com/role": "worker"}}
		}
		before := renders.Load()
		err := mockcloud.New(false, mockcloud.SiteIBX).Run(func(ctx *pulumi.Context) error {
			a := shapeArgs()
			a.Controller = host("cp", 0)
			a.Controller.Labels = nil
			for i := 1; i <= workers; i++ {
				a.Workers = append(a.Workers, host(fmt.Sprintf("w%d", i), i))
			}
			b, err := NewBootstrap(ctx, "c", &a)
			if err == nil && len(b.Workers) != workers {
				err = fmt.Errorf("%d workers' steps, want %d", len(b.Workers), workers)
			}
			return err
		}, "p", "s", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return renders.Load() - before
	}
	small, large := count(2), count(40)
	t.Logf("template executions: %d for 2 workers, %d for 40", small, large)
	if small == 0 || small != large {
		t.Errorf("template executions: %d for 2 workers, %d for 40: rendering grows with the cluster", small, large)
	}
}

package tests

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
	"github.com/metalk8s/metalk8s/program"
)

// BenchmarkProgram evaluates the whole program under mocks for 3, 50 and 500 nodes: "deploy" as
// `pulumi up` would (in process, through the SDK's mock monitor), "preview" as `pulumi preview`
// would (unknown outputs, through the fake engine served over gRPC on the loopback interface, whose
// server side runs on the same core). Run it with:
//
//	go test ./tests -run '^$' -bench Program -benchtime 3x -cpu 1
func BenchmarkProgram(b *testing.B) {
	for _, mode := range []struct {
		name    string
		preview bool
	}{{"deploy", false}, {"preview", true}} {
		for _, nodes := range []int{3, 50, 500} {
			b.Run(fmt.Sprintf("%s/nodes=%d", mode.name, nodes), func(b *testing.B) {
				cfg := benchConfig(b, nodes)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					cloud := mockcloud.New(mode.preview, mockcloud.SiteIBX)
					if err := cloud.Run(program.Run, "metalk8s", "dev", cfg, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchConfig is the dev stack with a controller and nodes-1 workers.
func benchConfig(b testing.TB, nodes int) map[string]string {
	c := devCluster(b)
	set(b, c, "workers.count", nodes-1)
	raw, err := json.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	return map[string]string{config.Key: string(raw)}
}

// TestProgramCostIsLinear checks, with allocation counts (which unlike times do not vary from run
// to run), that each node costs the program the same whatever the cluster's size: the allocations
// one more node adds between 50 and 500 nodes are those it adds between 3 and 50, within 5%. Work
// over every node done for each node (a lookup through a list, a copy of every node's data)
// breaks this; components/bootstrap shows separately that shared scripts are rendered once.
func TestProgramCostIsLinear(t *testing.T) {
	allocs := map[int]float64{}
	for _, nodes := range []int{3, 50, 500} {
		cfg := benchConfig(t, nodes)
		allocs[nodes] = testing.AllocsPerRun(1, func() {
			if err := mockcloud.New(false, mockcloud.SiteIBX).Run(program.Run, "metalk8s", "dev", cfg, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	small := (allocs[50] - allocs[3]) / 47
	large := (allocs[500] - allocs[50]) / 450
	t.Logf("allocations: %v; per node: %.0f from 3 to 50 nodes, %.0f from 50 to 500", allocs, small, large)
	if large > small*1.05 || large < small*0.95 {
		t.Errorf("a node costs %.0f allocations from 50 to 500 nodes but %.0f from 3 to 50: growth is not linear", large, small)
	}
}

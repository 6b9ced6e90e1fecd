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
func benchConfig(b *testing.B, nodes int) map[string]string {
	c := devCluster(b)
	set(b, c, "workers.count", nodes-1)
	raw, err := json.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	return map[string]string{config.Key: string(raw)}
}

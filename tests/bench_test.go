package tests

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
	"github.com/metalk8s/metalk8s/program"
)

// BenchmarkProgram runs the whole program under the fake cloud, as `pulumi up` would evaluate it,
// for 3, 50 and 500 nodes. Run it with:
//
//	go test ./tests -run '^$' -bench Program -benchtime 3x -cpu 1
func BenchmarkProgram(b *testing.B) {
	for _, nodes := range []int{3, 50, 500} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			c := devCluster(b)
			set(b, c, "workers.count", nodes-1)
			raw, err := json.Marshal(c)
			if err != nil {
				b.Fatal(err)
			}
			cfg := map[string]string{config.Key: string(raw)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cloud := mockcloud.New(false, mockcloud.SiteIBX)
				if err := cloud.Run(program.Run, "metalk8s", "dev", cfg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

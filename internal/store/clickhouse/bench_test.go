package clickhouse

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/store/clickhouse/chtest"
)

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInsert writes batches of generated flows (every column filled)
// and reports flows per CPU-second of the server (the issue's "per
// ClickHouse core") and of the client, and bytes per flow on disk.
//
//	go test -run '^$' -bench Insert -benchtime 40x ./internal/store/clickhouse
func BenchmarkInsert(b *testing.B) {
	for _, rows := range []int{65536, 262144} {
		b.Run(flowsName(rows), func(b *testing.B) {
			srv := chtest.Start(b, chtest.Options{})
			ctx := context.Background()
			s, err := Open(ctx, testConfig(srv.DSN("bench")))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batches := make([]*flow.Batch, 4)
			base := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
			for i := range batches {
				batches[i] = genBatch(rows, uint64(i), base)
			}
			srvCPU0, _ := srv.CPU()
			cli0 := cpuSelf()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Insert(ctx, batches[i%len(batches)], ""); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			srvCPU1, _ := srv.CPU()
			cli := cpuSelf() - cli0
			flows := float64(b.N * rows)
			b.ReportMetric(flows/b.Elapsed().Seconds(), "flows/s")
			b.ReportMetric(flows/(srvCPU1-srvCPU0).Seconds(), "flows/server-CPU-s")
			b.ReportMetric(flows/cli.Seconds(), "flows/client-CPU-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func flowsName(n int) string {
	if n%1024 == 0 {
		return "batch=" + itoa(n/1024) + "Ki"
	}
	return "batch=" + itoa(n)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

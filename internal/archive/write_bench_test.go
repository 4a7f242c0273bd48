package archive

import (
	"io"
	"runtime"

	"github.com/flowlake/flowlake/internal/flow"

	"github.com/prometheus/client_golang/prometheus"
	"testing"
	"time"
)

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// BenchmarkWrite measures batch -> Parquet (in memory, ZSTD at the flush
// level) in flows/s and the bytes per flow of a flush file.
func BenchmarkWrite(b *testing.B) {
	// One batch of 256 Ki flows to one file: parquet-go's Writer (what
	// compaction writes with) against flushFile (what flushes write with).
	b.Run("writer=parquet-go", func(b *testing.B) { benchWrite(b, false) })
	b.Run("writer=flushfile", func(b *testing.B) { benchWrite(b, true) })
	b.Run("archive", benchArchiveFlush)
	// buckets=16 spreads each flush over 16 files by src_addr (the default
	// at this rate); buckets=1 is the layout without buckets.
	b.Run("archive-batches=1Ki/buckets=16", func(b *testing.B) { benchArchiveSmallBatches(b, 16) })
	b.Run("archive-batches=1Ki/buckets=1", func(b *testing.B) { benchArchiveSmallBatches(b, 1) })
}

// benchArchiveSmallBatches is the flush path as the collector drives it:
// batches of 1024 flows (what the pipeline hands over) until FlushRows
// (512 Ki, serve's default) are in, then a flush. It reports the process
// CPU per flow, GC included, and the live heap the archive holds just
// before a flush.
func benchArchiveSmallBatches(b *testing.B, buckets int) {
	const n, per = 1 << 19, 1 << 10
	all := genBatch(1, time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC), n, 20000)
	batches := make([]*flow.Batch, 0, n/per)
	for lo := 0; lo < n; lo += per {
		part := new(flow.Batch)
		part.AppendRows(all, seq(lo, lo+per))
		batches = append(batches, part)
	}
	// The live heap the archive holds just before a flush is measured over
	// that of the test data (about 1 GB).
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	all = nil
	before := live()
	dir := b.TempDir()
	a, err := Open(dir, Config{FlushInterval: time.Hour, FlushRows: 1 << 30, Buckets: buckets}, Dependencies{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	a.buckets = a.bucketsFor(n) // as after a flush of n flows
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		for _, p := range batches {
			if err := a.WriteBatch(p); err != nil {
				b.Fatal(err)
			}
		}
		if err := a.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	for _, p := range batches {
		if err := a.WriteBatch(p); err != nil {
			b.Fatal(err)
		}
	}
	after := live()
	runtime.KeepAlive(batches)
	heap := after - min(after, before)
	b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "flows/cpu-s")
	b.ReportMetric(float64(heap)/(1<<20), "live-heap-MiB")
	if st, err := Stats(dir); err == nil {
		b.ReportMetric(st.BytesPerFlow, "bytes/flow")
	}
	b.ReportMetric(0, "ns/op")
}

func seq(lo, hi int) []int {
	s := make([]int, hi-lo)
	for i := range s {
		s[i] = lo + i
	}
	return s
}

// benchArchiveFlush is the whole flush path: WriteBatch (copy into the
// buffer), Flush (Parquet, fsync, rename, catalog).
func benchArchiveFlush(b *testing.B) {
	const n = 1 << 18
	batch := genBatch(1, time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC), n, 20000)
	a, err := Open(b.TempDir(), Config{FlushInterval: time.Hour}, Dependencies{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		if err := a.WriteBatch(batch); err != nil {
			b.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	b.ReportMetric(float64(n)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "flows/cpu-s")
	b.ReportMetric(0, "ns/op")
}

func benchWrite(b *testing.B, flushFileWriter bool) {
	const n = 1 << 18
	batch := genBatch(1, time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC), n, 20000)
	b.ResetTimer()
	cpu0 := cpuTime()
	var size int
	fw := newFileWriter(writeOptions{rowGroupRows: 32 << 10, level: flushLevel})
	ff := newFlushFile(32<<10, flushLevel)
	for range b.N {
		if flushFileWriter {
			if err := ff.append(batch, nil); err != nil {
				b.Fatal(err)
			}
			data, err := ff.finish(nil)
			if err != nil {
				b.Fatal(err)
			}
			size = len(data)
			continue
		}
		var w countWriter
		if err := fw.write(&w, batch, nil, nil, nil); err != nil {
			b.Fatal(err)
		}
		size = int(w.n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	b.ReportMetric(float64(n)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "flows/cpu-s")
	b.ReportMetric(float64(size)/n, "bytes/flow")
	b.ReportMetric(0, "ns/op")
}

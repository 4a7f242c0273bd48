package archive

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/flow"
)

// BenchmarkCompactedLayout compares the row orders considered for
// compacted files, and bloom filters on the address columns, on one hour of
// flows: bytes per flow, and the fraction of row groups a reader must scan
// for a needle query on src_addr (row group min/max, and bloom filter when
// present) and for a 5-minute time_received window. Lower is better.
func BenchmarkCompactedLayout(b *testing.B) {
	n := 1 << 21
	if s := os.Getenv("FLOWLAKE_LAYOUT_FLOWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	start := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)
	batch := genBatch(1, start, n, float64(n)/3600)
	rng := rand.New(rand.NewPCG(2, 3))
	var popular, rare []flow.Addr
	for range 200 {
		popular = append(popular, batch.SrcAddr[rng.IntN(n)]) // weighted by traffic
	}
	g := newFlowGen(1, start, 1)
	for range 200 {
		rare = append(rare, g.hosts[25000+rng.IntN(25000)]) // the long tail
	}
	bloom := []parquet.BloomFilterColumn{
		parquet.SplitBlockFilter(10, "src_addr"), parquet.SplitBlockFilter(10, "dst_addr"),
	}
	cases := []struct {
		name  string
		order sortOrder
		bloom []parquet.BloomFilterColumn
		level zstd.Level
	}{
		{"order=time,src,dst", sortTimeSrcDst, nil, compactLevel},
		{"order=src,dst,time", sortSrcDstTime, nil, compactLevel},
		{"order=clustered", sortClustered, nil, compactLevel},
		{"order=time,src,dst+bloom", sortTimeSrcDst, bloom, compactLevel},
		{"order=src,dst,time+zstd=fastest", sortSrcDstTime, nil, zstd.SpeedFastest},
		{"order=src,dst,time+zstd=default", sortSrcDstTime, nil, zstd.SpeedDefault},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			perm := sortedIndex(batch, c.order, 128<<10)
			b.ResetTimer()
			cpu0 := cpuTime()
			fw := newFileWriter(writeOptions{rowGroupRows: 128 << 10, level: c.level, sorting: c.order.columns(), bloom: c.bloom})
			for range b.N {
				buf.Reset()
				if err := fw.write(&buf, batch, nil, perm, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(buf.Len())/float64(n), "bytes/flow")
			b.ReportMetric(float64(n)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "flows/cpu-s")
			b.ReportMetric(rowGroupHits(pf, flow.ColSrcAddr, popular), "rg-scan-popular-src")
			b.ReportMetric(rowGroupHits(pf, flow.ColSrcAddr, rare), "rg-scan-rare-src")
			// 5-minute windows.
			var hits, total float64
			for w := start; w.Before(start.Add(time.Hour)); w = w.Add(5 * time.Minute) {
				lo, hi := w.UnixNano(), w.Add(5*time.Minute).UnixNano()
				for _, rg := range pf.Metadata().RowGroups {
					st := rg.Columns[flow.ColTimeReceived].MetaData.Statistics
					mn := parquet.Int64.Value(st.MinValue)
					mx := parquet.Int64.Value(st.MaxValue)
					total++
					if mx.Int64() >= lo && mn.Int64() < hi {
						hits++
					}
				}
			}
			b.ReportMetric(hits/total, "rg-scan-5min")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// rowGroupHits is the mean fraction of row groups that statistics (and
// bloom filters, when written) cannot rule out for an equality on column c.
func rowGroupHits(pf *parquet.File, c int, needles []flow.Addr) float64 {
	var hits, total float64
	for _, a := range needles {
		for i, rg := range pf.RowGroups() {
			total++
			st := pf.Metadata().RowGroups[i].Columns[c].MetaData.Statistics
			if bytes.Compare(a[:], st.MinValue) < 0 || bytes.Compare(a[:], st.MaxValue) > 0 {
				continue
			}
			if bf := rg.ColumnChunks()[c].BloomFilter(); bf != nil {
				if ok, err := bf.Check(parquet.FixedLenByteArrayValue(a[:])); err == nil && !ok {
					continue
				}
			}
			hits++
		}
	}
	return hits / total
}

// BenchmarkCompact10M writes 10 M flows (three hours, flushed in files of
// 50 k flows) through an Archive, compacts them and reports bytes per flow
// before and after and the compaction rate, for the compaction layout in
// force (layout=current) and the one it replaced (layout=previous:
// src,dst,time order, flush encodings, 256 KiB pages).
// FLOWLAKE_COMPACT_FLOWS overrides the count.
func BenchmarkCompact10M(b *testing.B) {
	b.Run("layout=current", benchCompact)
	b.Run("layout=previous", func(b *testing.B) {
		order, sch, page := compactOrder, compactSchema, compactPageBytes
		compactOrder, compactSchema, compactPageBytes = sortSrcDstTime, flowSchema, 256<<10
		defer func() { compactOrder, compactSchema, compactPageBytes = order, sch, page }()
		benchCompact(b)
	})
}

func benchCompact(b *testing.B) {
	total := 10_000_000
	if s := os.Getenv("FLOWLAKE_COMPACT_FLOWS"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		a, err := Open(dir, Config{FlushRows: 50000, FlushInterval: time.Hour, GraceDelete: -1}, Dependencies{Registerer: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		g := newFlowGen(1, start, float64(total)/(3*3600))
		batch := new(flow.Batch)
		for sent := 0; sent < total; sent += 10000 {
			batch.Truncate(0)
			g.fill(batch, min(10000, total-sent))
			a.WriteBatch(batch)
		}
		if err := a.Flush(); err != nil {
			b.Fatal(err)
		}
		before, _ := Stats(dir)
		b.StartTimer()
		cpu0 := cpuTime()
		res, err := a.Compact(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		cpu := cpuTime() - cpu0
		b.StopTimer()
		after, _ := Stats(dir)
		a.Close()
		if after.Rows != int64(total) {
			b.Fatalf("%d rows after compaction, want %d", after.Rows, total)
		}
		b.ReportMetric(before.BytesPerFlow, "flush-bytes/flow")
		b.ReportMetric(after.BytesPerFlow, "compacted-bytes/flow")
		b.ReportMetric(float64(res.Rows)/cpu.Seconds(), "compact-flows/cpu-s")
		b.ReportMetric(float64(after.Files), "files")
		b.ReportMetric(0, "ns/op")
	}
}

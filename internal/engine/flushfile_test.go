package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// TestFlushedEdgeValues reads with DuckDB the flush files the archive
// writes (its own Parquet encoder, not parquet-go's writer) holding values
// at the edges of every column's type, in runs and not: for a few values
// of every column, `count(*) WHERE column = value` must be the count in the
// flows written. A wrong value or a wrong row group min/max (which DuckDB
// prunes row groups by) gives another count.
func TestFlushedEdgeValues(t *testing.T) {
	const n = 20000
	rng := rand.New(rand.NewPCG(7, 8))
	b := new(flow.Batch)
	b.Extend(n)
	for c, col := range schema.Columns {
		var pick func(i int)
		switch s := b.Column(c).(type) {
		case []uint8:
			pick = func(i int) { s[i] = []uint8{0, 1, 127, 128, 255, uint8(rng.Uint32())}[rng.IntN(6)] }
			if col.Type == schema.Enum {
				pick = func(i int) { s[i] = uint8(rng.IntN(len(col.Values))) }
			}
		case []uint16:
			pick = func(i int) { s[i] = []uint16{0, 443, 32767, 32768, 65535, uint16(rng.Uint32())}[rng.IntN(6)] }
		case []uint32:
			pick = func(i int) { s[i] = []uint32{0, math.MaxInt32, 1 << 31, math.MaxUint32, rng.Uint32()}[rng.IntN(5)] }
		case []uint64:
			pick = func(i int) {
				s[i] = []uint64{0, math.MaxInt64, 1 << 63, math.MaxUint64, rng.Uint64() >> 1}[rng.IntN(5)]
				if col.Type == schema.MAC {
					s[i] &= 1<<48 - 1
				}
			}
		case []int64:
			pick = func(i int) { s[i] = []int64{0, -1_500_000, day0.UnixNano() + 123_456_789}[rng.IntN(3)] }
			if col.Name == "time_received" {
				// The partition key: three hours, not a file per odd hour.
				pick = func(i int) { s[i] = day0.UnixNano() + rng.Int64N(int64(3*time.Hour)) }
			}
		case []flow.Addr:
			pick = func(i int) {
				switch rng.IntN(3) {
				case 0:
					s[i] = flow.Addr{}
				case 1:
					s[i] = flow.AddrFromUint32(rng.Uint32())
				default:
					for j := range s[i] {
						s[i][j] = 0xff - byte(rng.IntN(2))
					}
				}
			}
		case []string:
			pick = func(i int) { s[i] = []string{"", "edge-7", "ünïcødé", strings.Repeat("x", 300)}[rng.IntN(4)] }
		}
		for i := 0; i < n; {
			pick(i)
			run := []int{1, 1, 50, 2500}[rng.IntN(4)]
			col := reflect.ValueOf(b.Column(c))
			for j := i + 1; j < min(i+run, n); j++ {
				col.Index(j).Set(col.Index(i))
			}
			i += run
		}
	}
	dataDir := t.TempDir()
	a, err := archive.Open(dataDir, archive.Config{RowGroupRows: 1000, Buckets: 4}, archive.Dependencies{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for lo := 0; lo < n; lo += 1024 {
		part := new(flow.Batch)
		part.AppendRows(b, seqRows(lo, min(lo+1024, n)))
		if err := a.WriteBatch(part); err != nil {
			t.Fatal(err)
		}
		if lo == 4*1024 {
			if err := a.Flush(); err != nil { // later flushes are bucketed
				t.Fatal(err)
			}
		}
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	e := openEngine(t, Config{DataDir: dataDir, Files: catalogFiles(dataDir)})
	check := func(stage string) {
		if got := asInt(t, scalar(t, e, "SELECT count(*) FROM flows", time.Time{}, time.Time{})); got != n {
			t.Fatalf("%s: count(*) = %d, want %d", stage, got, n)
		}
		for c, col := range schema.Columns {
			for _, i := range []int{0, n / 2, n - 1, rng.IntN(n)} {
				lit, match := literal(b, c, i)
				var want int64
				for j := range n {
					if match(j) {
						want++
					}
				}
				q := fmt.Sprintf("SELECT count(*) FROM flows WHERE %s = %s", col.Name, lit)
				if got := asInt(t, scalar(t, e, q, time.Time{}, time.Time{})); got != want {
					t.Errorf("%s: %s: %d rows, want %d", stage, q, got, want)
				}
			}
		}
	}
	check("flushed")
	// Compacted files use other encodings (parquet-go's writer, dictionaries,
	// delta-coded bytes): the same edges through them.
	cr, err := a.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cr.FilesIn == 0 || cr.FilesOut == 0 {
		t.Fatalf("compaction did nothing (%+v): the test would not cover compacted files", cr)
	}
	check("compacted")
}

func seqRows(lo, hi int) []int {
	s := make([]int, hi-lo)
	for i := range s {
		s[i] = lo + i
	}
	return s
}

// literal returns row i of column c as a SQL literal of the view's type,
// and which rows hold the value as the lake stores it (times to the
// millisecond).
func literal(b *flow.Batch, c, i int) (string, func(j int) bool) {
	col := schema.Columns[c]
	switch s := b.Column(c).(type) {
	case []uint8:
		if col.Type == schema.Enum {
			return "'" + col.Values[s[i]] + "'", func(j int) bool { return s[j] == s[i] }
		}
		return strconv.Itoa(int(s[i])), func(j int) bool { return s[j] == s[i] }
	case []uint16:
		return strconv.Itoa(int(s[i])), func(j int) bool { return s[j] == s[i] }
	case []uint32:
		return strconv.FormatUint(uint64(s[i]), 10), func(j int) bool { return s[j] == s[i] }
	case []uint64:
		return strconv.FormatUint(s[i], 10) + "::UBIGINT", func(j int) bool { return s[j] == s[i] }
	case []int64:
		ms := func(v int64) int64 {
			if v < 0 && v%1e6 != 0 {
				return v/1e6 - 1
			}
			return v / 1e6
		}
		return fmt.Sprintf("make_timestamp(%d)", ms(s[i])*1000), func(j int) bool { return ms(s[j]) == ms(s[i]) }
	case []flow.Addr:
		return blobLiteral(s[i]), func(j int) bool { return s[j] == s[i] }
	case []string:
		return "'" + s[i] + "'", func(j int) bool { return s[j] == s[i] }
	}
	panic(col.Name)
}

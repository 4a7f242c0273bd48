package engine

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/flowlake/flowlake/internal/flow"
)

// The benchmark lake: FLOWLAKE_BENCH_FLOWS flows (default 3 M) over two
// days, one file per hour sorted by (src_addr, dst_addr, time), row groups
// of 16 Ki rows, 50,000 hosts. Built once per process.
var bench struct {
	once    sync.Once
	dir     string
	needle  flow.Record
	day     time.Time
	flows   int
	files   int
	bytes   int64
	buildMs float64
	keep    bool
}

func benchLake(b *testing.B) {
	bench.once.Do(func() {
		n := 3_000_000
		if s := os.Getenv("FLOWLAKE_BENCH_FLOWS"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		// FLOWLAKE_BENCH_DIR keeps the lake between runs (it is reused
		// when it holds files); otherwise a temporary one is removed at exit.
		dir := os.Getenv("FLOWLAKE_BENCH_DIR")
		keep := dir != ""
		if !keep {
			var err error
			if dir, err = os.MkdirTemp("", "flowlake-engine-bench-"); err != nil {
				b.Fatal(err)
			}
		}
		existing, _ := filepath.Glob(filepath.Join(dir, "flows", "*", "*", "*.parquet"))
		start := time.Now()
		// Two halves, so that only one is in memory at a time.
		for half := 0; half < 2; half++ {
			recs := genFlowsHosts(uint64(10+half), n/2, 50_000, day0.Add(time.Duration(half)*24*time.Hour), 24*time.Hour)
			if half == 1 {
				bench.needle = recs[len(recs)/2]
			}
			if len(existing) > 0 {
				continue
			}
			paths := writeLake(b, dir, recs, 1, 16<<10)
			bench.files += len(paths)
			for _, p := range paths {
				st, _ := os.Stat(p)
				bench.bytes += st.Size()
			}
		}
		if len(existing) > 0 {
			bench.files = len(existing)
			for _, p := range existing {
				st, _ := os.Stat(p)
				bench.bytes += st.Size()
			}
		}
		bench.buildMs = float64(time.Since(start).Milliseconds())
		bench.dir, bench.flows, bench.keep = dir, n, keep
		bench.day = time.Unix(0, bench.needle.TimeReceived).UTC().Truncate(24 * time.Hour)
	})
	if bench.dir == "" {
		b.Fatal("bench lake not built")
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" && !bench.keep {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// timeQuery runs q once and returns its latency in milliseconds.
func timeQuery(b *testing.B, e *Engine, q string, from, to time.Time) float64 {
	b.Helper()
	start := time.Now()
	res, err := e.Query(context.Background(), q, from, to)
	if err != nil {
		b.Fatalf("%s: %v", q, err)
	}
	if len(res.Rows) == 0 {
		b.Fatalf("%s: no rows", q)
	}
	return float64(time.Since(start).Microseconds()) / 1000
}

// BenchmarkLakeQueries measures the needle and top-10 queries,
// each next to a baseline run in the same iteration:
//   - needle: address pair + port on one day (from/to select the day's
//     files); baseline: the same rows found with ip_str() on the columns,
//     which DuckDB cannot push into the Parquet scan (full scan of the day);
//   - needle-count: the needle counted instead of returned (no fetch of
//     the other 60-odd columns);
//   - needle-where: the day given in WHERE instead of from/to (all files
//     listed; row groups pruned by statistics only);
//     baseline for the count: the same look-up straight on read_parquet
//     with an unsandboxed DuckDB (the engine's per-query overhead);
//   - top10: top-10 sources by bytes over the whole lake; baseline: the
//     same SQL straight on read_parquet with an unsandboxed DuckDB (the
//     engine's overhead).
func BenchmarkLakeQueries(b *testing.B) {
	benchLake(b)
	e, err := Open(Config{DataDir: bench.dir})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	raw, err := duckdb.NewConnector("", nil)
	if err != nil {
		b.Fatal(err)
	}
	rawDB := sql.OpenDB(raw)
	defer rawDB.Close()
	defer raw.Close()

	n := bench.needle
	src, dst := n.SrcAddr.Netip().Unmap(), n.DstAddr.Netip().Unmap()
	needle := fmt.Sprintf("SELECT * FROM flows WHERE src_addr = ip('%s') AND dst_addr = ip('%s') AND dst_port = %d", src, dst, n.DstPort)
	needleCount := strings.Replace(needle, "SELECT *", "SELECT count(*)", 1)
	needleWhere := needle + fmt.Sprintf(" AND time_received >= TIMESTAMP '%s' AND time_received < TIMESTAMP '%s'",
		bench.day.Format(time.DateTime), bench.day.Add(24*time.Hour).Format(time.DateTime))
	noPush := fmt.Sprintf("SELECT * FROM flows WHERE ip_str(src_addr) = '%s' AND ip_str(dst_addr) = '%s' AND dst_port = %d", src, dst, n.DstPort)
	top10 := "SELECT src_addr, sum(bytes) AS b FROM flows GROUP BY src_addr ORDER BY b DESC LIMIT 10"
	rawTop10 := fmt.Sprintf("SELECT src_addr, sum(bytes) AS b FROM read_parquet('%s') GROUP BY src_addr ORDER BY b DESC LIMIT 10",
		filepath.Join(bench.dir, "flows", "*", "*", "*.parquet"))
	dayFrom, dayTo := bench.day, bench.day.Add(24*time.Hour)
	rawNeedleCount := fmt.Sprintf("SELECT count(*) FROM read_parquet('%s') WHERE src_addr = %s AND dst_addr = %s AND dst_port = %d",
		filepath.Join(bench.dir, "flows", "date="+bench.day.Format(time.DateOnly), "*", "*.parquet"),
		blobLiteral(n.SrcAddr), blobLiteral(n.DstAddr), n.DstPort)

	// Best of b.N rounds: the machine is shared, means and even medians
	// follow the neighbours' load.
	var tNeedle, tCount, tRawCount, tWhere, tNoPush, tTop, tRawTop []float64
	rawTime := func(q string) float64 {
		start := time.Now()
		rows, err := rawDB.Query(q)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		return float64(time.Since(start).Microseconds()) / 1000
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tNeedle = append(tNeedle, timeQuery(b, e, needle, dayFrom, dayTo))
		tCount = append(tCount, timeQuery(b, e, needleCount, dayFrom, dayTo))
		tWhere = append(tWhere, timeQuery(b, e, needleWhere, time.Time{}, time.Time{}))
		tNoPush = append(tNoPush, timeQuery(b, e, noPush, dayFrom, dayTo))
		tTop = append(tTop, timeQuery(b, e, top10, time.Time{}, time.Time{}))
		tRawTop = append(tRawTop, rawTime(rawTop10))
		tRawCount = append(tRawCount, rawTime(rawNeedleCount))
	}
	b.ReportMetric(best(tNeedle), "needle-ms")
	b.ReportMetric(best(tCount), "needle-count-ms")
	b.ReportMetric(best(tCount)/best(tRawCount), "needle-count-vs-raw-duckdb-x")
	b.ReportMetric(best(tWhere), "needle-where-ms")
	b.ReportMetric(best(tNoPush)/best(tNeedle), "needle-speedup-vs-fullscan-x")
	b.ReportMetric(best(tTop), "top10-ms")
	b.ReportMetric(best(tTop)/best(tRawTop), "top10-vs-raw-duckdb-x")
	b.ReportMetric(float64(bench.flows), "flows")
	b.ReportMetric(float64(bench.bytes)/float64(bench.flows), "bytes/flow")
	b.Logf("lake: %d flows, %d files, %.1f MB, built in %.0f ms; no-pushdown needle %.1f ms, raw top10 %.1f ms",
		bench.flows, bench.files, float64(bench.bytes)/1e6, bench.buildMs, best(tNoPush), best(tRawTop))
}

// best is the fastest of the measurements.
func best(v []float64) float64 { return slices.Min(v) }

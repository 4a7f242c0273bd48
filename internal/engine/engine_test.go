package engine

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

var day0 = time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)

func openEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func query(t testing.TB, e *Engine, q string, from, to time.Time) *Result {
	t.Helper()
	res, err := e.Query(context.Background(), q, from, to)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

// scalar returns the single value of a one-row, one-column result.
func scalar(t testing.TB, e *Engine, q string, from, to time.Time) any {
	t.Helper()
	res := query(t, e, q, from, to)
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("%s: want one value, got %v", q, res.Rows)
	}
	return res.Rows[0][0]
}

func asInt(t testing.TB, v any) int64 {
	t.Helper()
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	case *big.Int:
		return x.Int64()
	}
	t.Fatalf("not an integer: %T %v", v, v)
	return 0
}

func blobLiteral(a flow.Addr) string {
	var b strings.Builder
	b.WriteString("'")
	for _, c := range a {
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	b.WriteString("'::BLOB")
	return b.String()
}

func TestQueryMatchesIndependentComputation(t *testing.T) {
	dataDir := t.TempDir()
	recs := genFlows(1, 30000, day0, 48*time.Hour)
	writeLake(t, dataDir, recs, 2, 1000)
	e := openEngine(t, Config{DataDir: dataDir})

	if got := asInt(t, scalar(t, e, "SELECT count(*) FROM flows", time.Time{}, time.Time{})); got != int64(len(recs)) {
		t.Errorf("count(*) = %d, want %d", got, len(recs))
	}

	// Time range: [day0+10h30m, day0+30h) — neither bound on an hour, so
	// the view's row filter, not only file selection, is exercised.
	from, to := day0.Add(10*time.Hour+30*time.Minute), day0.Add(30*time.Hour)
	var inRange int64
	var sum443 uint64
	for _, r := range recs {
		if r.TimeReceived >= from.UnixNano() && r.TimeReceived < to.UnixNano() {
			inRange++
			if r.DstPort == 443 {
				sum443 += r.Bytes
			}
		}
	}
	if got := asInt(t, scalar(t, e, "SELECT count(*) FROM flows", from, to)); got != inRange {
		t.Errorf("count(*) in range = %d, want %d", got, inRange)
	}
	if got := asInt(t, scalar(t, e, "SELECT sum(bytes) FROM flows WHERE dst_port = 443", from, to)); uint64(got) != sum443 {
		t.Errorf("sum(bytes) port 443 in range = %d, want %d", got, sum443)
	}

	// Top-10 sources by bytes over everything.
	bySrc := map[flow.Addr]uint64{}
	for _, r := range recs {
		bySrc[r.SrcAddr] += r.Bytes
	}
	type kv struct {
		a flow.Addr
		b uint64
	}
	var all []kv
	for a, b := range bySrc {
		all = append(all, kv{a, b})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].b > all[j].b })
	res := query(t, e, "SELECT ip_str(src_addr) AS src, sum(bytes) AS b FROM flows GROUP BY src_addr ORDER BY b DESC LIMIT 10", time.Time{}, time.Time{})
	if len(res.Rows) != 10 {
		t.Fatalf("top 10: %d rows", len(res.Rows))
	}
	for i, row := range res.Rows {
		want := all[i]
		if row[0] != want.a.Netip().Unmap().String() || uint64(asInt(t, row[1])) != want.b {
			t.Errorf("top %d = %v %v, want %s %d", i, row[0], row[1], want.a.Netip().Unmap(), want.b)
		}
	}

	// Needle: address pair and port on one day.
	n := recs[len(recs)/3]
	dayStart := time.Unix(0, n.TimeReceived).UTC().Truncate(24 * time.Hour)
	var needle int64
	for _, r := range recs {
		if r.SrcAddr == n.SrcAddr && r.DstAddr == n.DstAddr && r.DstPort == n.DstPort &&
			r.TimeReceived >= dayStart.UnixNano() && r.TimeReceived < dayStart.Add(24*time.Hour).UnixNano() {
			needle++
		}
	}
	q := fmt.Sprintf("SELECT count(*) FROM flows WHERE src_addr = ip('%s') AND dst_addr = ip('%s') AND dst_port = %d",
		n.SrcAddr.Netip().Unmap(), n.DstAddr.Netip().Unmap(), n.DstPort)
	if got := asInt(t, scalar(t, e, q, dayStart, dayStart.Add(24*time.Hour))); got != needle || needle == 0 {
		t.Errorf("needle count = %d, want %d (> 0)", got, needle)
	}
}

// TestAddrEqualityBloom is the DuckDB 1.5.x regression: `blob = constant`
// over FIXED_LEN_BYTE_ARRAY columns with bloom filters returned no rows.
func TestAddrEqualityBloom(t *testing.T) {
	dataDir := t.TempDir()
	recs := genFlows(2, 5000, day0, time.Hour)
	writeLake(t, dataDir, recs, 1, 500)
	e := openEngine(t, Config{DataDir: dataDir})
	counts := map[flow.Addr]int64{}
	for _, r := range recs {
		counts[r.SrcAddr]++
	}
	checked := 0
	for a, want := range counts {
		if checked == 12 {
			break
		}
		checked++
		for _, lit := range []string{blobLiteral(a), fmt.Sprintf("ip('%s')", a.Netip().Unmap())} {
			got := asInt(t, scalar(t, e, "SELECT count(*) FROM flows WHERE src_addr = "+lit, time.Time{}, time.Time{}))
			if got != want {
				t.Errorf("src_addr = %s: %d rows, want %d", lit, got, want)
			}
		}
	}
	absent := flow.MustParseAddr("192.0.2.99")
	if got := asInt(t, scalar(t, e, "SELECT count(*) FROM flows WHERE src_addr = "+blobLiteral(absent), time.Time{}, time.Time{})); got != 0 {
		t.Errorf("absent address: %d rows", got)
	}
}

func TestViewTypesAndValues(t *testing.T) {
	dataDir := t.TempDir()
	rec := flow.Record{
		TimeReceived:      day0.Add(90*time.Minute + 123*time.Millisecond).UnixNano(),
		TimeStart:         day0.Add(89 * time.Minute).UnixNano(),
		TimeEnd:           day0.Add(90 * time.Minute).UnixNano(),
		SourceType:        3, // ipfix
		SrcAddr:           flow.MustParseAddr("10.1.1.8"),
		DstAddr:           flow.MustParseAddr("2001:db8::1"),
		DstPort:           443,
		SrcMAC:            0x0000deadbeef0001,
		Bytes:             1 << 40,
		ObservationDomain: 4_000_000_000,
		Direction:         2,
		ExporterName:      "edge-7",
	}
	writeLake(t, dataDir, []flow.Record{rec}, 1, 10)
	e := openEngine(t, Config{DataDir: dataDir})
	empty := openEngine(t, Config{DataDir: t.TempDir()})
	for name, eng := range map[string]*Engine{"lake": e, "empty": empty} {
		res := query(t, eng, "SELECT * FROM flows", time.Time{}, time.Time{})
		if len(res.Columns) != len(schema.Columns) {
			t.Fatalf("%s: %d columns, want %d", name, len(res.Columns), len(schema.Columns))
		}
		for i, c := range schema.Columns {
			if res.Columns[i].Name != c.Name || res.Columns[i].Type != SQLType(c.Type) {
				t.Errorf("%s: column %d = %+v, want %s %s", name, i, res.Columns[i], c.Name, SQLType(c.Type))
			}
		}
		if name == "empty" && len(res.Rows) != 0 {
			t.Errorf("empty lake returned %d rows", len(res.Rows))
		}
	}
	res := query(t, e, "SELECT time_received, source_type, ip_str(src_addr), ip_str(dst_addr), dst_port, src_mac, bytes, observation_domain, direction, exporter_name, ip_str(next_hop) FROM flows", time.Time{}, time.Time{})
	if len(res.Rows) != 1 {
		t.Fatalf("rows: %v", res.Rows)
	}
	got := res.Rows[0]
	want := []any{time.Unix(0, rec.TimeReceived).UTC(), "ipfix", "10.1.1.8", "2001:db8::1", uint16(443),
		uint64(0xdeadbeef0001), uint64(1 << 40), uint32(4_000_000_000), "egress", "edge-7", ""}
	for i := range want {
		if tt, ok := got[i].(time.Time); ok {
			if !tt.Equal(want[i].(time.Time)) || tt.Location() != time.UTC {
				t.Errorf("col %d = %v, want %v (UTC)", i, tt, want[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("col %d (%s) = %#v, want %#v", i, res.Columns[i].Name, got[i], want[i])
		}
	}
	// Timestamps compare with naive literals as UTC.
	if n := asInt(t, scalar(t, e, "SELECT count(*) FROM flows WHERE time_received >= TIMESTAMP '2026-03-03 01:30:00.123' AND time_received < TIMESTAMP '2026-03-03 01:30:00.124'", time.Time{}, time.Time{})); n != 1 {
		t.Errorf("naive UTC literal matched %d rows", n)
	}
}

func TestSandbox(t *testing.T) {
	dataDir := t.TempDir()
	writeLake(t, dataDir, genFlows(3, 100, day0, time.Hour), 1, 100)
	// A real Parquet file outside the lake, and a file in the data directory
	// but outside flows/: both must be unreadable.
	outside := filepath.Join(t.TempDir(), "outside.parquet")
	writeParquet(t, outside, genFlows(4, 10, day0, time.Hour), 10)
	state := filepath.Join(dataDir, "import", "state.json")
	os.MkdirAll(filepath.Dir(state), 0o755)
	os.WriteFile(state, []byte(`{"secret": 1}`), 0o644)
	canary := filepath.Join(t.TempDir(), "canary")
	inLake := filepath.Join(dataDir, "flows", "written.parquet")
	e := openEngine(t, Config{DataDir: dataDir})
	ctx := context.Background()

	// Controls: the same functions work inside the lake, so the failures
	// below are the sandbox, not syntax.
	lakeFile, _ := filepath.Glob(filepath.Join(dataDir, "flows", "*", "*", "*.parquet"))
	for _, q := range []string{
		fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", lakeFile[0]),
		fmt.Sprintf("SELECT count(*) FROM read_blob('%s')", lakeFile[0]),
		"WITH x AS (SELECT 1 AS a) SELECT a FROM x",
		"FROM flows LIMIT 1",
	} {
		if _, err := e.Query(ctx, q, time.Time{}, time.Time{}); err != nil {
			t.Errorf("control %q failed: %v", q, err)
		}
	}

	for _, q := range []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_blob('/etc/passwd')",
		"SELECT * FROM '/etc/passwd'",
		"SELECT * FROM glob('/etc/*')",
		fmt.Sprintf("SELECT * FROM read_parquet('%s')", outside),
		fmt.Sprintf("SELECT * FROM read_text('%s')", state),
		fmt.Sprintf("SELECT * FROM read_text('%s/../../import/state.json')", filepath.Join(dataDir, "flows")),
		fmt.Sprintf("COPY (SELECT 1) TO '%s'", canary),
		fmt.Sprintf("COPY (SELECT * FROM flows) TO '%s' (FORMAT parquet)", inLake),
		fmt.Sprintf("ATTACH '%s' AS x", canary),
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET enable_external_access = true",
		"SET allowed_directories = ['/']",
		"RESET lock_configuration",
		"PRAGMA threads = 1",
		"CREATE TABLE t AS SELECT 1",
		"CREATE MACRO m(x) AS x",
		"INSERT INTO flows SELECT * FROM flows",
		fmt.Sprintf("EXPORT DATABASE '%s'", canary),
		"CALL pragma_version()",
		"DETACH memory",
		"CREATE TABLE pwned AS SELECT 1; SELECT 1",
		"SELECT 1; SELECT 2",
		"SELECT 1; COPY (SELECT 1) TO '" + canary + "'",
		"EXPLAIN SELECT 1",
		"SELECT * FROM query('COPY (SELECT 1) TO ''" + canary + "''')",
		"SELECT * FROM read_csv('http://127.0.0.1:1/x.csv')",
	} {
		res, err := e.Query(ctx, q, time.Time{}, time.Time{})
		if err == nil {
			t.Errorf("%q: allowed, returned %v", q, res.Rows)
		} else {
			t.Logf("%q: %v", q, err)
		}
	}
	if _, err := os.Stat(canary); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("canary file was written: %v", err)
	}
	if _, err := os.Stat(inLake); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file written into the lake: %v", err)
	}
	if _, err := e.Query(ctx, "SELECT * FROM pwned", time.Time{}, time.Time{}); err == nil {
		t.Error("the first of two statements was executed")
	}
	for _, q := range []string{"SELECT current_setting('enable_external_access')", "SELECT current_setting('lock_configuration')"} {
		v := scalar(t, e, q, time.Time{}, time.Time{})
		if want := strings.Contains(q, "lock"); v != want {
			t.Errorf("%s = %v, want %v", q, v, want)
		}
	}
	if _, err := e.Query(ctx, "SELECT 1; SELECT 2", time.Time{}, time.Time{}); !errors.Is(err, ErrNotSelect) {
		t.Errorf("multiple statements: error %v, want ErrNotSelect", err)
	}
}

func TestCorruptFileSkipped(t *testing.T) {
	dataDir := t.TempDir()
	recs := genFlows(5, 4000, day0, 4*time.Hour)
	paths := writeLake(t, dataDir, recs, 1, 200)
	if len(paths) != 4 {
		t.Fatalf("want 4 files, got %d", len(paths))
	}
	rowsIn := func(p string) int64 {
		hour := strings.Split(filepath.Base(filepath.Dir(p)), "=")[1]
		var n int64
		for _, r := range recs {
			if time.Unix(0, r.TimeReceived).UTC().Format("15") == hour {
				n++
			}
		}
		return n
	}
	// truncated: framing broken (caught by the footer screen).
	truncated := paths[1]
	b, _ := os.ReadFile(truncated)
	os.WriteFile(truncated, b[:len(b)/2], 0o644)
	// scrambled: framing intact, column data destroyed (caught by DuckDB,
	// then retried without it).
	scrambled := paths[2]
	b, _ = os.ReadFile(scrambled)
	for i := 4; i < len(b)-8-4096 && i < len(b)/2; i++ {
		b[i] ^= 0x5a
	}
	os.WriteFile(scrambled, b, 0o644)
	want := rowsIn(paths[0]) + rowsIn(paths[3])

	e := openEngine(t, Config{DataDir: dataDir})
	for round := 0; round < 2; round++ { // the second round uses the bad-file memory
		res, err := e.Query(context.Background(), "SELECT count(*), sum(bytes) FROM flows", time.Time{}, time.Time{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := asInt(t, res.Rows[0][0]); got != want {
			t.Errorf("round %d: count = %d, want %d (good files only)", round, got, want)
		}
		skipped := map[string]bool{}
		for _, s := range res.Skipped {
			skipped[s.Path] = true
			if !strings.Contains(s.Reason, filepath.Base(s.Path)) {
				t.Errorf("reason %q does not name the file", s.Reason)
			}
		}
		if len(skipped) != 2 || !skipped[truncated] || !skipped[scrambled] {
			t.Errorf("round %d: skipped %v, want %s and %s", round, res.Skipped, truncated, scrambled)
		}
	}
	// A file mentioned in the error of a failure that is not about files
	// (a user's bad query) is not blamed.
	if _, err := e.Query(context.Background(), "SELECT nosuchcolumn FROM flows", time.Time{}, time.Time{}); err == nil {
		t.Error("bad column accepted")
	}
}

func TestTimeoutInterrupts(t *testing.T) {
	e := openEngine(t, Config{DataDir: t.TempDir(), Timeout: 200 * time.Millisecond})
	_, err := e.Query(context.Background(), "SELECT count(*) FROM range(1000000000) a, range(1000000) b WHERE a.range + b.range = 7", time.Time{}, time.Time{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	// The engine still works afterwards.
	if v := asInt(t, scalar(t, e, "SELECT (41 + 1)::BIGINT", time.Time{}, time.Time{})); v != 42 {
		t.Errorf("after timeout: %d", v)
	}
}

func TestMaxRows(t *testing.T) {
	e := openEngine(t, Config{DataDir: t.TempDir(), MaxRows: 5})
	res := query(t, e, "SELECT * FROM range(100)", time.Time{}, time.Time{})
	if len(res.Rows) != 5 || !res.Truncated {
		t.Errorf("range(100): %d rows, truncated %v; want 5, true", len(res.Rows), res.Truncated)
	}
	res = query(t, e, "SELECT * FROM range(5)", time.Time{}, time.Time{})
	if len(res.Rows) != 5 || res.Truncated {
		t.Errorf("range(5): %d rows, truncated %v; want 5, false", len(res.Rows), res.Truncated)
	}
}

// TestConcurrentRanges runs queries over different time ranges at once:
// each must see only its own files (the view is per connection).
func TestConcurrentRanges(t *testing.T) {
	dataDir := t.TempDir()
	recs := genFlows(6, 6000, day0, 6*time.Hour)
	writeLake(t, dataDir, recs, 1, 1000)
	e := openEngine(t, Config{DataDir: dataDir})
	want := make([]int64, 6)
	for _, r := range recs {
		want[(r.TimeReceived-day0.UnixNano())/int64(time.Hour)]++
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for rep := 0; rep < 5; rep++ {
		for h := 0; h < 6; h++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from := day0.Add(time.Duration(h) * time.Hour)
				res, err := e.Query(context.Background(), "SELECT count(*) FROM flows", from, from.Add(time.Hour))
				if err != nil {
					errs <- err
					return
				}
				if got := res.Rows[0][0].(int64); got != want[h] {
					errs <- fmt.Errorf("hour %d: %d rows, want %d", h, got, want[h])
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFilesCallback(t *testing.T) {
	dataDir := t.TempDir()
	recs := genFlows(7, 3000, day0, 3*time.Hour)
	paths := writeLake(t, dataDir, recs, 1, 1000)
	var gotFrom, gotTo time.Time
	e := openEngine(t, Config{DataDir: dataDir, Files: func(f archive.Filter) ([]archive.FileInfo, error) {
		gotFrom, gotTo = f.From, f.To
		// Relative to the data directory, as a catalog may store them.
		rel, _ := filepath.Rel(dataDir, paths[0])
		return []archive.FileInfo{{Path: rel}}, nil
	}})
	from, to := day0, day0.Add(3*time.Hour)
	var want int64
	for _, r := range recs {
		if time.Unix(0, r.TimeReceived).UTC().Hour() == 0 {
			want++
		}
	}
	if got := asInt(t, scalar(t, e, "SELECT count(*) FROM flows", from, to)); got != want {
		t.Errorf("count = %d, want %d (first file only)", got, want)
	}
	if !gotFrom.Equal(from) || !gotTo.Equal(to) {
		t.Errorf("Files got [%v, %v)", gotFrom, gotTo)
	}
}

func TestIPFunctionsAndFormat(t *testing.T) {
	e := openEngine(t, Config{DataDir: t.TempDir()})
	for _, s := range []string{"10.1.1.8", "136.144.58.113", "2001:db8::1", "::1"} {
		v := scalar(t, e, fmt.Sprintf("SELECT ip('%s')", s), time.Time{}, time.Time{})
		b, ok := v.([]byte)
		want := netip.MustParseAddr(s).As16()
		if !ok || string(b) != string(want[:]) {
			t.Errorf("ip(%s) = %v, want %v", s, v, want)
		}
		if got := scalar(t, e, fmt.Sprintf("SELECT ip_str(ip('%s'))", s), time.Time{}, time.Time{}); got != s {
			t.Errorf("ip_str(ip(%s)) = %v", s, got)
		}
		if got := FormatValue(b); got != s {
			t.Errorf("FormatValue(%v) = %q, want %q", b, got, s)
		}
	}
	if _, err := e.Query(context.Background(), "SELECT ip('not-an-ip')", time.Time{}, time.Time{}); err == nil {
		t.Error("ip('not-an-ip') accepted")
	}
	if got := FormatValue(make([]byte, 16)); got != "" {
		t.Errorf("zero address formats as %q", got)
	}
	if got := FormatValue([]byte{1, 2}); got != "0x0102" {
		t.Errorf("2-byte blob formats as %q", got)
	}
}

// TestPreparedTypeCheck exercises the second sandbox layer alone: run(),
// which the parser-level check normally shields, still refuses anything
// but one SELECT, and never executes the first of several statements.
func TestPreparedTypeCheck(t *testing.T) {
	e := openEngine(t, Config{DataDir: t.TempDir()})
	ctx := context.Background()
	conn, err := e.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	noop := func([]Column, []any) error { return nil }
	for _, q := range []string{
		"CREATE TABLE t1 AS SELECT 1",
		"SET threads = 1",
		// (PRAGMA version would pass this layer: DuckDB rewrites it into a
		// SELECT; the parser-level check is what refuses PRAGMAs.)
		"EXPLAIN SELECT 1",
		"CREATE TABLE t2 AS SELECT 1; SELECT 1",
	} {
		if err := e.run(ctx, conn, q, lakeFiles{}, time.Time{}, time.Time{}, &Result{}, noop); err == nil {
			t.Errorf("run(%q) accepted", q)
		}
	}
	for _, tbl := range []string{"t1", "t2"} {
		if err := e.run(ctx, conn, "SELECT * FROM "+tbl, lakeFiles{}, time.Time{}, time.Time{}, &Result{}, noop); err == nil {
			t.Errorf("table %s was created", tbl)
		}
	}
	if err := e.run(ctx, conn, "SELECT 1", lakeFiles{}, time.Time{}, time.Time{}, &Result{}, noop); err != nil {
		t.Errorf("control SELECT 1: %v", err)
	}
}

// FuzzQuerySandbox: whatever the SQL, nothing is written outside the
// engine, the configuration stays locked and the engine keeps answering.
func FuzzQuerySandbox(f *testing.F) {
	canaryDir := f.TempDir()
	canary := filepath.Join(canaryDir, "c")
	for _, s := range []string{
		"SELECT 1", "COPY (SELECT 1) TO '" + canary + "'", "SELECT 1; COPY (SELECT 1) TO '" + canary + "'",
		"ATTACH '" + canary + "' AS x", "SET lock_configuration = false", "SELECT * FROM read_text('/etc/passwd')",
		"WITH a AS (SELECT 1) SELECT * FROM a", "EXPORT DATABASE '" + canaryDir + "'", "/* x */ SELECT 1 -- ;COPY",
		"SELECT 1;;", "PIVOT (SELECT 1 AS a) ON a", "SELECT * FROM query_table('flows')",
	} {
		f.Add(s)
	}
	e := openEngine(f, Config{DataDir: f.TempDir(), Timeout: 2 * time.Second, MaxRows: 10})
	f.Fuzz(func(t *testing.T, q string) {
		e.Query(context.Background(), q, time.Time{}, time.Time{})
		if ents, _ := os.ReadDir(canaryDir); len(ents) != 0 {
			t.Fatalf("%q wrote %s", q, ents[0].Name())
		}
		if v := scalar(t, e, "SELECT current_setting('enable_external_access')::VARCHAR || current_setting('lock_configuration')::VARCHAR", time.Time{}, time.Time{}); v != "falsetrue" {
			t.Fatalf("after %q: external access, lock = %v", q, v)
		}
	})
}

// TestSpillsBeyondMemoryLimit: an aggregation larger than the memory limit
// spills to the engine's private temp directory, which the sandbox must
// not block, and the directory is removed on Close.
func TestSpillsBeyondMemoryLimit(t *testing.T) {
	e, err := Open(Config{DataDir: t.TempDir(), MemoryLimit: "128MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	const groups = 12_000_000
	v := scalar(t, e, fmt.Sprintf("SELECT count(*) FROM (SELECT range %% %d AS k, count(*) FROM range(%d) GROUP BY k)", groups, groups), time.Time{}, time.Time{})
	if asInt(t, v) != groups {
		t.Errorf("groups = %v, want %d", v, groups)
	}
	spill := e.spillDir
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spill); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spill directory left behind: %v", err)
	}
}

// writeOldParquet writes a file with only a few columns, like one written
// before the schema grew.
func writeOldParquet(t *testing.T, path string, times []time.Time, bytes []uint64) {
	t.Helper()
	sch := parquet.NewSchema("flow", parquet.Group{
		"time_received": parquet.TimestampAdjusted(parquet.Nanosecond, true),
		"bytes":         parquet.Uint(64),
	})
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, sch)
	for i := range times {
		// Leaf order is by name: bytes, time_received.
		if _, err := w.WriteRows([]parquet.Row{{
			parquet.Int64Value(int64(bytes[i])).Level(0, 0, 0),
			parquet.Int64Value(times[i].UnixNano()).Level(0, 0, 1),
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestOldFilesMissingColumns: files lacking columns added later read as
// NULL there, both next to current files and alone in the window.
func TestOldFilesMissingColumns(t *testing.T) {
	dataDir := t.TempDir()
	old := filepath.Join(dataDir, "flows", "date=2026-03-02", "hour=05", "old.parquet")
	t0 := time.Date(2026, 3, 2, 5, 10, 0, 0, time.UTC)
	writeOldParquet(t, old, []time.Time{t0, t0.Add(time.Minute)}, []uint64{100, 23})
	recs := genFlows(8, 50, day0, time.Hour)
	var sum uint64
	for _, r := range recs {
		sum += r.Bytes
	}
	paths := writeLake(t, dataDir, recs, 1, 100)
	e := openEngine(t, Config{DataDir: dataDir})

	// Listed with their schemas, as the catalog lists them: the current
	// files share one, the old file has another, so columns must still be
	// matched by name.
	withCatalog := openEngine(t, Config{DataDir: dataDir, Files: func(archive.Filter) ([]archive.FileInfo, error) {
		files := []archive.FileInfo{{Path: old, Schema: "c1:old"}}
		for _, p := range paths {
			files = append(files, archive.FileInfo{Path: p, Schema: "c1:now"})
		}
		return files, nil
	}})
	for name, e := range map[string]*Engine{"glob": e, "catalog": withCatalog} {
		res := query(t, e, "SELECT count(*), sum(bytes), count(src_addr), count(labels) FROM flows", time.Time{}, time.Time{})
		want := []int64{52, int64(sum) + 123, 50, 50}
		for i, w := range want {
			if got := asInt(t, res.Rows[0][i]); got != w {
				t.Errorf("mixed, %s: column %d = %d, want %d", name, i, got, w)
			}
		}
	}
	// Only the old file in the window: the view is built from the columns
	// it has, the rest typed NULLs.
	from, to := t0.Truncate(time.Hour), t0.Truncate(time.Hour).Add(time.Hour)
	res := query(t, e, "SELECT * FROM flows ORDER BY time_received", from, to)
	if len(res.Rows) != 2 || len(res.Columns) != len(schema.Columns) {
		t.Fatalf("old only: %d rows, %d columns", len(res.Rows), len(res.Columns))
	}
	for i, c := range schema.Columns {
		if res.Columns[i].Type != SQLType(c.Type) {
			t.Errorf("old only: column %s type %s, want %s", c.Name, res.Columns[i].Type, SQLType(c.Type))
		}
		v := res.Rows[0][i]
		switch c.Name {
		case "time_received":
			if tt, ok := v.(time.Time); !ok || !tt.Equal(t0) {
				t.Errorf("old only: time_received = %v, want %v", v, t0)
			}
		case "bytes":
			if v != uint64(100) {
				t.Errorf("old only: bytes = %v", v)
			}
		default:
			if v != nil {
				t.Errorf("old only: %s = %v, want NULL", c.Name, v)
			}
		}
	}
}

// TestFileReplacedDuringQuery: a planned file deleted before DuckDB reads
// it (compaction replaced it, grace delay over) makes the engine plan
// again, not report the file as unreadable and answer without its rows.
func TestFileReplacedDuringQuery(t *testing.T) {
	dataDir := t.TempDir()
	recs := genFlows(9, 2000, day0, 2*time.Hour)
	paths := writeLake(t, dataDir, recs, 1, 500)
	a := paths[0]
	c := filepath.Join(filepath.Dir(a), "compacted.parquet")
	b, _ := os.ReadFile(a)
	if err := os.WriteFile(c, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	replaced := false
	e := openEngine(t, Config{DataDir: dataDir, Files: func(archive.Filter) ([]archive.FileInfo, error) {
		mu.Lock()
		defer mu.Unlock()
		if replaced {
			return []archive.FileInfo{{Path: c}, {Path: paths[1]}}, nil
		}
		return []archive.FileInfo{{Path: a}, {Path: paths[1]}}, nil
	}})
	testHookBeforeRun = func() {
		mu.Lock()
		defer mu.Unlock()
		if !replaced {
			replaced = true
			os.Remove(a)
		}
	}
	defer func() { testHookBeforeRun = nil }()
	res := query(t, e, "SELECT count(*) FROM flows", time.Time{}, time.Time{})
	if got := asInt(t, res.Rows[0][0]); got != int64(len(recs)) {
		t.Errorf("count = %d, want %d", got, len(recs))
	}
	if len(res.Skipped) != 0 {
		t.Errorf("skipped %v", res.Skipped)
	}
	if !replaced {
		t.Error("hook did not run")
	}
}

// TestRelativeDataDir: a data directory given relative to the working
// directory still admits its enrichment tables (DuckDB checks paths as
// written against the absolute allowed directory).
func TestRelativeDataDir(t *testing.T) {
	t.Chdir(t.TempDir())
	tables := filepath.Join("data", "flows", "_tables")
	if err := os.MkdirAll(tables, 0o755); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(tables, "networks.csv")
	if err := os.WriteFile(csv, []byte("prefix,name\n10.0.0.0/8,lan\n192.168.0.0/16,home\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := openEngine(t, Config{DataDir: "data", Tables: []FileTable{{Name: "networks", Path: csv,
		Columns: []Column{{Name: "prefix", Type: "VARCHAR"}, {Name: "name", Type: "VARCHAR"}}}}})
	if got := asInt(t, scalar(t, e, "SELECT count(*) FROM networks", time.Time{}, time.Time{})); got != 2 {
		t.Errorf("networks: %d rows, want 2", got)
	}
}

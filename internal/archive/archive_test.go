package archive

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// t0 is 20 minutes into an hour that ended hours ago, so tests that need
// a past (compactable) hour work whatever the clock says.
var t0 = time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Hour).Add(20 * time.Minute)

func testConfig() Config {
	return Config{GraceDelete: -1, FlushInterval: time.Hour}
}

func openTest(t *testing.T, dir string, cfg Config) *Archive {
	t.Helper()
	a, err := Open(dir, cfg, Dependencies{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// readAll reads every file listed back with parquet-go.
func readAll(t *testing.T, files []FileInfo) *flow.Batch {
	t.Helper()
	b := new(flow.Batch)
	for _, f := range files {
		if err := readFile(f.Path, b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// multiset counts b's rows as the lake stores them: times truncated to the
// millisecond (rows read back already are).
func multiset(b *flow.Batch) map[flow.Record]int {
	m := map[flow.Record]int{}
	var r flow.Record
	for i := range b.Len() {
		b.Row(i, &r)
		r.TimeReceived = toMillis(r.TimeReceived) * 1e6
		r.TimeStart = toMillis(r.TimeStart) * 1e6
		r.TimeEnd = toMillis(r.TimeEnd) * 1e6
		m[r]++
	}
	return m
}

// diffMultisets describes how got differs from want ("" when equal).
func diffMultisets(want, got map[flow.Record]int) string {
	var sb strings.Builder
	n := 0
	for r, c := range want {
		if got[r] != c && n < 3 {
			fmt.Fprintf(&sb, "row %+v: want %d, got %d\n", r, c, got[r])
			n++
		}
	}
	for r, c := range got {
		if _, ok := want[r]; !ok && n < 6 {
			fmt.Fprintf(&sb, "unexpected row %+v (x%d)\n", r, c)
			n++
		}
	}
	if len(want) != len(got) && sb.Len() == 0 {
		fmt.Fprintf(&sb, "distinct rows: want %d, got %d", len(want), len(got))
	}
	return sb.String()
}

func catalogFiles(t *testing.T, dir string) []FileInfo {
	t.Helper()
	c, err := ReadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c.Files(time.Time{}, time.Time{})
}

// edgeBatch holds values at the edges of every type: zero and maximum
// integers, absent/IPv4/IPv6 addresses, every enum value, empty and
// non-ASCII strings.
func edgeBatch() *flow.Batch {
	b := new(flow.Batch)
	b.Extend(len(schema.Columns) + 3)
	for c, col := range schema.Columns {
		for i := range b.Len() {
			k := (i + c) % 4 // 0: zero, 1: max, 2: middle, 3: other
			switch s := b.Column(c).(type) {
			case []uint8:
				if col.Type == schema.Enum {
					s[i] = uint8((i + c) % len(col.Values))
				} else {
					s[i] = []uint8{0, 255, 17, 6}[k]
				}
			case []uint16:
				s[i] = []uint16{0, 65535, 443, 1}[k]
			case []uint32:
				s[i] = []uint32{0, 1<<32 - 1, 1 << 31, 7}[k]
			case []uint64:
				s[i] = []uint64{0, 1<<64 - 1, 1 << 63, 0xffffffffffff}[k]
			case []int64:
				s[i] = t0.Add(time.Duration(i) * time.Millisecond).UnixNano()
			case []flow.Addr:
				s[i] = []flow.Addr{{}, flow.MustParseAddr("255.255.255.255"), flow.MustParseAddr("2001:db8::1"), flow.MustParseAddr("10.1.2.3")}[k]
			case []string:
				s[i] = []string{"", "Zürich — 東京", "x", `{"k":"v,\"q\""}`}[k]
			}
		}
	}
	return b
}

func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, testConfig())
	want := edgeBatch()
	// Flows of three hours in one flush: one file per hour partition.
	g := newFlowGen(7, t0.Add(-90*time.Minute), 10)
	g.fill(want, 20000)
	for lo := 0; lo < want.Len(); lo += 1000 {
		part := new(flow.Batch)
		idx := []int{}
		for i := lo; i < min(lo+1000, want.Len()); i++ {
			idx = append(idx, i)
		}
		part.AppendRows(want, idx)
		if err := a.WriteBatch(part); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	files := catalogFiles(t, dir)
	if len(files) != 3 {
		t.Fatalf("want one file per hour (3), got %d: %+v", len(files), files)
	}
	for _, f := range files {
		got := readAll(t, []FileInfo{f})
		for i, ns := range got.TimeReceived {
			tm := flow.Time(ns)
			wantDir := fmt.Sprintf("date=%s%chour=%02d", tm.Format("2006-01-02"), filepath.Separator, tm.Hour())
			if !strings.HasSuffix(filepath.Dir(f.Path), wantDir) {
				t.Fatalf("row %d at %v in %s: want partition %s", i, tm, f.Path, wantDir)
			}
			if tm.Before(f.MinTime) || tm.After(f.MaxTime) {
				t.Fatalf("row at %v outside catalog range [%v, %v] of %s", tm, f.MinTime, f.MaxTime, f.Path)
			}
		}
	}
	// The flush writer is reused from file to file: every file's row
	// group statistics must describe that file only.
	for _, f := range files {
		fh, pf, err := openParquet(f.Path, false)
		if err != nil {
			t.Fatal(err)
		}
		var mn, mx int64
		var rows int64
		for i, rg := range pf.Metadata().RowGroups {
			st := rg.Columns[flow.ColTimeReceived].MetaData.Statistics
			lo, hi := parquet.Int64.Value(st.MinValue).Int64(), parquet.Int64.Value(st.MaxValue).Int64()
			if i == 0 || lo < mn {
				mn = lo
			}
			if i == 0 || hi > mx {
				mx = hi
			}
			rows += rg.NumRows
		}
		fh.Close()
		// Statistics are in the stored milliseconds, the catalog in ns.
		if mn*1e6 != f.MinTime.UnixNano() || mx*1e6 != f.MaxTime.UnixNano() || rows != f.Rows {
			t.Errorf("%s: statistics say [%d, %d] %d rows, catalog [%d, %d] %d rows", f.Path, mn, mx, rows,
				f.MinTime.UnixNano(), f.MaxTime.UnixNano(), f.Rows)
		}
	}
	got := readAll(t, files)
	if d := diffMultisets(multiset(want), multiset(got)); d != "" {
		t.Fatal(d)
	}
	s, err := Stats(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != int64(want.Len()) || s.Files != 3 || s.BytesPerFlow <= 0 {
		t.Fatalf("stats %+v, want %d rows in 3 files", s, want.Len())
	}
}

// TestParquetTypes checks the type mapping agreed with the query engine
// and the KQL compiler, column by column, in schema order.
func TestParquetTypes(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, testConfig())
	if err := a.WriteBatch(edgeBatch()); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	files := catalogFiles(t, dir)
	f, pf, err := openParquet(files[0].Path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md := pf.Metadata()
	leaves := md.Schema[1:]
	if len(leaves) != len(schema.Columns) {
		t.Fatalf("%d columns, want %d", len(leaves), len(schema.Columns))
	}
	for i, col := range schema.Columns {
		el := leaves[i]
		if el.Name != col.Name {
			t.Errorf("column %d is %q, want %q", i, el.Name, col.Name)
			continue
		}
		lt := el.LogicalType.Value
		it, _ := lt.(*format.IntType)
		var ok bool
		switch col.Type {
		case schema.Uint8, schema.Uint16, schema.Uint32:
			w := map[schema.Type]int8{schema.Uint8: 8, schema.Uint16: 16, schema.Uint32: 32}[col.Type]
			ok = el.Type.V == format.Int32 && it != nil && it.BitWidth == w && !it.IsSigned
		case schema.Uint64, schema.MAC:
			ok = el.Type.V == format.Int64 && it != nil && it.BitWidth == 64 && !it.IsSigned
		case schema.Time:
			ts, _ := lt.(*format.TimestampType)
			ok = el.Type.V == format.Int64 && ts != nil && ts.IsAdjustedToUTC
			if ok {
				_, ok = ts.Unit.Value.(*format.MilliSeconds)
			}
		case schema.Addr:
			ok = el.Type.V == format.FixedLenByteArray && el.TypeLength.V == 16
		case schema.String, schema.Enum:
			_, isString := lt.(*format.StringType)
			ok = el.Type.V == format.ByteArray && isString
		}
		if !ok {
			t.Errorf("column %s (%v): Parquet type %v logical %+v does not follow the mapping", col.Name, col.Type, el.Type, lt)
		}
	}
	// Strings and enum names are dictionary-encoded; everything ZSTD.
	for i, cc := range md.RowGroups[0].Columns {
		col := schema.Columns[i]
		if cc.MetaData.Codec != format.Zstd {
			t.Errorf("column %s: codec %v, want ZSTD", col.Name, cc.MetaData.Codec)
		}
		if col.Type == schema.String || col.Type == schema.Enum {
			found := false
			for _, e := range cc.MetaData.Encoding {
				found = found || e == format.RLEDictionary
			}
			if !found {
				t.Errorf("column %s: encodings %v, want RLE_DICTIONARY", col.Name, cc.MetaData.Encoding)
			}
		}
	}
	// Enum columns hold the value names.
	b := readAll(t, files)
	rg := pf.RowGroups()[0]
	vals := make([]parquet.Value, b.Len())
	r := parquet.NewColumnChunkValueReader(rg.ColumnChunks()[flow.ColDirection])
	n, _ := r.ReadValues(vals)
	r.Close()
	for i := range n {
		if got, want := string(vals[i].ByteArray()), schema.Directions[b.Direction[i]]; got != want {
			t.Fatalf("direction row %d stored as %q, want %q", i, got, want)
		}
	}
}

func TestCompactionKeepsRows(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.CompactTargetRows = 30000
	cfg.RowGroupRows = 4096
	a := openTest(t, dir, cfg)
	want := new(flow.Batch)
	g := newFlowGen(3, t0.Add(-3*time.Hour), 5)
	for range 10 {
		b := new(flow.Batch)
		g.fill(b, 5000)
		want.AppendBatch(b)
		if err := a.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	before := catalogFiles(t, dir)
	res, err := a.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := catalogFiles(t, dir)
	if res.FilesIn < 2 || len(after) >= len(before) {
		t.Fatalf("compaction %+v: %d files before, %d after", res, len(before), len(after))
	}
	if d := diffMultisets(multiset(want), multiset(readAll(t, after))); d != "" {
		t.Fatal(d)
	}
	for _, f := range after {
		if !f.Compacted {
			continue
		}
		if f.Rows > int64(cfg.CompactTargetRows) {
			t.Errorf("%s: %d rows > target %d", f.Path, f.Rows, cfg.CompactTargetRows)
		}
		_, pf, err := openParquet(f.Path, false)
		if err != nil {
			t.Fatal(err)
		}
		// The file's rows come first, then the reverse flows paired with
		// them: the rows are in order.
		b := readAll(t, []FileInfo{f})
		if b.Len() <= int(pf.NumRows()) {
			t.Errorf("%s: %d flows in %d rows: none paired", f.Path, b.Len(), pf.NumRows())
		}
		b.Truncate(int(pf.NumRows()))
		if err := checkOrder(b, compactOrder, cfg.RowGroupRows); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if got := len(pf.Metadata().RowGroups); got != (b.Len()+cfg.RowGroupRows-1)/cfg.RowGroupRows {
			t.Errorf("%s: %d row groups for %d rows", f.Path, got, b.Len())
		}
		sc := pf.Metadata().RowGroups[0].SortingColumns
		wantFirst := map[sortOrder]int32{sortSrcDstTime: flow.ColSrcAddr, sortTimeSrcDst: flow.ColTimeReceived, sortClustered: flow.ColTimeEnd}[compactOrder]
		if len(sc) != 3 || sc[0].ColumnIdx != wantFirst {
			t.Errorf("%s: sorting columns %+v, want 3 starting with column %d", f.Path, sc, wantFirst)
		}
		// Compacted files use the compaction encodings (flush files do
		// not): dictionaries for addresses and small integers, not ports.
		for c, dict := range map[int]bool{flow.ColSrcAddr: true, flow.ColProto: true, flow.ColDstPort: false} {
			md := pf.Metadata().RowGroups[0].Columns[c].MetaData
			if slices.Contains(md.Encoding, format.RLEDictionary) != dict {
				t.Errorf("%s: column %s encodings %v, want RLE_DICTIONARY %v", f.Path, schema.Columns[c].Name, md.Encoding, dict)
			}
		}
		st := pf.Metadata().RowGroups[0].Columns[flow.ColSrcAddr].MetaData.Statistics
		if len(st.MinValue) != 16 || len(st.MaxValue) != 16 {
			t.Errorf("%s: src_addr row group statistics missing: %+v", f.Path, st)
		}
	}
	// Replaced files are gone from disk (GraceDelete < 0 deletes at once)
	// and the catalog rebuilt from footers agrees.
	names, _, _ := scanFiles(filepath.Join(dir, "flows"))
	if len(names) != len(after) {
		t.Fatalf("%d files on disk, %d in catalog", len(names), len(after))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "flows", catalogName))
	if d := diffMultisets(multiset(want), multiset(readAll(t, catalogFiles(t, dir)))); d != "" {
		t.Fatal("after rebuild: " + d)
	}
}

// checkOrder says where the rows of b are not in order o, with row groups
// of rg rows.
func checkOrder(b *flow.Batch, o sortOrder, rg int) error {
	key := func(i int) *sortKey {
		return &sortKey{t: b.TimeReceived[i], end: b.TimeEnd[i], src: b.SrcAddr[i], dst: b.DstAddr[i]}
	}
	for i := 1; i < b.Len(); i++ {
		if o == sortClustered && i%rg == 0 {
			continue // a new row group
		}
		if compareKeys(key(i-1), key(i), o) > 0 {
			return fmt.Errorf("row %d out of order", i)
		}
	}
	if o != sortClustered {
		return nil
	}
	// Row groups follow each other in address order: every row of a group
	// sorts (clusterCut) before every row of the next.
	var prevMax *sortKey
	for lo := 0; lo < b.Len(); lo += rg {
		var mn, mx *sortKey
		for i := lo; i < min(lo+rg, b.Len()); i++ {
			k := key(i)
			if mn == nil || compareKeys(k, mn, clusterCut) < 0 {
				mn = k
			}
			if mx == nil || compareKeys(k, mx, clusterCut) > 0 {
				mx = k
			}
		}
		if prevMax != nil && compareKeys(prevMax, mn, clusterCut) > 0 {
			return fmt.Errorf("row group at row %d overlaps the previous one in address order", lo)
		}
		prevMax = mx
	}
	return nil
}

// A crash after a compacted file is renamed into place but before the
// catalog is saved leaves sources and result on disk: Open and a rebuild
// must count each row once.
func TestCompactionCrashBeforeCatalog(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.GraceDelete = time.Hour // sources stay on disk
	a := openTest(t, dir, cfg)
	want := new(flow.Batch)
	g := newFlowGen(4, t0.Add(-3*time.Hour), 5)
	for range 3 {
		b := new(flow.Batch)
		g.fill(b, 2000)
		want.AppendBatch(b)
		a.WriteBatch(b)
		a.Flush()
	}
	flowsDir := filepath.Join(dir, "flows")
	oldCat, _ := os.ReadFile(filepath.Join(flowsDir, catalogName))
	if _, err := a.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Close()
	// Put back the catalog from before the compaction.
	if err := os.WriteFile(filepath.Join(flowsDir, catalogName), oldCat, 0o644); err != nil {
		t.Fatal(err)
	}
	a = openTest(t, dir, cfg)
	a.Close()
	if d := diffMultisets(multiset(want), multiset(readAll(t, catalogFiles(t, dir)))); d != "" {
		t.Fatal("after Open: " + d)
	}
	os.Remove(filepath.Join(flowsDir, catalogName))
	if d := diffMultisets(multiset(want), multiset(readAll(t, catalogFiles(t, dir)))); d != "" {
		t.Fatal("after rebuild: " + d)
	}
}

func TestPrune(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC)
	setup := func(t *testing.T, cfg Config) (*Archive, string) {
		dir := t.TempDir()
		a := openTest(t, dir, cfg)
		// One flush per hour, hours now-9h .. now (10 hours).
		for h := 9; h >= 0; h-- {
			b := genBatch(uint64(h), now.Add(-time.Duration(h)*time.Hour).Truncate(time.Hour), 3000, 2)
			a.WriteBatch(b)
			if err := a.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		return a, dir
	}
	hoursOf := func(files []FileInfo) (hours []int) {
		for _, f := range files {
			hours = append(hours, int(now.Sub(f.MinTime.Truncate(time.Hour))/time.Hour))
		}
		return hours
	}
	t.Run("age", func(t *testing.T) {
		cfg := testConfig()
		cfg.RetainAge = 4 * time.Hour
		a, dir := setup(t, cfg)
		defer a.Close()
		res, err := a.Prune(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		// Hours ending at or before now-4h (12:30-4h = 08:30) go: those
		// starting 03:00..07:00 (5 hours); 08:00 ends after 08:30 and stays.
		got := hoursOf(catalogFiles(t, dir))
		if res.Hours != 5 || fmt.Sprint(got) != "[4 3 2 1 0]" {
			t.Fatalf("pruned %+v, left hours-ago %v", res, got)
		}
		names, _, _ := scanFiles(filepath.Join(dir, "flows"))
		if len(names) != 5 {
			t.Fatalf("%d files on disk after prune, want 5", len(names))
		}
	})
	t.Run("size", func(t *testing.T) {
		cfg := testConfig()
		a, dir := setup(t, cfg)
		defer a.Close()
		files := catalogFiles(t, dir)
		var newest3 int64
		for _, f := range files[len(files)-3:] {
			newest3 += f.Bytes
		}
		a.cfg.RetainBytes = newest3 + files[0].Bytes/2 // room for 3 hours, not 4
		res, err := a.Prune(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		got := hoursOf(catalogFiles(t, dir))
		if res.Files != 7 || fmt.Sprint(got) != "[2 1 0]" {
			t.Fatalf("pruned %+v, left hours-ago %v", res, got)
		}
	})
	t.Run("grace", func(t *testing.T) {
		cfg := testConfig()
		cfg.RetainAge = time.Hour
		cfg.GraceDelete = time.Hour
		a, dir := setup(t, cfg)
		a.Prune(context.Background(), now)
		a.Close()
		// Out of the catalog at once, on disk until the grace period ends.
		// Hours ending at or before 11:30 go: all but 11:00 and 12:00.
		if n := len(catalogFiles(t, dir)); n != 2 {
			t.Fatalf("%d files in catalog, want 2", n)
		}
		names, _, _ := scanFiles(filepath.Join(dir, "flows"))
		if len(names) != 10 {
			t.Fatalf("%d files on disk during grace, want 10", len(names))
		}
		s, _ := Stats(dir)
		if s.PendingDeletes != 8 {
			t.Fatalf("stats %+v, want 8 pending deletes", s)
		}
	})
}

// logCapture collects slog records for assertions.
type logCapture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r)
	h.mu.Unlock()
	return nil
}
func (h *logCapture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCapture) WithGroup(string) slog.Handler      { return h }

func (h *logCapture) count(level slog.Level, substr string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level == level && strings.Contains(r.Message, substr) {
			n++
		}
	}
	return n
}

func captureLogs(t *testing.T) *logCapture {
	h := &logCapture{}
	old := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(old) })
	return h
}

// TestWriteFailureBuffersAndResumes makes the partition directory
// unwritable. Permissions cannot do it (tests run as root, which ignores
// them), so a regular file is put where the date=... directory must go:
// creating the partition fails with ENOTDIR, as it would on a read-only or
// broken mount.
func TestWriteFailureBuffersAndResumes(t *testing.T) {
	logs := captureLogs(t)
	dir := t.TempDir()
	cfg := testConfig()
	cfg.FlushRows = 1000
	cfg.MaxBufferedRows = 5000
	cfg.FlushInterval = time.Nanosecond // retry on every full buffer
	a := openTest(t, dir, cfg)
	blocker := filepath.Join(dir, "flows", "date="+t0.Format("2006-01-02"))
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := newFlowGen(5, t0, 100)
	sent := new(flow.Batch)
	for range 12 {
		b := new(flow.Batch)
		g.fill(b, 700)
		sent.AppendBatch(b)
		if err := a.WriteBatch(b); err != nil {
			t.Fatalf("WriteBatch must not fail on disk errors: %v", err)
		}
	}
	if err := a.Flush(); err == nil {
		t.Fatal("flush into a blocked partition succeeded")
	}
	dropped := metricValue(a.m.dropped)
	buffered := metricValue(a.m.buffered)
	if dropped == 0 || buffered == 0 || buffered > float64(cfg.MaxBufferedRows) {
		t.Fatalf("dropped %v buffered %v, want some of each, buffered <= %d", dropped, buffered, cfg.MaxBufferedRows)
	}
	if dropped+buffered != float64(sent.Len()) {
		t.Fatalf("dropped %v + buffered %v != sent %d", dropped, buffered, sent.Len())
	}
	if n := logs.count(slog.LevelError, "writing Parquet failed"); n != 1 {
		t.Fatalf("%d write-failure error logs, want exactly one per failure streak", n)
	}
	if metricValue(a.m.writeErrors) < 2 {
		t.Fatalf("write errors %v, want every failed flush counted", metricValue(a.m.writeErrors))
	}
	// The disk works again: everything buffered is written.
	os.Remove(blocker)
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if logs.count(slog.LevelInfo, "writing works again") != 1 {
		t.Fatal("no recovery log")
	}
	after := new(flow.Batch)
	g.fill(after, 100)
	a.WriteBatch(after)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, catalogFiles(t, dir))
	if got.Len() != int(buffered)+after.Len() {
		t.Fatalf("read %d rows, want %v buffered + %d after", got.Len(), buffered, after.Len())
	}
	// What was kept is a subset of what was sent, and nothing is doubled.
	sentSet := multiset(sent)
	sentSet2 := multiset(after)
	for r, c := range multiset(got) {
		if sentSet[r]+sentSet2[r] < c {
			t.Fatalf("row %+v read %d times, sent %d", r, c, sentSet[r]+sentSet2[r])
		}
	}
	if n := logs.count(slog.LevelError, "writing Parquet failed"); n != 1 {
		t.Fatalf("%d write-failure logs after recovery, want 1", n)
	}
}

func TestCorruptFileSkipped(t *testing.T) {
	logs := captureLogs(t)
	dir := t.TempDir()
	a := openTest(t, dir, testConfig())
	g := newFlowGen(6, t0.Add(-2*time.Hour), 10)
	var batches []*flow.Batch
	for range 3 {
		b := new(flow.Batch)
		g.fill(b, 1000)
		batches = append(batches, b)
		a.WriteBatch(b)
		a.Flush()
	}
	a.Close()
	files := catalogFiles(t, dir)
	if len(files) != 3 {
		t.Fatalf("%d files", len(files))
	}
	// Truncate the middle file (a partial copy, a disk error) and lose the catalog.
	data, _ := os.ReadFile(files[1].Path)
	if err := os.WriteFile(files[1].Path, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "flows", catalogName))

	got := catalogFiles(t, dir)
	if len(got) != 2 || logs.count(slog.LevelError, "unreadable") != 1 || logs.count(slog.LevelInfo, "rebuilding") != 1 {
		t.Fatalf("rebuild kept %d files; logs %d unreadable, %d rebuilding", len(got), logs.count(slog.LevelError, "unreadable"), logs.count(slog.LevelInfo, "rebuilding"))
	}
	want := new(flow.Batch)
	want.AppendBatch(batches[0])
	want.AppendBatch(batches[2])
	if d := diffMultisets(multiset(want), multiset(readAll(t, got))); d != "" {
		t.Fatal(d)
	}
	// A corrupt catalog is rebuilt too.
	os.WriteFile(filepath.Join(dir, "flows", catalogName), []byte(`{"version":1,"files":[`), 0o644)
	if n := len(catalogFiles(t, dir)); n != 2 {
		t.Fatalf("rebuild from corrupt catalog: %d files", n)
	}
	// Open skips it as well, and the archive keeps working.
	a = openTest(t, dir, testConfig())
	if metricValue(a.m.corrupt) != 1 {
		t.Fatal("corrupt file not counted")
	}
	a.WriteBatch(genBatch(9, t0, 10, 1))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(catalogFiles(t, dir)); n != 3 {
		t.Fatalf("%d files after a new flush, want 3", n)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, testConfig())
	defer a.Close()
	if _, err := Open(dir, testConfig(), Dependencies{Registerer: prometheus.NewRegistry()}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestStartFlushesAndStops(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.FlushInterval = 20 * time.Millisecond
	a := openTest(t, dir, cfg)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	b := genBatch(1, t0, 500, 100)
	a.WriteBatch(b)
	// Wait (without a deadline assertion) until the timer flushed.
	for len(catalogFiles(t, dir)) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	a.WriteBatch(genBatch(2, t0, 300, 100))
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, catalogFiles(t, dir)).Len(); got != 800 {
		t.Fatalf("%d rows after Stop, want 800", got)
	}
}

var _ = bytes.Compare

// metricValue reads a counter or gauge.
func metricValue(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestConcurrentWriters writes from several goroutines while Start's flusher flushes
// and compacts; every flow must be on disk exactly once.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.FlushInterval = 5 * time.Millisecond
	cfg.FlushRows = 3000
	cfg.MaxBufferedRows = 1 << 30 // this test is about races, not drops
	cfg.CompactMinFiles = 3
	a := openTest(t, dir, cfg)
	ctx := context.Background()
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	batches := make([]*flow.Batch, 4)
	for w := range batches {
		batches[w] = new(flow.Batch)
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newFlowGen(uint64(100+w), t0.Add(-2*time.Hour), 50)
			b := new(flow.Batch)
			for i := range 40 {
				b.Truncate(0)
				g.fill(b, 250)
				batches[w].AppendBatch(b)
				if err := a.WriteBatch(b); err != nil {
					t.Error(err)
				}
				if i%10 == 0 {
					a.Compact(ctx)
				}
			}
		}()
	}
	wg.Wait()
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	want := new(flow.Batch)
	for _, b := range batches {
		want.AppendBatch(b)
	}
	if d := diffMultisets(multiset(want), multiset(readAll(t, catalogFiles(t, dir)))); d != "" {
		t.Fatal(d)
	}
}

func TestCatalogFilesRange(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, testConfig())
	for h := range 4 {
		a.WriteBatch(genBatch(uint64(h), t0.Add(time.Duration(h)*time.Hour), 100, 1))
		a.Flush()
	}
	a.Close()
	c, err := ReadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := c.Files(time.Time{}, time.Time{})
	if len(all) != 4 {
		t.Fatalf("%d files", len(all))
	}
	// A range touching the end of file 1 and the start of file 2 selects both.
	got := c.Files(all[1].MaxTime, all[2].MinTime)
	if len(got) != 2 || got[0].Path != all[1].Path || got[1].Path != all[2].Path {
		t.Fatalf("Files(%v, %v) = %v", all[1].MaxTime, all[2].MinTime, got)
	}
	if got := c.Files(all[3].MaxTime.Add(time.Nanosecond), time.Time{}); len(got) != 0 {
		t.Fatalf("files after the last flow: %v", got)
	}
	if got := c.Files(time.Time{}, all[0].MinTime.Add(-time.Nanosecond)); len(got) != 0 {
		t.Fatalf("files before the first flow: %v", got)
	}
}

// A past hour's lone flush file is rewritten sorted once, and compaction
// then leaves it alone.
func TestCompactLoneFile(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, testConfig())
	defer a.Close()
	want := genBatch(8, t0.Add(-5*time.Hour), 3000, 5)
	a.WriteBatch(want)
	a.Flush()
	// The current hour's lone file stays as it is.
	a.WriteBatch(genBatch(9, time.Now().Truncate(time.Hour), 10, 5))
	a.Flush()
	res, err := a.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesIn != 1 || res.FilesOut != 1 {
		t.Fatalf("first compaction %+v, want the past hour's file rewritten", res)
	}
	files := catalogFiles(t, dir)
	if !files[0].Compacted || files[1].Compacted {
		t.Fatalf("compacted flags %v %v, want true false", files[0].Compacted, files[1].Compacted)
	}
	if d := diffMultisets(multiset(want), multiset(readAll(t, files[:1]))); d != "" {
		t.Fatal(d)
	}
	if res, _ := a.Compact(context.Background()); res.FilesIn != 0 {
		t.Fatalf("second compaction %+v, want nothing to do", res)
	}
}

// In the hour being written, compaction merges flush files only, once
// they fill half a compacted file (or are many); the small compacted files
// of that hour are merged once it is past.
func TestCompactOpenHour(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.CompactMinFiles = 2
	cfg.CompactTargetRows = 1000
	a := openTest(t, dir, cfg)
	defer a.Close()
	flush := func(seed uint64, n int) {
		// The start of the current hour: with FlushInterval 1h the hour
		// counts as being written for two more hours, whatever the clock.
		a.WriteBatch(genBatch(seed, time.Now().Truncate(time.Hour), n, 5))
		a.Flush()
	}
	flush(1, 300)
	if res, _ := a.Compact(context.Background()); res.FilesIn != 0 {
		t.Fatalf("compaction %+v of one flush file in the open hour, want nothing", res)
	}
	flush(2, 300)
	if res, _ := a.Compact(context.Background()); res.FilesIn != 2 {
		t.Fatalf("first compaction %+v, want the two flush files (600 flows) merged", res)
	}
	flush(3, 300)
	if res, _ := a.Compact(context.Background()); res.FilesIn != 0 {
		t.Fatalf("compaction %+v with one flush file and one compacted file, want nothing", res)
	}
	// Many flush files are merged whatever they hold: the 300-flow one
	// and 7 of 10 flows.
	for i := range 6 {
		flush(uint64(10+i), 10)
		if res, _ := a.Compact(context.Background()); res.FilesIn != 0 {
			t.Fatalf("compaction %+v with %d flush files of %d flows, want nothing", res, i+2, 300+10*(i+1))
		}
	}
	flush(20, 10)
	res, _ := a.Compact(context.Background())
	if res.FilesIn != 8 || res.Rows != 370 {
		t.Fatalf("compaction %+v, want the 8 flush files (370 flows) merged without the compacted one", res)
	}
	if n := len(catalogFiles(t, dir)); n != 2 {
		t.Fatalf("%d files, want 2 compacted", n)
	}
	// Once the hour is past, files under half the target are merged: the
	// compacted file of 370 flows and a new flush file, not the one of 600.
	res, err := a.Compact(context.Background()) // same instant: nothing
	if err != nil || res.FilesIn != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	flush(30, 100)
	groups := a.compactionGroups(time.Now().Add(2*time.Hour + 2*cfg.FlushInterval))
	if len(groups) != 1 || len(groups[0]) != 2 {
		t.Fatalf("groups once the hour is past: %v", groups)
	}
}

// Lister lists the catalog's paths for a window, re-reading the catalog on
// every call so that it sees files flushed after it was made.
func TestLister(t *testing.T) {
	dir := t.TempDir()
	list := Lister(dir)
	if got, err := list(Filter{}); err != nil || len(got) != 0 {
		t.Fatalf("empty lake: %v, %v", got, err)
	}
	a := openTest(t, dir, testConfig())
	defer a.Close()
	for h := range 3 {
		a.WriteBatch(genBatch(uint64(h), t0.Add(time.Duration(h)*time.Hour), 100, 1))
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	all := catalogFiles(t, dir)
	if len(all) != 3 {
		t.Fatalf("%d files", len(all))
	}
	got, err := list(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("all: %v", got)
	}
	for i, f := range got {
		if f.Path != all[i].Path {
			t.Fatalf("path %d = %s, want %s", i, f.Path, all[i].Path)
		}
		if f.Schema != lakeSchemaKey {
			t.Errorf("file %d: schema %q, want %q", i, f.Schema, lakeSchemaKey)
		}
		if _, err := os.Stat(f.Path); err != nil {
			t.Fatal(err)
		}
	}
	got, err = list(Filter{From: all[1].MinTime, To: all[1].MaxTime})
	if err != nil || len(got) != 1 || got[0].Path != all[1].Path {
		t.Fatalf("window of file 1: %v, %v", got, err)
	}
}

// TestManyHoursPerBatch writes batches whose flows span more hours than the
// archive keeps flush files open for (an import of logs out of time
// order): every flow must be written once, each file inside its hour, and
// no more than maxStreams files open at any time.
func TestManyHoursPerBatch(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.MaxBufferedRows = 1 << 30
	a := openTest(t, dir, cfg)
	const hours = 3*maxStreams + 1
	gens := make([]*flowGen, hours)
	for h := range gens {
		gens[h] = newFlowGen(uint64(200+h), t0.Add(time.Duration(h)*time.Hour+10*time.Minute), 5)
	}
	sent := new(flow.Batch)
	for round := range 6 {
		b := new(flow.Batch)
		// A different order of hours each round.
		for k := range hours {
			gens[(k*(round+2))%hours].fill(b, 40)
		}
		sent.AppendBatch(b)
		if err := a.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		open := len(a.streams)
		a.mu.Unlock()
		if open > maxStreams {
			t.Fatalf("%d flush files open, want at most %d", open, maxStreams)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	files := catalogFiles(t, dir)
	for _, f := range files {
		part := readAll(t, []FileInfo{f})
		lo, hi := timeRange(part)
		if hourOf(lo) != hourOf(hi) || hourOf(lo) != hourOf(f.MinTime.UnixNano()) {
			t.Fatalf("%s holds flows of %v to %v, not of one hour", f.Path, flow.Time(lo), flow.Time(hi))
		}
		if !strings.Contains(f.Path, flow.Time(lo).Format("date=2006-01-02/hour=15/")) {
			t.Fatalf("%s is not in the partition of its flows (%v)", f.Path, flow.Time(lo))
		}
	}
	if d := diffMultisets(multiset(sent), multiset(readAll(t, files))); d != "" {
		t.Fatal(d)
	}
}

// TestFirstLayoutFiles reads a flush file of the lake's first layout (time
// columns in nanoseconds; testdata/v1-nanos.parquet, written by commit
// 66bc94c from newFlowGen(77, 09:10 UTC, 20) with 300 flows): read alone it
// gives back the nanoseconds it holds, and compacted with files of the
// current layout (milliseconds) every flow is kept.
func TestFirstLayoutFiles(t *testing.T) {
	start := time.Date(2026, 11, 30, 9, 10, 0, 0, time.UTC)
	v1 := new(flow.Batch)
	newFlowGen(77, start, 20).fill(v1, 300)

	got := new(flow.Batch)
	if err := readFile("testdata/v1-nanos.parquet", got); err != nil {
		t.Fatal(err)
	}
	exact := func(b *flow.Batch) map[flow.Record]int {
		m := map[flow.Record]int{}
		var r flow.Record
		for i := range b.Len() {
			b.Row(i, &r)
			m[r]++
		}
		return m
	}
	if d := diffMultisets(exact(v1), exact(got)); d != "" {
		t.Fatalf("first-layout file read back differs:\n%s", d)
	}

	dir := t.TempDir()
	part := filepath.Join(dir, "flows", "date=2026-11-30", "hour=09")
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/v1-nanos.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(part, "f-20261130T091500.000000000-000001.parquet"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	a := openTest(t, dir, testConfig())
	v2 := new(flow.Batch)
	newFlowGen(78, start.Add(20*time.Minute), 20).fill(v2, 300)
	if err := a.WriteBatch(v2); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if res, err := a.Compact(context.Background()); err != nil || res.FilesOut == 0 {
		t.Fatalf("compact: %+v, %v", res, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	files := catalogFiles(t, dir)
	if len(files) != 1 || !strings.Contains(files[0].Path, "/c-") {
		t.Fatalf("after compaction the lake holds %v, want one compacted file", files)
	}
	want := new(flow.Batch)
	want.AppendBatch(v1)
	want.AppendBatch(v2)
	if d := diffMultisets(multiset(want), multiset(readAll(t, files))); d != "" {
		t.Fatal(d)
	}
}

// A past hour's flush files are compacted (sorted, with statistics) however
// large they are: at high rates each holds FlushRows flows, half a
// compacted file or more, and they must not stay unsorted.
func TestCompactLargeFlushFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.CompactTargetRows = 4000
	a := openTest(t, dir, cfg)
	defer a.Close()
	want := new(flow.Batch)
	for seed := range uint64(3) {
		b := genBatch(20+seed, t0.Add(-5*time.Hour), 2500, 5) // > CompactTargetRows/2
		want.AppendBatch(b)
		a.WriteBatch(b)
		a.Flush()
	}
	res, err := a.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesIn != 3 || res.FilesOut != 3 {
		t.Fatalf("compaction %+v, want each large flush file rewritten sorted", res)
	}
	files := catalogFiles(t, dir)
	for _, f := range files {
		if !f.Compacted {
			t.Fatalf("%s left as a flush file", f.Path)
		}
	}
	if d := diffMultisets(multiset(want), multiset(readAll(t, files))); d != "" {
		t.Fatal(d)
	}
	if res, _ := a.Compact(context.Background()); res.FilesIn != 0 {
		t.Fatalf("second compaction %+v, want nothing: the compacted files are not small", res)
	}
}

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.RetainBytes = -1
	if err := cfg.Validate(); err == nil || err.Error() != "retain_bytes: must not be negative" {
		t.Errorf("negative retain_bytes: %v", err)
	}
}

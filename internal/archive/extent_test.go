package archive

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// PairBucket spreads connections evenly by their larger address: the hosts
// of real address plans (one /16, a few hundred hosts) talking to a host
// below them must not pile into a few buckets; and both directions share a
// bucket.
func TestPairBucketEven(t *testing.T) {
	low := flow.AddrFrom4([4]byte{1, 0, 0, 1})
	const buckets = 16
	plans := map[string]func(i int) flow.Addr{
		"one /16, consecutive": func(i int) flow.Addr { return flow.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) },
		"/24s of 16 hosts":     func(i int) flow.Addr { return flow.AddrFrom4([4]byte{192, 168, byte(i / 16), byte(i % 16)}) },
		"IPv6 /64 hosts": func(i int) flow.Addr {
			a := flow.Addr{0x20, 0x01, 0x0d, 0xb8}
			a[14], a[15] = byte(i>>8), byte(i)
			return a
		},
	}
	for name, addr := range plans {
		var n [buckets]int
		const hosts = 4096
		for i := range hosts {
			b := PairBucket(low, addr(i), buckets)
			if b < 0 || b >= buckets {
				t.Fatalf("%s: bucket %d of %d", name, b, buckets)
			}
			n[b]++
		}
		for b, c := range n {
			// Binomial(4096, 1/16): mean 256, sd 15.5; 5 sd either side.
			if c < 256-78 || c > 256+78 {
				t.Errorf("%s: bucket %d holds %d of %d hosts: %v", name, b, c, hosts, n)
				break
			}
		}
	}
	// Fewer buckets are unions of more: a bucket of 4 is the top bits of
	// the bucket of 16, so the hash is one function whatever the count.
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		var a, z flow.Addr
		for i := range a {
			a[i], z[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		if PairBucket(a, z, 16)>>2 != PairBucket(a, z, 4) || PairBucket(a, z, 1) != 0 {
			t.Fatalf("%x-%x: buckets %d/16, %d/4", a, z, PairBucket(a, z, 16), PairBucket(a, z, 4))
		}
		if PairBucket(a, z, 16) != PairBucket(z, a, 16) {
			t.Fatalf("%x-%x: bucket %d one way, %d the other", a, z, PairBucket(a, z, 16), PairBucket(z, a, 16))
		}
	}
}

// writeBucketedLake writes flows of several hours through an archive
// whose flushes are big enough to be bucketed, compacting part of them
// (after the fifth of eight flushes, unless compact is false), and returns
// what was written. The first flush, before the archive knows the rate,
// is not bucketed.
func writeBucketedLake(t *testing.T, dir string, compact bool) *flow.Batch {
	t.Helper()
	cfg := testConfig()
	cfg.Buckets = 8
	cfg.BucketRows = 100
	cfg.FlushRows = 1 << 20
	cfg.CompactMinFiles = 2
	cfg.CompactTargetRows = 3000
	a := openTest(t, dir, cfg)
	sent := new(flow.Batch)
	start := time.Date(2026, 3, 3, 8, 50, 0, 0, time.UTC)
	g := newFlowGen(5, start, 2) // 2 flows/s: 7200 an hour
	for round := range 8 {
		flushGenerated(t, a, g, sent, 1500)
		if round == 4 && compact {
			if _, err := a.Compact(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return sent
}

// flushGenerated writes n flows from g through a, appends them to sent, and
// flushes.
func flushGenerated(t *testing.T, a *Archive, g *flowGen, sent *flow.Batch, n int) {
	t.Helper()
	b := new(flow.Batch)
	g.fill(b, n)
	sent.AppendBatch(b)
	if err := a.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Every file holds only flows of its bucket, inside the time
// ranges the catalog gives it; the catalog saved, reloaded and rebuilt
// from footers says the same.
func TestFileExtents(t *testing.T) {
	dir := t.TempDir()
	sent := writeBucketedLake(t, dir, true)
	files := catalogFiles(t, dir)
	bucketed := 0
	for _, f := range files {
		b := readAll(t, []FileInfo{f})
		if !f.TimeStart.Known || !f.TimeEnd.Known {
			t.Fatalf("%s: time_start/time_end ranges unknown", f.Path)
		}
		if f.Buckets > 1 {
			bucketed++
		}
		for i := range b.Len() {
			if f.Buckets > 1 && PairBucket(b.SrcAddr[i], b.DstAddr[i], f.Buckets) != f.Bucket {
				t.Fatalf("%s (bucket %d/%d) holds src %x of bucket %d", f.Path, f.Bucket, f.Buckets, b.SrcAddr[i], PairBucket(b.SrcAddr[i], b.DstAddr[i], f.Buckets))
			}
			in := func(ns int64, s Span) bool { return !flow.Time(ns).Before(s.Min) && !flow.Time(ns).After(s.Max) }
			recv := Span{Min: f.MinTime, Max: f.MaxTime}
			if !in(b.TimeReceived[i], recv) || !in(b.TimeStart[i], f.TimeStart) || !in(b.TimeEnd[i], f.TimeEnd) {
				t.Fatalf("%s: row %d times %v %v %v outside the file's ranges %+v %+v %+v", f.Path, i,
					flow.Time(b.TimeReceived[i]), flow.Time(b.TimeStart[i]), flow.Time(b.TimeEnd[i]), recv, f.TimeStart, f.TimeEnd)
			}
		}
	}
	if bucketed == 0 {
		t.Fatalf("none of %d files is bucketed", len(files))
	}
	if d := diffMultisets(multiset(sent), multiset(readAll(t, files))); d != "" {
		t.Fatal(d)
	}
	// The catalog rebuilt from footers holds the same extents.
	if err := os.Remove(filepath.Join(dir, "flows", catalogName)); err != nil {
		t.Fatal(err)
	}
	cat, err := ReadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.files) != len(files) {
		t.Fatalf("rebuilt catalog: %d files, want %d", len(cat.files), len(files))
	}
	for i, f := range cat.files {
		w := files[i]
		if f.rel != w.rel || f.Bucket != w.Bucket || f.Buckets != w.Buckets || !f.TimeStart.Min.Equal(w.TimeStart.Min) ||
			!f.TimeStart.Max.Equal(w.TimeStart.Max) || !f.TimeEnd.Min.Equal(w.TimeEnd.Min) || !f.TimeEnd.Max.Equal(w.TimeEnd.Max) ||
			!f.MinTime.Equal(w.MinTime) || !f.MaxTime.Equal(w.MaxTime) || f.Schema != w.Schema || f.Schema != map[bool]string{false: lakeSchemaKey, true: compactSchemaKey}[w.Compacted] {
			t.Fatalf("rebuilt %+v, saved %+v", f, w)
		}
	}
}

// Compaction splits a past hour's files of fewer buckets than
// the hour's most into that many, and merges the pieces with their
// buckets' files: afterwards one source's flows of the hour are in files
// of its bucket only, and the lake holds the same flows.
func TestSplitCoarse(t *testing.T) {
	dir := t.TempDir()
	sent := writeBucketedLake(t, dir, false)
	before := catalogFiles(t, dir)
	most := map[string]int{}
	for _, f := range before {
		most[filepath.Dir(f.rel)] = max(most[filepath.Dir(f.rel)], f.Buckets)
	}
	coarse := 0
	for _, f := range before {
		if f.Buckets < most[filepath.Dir(f.rel)] {
			coarse++
		}
	}
	if coarse == 0 {
		t.Fatal("the lake has no file of fewer buckets than the most: nothing to test")
	}
	cfg := testConfig()
	cfg.CompactTargetRows = 3000
	a := openTest(t, dir, cfg)
	res, err := a.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	after := catalogFiles(t, dir)
	for _, f := range after {
		if f.Buckets != most[filepath.Dir(f.rel)] {
			t.Errorf("%s: %d buckets, its hour has %d", f.rel, f.Buckets, most[filepath.Dir(f.rel)])
		}
		b := readAll(t, []FileInfo{f})
		for i := range b.Len() {
			if PairBucket(b.SrcAddr[i], b.DstAddr[i], f.Buckets) != f.Bucket {
				t.Fatalf("%s (bucket %d/%d) holds src %x of bucket %d", f.rel, f.Bucket, f.Buckets, b.SrcAddr[i], PairBucket(b.SrcAddr[i], b.DstAddr[i], f.Buckets))
			}
		}
	}
	if d := diffMultisets(multiset(sent), multiset(readAll(t, after))); d != "" {
		t.Fatal(d)
	}
	t.Logf("%d files (%d coarse) -> %d; %+v", len(before), coarse, len(after), res)
}

// CompactMinFiles 1 compacts the hour being written as a past one: its
// files of fewer buckets are split, and each bucket ends in one file.
func TestCompactEverythingNow(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Buckets, cfg.BucketRows = 8, 100
	a := openTest(t, dir, cfg)
	sent := new(flow.Batch)
	g := newFlowGen(9, time.Now().UTC().Truncate(time.Hour), 20)
	for range 3 {
		flushGenerated(t, a, g, sent, 1500)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	cfg = testConfig()
	cfg.CompactMinFiles = 1
	a = openTest(t, dir, cfg)
	if _, err := a.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	files := catalogFiles(t, dir)
	seen := map[int]bool{}
	for _, f := range files {
		// Flushes of 1500 flows, 100 a bucket file: 8 buckets after the
		// first flush.
		if f.Buckets != 8 || seen[f.Bucket] || !f.Compacted {
			t.Fatalf("after compaction: %+v (want one compacted file per bucket of 8)", files)
		}
		seen[f.Bucket] = true
	}
	if d := diffMultisets(multiset(sent), multiset(readAll(t, files))); d != "" {
		t.Fatal(d)
	}
}

// A crash while a split's pieces are written leaves the lake as before
// the split; a crash after all are written but before the catalog names
// them leaves it as after. With the catalog and without it (rebuilt from
// footers), no flow is lost or counted twice.
func TestSplitCrash(t *testing.T) {
	for _, tc := range []struct {
		name      string
		drop      bool // one piece never reached the disk
		noCatalog bool
	}{
		{"all pieces, catalog", false, false},
		{"some pieces, catalog", true, false},
		{"all pieces, no catalog", false, true},
		{"some pieces, no catalog", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sent := writeBucketedLake(t, dir, false)
			catPath := filepath.Join(dir, "flows", catalogName)
			saved, err := os.ReadFile(catPath)
			if err != nil {
				t.Fatal(err)
			}
			cfg := testConfig()
			cfg.GraceDelete = time.Hour // the split file stays on disk, as after a crash
			a := openTest(t, dir, cfg)
			files, buckets := a.splitCandidates(time.Now())
			if len(files) == 0 {
				t.Fatal("nothing to split")
			}
			pieces, err := a.splitFile(files[0], buckets[0])
			if err != nil {
				t.Fatal(err)
			}
			if len(pieces) < 2 {
				t.Fatalf("%d pieces", len(pieces))
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			// The crash: the catalog as it was before the split.
			if err := os.WriteFile(catPath, saved, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.drop {
				if err := os.Remove(pieces[1].Path); err != nil {
					t.Fatal(err)
				}
			}
			if tc.noCatalog {
				if err := os.Remove(catPath); err != nil {
					t.Fatal(err)
				}
			}
			a = openTest(t, dir, testConfig())
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			after := catalogFiles(t, dir)
			split := false
			for _, f := range after {
				if f.rel == files[0].rel {
					split = true
				}
			}
			if split != tc.drop {
				t.Errorf("split file in the catalog: %v, want %v", split, tc.drop)
			}
			if d := diffMultisets(multiset(sent), multiset(readAll(t, after))); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// Select never leaves out a file holding a wanted flow, and leaves out
// most files for a single source: a random filter's flows read from the
// selected files are exactly its flows read from all files.
func TestSelectOracle(t *testing.T) {
	dir := t.TempDir()
	writeBucketedLake(t, dir, true)
	cat, err := ReadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := cat.Select(Filter{})
	rows := make([]*flow.Batch, len(all))
	everything := new(flow.Batch)
	for i, f := range all {
		rows[i] = readAll(t, []FileInfo{f})
		everything.AppendBatch(rows[i])
	}
	r := rand.New(rand.NewPCG(3, 4))
	pick := func() int { return r.IntN(everything.Len()) }
	window := func(col []int64) Span {
		a, b := col[pick()], col[pick()]
		if a > b {
			a, b = b, a
		}
		s := Span{Min: flow.Time(a), Max: flow.Time(b)}
		switch r.IntN(4) { // open ends too
		case 0:
			s.Min = time.Time{}
		case 1:
			s.Max = time.Time{}
		}
		return s
	}
	wants := func(flt *Filter, b *flow.Batch, i int) bool {
		if !flt.From.IsZero() && flow.Time(b.TimeReceived[i]).Before(flt.From) {
			return false
		}
		if !flt.To.IsZero() && !flow.Time(b.TimeReceived[i]).Before(flt.To) {
			return false
		}
		for name, s := range flt.Times {
			v := map[string]int64{"time_received": b.TimeReceived[i], "time_start": b.TimeStart[i], "time_end": b.TimeEnd[i]}[name]
			if (!s.Min.IsZero() && flow.Time(v).Before(s.Min)) || (!s.Max.IsZero() && flow.Time(v).After(s.Max)) {
				return false
			}
		}
		return (flt.SrcAddrs == nil || slices.Contains(flt.SrcAddrs, b.SrcAddr[i])) &&
			(flt.DstAddrs == nil || slices.Contains(flt.DstAddrs, b.DstAddr[i]))
	}
	count := func(flt *Filter, files []FileInfo) int {
		n := 0
		for _, f := range files {
			for k, g := range all {
				if g.rel != f.rel {
					continue
				}
				for i := range rows[k].Len() {
					if wants(flt, rows[k], i) {
						n++
					}
				}
			}
		}
		return n
	}
	var singleSel, singleAll int
	for trial := range 300 {
		var flt Filter
		// Sources, destinations or both, from flows of the lake (either
		// way round: a needle may ask for a reply).
		switch r.IntN(4) {
		case 0:
			flt.SrcAddrs = append(flt.SrcAddrs, everything.SrcAddr[pick()])
		case 1:
			flt.DstAddrs = append(flt.DstAddrs, everything.DstAddr[pick()])
		case 2:
			for range r.IntN(2) + 1 {
				k := pick()
				s, d := everything.SrcAddr[k], everything.DstAddr[k]
				if r.IntN(2) == 0 {
					s, d = d, s
				}
				flt.SrcAddrs, flt.DstAddrs = append(flt.SrcAddrs, s), append(flt.DstAddrs, d)
			}
		}
		names := []string{"time_received", "time_start", "time_end"}
		for _, name := range names[:r.IntN(4)] {
			if flt.Times == nil {
				flt.Times = map[string]Span{}
			}
			col := map[string][]int64{"time_received": everything.TimeReceived, "time_start": everything.TimeStart, "time_end": everything.TimeEnd}[name]
			flt.Times[name] = window(col)
		}
		if r.IntN(3) == 0 {
			w := window(everything.TimeReceived)
			flt.From, flt.To = w.Min, w.Max
		}
		sel := cat.Select(flt)
		if got, want := count(&flt, sel), count(&flt, all); got != want {
			t.Fatalf("trial %d: filter %+v: %d flows in the %d selected files, %d in all %d", trial, flt, got, len(sel), want, len(all))
		}
		if len(flt.SrcAddrs) == 1 && len(flt.DstAddrs) == 1 && flt.Times == nil && flt.From.IsZero() && flt.To.IsZero() {
			singleSel += len(sel)
			singleAll += len(all)
		}
	}
	if singleAll == 0 || singleSel*2 > singleAll {
		t.Fatalf("an address pair selects %d of %d files over the trials: buckets do not prune", singleSel, singleAll)
	}
	t.Logf("an address pair selects %d of %d files", singleSel, singleAll)
}

// The bucket count follows the flush sizes up at once and down only when
// flushes fall under half of what the count needs, so that flushes of
// alternating sizes (one kicked by FlushRows, one by the clock) keep one
// count.
func TestNextBuckets(t *testing.T) {
	a := &Archive{cfg: Config{Buckets: 16, BucketRows: 100}}
	steps := []struct{ rows, want int }{
		{50, 1}, {199, 1}, {200, 2}, {1600, 16}, {5000, 16}, // up at once, capped
		{900, 16}, {1599, 16}, {800, 16}, // 800 flows still fill 16 half-full files
		{799, 4}, {400, 4}, {399, 4}, {199, 1}, {0, 1},
	}
	k := 1
	for _, s := range steps {
		k = a.nextBuckets(k, s.rows)
		if k != s.want {
			t.Fatalf("after a flush of %d flows: %d buckets, want %d", s.rows, k, s.want)
		}
	}
}

// flushSize counts a flush at the rate it was filled, so that a flush
// shortly after another does not look like a slow exporter.
func TestFlushSize(t *testing.T) {
	a := &Archive{cfg: Config{FlushInterval: 4 * time.Second, FlushRows: 1000}, lastFlush: time.Now()}
	for _, c := range []struct {
		rows    int
		elapsed time.Duration
		want    int
	}{
		{100, 4 * time.Second, 100}, {100, 2 * time.Second, 200}, {100, time.Second, 400},
		{300, time.Second, 1000},           // FlushRows caps it
		{100, 999 * time.Millisecond, 100}, // too soon to tell a rate: as it is
	} {
		if got := a.flushSize(c.rows, c.elapsed); got != c.want {
			t.Errorf("flushSize(%d, %v) = %d, want %d", c.rows, c.elapsed, got, c.want)
		}
	}
}

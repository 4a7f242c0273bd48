package archive

import (
	"bytes"
	"cmp"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// edgeRuns returns n flows whose every column takes values at the edges
// of its type (zero, the largest, the sign bit of the Parquet physical
// type, times before 1970 and with sub-millisecond digits, out-of-range
// enum indexes, long and non-ASCII strings) mixed with random ones, in
// runs of one value (as absent fields are) and not.
func edgeRuns(seed uint64, n int) *flow.Batch {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := new(flow.Batch)
	b.Extend(n)
	strs := []string{"", "edge-7", "ünïcødé ✓", strings.Repeat("x", 300), "a\x00b"}
	for c, col := range schema.Columns {
		run := 0
		var pick func(i int)
		switch s := b.Column(c).(type) {
		case []uint8:
			pick = func(i int) { s[i] = []uint8{0, 1, 127, 128, 255, uint8(rng.Uint32())}[rng.IntN(6)] }
			if col.Type == schema.Enum {
				// Every name, the first indexes past them, and the last.
				pick = func(i int) { s[i] = []uint8{uint8(rng.IntN(len(col.Values) + 2)), 255}[rng.IntN(2)] }
			}
		case []uint16:
			pick = func(i int) { s[i] = []uint16{0, 443, 32767, 32768, 65535, uint16(rng.Uint32())}[rng.IntN(6)] }
		case []uint32:
			pick = func(i int) { s[i] = []uint32{0, 1, math.MaxInt32, 1 << 31, math.MaxUint32, rng.Uint32()}[rng.IntN(6)] }
		case []uint64:
			pick = func(i int) { s[i] = []uint64{0, 1, math.MaxInt64, 1 << 63, math.MaxUint64, rng.Uint64()}[rng.IntN(6)] }
		case []int64:
			pick = func(i int) {
				s[i] = []int64{0, -1, -1_500_000, 1_764_590_400_123_456_789, 1 << 61, rng.Int64N(4e18) - 2e18}[rng.IntN(6)]
			}
		case []flow.Addr:
			pick = func(i int) {
				switch rng.IntN(4) {
				case 0:
					s[i] = flow.Addr{}
				case 1:
					s[i] = flow.AddrFromUint32(rng.Uint32())
				case 2:
					for j := range s[i] {
						s[i][j] = 0xff
					}
				default:
					for j := range s[i] {
						s[i][j] = byte(rng.Uint32())
					}
				}
			}
		case []string:
			pick = func(i int) {
				if rng.IntN(3) == 0 {
					s[i] = strings.Repeat("n", rng.IntN(40))
					return
				}
				s[i] = strs[rng.IntN(len(strs))]
			}
		default:
			panic(col.Name)
		}
		for i := 0; i < n; i++ {
			// Runs of one value, of random length, keep whole batches and
			// pages constant now and then.
			if run == 0 {
				pick(i)
				run = []int{1, 1, 1, 50, 3000, 20000}[rng.IntN(6)]
			} else {
				col := reflect.ValueOf(b.Column(c))
				col.Index(i).Set(col.Index(i - 1))
			}
			run--
		}
	}
	return b
}

// aliasStrings makes every string of b point into one byte buffer, which
// it returns.
func aliasStrings(b *flow.Batch) []byte {
	var buf []byte
	for c := range schema.Columns {
		if s, ok := b.Column(c).([]string); ok {
			for _, v := range s {
				buf = append(buf, v...)
			}
		}
	}
	at := 0
	for c := range schema.Columns {
		if s, ok := b.Column(c).([]string); ok {
			for i, v := range s {
				s[i] = unsafe.String(unsafe.SliceData(buf[at:]), len(v))
				at += len(v)
			}
		}
	}
	return buf
}

// reuse overwrites buf as a decoder reusing it would, with bytes making
// strings edgeRuns also writes.
func reuse(buf []byte) {
	for i := range buf {
		buf[i] = 'n'
	}
}

// stored returns b's flows as the lake gives them back: times floored to
// the millisecond, enum indexes without a name read as unknown.
func stored(b *flow.Batch) *flow.Batch {
	out := new(flow.Batch)
	out.AppendBatch(b)
	for c, col := range schema.Columns {
		switch s := out.Column(c).(type) {
		case []int64:
			for i := range s {
				s[i] = toMillis(s[i]) * 1e6
			}
		case []uint8:
			if col.Type == schema.Enum {
				for i := range s {
					if int(s[i]) >= len(col.Values) {
						s[i] = 0
					}
				}
			}
		}
	}
	return out
}

// TestFlushFileRoundTrip writes edge values through flushFile, in the ways
// the archive appends them (whole batches, rows by index spread over
// several files, several pages and row groups), and reads them back with
// parquet-go: every value and every row group's min/max statistics must be
// those of the flows written, and the file's schema that of the lake.
func TestFlushFileRoundTrip(t *testing.T) {
	const n = 3*flushPageRows + 1234
	all := edgeRuns(1, n)
	for _, rowGroup := range []int{0, 5000} {
		files := []*flushFile{newFlushFile(rowGroup, zstd.SpeedFastest), newFlushFile(rowGroup, zstd.SpeedFastest)}
		want := []*flow.Batch{new(flow.Batch), new(flow.Batch)}
		// Whole batches into file 0, then rows split by index between the
		// two files, as encodeLocked does with buckets.
		for lo := 0; lo < n; lo += 1000 {
			hi := min(lo+1000, n)
			part := new(flow.Batch)
			part.AppendRows(all, seq(lo, hi))
			// Strings aliasing a buffer the caller reuses, as a zero-copy
			// decoder's would: the file must keep copies.
			buf := aliasStrings(part)
			if lo < n/3 {
				if err := files[0].append(part, nil); err != nil {
					t.Fatal(err)
				}
				want[0].AppendRows(all, seq(lo, hi))
				reuse(buf)
				continue
			}
			var rows [2][]int
			for i := range part.Len() {
				k := int(part.SrcPort[i]+part.DstPort[i]) % 2
				rows[k] = append(rows[k], i)
			}
			// Like encodeLocked, only files some rows go to (nil rows
			// would mean all of them).
			var to []*flushFile
			var toRows [][]int
			for k := range rows {
				if len(rows[k]) > 0 {
					to, toRows = append(to, files[k]), append(toRows, rows[k])
				}
			}
			if err := appendBatch(part, to, toRows); err != nil {
				t.Fatal(err)
			}
			for k := range rows {
				global := make([]int, len(rows[k]))
				for j, r := range rows[k] {
					global[j] = lo + r
				}
				want[k].AppendRows(all, global)
			}
			reuse(buf)
		}
		for k, f := range files {
			data, err := f.finish([][2]string{{"flowlake.test", "kv"}})
			if err != nil {
				t.Fatal(err)
			}
			got := readBack(t, data)
			exp := stored(want[k])
			if got.Len() != exp.Len() {
				t.Fatalf("rowGroup %d file %d: %d rows, want %d", rowGroup, k, got.Len(), exp.Len())
			}
			for i := range exp.Len() {
				var g, w flow.Record
				got.Row(i, &g)
				exp.Row(i, &w)
				if g != w {
					t.Fatalf("rowGroup %d file %d row %d:\n got %+v\nwant %+v", rowGroup, k, i, g, w)
				}
			}
			checkFlushFileMeta(t, data, exp, rowGroup)
		}
	}
}

// readBack reads the flows of the Parquet file data with the archive's
// reader (parquet-go).
func readBack(t *testing.T, data []byte) *flow.Batch {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got := new(flow.Batch)
	if err := readFile(path, got); err != nil {
		t.Fatal(err)
	}
	return got
}

// checkFlushFileMeta checks a flush file's schema, key-value metadata,
// row group sizes and min/max statistics against the flows it holds.
func checkFlushFileMeta(t *testing.T, data []byte, exp *flow.Batch, rowGroup int) {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if k := schemaKey(pf.Schema()); k != lakeSchemaKey {
		t.Errorf("schema key %s, want %s", k, lakeSchemaKey)
	}
	if v, _ := pf.Lookup("flowlake.test"); v != "kv" {
		t.Errorf("key-value metadata lost: %q", v)
	}
	at := 0
	for g, rg := range pf.RowGroups() {
		rows := int(rg.NumRows())
		if rowGroup > 0 && g < len(pf.RowGroups())-1 && (rows < rowGroup || rows > rowGroup+1000) {
			t.Errorf("row group %d: %d rows, want %d to %d", g, rows, rowGroup, rowGroup+1000)
		}
		for c, col := range schema.Columns {
			if col.Type == schema.String || col.Type == schema.Enum {
				continue
			}
			st := pf.Metadata().RowGroups[g].Columns[c].MetaData.Statistics
			wlo, whi := columnBounds(exp, c, at, at+rows)
			if !bytes.Equal(st.MinValue, wlo) || !bytes.Equal(st.MaxValue, whi) {
				t.Errorf("row group %d column %s: bounds %x..%x, want %x..%x", g, col.Name, st.MinValue, st.MaxValue, wlo, whi)
			}
		}
		at += rows
	}
	if at != exp.Len() {
		t.Errorf("row groups hold %d rows, want %d", at, exp.Len())
	}
}

// columnBounds returns the min and max of rows [lo, hi) of column c in
// the PLAIN form of its Parquet type, ordered as that type's logical type
// orders them (unsigned for UINT columns).
func columnBounds(b *flow.Batch, c, lo, hi int) (minV, maxV []byte) {
	le := func(v uint64, size int) []byte {
		out := make([]byte, size)
		for i := range out {
			out[i] = byte(v >> (8 * i))
		}
		return out
	}
	switch s := b.Column(c).(type) {
	case []uint8:
		return le(uint64(sliceMin(s[lo:hi])), 4), le(uint64(sliceMax(s[lo:hi])), 4)
	case []uint16:
		return le(uint64(sliceMin(s[lo:hi])), 4), le(uint64(sliceMax(s[lo:hi])), 4)
	case []uint32:
		return le(uint64(sliceMin(s[lo:hi])), 4), le(uint64(sliceMax(s[lo:hi])), 4)
	case []uint64:
		return le(sliceMin(s[lo:hi]), 8), le(sliceMax(s[lo:hi]), 8)
	case []int64:
		return le(uint64(sliceMin(s[lo:hi])/1e6), 8), le(uint64(sliceMax(s[lo:hi])/1e6), 8)
	case []flow.Addr:
		mn, mx := s[lo], s[lo]
		for _, a := range s[lo:hi] {
			if bytes.Compare(a[:], mn[:]) < 0 {
				mn = a
			}
			if bytes.Compare(a[:], mx[:]) > 0 {
				mx = a
			}
		}
		return mn[:], mx[:]
	}
	panic(schema.Columns[c].Name)
}

func sliceMin[T cmp.Ordered](s []T) T {
	m := s[0]
	for _, v := range s {
		m = min(m, v)
	}
	return m
}

func sliceMax[T cmp.Ordered](s []T) T {
	m := s[0]
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

// TestFlushFileCopiesStrings: a string the caller's buffer held when it
// was appended must be written as it was, whatever the buffer holds later
// (a decoder reusing its packet buffer).
func TestFlushFileCopiesStrings(t *testing.T) {
	f := newFlushFile(0, zstd.SpeedFastest)
	buf := []byte("aaaa")
	b := new(flow.Batch)
	b.Extend(1)
	// New values, a known one (looked up), then the buffer changes.
	alias := unsafe.String(&buf[0], len(buf))
	for i, v := range []string{"aaaa", "cccc", alias, "bbbb", "cccc", alias} {
		if i == 3 {
			copy(buf, "bbbb") // alias now reads "bbbb"
		}
		b.ExporterName[0] = v
		if err := f.append(b, nil); err != nil {
			t.Fatal(err)
		}
	}
	data, err := f.finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := readBack(t, data)
	if want := []string{"aaaa", "cccc", "aaaa", "bbbb", "cccc", "bbbb"}; !slices.Equal(got.ExporterName, want) {
		t.Errorf("exporter names %q, want %q", got.ExporterName, want)
	}
}

// TestFlushFileConstantPages: pages of one address are written against a
// dictionary of the row group's constant pages; pages of other constants
// and mixed pages in between must read back as written.
func TestFlushFileConstantPages(t *testing.T) {
	f := newFlushFile(0, zstd.SpeedFastest)
	want := new(flow.Batch)
	a, b := flow.AddrFromUint32(0x0a000001), flow.MustParseAddr("2001:db8::1")
	for page, fill := range []func(i int) flow.Addr{
		func(int) flow.Addr { return a },
		func(int) flow.Addr { return b },
		func(i int) flow.Addr { return flow.AddrFromUint32(uint32(i)) },
		func(int) flow.Addr { return a },
		func(int) flow.Addr { return flow.Addr{} },
	} {
		p := new(flow.Batch)
		p.Extend(flushPageRows)
		for i := range p.SrcAddr {
			p.SrcAddr[i] = fill(i)
			p.TimeReceived[i] = int64(page)
		}
		if err := f.append(p, nil); err != nil {
			t.Fatal(err)
		}
		want.AppendBatch(p)
	}
	data, err := f.finish([][2]string{{"flowlake.test", "kv"}})
	if err != nil {
		t.Fatal(err)
	}
	got := readBack(t, data)
	if !slices.Equal(got.SrcAddr, want.SrcAddr) {
		t.Error("src_addr read back differs")
	}
	checkFlushFileMeta(t, data, stored(want), 0)
}

package archive

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// TestColumnSizes checks the per-column sizes against what is known
// without the footers' bookkeeping: the files' sizes on disk, each file's
// footer length (its last 8 bytes), that random 64-bit counters cannot be
// stored in fewer than 8 bytes, and that a column of one value takes
// almost nothing. Before and after compaction (other encodings, sorted
// files).
func TestColumnSizes(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.CompactMinFiles = 1
	cfg.RowGroupRows = 4000 // several row groups a file: sizes sum over them
	a := openTest(t, dir, cfg)
	defer a.Close()
	const n = 30000
	b := genBatch(3, t0, n, 200)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range b.Bytes {
		b.Bytes[i] = rng.Uint64()
		b.InIf[i] = 7
	}
	for lo := 0; lo < n; lo += n / 3 { // three flushes: three files an hour
		part := new(flow.Batch)
		part.AppendRows(b, seq(lo, min(lo+n/3, n)))
		if err := a.WriteBatch(part); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(stage string) {
		t.Helper()
		r, err := ColumnSizes(dir)
		if err != nil {
			t.Fatal(err)
		}
		paths, _ := filepath.Glob(filepath.Join(dir, "flows", "date=*", "hour=*", "*.parquet"))
		var size, trailers int64
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			size += int64(len(data))
			// Magic at both ends, the footer and its 4-byte length.
			trailers += 8 + 4 + int64(binary.LittleEndian.Uint32(data[len(data)-8:]))
		}
		if r.Files != len(paths) || r.Rows != n || r.Bytes != size || r.Unreadable != 0 {
			t.Fatalf("%s: %d files, %d rows, %d bytes, %d unreadable; want %d, %d, %d, 0",
				stage, r.Files, r.Rows, r.Bytes, r.Unreadable, len(paths), n, size)
		}
		want := len(schema.Columns)
		if stage == "compacted" {
			want += pairColumnsCount
		}
		if len(r.Columns) != want {
			t.Fatalf("%s: %d columns, want %d", stage, len(r.Columns), want)
		}
		var cols int64
		at := map[string]ColumnSize{}
		for _, c := range r.Columns {
			cols += c.Bytes
			at[c.Name] = c
		}
		// Column chunks, footers and magic numbers are the whole file but
		// for page indexes, which count as footer bytes here.
		if cols+r.Footers != size || r.Footers < trailers || r.Footers > trailers+size/10 {
			t.Errorf("%s: columns %d + footers %d, file bytes %d, footers and magic %d", stage, cols, r.Footers, size, trailers)
		}
		if r.Columns[0].Name != "bytes" || at["bytes"].Bytes < 8*n || at["bytes"].BytesPerFlow < 8 {
			t.Errorf("%s: random counters: %+v (largest %s), want at least 8 bytes a flow and the largest column", stage, at["bytes"], r.Columns[0].Name)
		}
		if c := at["in_if"]; c.Bytes <= 0 || c.BytesPerFlow > 0.05 || c.Uncompressed <= 0 {
			t.Errorf("%s: a constant column: %+v", stage, c)
		}
		t.Logf("%s: %d files, columns %d bytes, footers %d", stage, r.Files, cols, r.Footers)
	}
	check("flushed")
	if _, err := a.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("compacted")
}

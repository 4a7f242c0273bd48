package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// footer is what a file's footer tells without reading its pages.
type footer struct {
	rows     int64
	min, max int64
	sources  []string // relative paths a compacted file replaced
	start    Span
	end      Span
	bucket   int
	buckets  int
	schema   string // schemaKey
	split    int    // > 0: one of split pieces of sources[0] (splitFile)
}

// openParquet opens path and parses its footer; a truncated or otherwise
// corrupt file fails here.
func openParquet(path string, withIndex bool) (*os.File, *parquet.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(!withIndex), parquet.SkipBloomFilters(true))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, pf, nil
}

func readFooter(path string) (footer, int64, error) {
	f, pf, err := openParquet(path, false)
	if err != nil {
		return footer{}, 0, err
	}
	defer f.Close()
	st, _ := f.Stat()
	rows, err := fileFlows(pf)
	if err != nil {
		return footer{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	ft := footer{rows: rows, schema: schemaKey(pf.Schema())}
	lo, ok1 := pf.Lookup(metaMinTime)
	hi, ok2 := pf.Lookup(metaMaxTime)
	if !ok1 || !ok2 {
		return footer{}, 0, fmt.Errorf("%s: not a flowlake archive file (no %s metadata)", path, metaMinTime)
	}
	if ft.min, err = strconv.ParseInt(lo, 10, 64); err != nil {
		return footer{}, 0, fmt.Errorf("%s: bad %s: %w", path, metaMinTime, err)
	}
	if ft.max, err = strconv.ParseInt(hi, 10, 64); err != nil {
		return footer{}, 0, fmt.Errorf("%s: bad %s: %w", path, metaMaxTime, err)
	}
	if s, ok := pf.Lookup(metaSources); ok && s != "" {
		ft.sources = strings.Split(s, ",")
	}
	// Files of earlier versions lack these: their extents stay unknown.
	if s, ok := pf.Lookup(metaTimeStart); ok {
		if ft.start, err = parseSpan(s); err != nil {
			return footer{}, 0, fmt.Errorf("%s: %s: %w", path, metaTimeStart, err)
		}
	}
	if s, ok := pf.Lookup(metaTimeEnd); ok {
		if ft.end, err = parseSpan(s); err != nil {
			return footer{}, 0, fmt.Errorf("%s: %s: %w", path, metaTimeEnd, err)
		}
	}
	if s, ok := pf.Lookup(metaSplit); ok && s != "" {
		if ft.split, err = strconv.Atoi(s); err != nil || ft.split < 1 || len(ft.sources) != 1 {
			return footer{}, 0, fmt.Errorf("%s: bad %s %q", path, metaSplit, s)
		}
	}
	if s, ok := pf.Lookup(metaSrcBucket); ok && s != "" {
		if ft.bucket, ft.buckets, err = parseBucket(s); err != nil {
			return footer{}, 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	return ft, st.Size(), nil
}

// fileFlows returns how many flows pf holds: its rows and the reverse
// flows paired with them.
func fileFlows(pf *parquet.File) (int64, error) {
	s, ok := pf.Lookup(metaFlows)
	if !ok {
		return pf.NumRows(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < pf.NumRows() || n > 2*pf.NumRows() {
		return 0, fmt.Errorf("bad %s %q for %d rows", metaFlows, s, pf.NumRows())
	}
	return n, nil
}

// readFile appends every flow of the Parquet file at path to b (its rows,
// then the reverse flows paired with them). Columns are matched by name,
// so files written before a column was added read with that column zero,
// and columns unknown to this build are ignored.
func readFile(path string, b *flow.Batch) error {
	f, pf, err := openParquet(path, false)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := fileFlows(pf)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	first := b.Extend(int(n))
	if err := readRows(path, pf, b, first, int(n)); err != nil {
		b.Truncate(first)
		return err
	}
	return nil
}

// ReadFile is readFile for readers outside the archive (`flowlake archive
// migrate` copies a lake into another store with it).
func ReadFile(path string, b *flow.Batch) error { return readFile(path, b) }

// readFileAt is readFile into rows b already has: the file's rows go to
// b's rows from at on (which must exist). Compaction sizes its batch once
// for all its files: extending it file by file zeroed every column again
// (a fifth of the compaction CPU). It returns the number of rows read.
func readFileAt(path string, b *flow.Batch, at int) (int, error) {
	f, pf, err := openParquet(path, false)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n64, err := fileFlows(pf)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	n := int(n64)
	if at+n > b.Len() {
		return 0, fmt.Errorf("%s: %d flows, more than the %d its catalog entry promised", path, n, b.Len()-at)
	}
	return n, readRows(path, pf, b, at, n)
}

// readRows reads the flows of pf, flows of them, into b's rows from at on:
// every row group's rows, then the reverse flows of the rows that carry
// one.
func readRows(path string, pf *parquet.File, b *flow.Batch, at, flows int) error {
	fileCols := map[string]int{}
	for i, leaf := range pf.Schema().Columns() {
		if len(leaf) == 1 {
			fileCols[leaf[0]] = i
		}
	}
	first, rows := at, int(pf.NumRows())
	var p *pairCols
	if _, ok := fileCols[colPaired]; ok {
		p = new(pairCols)
		p.extend(rows)
	}
	vals := make([]parquet.Value, valueChunk)
	for _, rg := range pf.RowGroups() {
		n := int(rg.NumRows())
		chunks := rg.ColumnChunks()
		for c, col := range schema.Columns {
			fi, ok := fileCols[col.Name]
			if !ok {
				continue
			}
			if err := readColumn(chunks[fi], vals, b, c, at, at+n); err != nil {
				return fmt.Errorf("%s: column %s: %w", path, col.Name, err)
			}
		}
		for k := range pairColumns(p) {
			fi, ok := fileCols[pairColumnNames[k]]
			if !ok {
				return fmt.Errorf("%s: no column %s", path, pairColumnNames[k])
			}
			if err := readPairColumn(chunks[fi], vals, p, k, at-first, at-first+n); err != nil {
				return fmt.Errorf("%s: column %s: %w", path, pairColumnNames[k], err)
			}
		}
		at += n
	}
	if p == nil {
		if flows != rows {
			return fmt.Errorf("%s: %d rows and no pair columns, %d flows expected", path, rows, flows)
		}
		return nil
	}
	paired := 0
	for _, ok := range p.paired {
		if ok {
			paired++
		}
	}
	if rows+paired != flows {
		return fmt.Errorf("%s: %d rows carry %d reverse flows, %d flows expected", path, rows, paired, flows)
	}
	unpairFlows(b, first, rows, p)
	return nil
}

// readPairColumn fills rows [lo, hi) of pair column k of p from chunk.
func readPairColumn(chunk parquet.ColumnChunk, vals []parquet.Value, p *pairCols, k, lo, hi int) error {
	return readValues(chunk, vals, lo, hi, func(vs []parquet.Value, i int) {
		for _, v := range vs {
			setPairValue(p, k, i, v)
			i++
		}
	})
}

// readValues reads the hi-lo values of chunk, a buffer (vals) at a time,
// handing each to fill with the row its first value belongs to.
func readValues(chunk parquet.ColumnChunk, vals []parquet.Value, lo, hi int, fill func(vs []parquet.Value, row int)) error {
	r := parquet.NewColumnChunkValueReader(chunk)
	defer r.Close()
	i := lo
	for i < hi {
		n, err := r.ReadValues(vals[:min(len(vals), hi-i)])
		fill(vals[:n], i)
		i += n
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
	}
	if i != hi {
		return fmt.Errorf("read %d values, want %d", i-lo, hi-lo)
	}
	return nil
}

// readColumn fills rows [lo, hi) of column c of b from chunk.
func readColumn(chunk parquet.ColumnChunk, vals []parquet.Value, b *flow.Batch, c, lo, hi int) error {
	col := &schema.Columns[c]
	// Strings repeat (dictionary-encoded columns): intern them so a batch
	// read back holds one copy per distinct value, not one per row.
	var intern map[string]string
	var enumIdx map[string]uint8
	if col.Type == schema.String {
		intern = map[string]string{"": ""}
	}
	if col.Type == schema.Enum {
		enumIdx = make(map[string]uint8, len(col.Values))
		for i, v := range col.Values {
			enumIdx[v] = uint8(i)
		}
	}
	dst := b.Column(c)
	scale := timeScale(chunk.Type())
	return readValues(chunk, vals, lo, hi, func(vs []parquet.Value, i int) {
		for _, v := range vs {
			switch s := dst.(type) {
			case []uint8:
				if enumIdx != nil {
					s[i] = enumIdx[string(v.ByteArray())]
				} else {
					s[i] = uint8(v.Uint32())
				}
			case []uint16:
				s[i] = uint16(v.Uint32())
			case []uint32:
				s[i] = v.Uint32()
			case []uint64:
				s[i] = v.Uint64()
			case []int64:
				s[i] = v.Int64() * scale
			case []flow.Addr:
				copy(s[i][:], v.ByteArray())
			case []string:
				bs := v.ByteArray()
				str, ok := intern[string(bs)]
				if !ok {
					str = string(bs)
					if len(intern) < 1<<16 {
						intern[str] = str
					}
				}
				s[i] = str
			}
			i++
		}
	})
}

// timeScale is the factor from a timestamp column's unit to nanoseconds (1
// for other types): the lake stores milliseconds, its first files
// nanoseconds.
func timeScale(t parquet.Type) int64 {
	lt := t.LogicalType()
	if lt == nil {
		return 1
	}
	if ts, ok := lt.Value.(*format.TimestampType); ok && ts.Unit.Value != nil {
		return int64(ts.Unit.Value.Duration())
	}
	return 1
}

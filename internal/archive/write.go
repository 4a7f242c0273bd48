package archive

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/flowlake/flowlake/internal/atomicfile"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// Key-value metadata written into every file's footer, so that a catalog
// can be rebuilt from footers alone (no row group statistics decoding) and
// a compacted file names the files it replaced.
const (
	metaMinTime = "flowlake.min_time_received" // Unix ns
	metaMaxTime = "flowlake.max_time_received" // Unix ns
	metaSources = "flowlake.sources"           // compacted files: replaced file names, '/'-separated relative paths joined by ','
	metaVersion = "flowlake.archive_version"
	metaSplit   = "flowlake.split" // pieces of a split file (splitFile): how many
)

// valueChunk is how many rows are turned into parquet.Values per
// WriteRowValues call: big enough to amortise the call, small enough to
// stay in L1/L2.
const valueChunk = 2048

type writeOptions struct {
	rowGroupRows int
	level        zstd.Level
	sorting      []parquet.SortingColumn
	bloom        []parquet.BloomFilterColumn
	// schema overrides flowSchema (same columns and types, other
	// encodings); nil means flowSchema.
	schema *parquet.Schema
	// pageBytes is the target page size (default 256 KiB).
	pageBytes int
}

// codecs are shared: zstd.Codec pools its encoders, and building one per
// file would throw the pool away.
var codecs = map[zstd.Level]*zstd.Codec{
	zstd.SpeedFastest:           {Level: zstd.SpeedFastest},
	zstd.SpeedDefault:           {Level: zstd.SpeedDefault},
	zstd.SpeedBetterCompression: {Level: zstd.SpeedBetterCompression},
	zstd.SpeedBestCompression:   {Level: zstd.SpeedBestCompression},
}

func codec(l zstd.Level) *zstd.Codec {
	if c, ok := codecs[l]; ok {
		return c
	}
	return codecs[zstd.SpeedDefault]
}

// fileWriter writes Parquet files with one configuration, reusing one
// parquet.Writer (its column buffers, dictionaries and page buffers) from
// file to file: allocating them per file cost a fifth of the write time in
// GC. Not safe for concurrent use.
type fileWriter struct {
	opt writeOptions
	//lint:ignore SA1019 the untyped Writer gives the per-column writers (WriteRowValues) the batch is written through; GenericWriter adds a row type we do not have.
	w *parquet.Writer
}

func newFileWriter(opt writeOptions) *fileWriter { return &fileWriter{opt: opt} }

func (fw *fileWriter) schema() *parquet.Schema {
	if fw.opt.schema == nil {
		return flowSchema
	}
	return fw.opt.schema
}

//lint:ignore SA1019 see fileWriter.w
func (fw *fileWriter) writer(out io.Writer) *parquet.Writer {
	// parquet-go v0.32.0 loses the sorting columns of files written after
	// Writer.Reset (they come out all zero: the row group metadata it
	// resets shares the slice), so writers of sorted files are not reused.
	if fw.w != nil && len(fw.opt.sorting) == 0 {
		fw.w.Reset(out)
		return fw.w
	}
	opt := fw.opt
	sch, page := fw.schema(), opt.pageBytes
	if page <= 0 {
		page = 256 << 10
	}
	opts := []parquet.WriterOption{
		sch,
		parquet.Compression(codec(opt.level)),
		parquet.CreatedBy("flowlake", "archive", "1"),
		parquet.PageBufferSize(page),
		// Page header statistics are superseded by the column index (page
		// bounds), which is still written; computing both doubled the cost
		// of string columns.
		parquet.DataPageStatistics(false),
		parquet.KeyValueMetadata(metaVersion, "1"),
	}
	if opt.rowGroupRows > 0 {
		opts = append(opts, parquet.MaxRowsPerRowGroup(int64(opt.rowGroupRows)))
	}
	if len(opt.sorting) > 0 {
		opts = append(opts, parquet.SortingWriterConfig(parquet.SortingColumns(opt.sorting...)))
	}
	if len(opt.bloom) > 0 {
		opts = append(opts, parquet.BloomFilters(opt.bloom...))
	}
	fw.w = parquet.NewWriter(out, opts...)
	return fw.w
}

// write writes all rows of b (in the order perm, when not nil) to out as
// one Parquet file, column by column straight from the batch's slices, with
// the footer metadata meta. p, when not nil, holds the rows' pair columns
// (fw's schema must have them).
func (fw *fileWriter) write(out io.Writer, b *flow.Batch, p *pairCols, perm []int, meta [][2]string) error {
	w := fw.writer(out)
	err := writeParquet(w, b, p, perm, meta, fw.opt.rowGroupRows)
	if err != nil {
		// A writer that failed half-way is in an unknown state.
		fw.w = nil
	}
	return err
}

//lint:ignore SA1019 see fileWriter.w
func writeParquet(w *parquet.Writer, b *flow.Batch, p *pairCols, perm []int, meta [][2]string, rowGroupRows int) error {
	cols := w.ColumnWriters()
	if want := len(schema.Columns) + pairColumns(p); len(cols) != want {
		return fmt.Errorf("archive: writer schema has %d columns, %d to write", len(cols), want)
	}
	for _, kv := range meta {
		w.SetKeyValueMetadata(kv[0], kv[1])
	}
	n := b.Len()
	rg := rowGroupRows
	if rg <= 0 {
		rg = n
	}
	vals := make([]parquet.Value, 0, valueChunk)
	for lo := 0; lo < n; lo += rg {
		hi := min(lo+rg, n)
		for c := range schema.Columns {
			cw := cols[c]
			for clo := lo; clo < hi; clo += valueChunk {
				chi := min(clo+valueChunk, hi)
				if perm != nil {
					vals = columnValuesPerm(vals[:cap(vals)], b, c, perm[clo:chi])
				} else {
					vals = columnValues(vals[:cap(vals)], b, c, clo, chi)
				}
				if _, err := cw.WriteRowValues(vals); err != nil {
					return fmt.Errorf("column %s: %w", schema.Columns[c].Name, err)
				}
			}
		}
		for k := range pairColumns(p) {
			cw := cols[len(schema.Columns)+k]
			for clo := lo; clo < hi; clo += valueChunk {
				chi := min(clo+valueChunk, hi)
				var rows []int
				if perm != nil {
					rows = perm[clo:chi]
				}
				if _, err := cw.WriteRowValues(pairValues(vals[:cap(vals)], p, k, rows, clo, chi)); err != nil {
					return fmt.Errorf("column %s: %w", pairColumnNames[k], err)
				}
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return w.Close()
}

// columnValues returns rows [lo, hi) of column c of b as parquet.Values in
// vals (which must have room for them). Byte values point into the batch's
// memory (no copy): the column writer copies them before WriteRowValues
// returns. Values carry no column index or levels: the column writer they
// go to is the column, and every column is required.
func columnValues(vals []parquet.Value, b *flow.Batch, c, lo, hi int) []parquet.Value {
	col := &schema.Columns[c]
	vals = vals[:hi-lo]
	switch s := b.Column(c).(type) {
	case []uint8:
		s = s[lo:hi]
		if col.Type == schema.Enum {
			var names [256]parquet.Value
			for i, name := range col.Values {
				names[i] = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(name), len(name)))
			}
			for i := len(col.Values); i < len(names); i++ {
				names[i] = names[0]
			}
			for i, v := range s {
				vals[i] = names[v]
			}
			return vals
		}
		for i, v := range s {
			vals[i] = parquet.Int32Value(int32(v))
		}
	case []uint16:
		for i, v := range s[lo:hi] {
			vals[i] = parquet.Int32Value(int32(v))
		}
	case []uint32:
		for i, v := range s[lo:hi] {
			vals[i] = parquet.Int32Value(int32(v))
		}
	case []uint64:
		for i, v := range s[lo:hi] {
			vals[i] = parquet.Int64Value(int64(v))
		}
	case []int64:
		for i, v := range s[lo:hi] {
			vals[i] = parquet.Int64Value(toMillis(v))
		}
	case []flow.Addr:
		s = s[lo:hi]
		for i := range s {
			vals[i] = parquet.FixedLenByteArrayValue(s[i][:])
		}
	case []string:
		for i, v := range s[lo:hi] {
			vals[i] = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(v), len(v)))
		}
	default:
		panic(fmt.Sprintf("archive: column %s: unexpected slice type %T", col.Name, s))
	}
	return vals
}

// columnValuesPerm is columnValues for the rows perm of column c, in that order.
func columnValuesPerm(vals []parquet.Value, b *flow.Batch, c int, perm []int) []parquet.Value {
	col := &schema.Columns[c]
	vals = vals[:len(perm)]
	switch s := b.Column(c).(type) {
	case []uint8:
		if col.Type == schema.Enum {
			for i, p := range perm {
				name := col.Values[0]
				if int(s[p]) < len(col.Values) {
					name = col.Values[s[p]]
				}
				vals[i] = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(name), len(name)))
			}
			return vals
		}
		for i, p := range perm {
			vals[i] = parquet.Int32Value(int32(s[p]))
		}
	case []uint16:
		for i, p := range perm {
			vals[i] = parquet.Int32Value(int32(s[p]))
		}
	case []uint32:
		for i, p := range perm {
			vals[i] = parquet.Int32Value(int32(s[p]))
		}
	case []uint64:
		for i, p := range perm {
			vals[i] = parquet.Int64Value(int64(s[p]))
		}
	case []int64:
		for i, p := range perm {
			vals[i] = parquet.Int64Value(toMillis(s[p]))
		}
	case []flow.Addr:
		for i, p := range perm {
			vals[i] = parquet.FixedLenByteArrayValue(s[p][:])
		}
	case []string:
		for i, p := range perm {
			vals[i] = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s[p]), len(s[p])))
		}
	default:
		panic(fmt.Sprintf("archive: column %s: unexpected slice type %T", col.Name, s))
	}
	return vals
}

// timeRange returns the smallest and largest time_received of b (b
// non-empty) as stored (storedSpan).
func timeRange(b *flow.Batch) (lo, hi int64) {
	r := storedSpan(b.TimeReceived, nil)
	return r[0], r[1]
}

// toMillis converts Unix nanoseconds to the milliseconds the lake stores
// (floored, so that times before 1970 stay in their millisecond).
func toMillis(ns int64) int64 {
	ms := ns / 1e6
	if ns < 0 && ns%1e6 != 0 {
		ms--
	}
	return ms
}

// writeFileAtomic writes b's flows as <flowsDir>/<rel> (see writeFileWith),
// a file of bucket of buckets, in compactOrder when fw writes sorted files,
// paired (pairFlows) when fw's schema has the pair columns; meta is added
// to the footer.
func writeFileAtomic(fw *fileWriter, flowsDir, rel string, b *flow.Batch, bucket, buckets int, meta ...[2]string) (FileInfo, error) {
	ext := extentOf(b, nil)
	meta = append(meta, ext.meta(bucket, buckets)...)
	rows, p := b, (*pairCols)(nil)
	sch := fw.schema()
	if len(sch.Columns()) > len(schema.Columns) {
		rows, p = pairFlows(b)
		meta = append(meta, [2]string{metaFlows, strconv.Itoa(b.Len())})
	}
	var perm []int
	if len(fw.opt.sorting) > 0 {
		// Compaction sorts an index instead of copying the batch.
		perm = sortedIndex(rows, compactOrder, fw.opt.rowGroupRows)
	}
	fi, err := writeFileWith(flowsDir, rel, int64(b.Len()), func(w io.Writer) error {
		// parquet-go writes page by page: buffer them.
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := fw.write(bw, rows, p, perm, meta); err != nil {
			return err
		}
		return bw.Flush()
	})
	ext.describe(&fi, bucket, buckets)
	fi.Schema = schemaKey(sch)
	return fi, err
}

// writeFileWith writes the file write produces as <flowsDir>/<rel>
// atomically (internal/atomicfile: its hidden temporary name does not end in
// .parquet, so no reader globbing the lake picks up a partial file). rows
// is the file's flow count; the caller fills in the file's extent. write
// gets the file unbuffered: a flush file is one Write.
func writeFileWith(flowsDir, rel string, rows int64, write func(io.Writer) error) (FileInfo, error) {
	final := filepath.Join(flowsDir, rel)
	dir := filepath.Dir(final)
	if err := mkdirAllSync(flowsDir, dir); err != nil {
		return FileInfo{}, err
	}
	f, err := atomicfile.Create(final, 0o644)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return FileInfo{}, fmt.Errorf("write %s: %w", final, err)
	}
	if err := f.Commit(); err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Path: final, Rows: rows, Bytes: f.Size(), Schema: lakeSchemaKey, rel: rel}, nil
}

// mkdirAllSync creates dir (under root) and fsyncs each parent whose entry
// it added, so a new partition directory is durable before files in it are.
func mkdirAllSync(root, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return os.MkdirAll(dir, 0o755)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", root, err)
	}
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		next := filepath.Join(cur, part)
		if err := os.Mkdir(next, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("create %s: %w", next, err)
		} else if err == nil {
			if err := atomicfile.SyncDir(cur); err != nil {
				return err
			}
		}
		cur = next
	}
	return nil
}

package archive

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// Flush files are written by flushFile, not by parquet-go's Writer: the
// flush is the collector's hot path, and going through parquet.Value (24
// bytes and a type switch per value), a hash lookup per string value and a
// staging copy per bucket cost 2 µs a flow with 16 buckets
// (BenchmarkWrite/archive-batches=1Ki). flushFile appends each column
// straight from the batch's typed slices into a page buffer, copies runs
// of one value without reading them, hashes a string only when neither
// the column's previous value nor its address identifies it, and encodes
// and compresses a page at a time with parquet-go's encoders and codec; the
// schema elements and footer are parquet-go's own structures, so flush
// files have the columns and types of every other file (lakeSchemaKey).
// Compacted files, written once and read for years, still go through
// parquet-go's Writer with its richer statistics.
//
// Encodings: DELTA_BINARY_PACKED for integers and times, PLAIN for
// addresses (RLE_DICTIONARY for a page of one address), RLE_DICTIONARY for
// strings and enums, every page ZSTD-compressed.
// Row group statistics (min/max) are kept for every column but strings
// (rarely selective: every row group holds most values; they cost 15 % of
// the flush CPU with parquet-go); no page index.

// flushPageRows is the rows per data page.
const flushPageRows = 8192

// flushTemplate holds what every flush file's footer shares: the schema
// elements, column orders and created-by string parquet-go writes for
// flowSchema.
var flushTemplate = sync.OnceValue(func() *format.FileMetaData {
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, flowSchema, parquet.CreatedBy("flowlake", "archive", "1"))
	if err := w.Close(); err != nil {
		panic(fmt.Sprintf("archive: flush file template: %v", err))
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(fmt.Sprintf("archive: flush file template: %v", err))
	}
	return f.Metadata()
})

// colKind is how a column is buffered and encoded.
type colKind uint8

const (
	kindInt32  colKind = iota // uint8/16/32: INT32, DELTA_BINARY_PACKED
	kindInt64                 // uint64, MAC: INT64, DELTA_BINARY_PACKED
	kindTime                  // int64 ns: INT64 ms, DELTA_BINARY_PACKED
	kindAddr                  // FIXED_LEN_BYTE_ARRAY(16), PLAIN or RLE_DICTIONARY (pages of one value)
	kindString                // BYTE_ARRAY, RLE_DICTIONARY
	kindEnum                  // uint8 index: BYTE_ARRAY, RLE_DICTIONARY of Values
)

// flushCol buffers one column's values of the page being built and the
// encoded pages of the row group being built.
type flushCol struct {
	c    int
	name string
	kind colKind
	typ  format.Type

	i32   []int32     // kindInt32 values; kindString/kindEnum dictionary indexes
	i64   []int64     // kindInt64, kindTime (ms)
	addrs []flow.Addr // kindAddr
	// addrDict holds the values of the row group's kindAddr pages of one
	// value (absent fields: zero), which are written RLE_DICTIONARY
	// against it: a few bytes instead of 128 KiB of ZSTD input.
	addrDict []flow.Addr

	// kindString: the row group's dictionary.
	dict     map[string]int32
	dictVals []string
	last     string
	lastIdx  int32
	haveLast bool
	byPtr    [64]struct {
		p   *byte
		idx int32
	}

	// Row group state.
	pages        []byte // serialized data pages (header + compressed body)
	encodings    uint64 // bit set of the format.Encodings of the row group's data pages
	values       int64
	uncompressed int64
	stats        bool
	minU, maxU   uint64 // kindInt32, kindInt64 (unsigned order)
	minT, maxT   int64  // kindTime
	minA, maxA   flow.Addr
}

// flushFile encodes flows into one Parquet file in memory, a batch at a
// time. Not safe for concurrent use.
type flushFile struct {
	cols      []flushCol
	level     zstd.Level
	rowGroup  int // rows per row group (0: one)
	out       []byte
	rowGroups []format.RowGroup
	rgRows    int // rows in the row group being built
	pageRows  int // rows in the page being built
	rows      int64
	scratch   []byte
	comp      []byte
	hdr       thrift.CompactProtocol
}

func newFlushFile(rowGroup int, level zstd.Level) *flushFile {
	f := &flushFile{level: level, rowGroup: rowGroup}
	for c, col := range schema.Columns {
		fc := flushCol{c: c, name: col.Name}
		switch col.Type {
		case schema.Uint8, schema.Uint16, schema.Uint32:
			fc.kind, fc.typ = kindInt32, format.Int32
		case schema.Uint64, schema.MAC:
			fc.kind, fc.typ = kindInt64, format.Int64
		case schema.Time:
			fc.kind, fc.typ = kindTime, format.Int64
		case schema.Addr:
			fc.kind, fc.typ = kindAddr, format.FixedLenByteArray
		case schema.String:
			fc.kind, fc.typ = kindString, format.ByteArray
		case schema.Enum:
			fc.kind, fc.typ = kindEnum, format.ByteArray
		default:
			panic(fmt.Sprintf("archive: column %s: no flush encoding for type %v", col.Name, col.Type))
		}
		f.cols = append(f.cols, fc)
	}
	f.reset()
	return f
}

// reset starts a new file. The bytes of the previous one (finish) are not
// reused: they may still be waiting to be written.
func (f *flushFile) reset() {
	f.out = append(make([]byte, 0, max(64<<10, cap(f.out))), "PAR1"...)
	f.rowGroups = nil
	f.rows, f.rgRows, f.pageRows = 0, 0, 0
	for i := range f.cols {
		f.cols[i].resetChunk()
	}
}

func (fc *flushCol) resetChunk() {
	fc.i32, fc.i64, fc.addrs = fc.i32[:0], fc.i64[:0], fc.addrs[:0]
	fc.pages = fc.pages[:0]
	fc.encodings, fc.values, fc.uncompressed, fc.stats = 0, 0, 0, false
	fc.addrDict = fc.addrDict[:0]
	if fc.kind == kindString {
		clear(fc.dict)
		clear(fc.byPtr[:])
		fc.dictVals, fc.haveLast = fc.dictVals[:0], false
	}
}

// batchColumn is one column of a batch, typed once for every stream its
// rows go to.
type batchColumn struct {
	u8   []uint8
	u16  []uint16
	u32  []uint32
	u64  []uint64
	i64  []int64
	addr []flow.Addr
	str  []string
	// same: every value of the column equals the first (absent fields,
	// one exporter), so rows are appended without being looked at.
	same bool
}

// load points bc at column c of b.
func (bc *batchColumn) load(b *flow.Batch, c int) {
	*bc = batchColumn{}
	switch s := b.Column(c).(type) {
	case []uint8:
		bc.u8, bc.same = s, allSame(s)
	case []uint16:
		bc.u16, bc.same = s, allSame(s)
	case []uint32:
		bc.u32, bc.same = s, allSame(s)
	case []uint64:
		bc.u64, bc.same = s, allSame(s)
	case []int64:
		bc.i64, bc.same = s, allSame(s)
	case []flow.Addr:
		bc.addr, bc.same = s, allSame(s)
	case []string:
		bc.str, bc.same = s, allSameString(s)
	default:
		panic(fmt.Sprintf("archive: column %s: unexpected slice type %T", schema.Columns[c].Name, s))
	}
}

func allSame[T comparable](s []T) bool {
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			return false
		}
	}
	return true
}

// allSameString is allSame for strings, comparing headers first: the
// strings of one column are mostly one constant (or the empty string), and
// a header comparison costs a fraction of a string comparison's call.
func allSameString(s []string) bool {
	if len(s) == 0 {
		return true
	}
	p, n := unsafe.StringData(s[0]), len(s[0])
	for i := 1; i < len(s); i++ {
		if len(s[i]) != n {
			return false
		}
		if unsafe.StringData(s[i]) != p && s[i] != s[0] {
			return false
		}
	}
	return true
}

// appendBatch adds rows of b to files: rows[i] (nil: all) to files[i].
// Each column of b is read once for all of them, while its memory is in
// cache (column by column per file read the whole batch once per file).
func appendBatch(b *flow.Batch, files []*flushFile, rows [][]int) error {
	var bc batchColumn
	for c := range schema.Columns {
		bc.load(b, c)
		for i, f := range files {
			f.cols[c].add(&bc, rows[i])
		}
	}
	var first error
	for i, f := range files {
		n := b.Len()
		if rows[i] != nil {
			n = len(rows[i])
		}
		if err := f.added(n); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// append adds the rows (nil: all) of b.
func (f *flushFile) append(b *flow.Batch, rows []int) error {
	return appendBatch(b, []*flushFile{f}, [][]int{rows})
}

// added completes the append of n rows to every column.
func (f *flushFile) added(n int) error {
	if n == 0 {
		return nil
	}
	f.rows += int64(n)
	f.rgRows += n
	f.pageRows += n
	if f.pageRows >= flushPageRows {
		if err := f.flushPages(); err != nil {
			return err
		}
	}
	if f.rowGroup > 0 && f.rgRows >= f.rowGroup {
		// Row groups end at batch boundaries, a batch past the target at
		// most: the unit of pruning needs no exact size.
		return f.flushRowGroup()
	}
	return nil
}

func appendInt32[T uint8 | uint16 | uint32](dst []int32, src []T, rows []int) []int32 {
	if rows == nil {
		for _, v := range src {
			dst = append(dst, int32(v))
		}
		return dst
	}
	for _, r := range rows {
		dst = append(dst, int32(src[r]))
	}
	return dst
}

// appendN appends n copies of v to dst.
func appendN[T any](dst []T, v T, n int) []T {
	dst = slices.Grow(dst, n)
	tail := dst[len(dst) : len(dst)+n]
	for i := range tail {
		tail[i] = v
	}
	return dst[:len(dst)+n]
}

func (fc *flushCol) add(bc *batchColumn, rows []int) {
	n := max(len(bc.u8), len(bc.u16), len(bc.u32), len(bc.u64), len(bc.i64), len(bc.addr), len(bc.str))
	if rows != nil {
		n = len(rows)
	}
	if n == 0 {
		return
	}
	if bc.same {
		fc.addSame(bc, n)
		return
	}
	switch fc.kind {
	case kindInt32:
		switch {
		case bc.u8 != nil:
			fc.i32 = appendInt32(fc.i32, bc.u8, rows)
		case bc.u16 != nil:
			fc.i32 = appendInt32(fc.i32, bc.u16, rows)
		default:
			fc.i32 = appendInt32(fc.i32, bc.u32, rows)
		}
	case kindInt64:
		s := bc.u64
		if rows == nil {
			fc.i64 = append(fc.i64, unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))...)
			return
		}
		for _, r := range rows {
			fc.i64 = append(fc.i64, int64(s[r]))
		}
	case kindTime:
		s := bc.i64
		if rows == nil {
			for _, v := range s {
				fc.i64 = append(fc.i64, toMillis(v))
			}
			return
		}
		for _, r := range rows {
			fc.i64 = append(fc.i64, toMillis(s[r]))
		}
	case kindAddr:
		s := bc.addr
		if rows == nil {
			fc.addrs = append(fc.addrs, s...)
			return
		}
		for _, r := range rows {
			fc.addrs = append(fc.addrs, s[r])
		}
	case kindEnum:
		s := bc.u8
		if rows == nil {
			for _, v := range s {
				fc.i32 = append(fc.i32, fc.enumIndex(v))
			}
			return
		}
		for _, r := range rows {
			fc.i32 = append(fc.i32, fc.enumIndex(s[r]))
		}
	case kindString:
		s := bc.str
		if rows == nil {
			for _, v := range s {
				fc.i32 = append(fc.i32, fc.lookup(v))
			}
			return
		}
		for _, r := range rows {
			fc.i32 = append(fc.i32, fc.lookup(s[r]))
		}
	}
}

// addSame appends n copies of the column's (single) value.
func (fc *flushCol) addSame(bc *batchColumn, n int) {
	switch fc.kind {
	case kindInt32:
		var v int32
		switch {
		case bc.u8 != nil:
			v = int32(bc.u8[0])
		case bc.u16 != nil:
			v = int32(bc.u16[0])
		default:
			v = int32(bc.u32[0])
		}
		fc.i32 = appendN(fc.i32, v, n)
	case kindInt64:
		fc.i64 = appendN(fc.i64, int64(bc.u64[0]), n)
	case kindTime:
		fc.i64 = appendN(fc.i64, toMillis(bc.i64[0]), n)
	case kindAddr:
		fc.addrs = appendN(fc.addrs, bc.addr[0], n)
	case kindEnum:
		fc.i32 = appendN(fc.i32, fc.enumIndex(bc.u8[0]), n)
	case kindString:
		fc.i32 = appendN(fc.i32, fc.lookup(bc.str[0]), n)
	}
}

// enumIndex is an enum's dictionary index: the dictionary is the column's
// Values in order, so an enum's index is its dictionary index;
// out-of-range indexes read as unknown (Values[0]), as columnValues writes
// them.
func (fc *flushCol) enumIndex(v uint8) int32 {
	if int(v) >= len(schema.Columns[fc.c].Values) {
		return 0
	}
	return int32(v)
}

// lookup returns v's dictionary index, adding it if new. Most string
// columns repeat their previous value (empty enrichment, one exporter's
// name), which a comparison settles without hashing.
func (fc *flushCol) lookup(v string) int32 {
	if fc.haveLast && v == fc.last {
		return fc.lastIdx
	}
	// Then by where the string lives: enrichment hands out the same few
	// strings, and a comparison with the entry the address points to
	// costs less than hashing. The comparison keeps it right when the
	// memory was reused for another string.
	p := unsafe.StringData(v)
	slot := &fc.byPtr[(uintptr(unsafe.Pointer(p))>>3^uintptr(len(v)))%uintptr(len(fc.byPtr))]
	if slot.p == p && p != nil && fc.dictVals[slot.idx] == v {
		fc.last, fc.lastIdx = fc.dictVals[slot.idx], slot.idx
		return slot.idx
	}
	if fc.dict == nil {
		fc.dict = map[string]int32{}
	}
	i, ok := fc.dict[v]
	if !ok {
		v = strings.Clone(v) // the batch is reused by the caller
		i = int32(len(fc.dictVals))
		fc.dictVals = append(fc.dictVals, v)
		fc.dict[v] = i
	}
	slot.p, slot.idx = p, i
	// The dictionary's copy, not v: a decoder may hand over strings
	// that alias its packet buffer.
	fc.last, fc.lastIdx, fc.haveLast = fc.dictVals[i], i, true
	return i
}

package archive

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// ZSTD levels: flush files are written on the ingest path and replaced
// within the hour, so they favour speed; compacted files are kept for
// years, so they favour size (SpeedBestCompression measured larger and
// twice as slow on flows: BenchmarkCompactedSize).
const (
	flushLevel   = zstd.SpeedFastest
	compactLevel = zstd.SpeedBetterCompression
)

// compactPageBytes is the page size of compacted files: 1 MiB pages
// compress 1 % better than 256 KiB ones (BenchmarkCompactedSize).
var compactPageBytes = 1 << 20

// compactEncoding is the encoding of each column in compacted files:
// flushEncoding, plus dictionaries for addresses and for small integers
// other than ports. In a row group of compacted flows the addresses come
// from a narrow range of sources and their few thousand peers, and
// protocols, flags and interfaces from small sets: dictionary indexes are 2-4x smaller than
// ZSTD over plain values (BenchmarkCompactedSize: dict=addrs,
// dict=small-ints). Flush files keep PLAIN: dictionaries cost ingest CPU.
// DuckDB 1.4 reads all of these; it does not read BYTE_STREAM_SPLIT for
// integers or fixed-length arrays (duckdb/duckdb#17114), so that is not
// used although it measured smaller for time_start/time_end.
//
// Time columns keep DELTA_BINARY_PACKED: since they are stored in
// milliseconds it beats ZSTD over PLAIN for time_received (1.86 against
// 2.07 bytes/flow), and ZSTD's best level on time_start/time_end, worth
// 1.6 bytes/flow with nanoseconds, gains nothing more (16.81 against 16.82
// bytes/flow, 10 % more write CPU; BenchmarkCompactedSize).
//
// Transport ports are the exception among small integers: half of them are
// ephemeral, tens of thousands of distinct values in a row group in time
// order, whose bit-packed dictionary indexes ZSTD cannot shrink, while over
// PLAIN values it still finds the service ports. PLAIN ports measured
// 0.9-1.4 bytes/flow smaller on generated flows and on files of both bench
// lakes (2026-12-01, BenchmarkCompactedSize plain=ports). NAT ports keep
// the dictionary: no corpus has them.
//
// The bytes counter is DELTA_BINARY_PACKED, not PLAIN: 0.9 % larger files
// (15.08 against 15.21 bytes/flow on a file of the one-site bench lake), but
// DuckDB scans it 25-30 % faster (sum(bytes) over 41 M flows 0.41 -> 0.30 s,
// top-10 sources by bytes 0.54 -> 0.41 s): PLAIN makes ZSTD inflate 8 bytes
// a flow, the deltas' bit-packed form a third of that. Packets stay PLAIN
// (delta: +0.55 bytes/flow); no benchmark query sums them.
func compactEncoding(c schema.Column) encoding.Encoding {
	switch c.Name {
	case "src_port", "dst_port":
		return flushEncoding(c)
	case "bytes":
		return &parquet.DeltaBinaryPacked
	}
	switch c.Type {
	case schema.Addr, schema.Uint8, schema.Uint16, schema.Uint32:
		return &parquet.RLEDictionary
	}
	return flushEncoding(c)
}

// compactSchema is flowSchema with compactEncoding and the pair columns.
var compactSchema = buildPairedSchema(compactEncoding, nil)

// compactSchemaKey is schemaKey(compactSchema).
var compactSchemaKey = schemaKey(compactSchema)

// sortOrder is the row order of compacted files.
type sortOrder int

const (
	// sortTimeSrcDst orders by time_received, then src_addr, dst_addr.
	sortTimeSrcDst sortOrder = iota
	// sortSrcDstTime orders by src_addr, dst_addr, then time_received.
	sortSrcDstTime
	// sortClustered cuts row groups from the clusterCut order and orders
	// the rows of each row group by time_end, src_addr, dst_addr.
	sortClustered
	// sortDstSrcTime orders by dst_addr, src_addr, then time_received.
	sortDstSrcTime
)

// clusterCut is the order sortClustered cuts row groups from: dst_addr
// first. A compacted row is mostly a client's flow to a server (pairFlows
// keeps the client's side), and its reverse flow's src_addr is the row's
// dst_addr: an aggregation by source groups half the flows by the rows'
// src_addr and half by their dst_addr. Rows of narrow dst_addr ranges put
// the side with more distinct values (servers: 46 k per bucket-hour on the
// site corpus with buckets by both addresses, against 17 k clients) in a
// few hash table entries per row group: top-10 sources by bytes over a
// bucket's flows x16 (100 M flows) took 400 + 425 ms for the two halves
// against 330 + 750 ms cut by src_addr, and the file came out smaller
// (9.19 against 9.43 bytes/flow; BenchmarkCompactedSize
// order=dst,src,time). Needle queries name both addresses and prune row
// groups by either.
const clusterCut = sortDstSrcTime

// compactOrder is the order compacted files are written in, chosen by
// BenchmarkCompactedLayout and BenchmarkCompactedSize (realistic flows,
// 1 Mi per file, 128 Ki-row groups).
//
// Row groups cut from the address order (src_addr first then; dst_addr
// first since flows are paired, see clusterCut) carry narrow address
// ranges, so a needle query scans 12-13 % of them instead of 100 % (time
// order). Within a row group, though, address order leaves the three
// nanosecond timestamps in random order: 5.2 bytes/flow each, 60 % of the
// file. Re-sorting each row group by time keeps the row group statistics
// (and so the pruning) of the address order exactly and, with address
// dictionaries, costs less in addresses than it saves in time. By
// time_end rather than time_received: time_end then costs 1.1 bytes/flow
// and time_received (a few distinct values per export packet) 2.6, where
// time_received order gave 1.2 and 3.4 (time_end spreads over seconds
// before the export): -1.0 bytes/flow. Time is pruned anyway by the hour
// partitions and the catalog's per-file ranges (compaction merges files in
// time order), not by row groups.
var compactOrder = sortClustered

// columns are the sorting columns declared in each row group's metadata.
func (o sortOrder) columns() []parquet.SortingColumn {
	if o == sortSrcDstTime {
		return []parquet.SortingColumn{parquet.Ascending("src_addr"), parquet.Ascending("dst_addr"), parquet.Ascending("time_received")}
	}
	if o == sortDstSrcTime {
		return []parquet.SortingColumn{parquet.Ascending("dst_addr"), parquet.Ascending("src_addr"), parquet.Ascending("time_received")}
	}
	if o == sortClustered {
		// The order of the rows within each row group.
		return []parquet.SortingColumn{parquet.Ascending("time_end"), parquet.Ascending("src_addr"), parquet.Ascending("dst_addr")}
	}
	return []parquet.SortingColumn{parquet.Ascending("time_received"), parquet.Ascending("src_addr"), parquet.Ascending("dst_addr")}
}

type sortKey struct {
	t        int64 // time_received
	end      int64 // time_end
	src, dst flow.Addr
	i        int32
}

// compareKeys orders x and y by o (for sortClustered: the order within a
// row group).
func compareKeys(x, y *sortKey, o sortOrder) int {
	addrs := func() int {
		if c := bytes.Compare(x.src[:], y.src[:]); c != 0 {
			return c
		}
		return bytes.Compare(x.dst[:], y.dst[:])
	}
	if o == sortSrcDstTime {
		if c := addrs(); c != 0 {
			return c
		}
		return cmp.Compare(x.t, y.t)
	}
	if o == sortDstSrcTime {
		if c := bytes.Compare(x.dst[:], y.dst[:]); c != 0 {
			return c
		}
		if c := bytes.Compare(x.src[:], y.src[:]); c != 0 {
			return c
		}
		return cmp.Compare(x.t, y.t)
	}
	t0, t1 := x.t, y.t
	if o == sortClustered {
		t0, t1 = x.end, y.end
	}
	if c := cmp.Compare(t0, t1); c != 0 {
		return c
	}
	return addrs()
}

// sortedIndex returns the row indexes of b in order o; rowGroupRows is
// where sortClustered cuts row groups (the writer must use the same).
func sortedIndex(b *flow.Batch, o sortOrder, rowGroupRows int) []int {
	keys := make([]sortKey, b.Len())
	for i := range keys {
		keys[i] = sortKey{t: b.TimeReceived[i], end: b.TimeEnd[i], src: b.SrcAddr[i], dst: b.DstAddr[i], i: int32(i)}
	}
	first := o
	if o == sortClustered {
		first = clusterCut
	}
	slices.SortFunc(keys, func(x, y sortKey) int { return compareKeys(&x, &y, first) })
	if o == sortClustered {
		if rowGroupRows <= 0 {
			rowGroupRows = max(len(keys), 1) // one row group, as writeParquet does
		}
		for lo := 0; lo < len(keys); lo += rowGroupRows {
			g := keys[lo:min(lo+rowGroupRows, len(keys))]
			slices.SortFunc(g, func(x, y sortKey) int { return compareKeys(&x, &y, sortClustered) })
		}
	}
	idx := make([]int, len(keys))
	for i, k := range keys {
		idx[i] = int(k.i)
	}
	return idx
}

// CompactResult says what a compaction did.
type CompactResult struct {
	FilesIn, FilesOut int
	Rows              int64
	BytesIn, BytesOut int64
}

// Compact merges the small files of each hour into files of up to
// CompactTargetRows flows, sorted (see compactOrder) with row-group
// statistics. An hour still being written is compacted once it has
// CompactMinFiles small files; a past hour as soon as it has a flush file. A
// past hour's files of fewer buckets than its most are split first
// (splitFile). Replaced files leave the catalog at once and the disk after
// GraceDelete.
func (a *Archive) Compact(ctx context.Context) (CompactResult, error) {
	a.maintMu.Lock()
	defer a.maintMu.Unlock()
	var res CompactResult
	now := time.Now()
	// Splitting first: the pieces are merged below with their bucket's
	// other small files. A file that cannot be split (unreadable) stays as
	// it is and does not hold up the merges.
	var splitErr error
	files, buckets := a.splitCandidates(now)
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		out, err := a.splitFile(f, buckets[i])
		if err != nil {
			slog.Error("archive: split failed; the file stays as it is", "path", f.Path, "err", err)
			splitErr = cmp.Or(splitErr, err)
			continue
		}
		res.FilesIn++
		res.FilesOut += len(out)
		res.BytesIn += f.Bytes
		for _, o := range out {
			res.Rows += o.Rows
			res.BytesOut += o.Bytes
		}
	}
	for _, group := range a.compactionGroups(now) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		out, err := a.compactGroup(group)
		if err != nil {
			return res, err
		}
		res.FilesIn += len(group)
		res.FilesOut++
		res.Rows += out.Rows
		res.BytesOut += out.Bytes
		for _, f := range group {
			res.BytesIn += f.Bytes
		}
	}
	return res, splitErr
}

// splitCandidates returns, for each past hour whose files have different
// bucket counts, the files with fewer buckets than the most, and
// that count. They come from flushes before the bucket count followed the
// rate (the first of a process, the last before it stops): a needle reads
// every one of them, and compaction never merges them with a bucket's
// files.
func (a *Archive) splitCandidates(now time.Time) (files []FileInfo, buckets []int) {
	cat := a.Catalog()
	most := map[string]int{}
	for _, f := range cat.files {
		dir := path.Dir(f.rel)
		most[dir] = max(most[dir], f.Buckets, 1)
	}
	for _, f := range cat.files {
		k := most[path.Dir(f.rel)]
		if max(f.Buckets, 1) < k && a.hourPast(f.MinTime, now) {
			files = append(files, f)
			buckets = append(buckets, k)
		}
	}
	return files, buckets
}

// splitFile rewrites f as one compacted file per bucket of k that
// it has flows of. Each piece names f as its source and how many pieces
// there are (metaSplit), so that a crash while they are written leaves
// either all of them, which replace f, or some, which are dropped
// (settleSplits).
func (a *Archive) splitFile(f FileInfo, k int) ([]FileInfo, error) {
	in := new(flow.Batch)
	if err := readFile(f.Path, in); err != nil {
		a.m.corrupt.Inc()
		return nil, fmt.Errorf("archive: split: %w", err)
	}
	rows := make([][]int, k)
	for i, src := range in.SrcAddr[:in.Len()] {
		b := PairBucket(src, in.DstAddr[i], k)
		rows[b] = append(rows[b], i)
	}
	n := 0
	for _, r := range rows {
		if len(r) > 0 {
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("archive: split: %s holds no rows", f.Path)
	}
	fw := a.compactFileWriter()
	var out []FileInfo
	piece := new(flow.Batch)
	for b, r := range rows {
		if len(r) == 0 {
			continue
		}
		piece.Truncate(0)
		piece.AppendRows(in, r)
		fi, err := writeFileAtomic(fw, a.flowsDir, a.newName(piece.TimeReceived[0], "c"), piece, b, k,
			[2]string{metaSources, f.rel}, [2]string{metaSplit, strconv.Itoa(n)})
		if err != nil {
			for _, o := range out {
				os.Remove(o.Path)
			}
			a.m.writeErrors.Inc()
			return nil, fmt.Errorf("archive: split %s: %w", f.rel, err)
		}
		fi.Compacted = true
		out = append(out, fi)
	}
	a.addFiles(out, []FileInfo{f})
	a.m.compactions.Inc()
	return out, nil
}

// splitPiece is a file found on disk outside the catalog that is one of
// n pieces of a split (splitFile).
type splitPiece struct {
	rel string
	n   int
}

// noteReplaced records what a file found outside the catalog (rel, its
// footer ft) replaces: a compacted file its sources at once; a piece of a
// split only once settleSplits has seen all its siblings. It reports
// whether the file is such a piece.
func noteReplaced(rel string, ft footer, replaced map[string]bool, pieces map[string][]splitPiece) (piece bool) {
	if ft.split > 0 {
		pieces[ft.sources[0]] = append(pieces[ft.sources[0]], splitPiece{rel, ft.split})
		return true
	}
	for _, s := range ft.sources {
		replaced[s] = true
	}
	return false
}

// settleSplits decides what the pieces of splits found outside the
// catalog mean, by the file they split: all n of them there, the split
// finished and that file is replaced; fewer while that file is still on
// disk, the split was cut short and the pieces are dropped (the file
// holds their rows). Pieces of a file that is gone are kept.
func settleSplits(pieces map[string][]splitPiece, onDisk map[string]bool) (replaced, drop map[string]bool) {
	replaced, drop = map[string]bool{}, map[string]bool{}
	for src, ps := range pieces {
		switch {
		case len(ps) == ps[0].n:
			replaced[src] = true
		case onDisk[src]:
			for _, p := range ps {
				drop[p.rel] = true
			}
		}
	}
	return replaced, drop
}

func (a *Archive) compactionGroups(now time.Time) [][]FileInfo {
	cat := a.Catalog()
	small := map[string][]FileInfo{}
	var hours []string
	for _, f := range cat.files {
		// Flush files are always candidates, whatever their size: only
		// compaction sorts rows and writes the dictionaries and statistics
		// that needle queries prune with (at high rates every flush file
		// holds FlushRows flows, half a compacted file, and the first
		// version of this rule left them all unsorted). Compacted files
		// are merged again only while small.
		if f.Compacted && f.Rows >= int64(a.cfg.CompactTargetRows/2) {
			continue
		}
		// Files of one hour and bucket are merged together only.
		dir := path.Dir(f.rel) + "|" + formatBucket(f.Bucket, f.Buckets)
		if _, ok := small[dir]; !ok {
			hours = append(hours, dir)
		}
		small[dir] = append(small[dir], f)
	}
	var groups [][]FileInfo
	for _, dir := range hours {
		files := small[dir]
		closed := a.hourPast(files[0].MinTime, now)
		if !closed {
			// While the hour is written, merge only flush files: merging
			// the growing compacted file again every few flushes would
			// rewrite the hour over and over. Once it is past, its small
			// compacted files are merged up to CompactTargetRows.
			files = slices.DeleteFunc(files, func(f FileInfo) bool { return f.Compacted })
		}
		if !closed && !a.worthInHour(files) {
			continue
		}
		// A group is worth writing when it merges files, or when it turns a
		// past hour's lone flush file into a sorted file with statistics.
		worth := func(g []FileInfo) bool { return len(g) >= 2 || (closed && len(g) == 1 && !g[0].Compacted) }
		var cur []FileInfo
		var rows int64
		for _, f := range files {
			if len(cur) > 0 && rows+f.Rows > int64(a.cfg.CompactTargetRows) {
				if worth(cur) {
					groups = append(groups, cur)
				}
				cur, rows = nil, 0
			}
			cur = append(cur, f)
			rows += f.Rows
		}
		if worth(cur) {
			groups = append(groups, cur)
		}
	}
	return groups
}

// hourPast reports whether the hour holding t is no longer written: over
// for two flush intervals, or any hour when CompactMinFiles <= 1 (flowlake
// archive compact --min-files 1: "everything now"; the command runs only
// while serve does not, so no hour is being written).
func (a *Archive) hourPast(t, now time.Time) bool {
	hourEnd := time.Unix(0, (hourOf(t.UnixNano())+1)*int64(time.Hour))
	return a.cfg.CompactMinFiles <= 1 || now.After(hourEnd.Add(2*a.cfg.FlushInterval))
}

// worthInHour reports whether the flush files of an hour still being
// written (one bucket's) are merged now: once there are CompactMinFiles of
// them holding at least half a compacted file, so that the result is not
// itself rewritten when the hour closes, or 4×CompactMinFiles whatever
// they hold, so that a slow hour does not pile up unsorted files.
func (a *Archive) worthInHour(files []FileInfo) bool {
	var rows int64
	for _, f := range files {
		rows += f.Rows
	}
	n := len(files)
	return (n >= a.cfg.CompactMinFiles && rows >= int64(a.cfg.CompactTargetRows/2)) || n >= 4*a.cfg.CompactMinFiles
}

func (a *Archive) compactFileWriter() *fileWriter {
	if a.compactWriter == nil {
		a.compactWriter = newFileWriter(writeOptions{
			rowGroupRows: a.cfg.RowGroupRows,
			level:        compactLevel,
			sorting:      compactOrder.columns(),
			schema:       compactSchema,
			pageBytes:    compactPageBytes,
		})
	}
	return a.compactWriter
}

func (a *Archive) compactGroup(files []FileInfo) (FileInfo, error) {
	in := new(flow.Batch)
	var rows int64
	for _, f := range files {
		rows += f.Rows
	}
	// Size the batch once: growing 67 columns by doubling while reading
	// cost more CPU than the reading itself.
	in.Extend(int(rows))
	var sources []string
	at := 0
	for _, f := range files {
		n, err := readFileAt(f.Path, in, at)
		if err != nil {
			a.m.corrupt.Inc()
			return FileInfo{}, fmt.Errorf("archive: compact: %w", err)
		}
		at += n
		sources = append(sources, f.rel)
	}
	// A file with fewer rows than its catalog entry says: compact what
	// was read.
	in.Truncate(at)
	if at == 0 {
		return FileInfo{}, fmt.Errorf("archive: compact: the %d files hold no rows", len(files))
	}
	fi, err := writeFileAtomic(a.compactFileWriter(), a.flowsDir, a.newName(in.TimeReceived[0], "c"), in, files[0].Bucket, files[0].Buckets,
		[2]string{metaSources, strings.Join(sources, ",")})
	if err != nil {
		a.m.writeErrors.Inc()
		return FileInfo{}, fmt.Errorf("archive: compact: %w", err)
	}
	fi.Compacted = true
	a.addFiles([]FileInfo{fi}, files)
	a.m.compactions.Inc()
	return fi, nil
}

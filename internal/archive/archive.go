// Package archive is flowlake's Parquet lake: it encodes flow batches as
// they arrive into open ZSTD-compressed Parquet files, one per hour of
// time_received (flows/date=YYYY-MM-DD/hour=HH/*.parquet, UTC), closes them
// every few seconds, compacts the small files of an hour into larger sorted ones, and
// deletes old data by age and by total size.
//
// The Parquet schema is derived from package schema; the type mapping is a
// contract with the query engine and the KQL compiler:
//
//	uint8/uint16/uint32  INT32 with the unsigned INT logical type of that width
//	uint64, mac          INT64 unsigned 64
//	time                 INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true) (first layout: NANOS, still read)
//	addr                 FIXED_LEN_BYTE_ARRAY(16), IPv4-mapped, all-zero = absent
//	string               BYTE_ARRAY STRING, dictionary-encoded
//	enum                 BYTE_ARRAY STRING holding the value's name, dictionary-encoded
//
// Every file is written to a hidden temporary name, fsynced and renamed, so
// readers (flowlake, DuckDB, Spark, pandas) never see a partial file. A
// small catalog (flows/_catalog.json), rewritten atomically on every change,
// lists the files so query planning never lists directories.
package archive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/flow"
)

// Config tunes the archive. Zero values take the defaults documented per field.
type Config struct {
	// FlushInterval is how often buffered flows are written (default 5s):
	// the most a crash can lose.
	FlushInterval time.Duration
	// FlushRows flushes early when this many flows are buffered (default 1<<20).
	FlushRows int
	// CompactMinFiles is how many small files an hour that is still being
	// written needs before they are compacted (default 8); a past hour's
	// small flush files are compacted (sorted, full statistics) even alone.
	// 1 compacts every hour as if it were past (flowlake archive compact
	// --min-files 1).
	CompactMinFiles int
	// CompactTargetRows is the size of a compacted file (default 1<<20).
	// Compaction holds that many flows in memory (about 0.5 KB each).
	CompactTargetRows int
	// RetainAge deletes hours older than this (0: keep forever).
	RetainAge time.Duration
	// RetainBytes deletes the oldest hours while the lake is larger (0: no limit).
	RetainBytes int64
	// GraceDelete is how long files replaced by compaction or pruned stay on
	// disk so that running queries finish (default 1m; negative: delete at once).
	GraceDelete time.Duration
	// RowGroupRows is the number of rows per Parquet row group (default
	// 64Ki): the unit of pruning by statistics. A needle query reads the
	// row group of its pair in each file of its bucket, so smaller row
	// groups make it cheaper (32 Ki rows instead of 128 Ki halved a
	// needle's DuckDB time on 9 files); but every row group adds a footer
	// entry for each of the 70 columns, which a process parses before it
	// reads anything: on 100 M flows `count(*)` in a new process took
	// 0.62-0.72 s with 32 Ki rows, 0.31-0.38 s with 64 Ki, 0.21-0.25 s
	// with 128 Ki (internal/archive/README.md).
	RowGroupRows int
	// Buckets is the most buckets an hour's flows are spread over by
	// their address pair (PairBucket; a power of two, default 16; 1:
	// none).
	Buckets int
	// BucketRows is the fewest flows a flush file of one bucket should
	// hold (default 32Ki): after each flush the next flush's bucket count
	// is the largest power of two, at most Buckets, that the flush's
	// flows fill to this size, so a slow exporter's hours are not cut into
	// tiny files.
	BucketRows int

	// MaxBufferedRows bounds the flows held in memory while writing fails
	// (default 2*FlushRows); beyond it flows are dropped and counted.
	MaxBufferedRows int
	// Registerer receives the flowlake_archive_* metrics (default
	// prometheus.DefaultRegisterer). Metrics already registered there by
	// another Archive are shared.
	Registerer prometheus.Registerer
}

func (c *Config) setDefaults() {
	if c.FlushInterval <= 0 {
		c.FlushInterval = 5 * time.Second
	}
	if c.FlushRows <= 0 {
		c.FlushRows = 1 << 20
	}
	if c.CompactMinFiles <= 0 {
		c.CompactMinFiles = 8
	}
	if c.CompactTargetRows <= 0 {
		c.CompactTargetRows = 1 << 20
	}
	if c.GraceDelete == 0 {
		c.GraceDelete = time.Minute
	}
	if c.RowGroupRows <= 0 {
		c.RowGroupRows = 64 << 10
	}
	if c.Buckets <= 0 {
		c.Buckets = 16
	}
	c.Buckets = 1 << (bits.Len(uint(c.Buckets)) - 1) // a power of two
	if c.BucketRows <= 0 {
		c.BucketRows = 32 << 10
	}
	if c.MaxBufferedRows <= 0 {
		c.MaxBufferedRows = 2 * c.FlushRows
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.DefaultRegisterer
	}
}

// ErrLocked is returned by Open when another process (flowlake serve, or an
// archive subcommand) has the lake open for writing.
var ErrLocked = errors.New("archive: data directory is in use by another flowlake process")

// Archive writes flows into the lake. Its methods are safe for concurrent use.
type Archive struct {
	cfg      Config
	flowsDir string
	lock     *os.File
	m        *metrics

	mu sync.Mutex // guards the fields below
	// streams are the flush files being built, by hour of time_received
	// and address-pair bucket; ready are finished ones waiting for the next
	// flush (or for the disk to work again).
	streams    map[streamKey]*stream
	ready      []*encodedFile
	idle       []*flushFile        // flush file encoders not in use, for reuse
	buckets    int                 // buckets of the streams opened until the next flush
	keyRows    map[streamKey][]int // encodeLocked's scratch: the rows of each stream
	bucketRows [][]int             // encodeLocked's scratch: the rows of each bucket
	useSeq     uint64              // stream use counter, for closing the least recent
	lastFlush  time.Time
	open       int // flows in streams
	pending    int // flows buffered or being flushed
	failing    bool
	lastFail   time.Time
	dropping   bool
	closed     bool

	flushMu sync.Mutex // one flush at a time
	maintMu sync.Mutex // one compaction or prune at a time
	// compactWriter is created on first use: most processes (the CLI,
	// tests) never compact.
	compactWriter *fileWriter
	catMu         sync.Mutex // guards cat and the catalog file
	cat           *Catalog

	kick    chan struct{}
	running atomic.Bool
	seq     atomic.Uint64
}

// Open opens (creating if needed) the lake under dataDir for writing and
// takes its lock. It reconciles the catalog with the disk: temporaries of a
// crashed writer are removed, files the catalog misses are added from their
// footers, missing ones dropped, unreadable ones reported and skipped.
func Open(dataDir string, cfg Config) (*Archive, error) {
	cfg.setDefaults()
	flowsDir, err := flowsDirOf(dataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(flowsDir, 0o755); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(flowsDir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, flowsDir)
		}
		return nil, fmt.Errorf("archive: lock %s: %w", flowsDir, err)
	}
	a := &Archive{
		cfg:      cfg,
		flowsDir: flowsDir,
		lock:     lock,
		m:        newMetrics(cfg.Registerer),
		streams:  map[streamKey]*stream{},
		keyRows:  map[streamKey][]int{},
		// One bucket until a flush shows the rate: an import of a small log
		// or a CLI write makes one file, not Buckets tiny ones. A fast
		// collector's first flush thus lands in a file of every bucket.
		buckets: 1,
		kick:    make(chan struct{}, 1),
	}
	if err := a.reconcile(); err != nil {
		lock.Close()
		return nil, err
	}
	return a, nil
}

func (a *Archive) reconcile() error {
	cat, err := loadCatalog(a.flowsDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		cat = &Catalog{flowsDir: a.flowsDir}
	case err != nil:
		slog.Warn("archive: catalog unreadable; rebuilding it from Parquet footers", "dir", a.flowsDir, "err", err)
		cat = &Catalog{flowsDir: a.flowsDir}
	}
	names, temps, err := scanFiles(a.flowsDir)
	if err != nil {
		return fmt.Errorf("archive: scan %s: %w", a.flowsDir, err)
	}
	for _, t := range temps {
		p := filepath.Join(a.flowsDir, filepath.FromSlash(t))
		slog.Info("archive: removing partial file left by an interrupted write", "path", p)
		os.Remove(p)
	}
	onDisk := map[string]bool{}
	for _, n := range names {
		onDisk[n] = true
	}
	inCat := map[string]bool{}
	kept := cat.files[:0]
	for _, f := range cat.files {
		if onDisk[f.rel] {
			kept = append(kept, f)
			inCat[f.rel] = true
		} else {
			slog.Warn("archive: catalog lists a file that is gone; dropping it", "path", f.Path)
		}
	}
	cat.files = kept
	pendingDel := map[string]bool{}
	for _, d := range cat.deletes {
		pendingDel[d.Rel] = true
	}
	replaced := map[string]bool{}
	pieces := map[string][]splitPiece{}
	found := map[string]FileInfo{}
	added := 0
	for _, rel := range names {
		if inCat[rel] || pendingDel[rel] {
			continue
		}
		fi, ft, err := statFile(a.flowsDir, rel)
		if err != nil {
			a.m.corrupt.Inc()
			slog.Error("archive: skipping unreadable Parquet file", "path", filepath.Join(a.flowsDir, rel), "err", err)
			continue
		}
		if noteReplaced(rel, ft, replaced, pieces) {
			found[rel] = fi // added once its split is settled
			continue
		}
		cat.files = append(cat.files, fi)
		inCat[rel] = true
		added++
	}
	done, drop := settleSplits(pieces, onDisk)
	for _, ps := range pieces {
		for _, p := range ps {
			if drop[p.rel] {
				slog.Warn("archive: dropping a piece of a split cut short; the file split still holds its flows", "path", found[p.rel].Path)
				cat.deletes = append(cat.deletes, pendingDelete{Rel: p.rel})
				continue
			}
			cat.files = append(cat.files, found[p.rel])
			inCat[p.rel] = true
			added++
		}
	}
	for s := range done {
		replaced[s] = true
	}
	if len(replaced) > 0 {
		// A compaction finished writing but the catalog was not updated:
		// its sources must go, or their rows would count twice.
		kept := cat.files[:0]
		for _, f := range cat.files {
			if replaced[f.rel] {
				cat.deletes = append(cat.deletes, pendingDelete{Rel: f.rel})
				continue
			}
			kept = append(kept, f)
		}
		cat.files = kept
	}
	if added > 0 {
		slog.Info("archive: added files missing from the catalog (from their footers)", "dir", a.flowsDir, "files", added)
	}
	cat.sort()
	a.cat = cat
	a.m.setSize(cat)
	return cat.save()
}

// maxStreams bounds the hours with a flush file open at once: each holds
// its columns' page buffers (a few MB), and an import of old logs out of
// time order would otherwise open one per hour it touches.
const maxStreams = 4

// WriteBatch encodes b's flows into the flush file of their hour; they
// reach disk at the next flush. It implements flow.Writer and never fails
// because the disk does: while writing fails, flows are kept (encoded) up to
// MaxBufferedRows and beyond that dropped and counted
// (flowlake_archive_dropped_flows_total).
func (a *Archive) WriteBatch(b *flow.Batch) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errors.New("archive: closed")
	}
	// An empty archive takes any batch, so a batch larger than the bound is
	// not dropped while the disk works.
	if a.pending > 0 && a.pending+n > a.cfg.MaxBufferedRows {
		first := !a.dropping
		a.dropping = true
		a.mu.Unlock()
		a.m.dropped.Add(float64(n))
		if first {
			slog.Error("archive: buffer full, dropping flows until writing catches up", "buffered", a.cfg.MaxBufferedRows)
		}
		return nil
	}
	full := a.encodeLocked(b)
	a.m.buffered.Set(float64(a.pending))
	retry := !a.failing || time.Since(a.lastFail) >= a.cfg.FlushInterval
	a.mu.Unlock()
	if !full {
		return nil
	}
	if a.running.Load() {
		select {
		case a.kick <- struct{}{}:
		default:
		}
		return nil
	}
	if retry {
		// Without Run nobody else flushes: do it here. Errors are logged
		// and counted by Flush; the flows stay buffered.
		_ = a.Flush()
	}
	return nil
}

// encodeLocked adds b to the streams of its hours and buckets and reports
// whether a flush is due.
func (a *Archive) encodeLocked(b *flow.Batch) (full bool) {
	lo, hi := timeRange(b)
	if hour := hourOf(lo); hour == hourOf(hi) {
		if a.buckets <= 1 {
			return a.appendLocked(b, []streamKey{{hour: hour}}, [][]int{nil})
		}
		// One hour, buckets: rows split by bucket without a map lookup
		// per row (the collector's case).
		if len(a.bucketRows) < a.buckets {
			a.bucketRows = make([][]int, a.buckets)
		}
		byBucket := a.bucketRows[:a.buckets]
		for i := range byBucket {
			byBucket[i] = byBucket[i][:0]
		}
		for i := range b.SrcAddr {
			k := PairBucket(b.SrcAddr[i], b.DstAddr[i], a.buckets)
			byBucket[k] = append(byBucket[k], i)
		}
		var keys []streamKey
		var rows [][]int
		for k, r := range byBucket {
			if len(r) > 0 {
				keys = append(keys, streamKey{hour: hour, bucket: k, buckets: a.buckets})
				rows = append(rows, r)
			}
		}
		full = a.appendLocked(b, keys, rows)
		if b.Len() > 64<<10 {
			a.bucketRows = nil // scratch of an unusual batch: let it go
		}
		return full
	}
	// Flows of several hours (late exporters, imports of old logs) or
	// buckets: each file stays inside its partition and bucket. The rows of
	// each are picked by index.
	var order []streamKey
	for i, t := range b.TimeReceived {
		k := streamKey{hour: hourOf(t)}
		if a.buckets > 1 {
			k.bucket, k.buckets = PairBucket(b.SrcAddr[i], b.DstAddr[i], a.buckets), a.buckets
		}
		rows := a.keyRows[k]
		if len(rows) == 0 {
			order = append(order, k)
		}
		a.keyRows[k] = append(rows, i)
	}
	rows := make([][]int, len(order))
	for i, k := range order {
		rows[i] = a.keyRows[k]
	}
	full = a.appendLocked(b, order, rows)
	for k, rows := range a.keyRows {
		if cap(rows) > 4*b.Len() || len(a.keyRows) > 4*maxStreams*a.cfg.Buckets {
			delete(a.keyRows, k) // scratch of an unusual batch: let it go
			continue
		}
		a.keyRows[k] = rows[:0]
	}
	return full
}

// appendLocked encodes the rows rows[i] (nil: all) of b, all of keys[i]'s
// hour and bucket, into keys[i]'s stream.
func (a *Archive) appendLocked(b *flow.Batch, keys []streamKey, rows [][]int) (full bool) {
	streams := make([]*stream, len(keys))
	for i, k := range keys {
		s := a.streams[k]
		if s == nil {
			if len(a.streams) >= maxStreams*max(a.buckets, 1) {
				a.finishLeastRecentLocked(keys)
				full = true
			}
			var ff *flushFile
			if k := len(a.idle); k > 0 {
				ff, a.idle = a.idle[k-1], a.idle[:k-1]
			} else {
				ff = newFlushFile(a.cfg.RowGroupRows, flushLevel)
			}
			s = newStream(ff, k)
			a.streams[k] = s
		}
		a.useSeq++
		s.used = a.useSeq
		streams[i] = s
	}
	files := make([]*flushFile, len(streams))
	for i, s := range streams {
		files[i] = s.ff
	}
	if err := appendBatch(b, files, rows); err != nil {
		// Encoding into memory does not fail on bad input (every value of
		// every column has a Parquet form); this is a bug, and the
		// streams' flows are lost with it.
		var lost int
		for _, s := range streams {
			delete(a.streams, s.key)
			s.ff.reset()
			a.idle = append(a.idle, s.ff)
			a.pending -= s.rows
			a.open -= s.rows
			lost += s.rows
		}
		a.m.dropped.Add(float64(lost + b.Len()))
		a.m.writeErrors.Inc()
		slog.Error("archive: encoding flows failed; dropping the hour's unflushed flows", "flows", lost+b.Len(), "err", err)
		return full
	}
	for i, s := range streams {
		n := s.added(b, rows[i])
		a.pending += n
		a.open += n
	}
	return full || a.open >= a.cfg.FlushRows
}

// finishLeastRecentLocked closes the stream written to least recently,
// but those of keep, leaving its file ready for the next flush.
func (a *Archive) finishLeastRecentLocked(keep []streamKey) {
	var old *stream
	for _, s := range a.streams {
		if (old == nil || s.used < old.used) && !slices.Contains(keep, s.key) {
			old = s
		}
	}
	if old == nil {
		return // every open stream takes rows of this batch
	}
	delete(a.streams, old.key)
	a.open -= old.rows
	a.finishLocked(old)
}

// finishLocked closes s and queues its file, or counts its flows lost.
func (a *Archive) finishLocked(s *stream) {
	f, err := s.finish()
	a.idle = append(a.idle, s.ff)
	if err != nil {
		a.pending -= s.rows
		a.m.dropped.Add(float64(s.rows))
		a.m.writeErrors.Inc()
		slog.Error("archive: encoding flows failed; dropping the hour's unflushed flows", "flows", s.rows, "err", err)
		return
	}
	a.ready = append(a.ready, f)
}

// Flush writes the buffered flows now, one file per hour of time_received.
// On error the files that could not be written stay buffered (encoded) for
// the next attempt.
func (a *Archive) Flush() error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	open := make([]*stream, 0, len(a.streams))
	for _, s := range a.streams {
		open = append(open, s)
	}
	clear(a.streams)
	now := time.Now()
	a.buckets = a.nextBuckets(a.buckets, a.flushSize(a.open, now.Sub(a.lastFlush)))
	a.open, a.lastFlush = 0, now
	a.mu.Unlock()

	// Closing a file encodes its last row group: done outside the lock, so
	// that WriteBatch goes on meanwhile into new streams.
	slices.SortFunc(open, func(x, y *stream) int {
		return cmp.Or(cmp.Compare(x.key.hour, y.key.hour), cmp.Compare(x.key.bucket, y.key.bucket))
	})
	finished := make([]*encodedFile, 0, len(open))
	var lost int
	var encErr error
	for _, s := range open {
		f, err := s.finish()
		if err != nil {
			lost += s.rows
			encErr = err
		} else {
			finished = append(finished, f)
		}
	}
	a.mu.Lock()
	for _, s := range open {
		a.idle = append(a.idle, s.ff)
	}
	files := append(a.ready, finished...)
	a.ready = nil
	a.pending -= lost
	a.mu.Unlock()
	if encErr != nil {
		a.m.dropped.Add(float64(lost))
		a.m.writeErrors.Inc()
		slog.Error("archive: encoding flows failed; dropping the unflushed flows", "flows", lost, "err", encErr)
	}
	if len(files) == 0 {
		return nil
	}

	var infos []FileInfo
	var failed []*encodedFile
	var err error
	written := 0
	for _, f := range files {
		fi, werr := writeFileWith(a.flowsDir, a.newName(f.ext.recv[0], "f"), int64(f.rows), f.writeTo)
		if werr != nil {
			failed = append(failed, f)
			if err == nil {
				err = werr
			}
			continue
		}
		f.ext.describe(&fi, f.key.bucket, f.key.buckets)
		infos = append(infos, fi)
		written += f.rows
	}
	if len(infos) > 0 {
		a.addFiles(infos, nil)
	}
	a.m.flows.Add(float64(written))

	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending -= written
	a.m.buffered.Set(float64(a.pending))
	if err != nil {
		a.m.writeErrors.Inc()
		a.ready = append(failed, a.ready...)
		a.lastFail = time.Now()
		if !a.failing {
			a.failing = true
			slog.Error("archive: writing Parquet failed; buffering flows and retrying every flush interval",
				"err", err, "buffered", a.pending, "limit", a.cfg.MaxBufferedRows, "retry", a.cfg.FlushInterval)
		}
		return err
	}
	if a.failing || a.dropping {
		slog.Info("archive: writing works again", "dir", a.flowsDir)
		a.failing, a.dropping = false, false
	}
	return nil
}

// bucketsFor returns the buckets for the next flush after one of
// rows flows: the most, up to Buckets, that leave BucketRows flows per
// file.
func (a *Archive) bucketsFor(rows int) int {
	k := 1
	for k < a.cfg.Buckets && rows >= 2*k*a.cfg.BucketRows {
		k *= 2
	}
	return k
}

// flushSize is how many flows a flush holds at the rate of the last one
// (rows in elapsed): FlushInterval's worth, FlushRows at most. Counting
// rows per flush instead let a short flush (one kicked by FlushRows, then
// one by the clock a second later) drop the bucket count. Flushes closer
// than a quarter interval (called by hand: tests, Close) count as they
// are.
func (a *Archive) flushSize(rows int, elapsed time.Duration) int {
	if elapsed < a.cfg.FlushInterval/4 || a.lastFlush.IsZero() {
		return rows
	}
	return int(min(float64(rows)*float64(a.cfg.FlushInterval)/float64(elapsed), float64(a.cfg.FlushRows)))
}

// nextBuckets returns the bucket count after a flush of rows flows when
// cur was used: more at once, fewer only once flushes hold less than half
// of what cur needs. Files of different counts are never merged (a bucket
// of 8 is two of 16), so a count flapping with the flush sizes (a flush
// kicked by FlushRows, then a short one by the clock) left a 100 M-flow
// lake with files of several counts, a third of which a needle read.
func (a *Archive) nextBuckets(cur, rows int) int {
	k := a.bucketsFor(rows)
	if k < cur && a.bucketsFor(2*rows) >= cur {
		return cur
	}
	return k
}

// hourOf returns the hour (since the Unix epoch, floored) holding ns.
func hourOf(ns int64) int64 {
	h := ns / int64(time.Hour)
	if ns < 0 && ns%int64(time.Hour) != 0 {
		h--
	}
	return h
}

// newName returns a new file path relative to the flows directory for flows
// of the hour of ts. kind is "f" for flush files and "c" for compacted
// ones; the names sort by creation time.
func (a *Archive) newName(ts int64, kind string) string {
	t := flow.Time(ts)
	now := time.Now().UTC()
	return fmt.Sprintf("date=%s/hour=%02d/%s-%s-%06d.parquet", t.Format("2006-01-02"), t.Hour(),
		kind, now.Format("20060102T150405.000000000"), a.seq.Add(1)%1000000)
}

// addFiles adds files to the catalog, removes the replaced ones (queued
// for deletion after GraceDelete) and saves it.
func (a *Archive) addFiles(add []FileInfo, remove []FileInfo) {
	a.catMu.Lock()
	defer a.catMu.Unlock()
	if len(remove) > 0 {
		gone := map[string]bool{}
		for _, f := range remove {
			gone[f.rel] = true
		}
		kept := a.cat.files[:0]
		for _, f := range a.cat.files {
			if !gone[f.rel] {
				kept = append(kept, f)
			}
		}
		a.cat.files = kept
		after := time.Now().Add(a.cfg.GraceDelete).UnixNano()
		for _, f := range remove {
			a.cat.deletes = append(a.cat.deletes, pendingDelete{Rel: f.rel, After: after})
		}
	}
	a.cat.files = append(a.cat.files, add...)
	a.cat.sort()
	a.m.setSize(a.cat)
	a.saveCatalogLocked()
	if a.cfg.GraceDelete < 0 {
		a.deleteDueLocked(time.Now())
	}
}

func (a *Archive) saveCatalogLocked() {
	if err := a.cat.save(); err != nil {
		// The files are on disk; the next save (or Open) lists them.
		a.m.writeErrors.Inc()
		slog.Error("archive: saving the catalog failed", "err", err)
	}
}

// deleteDueLocked deletes the replaced/pruned files whose grace period is over.
func (a *Archive) deleteDueLocked(now time.Time) {
	if len(a.cat.deletes) == 0 {
		return
	}
	kept := a.cat.deletes[:0]
	changed := false
	for _, d := range a.cat.deletes {
		if d.After > now.UnixNano() {
			kept = append(kept, d)
			continue
		}
		p := filepath.Join(a.flowsDir, filepath.FromSlash(d.Rel))
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			slog.Warn("archive: deleting replaced file failed; will retry", "path", p, "err", err)
			kept = append(kept, d)
			continue
		}
		changed = true
		// Empty partition directories go too; Remove fails on non-empty ones.
		hourDir := filepath.Dir(p)
		if os.Remove(hourDir) == nil {
			os.Remove(filepath.Dir(hourDir))
		}
	}
	a.cat.deletes = kept
	if changed {
		a.saveCatalogLocked()
	}
}

// Catalog returns a snapshot of the archive's catalog.
func (a *Archive) Catalog() *Catalog {
	a.catMu.Lock()
	defer a.catMu.Unlock()
	return &Catalog{flowsDir: a.flowsDir, files: append([]FileInfo(nil), a.cat.files...)}
}

// Run flushes every FlushInterval (and when FlushRows are buffered),
// compacts and applies retention in the background, until ctx is done; it
// then flushes a last time and returns.
func (a *Archive) Run(ctx context.Context) {
	a.running.Store(true)
	defer a.running.Store(false)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.maintain(ctx)
	}()
	t := time.NewTicker(a.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := a.Flush(); err != nil {
				slog.Error("archive: final flush failed", "err", err)
			}
			wg.Wait()
			return
		case <-t.C:
		case <-a.kick:
		}
		a.mu.Lock()
		wait := a.failing && time.Since(a.lastFail) < a.cfg.FlushInterval/2
		a.mu.Unlock()
		if !wait {
			// Errors are logged (once per streak) and counted by Flush.
			_ = a.Flush()
			// The next flush is due a full interval after this one: a
			// tick right after a flush kicked by FlushRows made a file of
			// a few flows per bucket.
			t.Reset(a.cfg.FlushInterval)
		}
	}
}

// maintenanceInterval is how often Run compacts and prunes.
func (a *Archive) maintenanceInterval() time.Duration {
	return max(6*a.cfg.FlushInterval, 30*time.Second)
}

func (a *Archive) maintain(ctx context.Context) {
	t := time.NewTicker(a.maintenanceInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := a.Compact(ctx); err != nil && ctx.Err() == nil {
			slog.Error("archive: compaction failed", "err", err)
		}
		if _, err := a.Prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
			slog.Error("archive: retention failed", "err", err)
		}
		a.catMu.Lock()
		a.deleteDueLocked(time.Now())
		a.catMu.Unlock()
	}
}

// Close flushes, deletes replaced files whose grace period is over and
// releases the lake. Files still in their grace period are deleted by the
// next Open's Run or Close.
func (a *Archive) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	err := a.Flush()
	a.mu.Lock()
	a.closed = true
	lost := a.pending
	a.mu.Unlock()
	if err != nil {
		a.m.dropped.Add(float64(lost))
		err = fmt.Errorf("archive: close: %d flows not written: %w", lost, err)
	}
	a.catMu.Lock()
	a.deleteDueLocked(time.Now())
	a.catMu.Unlock()
	if cerr := a.lock.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

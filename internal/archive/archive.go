// Package archive is flowlake's Parquet lake: it encodes flow batches as
// they arrive into open ZSTD-compressed Parquet files, one per hour of
// time_received (flows/date=YYYY-MM-DD/hour=HH/*.parquet, UTC), closes them
// every few seconds, compacts the small files of an hour into larger sorted ones, and
// deletes old data by age and by total size. It is the writing half of the
// lake store (package store/lake); package engine is the reading half.
//
// Files by responsibility: archive.go opens, catalogues and closes the
// lake; config.go; ingest.go encodes batches into flush files (streams by
// hour and bucket) and flushes them; bucket.go sizes buckets; maintain.go
// is the background work (flusher, compactor) between Start and Stop;
// reconcile.go matches the catalog with the disk at Open; compact.go,
// prune.go, catalog.go, extent.go (what a file holds, for pruning),
// pair.go, and the Parquet encoding in flushfile.go, write.go, read.go,
// schema.go.
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
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/flow"
)

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
	bg      *component.Runner // the background work between Start and Stop
	running atomic.Bool
	seq     atomic.Uint64
}

// Open opens (creating if needed) the lake under dataDir for writing and
// takes its lock. It reconciles the catalog with the disk: temporaries of a
// crashed writer are removed, files the catalog misses are added from their
// footers, missing ones dropped, unreadable ones reported and skipped.
func Open(dataDir string, cfg Config, deps Dependencies) (*Archive, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
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
		m:        newMetrics(deps.Registerer),
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

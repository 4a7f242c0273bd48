package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/atomicfile"
	"github.com/flowlake/flowlake/internal/flow"
)

// catalogName is the catalog file under <dataDir>/flows. It does not end in
// .parquet, so tools globbing the lake ignore it.
const catalogName = "_catalog.json"

// FileInfo describes one Parquet file of the lake.
type FileInfo struct {
	// Path is the file's path: <dataDir>/flows/date=.../hour=.../<name>.parquet
	// (absolute when the data directory was given as an absolute path).
	Path string
	// MinTime and MaxTime bound the file's time_received values.
	MinTime, MaxTime time.Time
	Rows             int64
	Bytes            int64
	// Compacted is true for files written by compaction (sorted, large).
	Compacted bool
	// TimeStart and TimeEnd bound the file's time_start and time_end.
	TimeStart, TimeEnd Span
	// Buckets > 1: the file holds only flows whose address pair is in
	// bucket Bucket of Buckets (PairBucket).
	Bucket, Buckets int
	// Schema fingerprints the file's columns (schemaKey): files with one
	// non-empty Schema read as one table. Empty for files catalogued
	// before it was recorded.
	Schema string

	rel string // path relative to the flows directory, '/'-separated
}

// Catalog lists the lake's files so that query planning never lists
// directories. It is a snapshot: take a new one to see later flushes.
type Catalog struct {
	flowsDir string
	files    []FileInfo // sorted by MinTime, then path
	deletes  []pendingDelete
}

type pendingDelete struct {
	Rel   string `json:"path"`
	After int64  `json:"after"` // Unix ns: delete at or after this instant
}

type catalogFile struct {
	Version int            `json:"version"`
	Files   []catalogEntry `json:"files"`
	// Deletes are files already replaced (compaction) or pruned, kept on
	// disk for GraceDelete so that running queries can finish reading them.
	Deletes []pendingDelete `json:"deletes,omitempty"`
}

type catalogEntry struct {
	Path      string `json:"path"`
	Min       int64  `json:"min_time_received"`
	Max       int64  `json:"max_time_received"`
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	Compacted bool   `json:"compacted,omitempty"`
	// TimeStart and TimeEnd are [min, max] in Unix ns; absent for files
	// catalogued before they were recorded.
	TimeStart []int64 `json:"time_start,omitempty"`
	TimeEnd   []int64 `json:"time_end,omitempty"`
	SrcBucket string  `json:"src_bucket,omitempty"` // formatBucket
	Schema    string  `json:"schema,omitempty"`     // schemaKey
}

// Files returns the files whose time_received range overlaps [from, to]
// (both inclusive), oldest first. A zero from or to leaves that end open.
func (c *Catalog) Files(from, to time.Time) []FileInfo {
	var out []FileInfo
	for _, f := range c.files {
		if !from.IsZero() && f.MaxTime.Before(from) {
			continue
		}
		if !to.IsZero() && f.MinTime.After(to) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Select returns the files that may hold flows flt needs, oldest first.
func (c *Catalog) Select(flt Filter) []FileInfo {
	var out []FileInfo
	for i := range c.files {
		if c.files[i].wants(&flt) {
			out = append(out, c.files[i])
		}
	}
	return out
}

// ReadCatalog reads the catalog of the lake under dataDir. It is safe to call
// from another process while `flowlake serve` writes: the catalog file is
// replaced atomically. A missing or corrupt catalog is rebuilt in memory by
// reading Parquet footers (logged); unreadable files are logged and skipped.
// ReadCatalog never writes.
func ReadCatalog(dataDir string) (*Catalog, error) {
	flowsDir, err := flowsDirOf(dataDir)
	if err != nil {
		return nil, err
	}
	c, err := loadCatalog(flowsDir)
	if err == nil {
		return c, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(flowsDir); errors.Is(serr, fs.ErrNotExist) {
			return &Catalog{flowsDir: flowsDir}, nil
		}
		slog.Info("archive: no catalog; rebuilding it from Parquet footers", "dir", flowsDir)
	} else {
		slog.Warn("archive: catalog unreadable; rebuilding it from Parquet footers", "dir", flowsDir, "err", err)
	}
	return rebuildCatalog(flowsDir)
}

// Lister returns a function that lists the lake's files that may hold
// flows a Filter needs (Catalog.Select), oldest first, for
// engine.Config.Files. Each call reads the catalog afresh (ReadCatalog), so
// a query sees the files flushed or compacted since the previous one. An
// empty or missing lake yields no files and no error.
func Lister(dataDir string) func(Filter) ([]FileInfo, error) {
	return func(flt Filter) ([]FileInfo, error) {
		cat, err := ReadCatalog(dataDir)
		if err != nil {
			return nil, fmt.Errorf("archive: list files: %w", err)
		}
		return cat.Select(flt), nil
	}
}

func flowsDirOf(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("archive: data dir %q: %w", dataDir, err)
	}
	return filepath.Join(abs, "flows"), nil
}

func loadCatalog(flowsDir string) (*Catalog, error) {
	data, err := os.ReadFile(filepath.Join(flowsDir, catalogName))
	if err != nil {
		return nil, err
	}
	var cf catalogFile
	if err := json.Unmarshal(data, &cf); err != nil {
		return nil, fmt.Errorf("%s: %w", catalogName, err)
	}
	if cf.Version != 1 {
		return nil, fmt.Errorf("%s: unknown version %d", catalogName, cf.Version)
	}
	c := &Catalog{flowsDir: flowsDir, deletes: cf.Deletes}
	for _, e := range cf.Files {
		if e.Path == "" || strings.Contains(e.Path, "..") {
			return nil, fmt.Errorf("%s: bad path %q", catalogName, e.Path)
		}
		fi := FileInfo{
			Path:    filepath.Join(flowsDir, filepath.FromSlash(e.Path)),
			MinTime: flow.Time(e.Min), MaxTime: flow.Time(e.Max),
			Rows: e.Rows, Bytes: e.Bytes, Compacted: e.Compacted,
			Schema: e.Schema, rel: e.Path,
		}
		span := func(r []int64) Span {
			if len(r) != 2 || r[0] > r[1] {
				return Span{} // unknown: the file is never left out for it
			}
			return Span{Min: flow.Time(r[0]), Max: flow.Time(r[1]), Known: true}
		}
		fi.TimeStart, fi.TimeEnd = span(e.TimeStart), span(e.TimeEnd)
		if e.SrcBucket != "" {
			if fi.Bucket, fi.Buckets, err = parseBucket(e.SrcBucket); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", catalogName, e.Path, err)
			}
		}
		c.files = append(c.files, fi)
	}
	c.sort()
	return c, nil
}

func (c *Catalog) sort() {
	slices.SortFunc(c.files, func(a, b FileInfo) int {
		if d := a.MinTime.Compare(b.MinTime); d != 0 {
			return d
		}
		return strings.Compare(a.rel, b.rel)
	})
}

// save writes the catalog atomically (temporary file, fsync, rename, fsync
// of the directory).
func (c *Catalog) save() error {
	cf := catalogFile{Version: 1, Files: make([]catalogEntry, 0, len(c.files)), Deletes: c.deletes}
	for _, f := range c.files {
		e := catalogEntry{
			Path: f.rel, Min: f.MinTime.UnixNano(), Max: f.MaxTime.UnixNano(),
			Rows: f.Rows, Bytes: f.Bytes, Compacted: f.Compacted,
			Schema: f.Schema,
		}
		if f.TimeStart.Known {
			e.TimeStart = []int64{f.TimeStart.Min.UnixNano(), f.TimeStart.Max.UnixNano()}
		}
		if f.TimeEnd.Known {
			e.TimeEnd = []int64{f.TimeEnd.Min.UnixNano(), f.TimeEnd.Max.UnixNano()}
		}
		if f.Buckets > 1 {
			e.SrcBucket = formatBucket(f.Bucket, f.Buckets)
		}
		cf.Files = append(cf.Files, e)
	}
	data, err := json.Marshal(&cf)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.flowsDir, 0o755); err != nil {
		return fmt.Errorf("archive: catalog: %w", err)
	}
	final := filepath.Join(c.flowsDir, catalogName)
	if err := atomicfile.WriteFile(final, data, 0o644); err != nil {
		return fmt.Errorf("archive: catalog: %w", err)
	}
	return nil
}

// scanFiles lists every *.parquet file under flowsDir (relative,
// '/'-separated) and the hidden temporaries a crashed writer left.
func scanFiles(flowsDir string) (parquetFiles, temps []string, err error) {
	err = filepath.WalkDir(flowsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == flowsDir && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, rerr := filepath.Rel(flowsDir, path)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		name := d.Name()
		switch {
		case atomicfile.IsTemp(name):
			temps = append(temps, rel)
		case strings.HasSuffix(name, ".parquet") && !strings.HasPrefix(name, "."):
			parquetFiles = append(parquetFiles, rel)
		}
		return nil
	})
	return parquetFiles, temps, err
}

// rebuildCatalog builds a catalog from the footers of the files on disk.
// Files replaced by a compacted file that is itself on disk are left out
// (a crash between compaction and deleting its sources would otherwise
// count their rows twice) and queued for deletion.
func rebuildCatalog(flowsDir string) (*Catalog, error) {
	names, _, err := scanFiles(flowsDir)
	if err != nil {
		return nil, fmt.Errorf("archive: scan %s: %w", flowsDir, err)
	}
	c := &Catalog{flowsDir: flowsDir}
	known := map[string]FileInfo{}
	replaced := map[string]bool{}
	pieces := map[string][]splitPiece{}
	onDisk := map[string]bool{}
	for _, rel := range names {
		onDisk[rel] = true
		fi, ft, err := statFile(flowsDir, rel)
		if err != nil {
			slog.Error("archive: skipping unreadable Parquet file", "path", filepath.Join(flowsDir, rel), "err", err)
			continue
		}
		known[rel] = fi
		noteReplaced(rel, ft, replaced, pieces)
	}
	done, drop := settleSplits(pieces, onDisk)
	for s := range done {
		replaced[s] = true
	}
	for _, rel := range names {
		fi, ok := known[rel]
		if !ok {
			continue
		}
		if replaced[rel] || drop[rel] {
			c.deletes = append(c.deletes, pendingDelete{Rel: rel})
			continue
		}
		c.files = append(c.files, fi)
	}
	c.sort()
	slog.Info("archive: catalog rebuilt from footers", "dir", flowsDir, "files", len(c.files), "skipped", len(names)-len(known))
	return c, nil
}

func statFile(flowsDir, rel string) (FileInfo, footer, error) {
	path := filepath.Join(flowsDir, filepath.FromSlash(rel))
	ft, size, err := readFooter(path)
	if err != nil {
		return FileInfo{}, footer{}, err
	}
	return FileInfo{
		Path: path, MinTime: flow.Time(ft.min), MaxTime: flow.Time(ft.max),
		Rows: ft.rows, Bytes: size, Compacted: len(ft.sources) > 0, rel: rel,
		TimeStart: ft.start, TimeEnd: ft.end, Bucket: ft.bucket, Buckets: ft.buckets,
		Schema: ft.schema,
	}, ft, nil
}

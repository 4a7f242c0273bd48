// Package lake is the store of Parquet files under <data-dir>/flows: its
// Writer is the archive (package archive: flush files, compaction,
// retention, the catalog) and its Reader the sandboxed embedded DuckDB
// (package engine), which reads only the files a query's window and bounds
// select from the catalog. Any Parquet reader can read the lake without
// flowlake; the enrichment tables sit next to it as CSV files.
package lake

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/engine"
	"github.com/flowlake/flowlake/internal/enrich"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/kql"
	"github.com/flowlake/flowlake/internal/store"
)

// Dependencies are what the lake's Writer and Reader need besides their
// Config.
type Dependencies struct {
	// DataDir holds the lake (DataDir/flows).
	DataDir string
	// Registerer receives the archive's metrics (default
	// prometheus.DefaultRegisterer).
	Registerer prometheus.Registerer
}

// TablesDir is where the enrichment tables are published (by
// enrich.Publisher), inside the lake directory the engine may read.
func TablesDir(dataDir string) string { return filepath.Join(dataDir, "flows", "_tables") }

// Writer writes flows into the lake: a store.Writer over an archive. Start
// opens the archive (taking its lock: one writing process per data
// directory) and starts its flusher and compactor; Stop flushes and
// releases it.
type Writer struct {
	cfg  archive.Config
	deps Dependencies
	a    *archive.Archive
}

var _ store.Writer = (*Writer)(nil)

// NewWriter checks cfg; the archive is opened by Start.
func NewWriter(cfg archive.Config, deps Dependencies) (*Writer, error) {
	if deps.DataDir == "" {
		return nil, errors.New("lake: no data directory")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	return &Writer{cfg: cfg, deps: deps}, nil
}

// Start opens the archive and starts its background work.
func (w *Writer) Start() error {
	a, err := archive.Open(w.deps.DataDir, w.cfg, archive.Dependencies{Registerer: w.deps.Registerer})
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		return errors.Join(err, a.Close())
	}
	w.a = a
	return nil
}

// Stop flushes and closes the archive.
func (w *Writer) Stop() error {
	if w.a == nil {
		return nil
	}
	return errors.Join(w.a.Stop(), w.a.Close())
}

// WriteBatch implements store.Writer.
func (w *Writer) WriteBatch(b *flow.Batch) error { return w.a.WriteBatch(b) }

// Flush implements store.Writer.
func (w *Writer) Flush() error { return w.a.Flush() }

// ReaderConfig tunes the embedded DuckDB.
type ReaderConfig struct {
	// Threads is DuckDB's worker thread count (0: number of CPUs).
	Threads int
	// MemoryLimit is DuckDB's memory limit, e.g. "2GB" ("": DuckDB's
	// default, 80% of RAM).
	MemoryLimit string
}

// Reader queries the lake: a store.Reader over the engine. Start opens the
// (in-memory, sandboxed) DuckDB database; each query reads the catalog
// afresh, so it sees what was flushed or compacted since.
type Reader struct {
	cfg    ReaderConfig
	deps   Dependencies
	tables map[string]kql.Table
	files  []engine.FileTable
	eng    *engine.Engine
}

var _ store.Reader = (*Reader)(nil)

// NewReader prepares a Reader of the lake under deps.DataDir.
func NewReader(cfg ReaderConfig, deps Dependencies) (*Reader, error) {
	if deps.DataDir == "" {
		return nil, errors.New("lake: no data directory")
	}
	r := &Reader{cfg: cfg, deps: deps}
	r.files, r.tables = enrichmentTables(deps.DataDir)
	return r, nil
}

// Start opens the engine.
func (r *Reader) Start() error {
	eng, err := engine.Open(engine.Config{
		DataDir:     r.deps.DataDir,
		Files:       archive.Lister(r.deps.DataDir),
		Tables:      r.files,
		Threads:     r.cfg.Threads,
		MemoryLimit: r.cfg.MemoryLimit,
	})
	if err != nil {
		return err
	}
	r.eng = eng
	return nil
}

// Stop closes the engine.
func (r *Reader) Stop() error {
	if r.eng == nil {
		return nil
	}
	return r.eng.Close()
}

// Dialect implements store.Reader.
func (r *Reader) Dialect() kql.Dialect { return kql.DuckDB }

// Tables implements store.Reader: the enrichment tables.
func (r *Reader) Tables() map[string]kql.Table { return r.tables }

// Query implements store.Reader: the files of q's window that q's bounds
// do not rule out (catalog), read by DuckDB.
func (r *Reader) Query(ctx context.Context, q store.Query, row store.RowFunc) (*store.Result, error) {
	var cols []store.Column
	res, err := r.eng.QueryFilteredRows(ctx, q.SQL, Filter(q.Bounds, q.From, q.To), func(ec []engine.Column, vals []any) error {
		if cols == nil {
			cols = columns(ec)
		}
		for i, v := range vals {
			vals[i] = engine.JSONValue(v)
		}
		return row(cols, vals)
	})
	if res == nil {
		return nil, err
	}
	out := &store.Result{Columns: columns(res.Columns), Files: res.Files, Elapsed: res.Elapsed}
	for _, s := range res.Skipped {
		out.Skipped = append(out.Skipped, store.Skipped(s))
	}
	return out, err
}

func columns(ec []engine.Column) []store.Column {
	out := make([]store.Column, len(ec))
	for i, c := range ec {
		out[i] = store.Column(c)
	}
	return out
}

// Filter turns a compiled query's bounds into the archive filter that
// chooses the lake files the query reads: a needle query on one address
// pair and one day reads the few files of that day and that pair's bucket.
func Filter(b kql.Bounds, from, to time.Time) archive.Filter {
	f := archive.Filter{From: from, To: to}
	addrs := func(l [][16]byte) []flow.Addr {
		if l == nil {
			return nil
		}
		out := make([]flow.Addr, len(l))
		for i, a := range l {
			out[i] = flow.Addr(a)
		}
		return out
	}
	f.SrcAddrs, f.DstAddrs = addrs(b.SrcAddrs), addrs(b.DstAddrs)
	for name, t := range b.Times {
		if f.Times == nil {
			f.Times = map[string]archive.Span{}
		}
		f.Times[name] = archive.Span{Min: t.Min, Max: t.Max}
	}
	return f
}

// enrichmentTables returns the enrichment tables (networks,
// inventory_history, interfaces) as the engine's file views and the
// matching KQL table definitions.
func enrichmentTables(dataDir string) ([]engine.FileTable, map[string]kql.Table) {
	var files []engine.FileTable
	tables := map[string]kql.Table{}
	for _, ts := range enrich.TableSchemas {
		ft := engine.FileTable{Name: ts.Name, Path: filepath.Join(TablesDir(dataDir), ts.File)}
		kt := kql.Table{Relation: ts.Name}
		for _, c := range ts.Columns {
			sqlType, kqlType := "VARCHAR", kql.TString
			switch c.Kind {
			case "long":
				sqlType, kqlType = "BIGINT", kql.TLong
			case "datetime":
				sqlType, kqlType = "TIMESTAMP", kql.TDatetime
			}
			ft.Columns = append(ft.Columns, engine.Column{Name: c.Name, Type: sqlType})
			kt.Columns = append(kt.Columns, kql.Column{Name: c.Name, Type: kqlType})
		}
		files = append(files, ft)
		tables[ts.Name] = kt
	}
	return files, tables
}

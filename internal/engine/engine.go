// Package engine runs read-only SQL over the Parquet lake with embedded DuckDB:
// the reading half of the lake store (store/lake; package archive writes).
// Files: engine.go opens and sandboxes the database, query.go runs a
// statement, files.go chooses and screens the lake files, view.go defines
// the flows view.
//
// Every query sees a TEMP view named flows over exactly the lake files that
// cover the query's window [from, to) (from the archive catalog through
// Config.Files), restricted to time_received in that window, with the
// column names and types of internal/flow/schema (see SQLType). With no
// files the view is empty but typed.
//
// Sandbox, in layers: (1) DuckDB's parser (json_serialize_sql) must see
// exactly one SELECT statement — COPY, ATTACH, INSTALL, LOAD, PRAGMA, SET,
// CREATE, INSERT, EXPORT, CALL and multi-statement strings are refused before
// anything runs; (2) the statement is prepared alone (a string holding
// several statements fails to prepare, none is executed) and its prepared
// type must be SELECT; (3) the database itself allows file access only under
// <dataDir>/flows (allowed_directories with enable_external_access=false),
// never installs or autoloads extensions, and its configuration is locked.
//
// Unreadable files: truncated files are caught by a framing check (magic,
// footer length) before the query; a file that fails inside DuckDB is found
// from the error (or, when the error names no file, by bisecting the file
// list with a full read), reported in Result.Skipped, remembered while it is
// unchanged, and the query is run again without it.
//
// DuckDB version: the module is pinned to duckdb-go v2.5.6 (DuckDB 1.4.5)
// because DuckDB 1.5.x (duckdb-go v2.105xx) answers `blob_column = constant`
// wrongly (no rows) on Parquet FIXED_LEN_BYTE_ARRAY columns with bloom
// filters — exactly the address look-up of a needle query. The bloom filters
// written by parquet-go hash per the Parquet spec (checked against
// cespare/xxhash), so the fault is DuckDB's. TestAddrEqualityBloom guards it.
package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/flowlake/flowlake/internal/archive"
)

// Config configures an Engine.
type Config struct {
	// DataDir is the archive's data directory; the lake is DataDir/flows.
	// It is the only directory DuckDB may read.
	DataDir string
	// Files lists the Parquet files that may hold the flows a query needs
	// (archive.Filter; its From and To bound time_received), normally from
	// the archive catalog (archive.Lister). Relative paths starting with
	// "flows/" are taken relative to DataDir. When every file has the same
	// non-empty Schema, DuckDB reads them as one table instead of matching
	// columns by name file by file (union_by_name). When nil, the engine lists
	// DataDir/flows/date=*/hour=*/*.parquet for [From, To) itself.
	Files func(archive.Filter) ([]archive.FileInfo, error)
	// Timeout bounds each query (0: none); the query is interrupted when it
	// expires.
	Timeout time.Duration
	// MaxRows caps the rows a query returns (0: no cap); Result.Truncated
	// tells when rows were cut.
	MaxRows int
	// Threads is DuckDB's worker thread count (0: number of CPUs).
	Threads int
	// MemoryLimit is DuckDB's memory limit, e.g. "2GB" ("": DuckDB's default,
	// 80% of RAM).
	MemoryLimit string
	// Tables are CSV files (with a header) under DataDir/flows exposed as
	// views next to flows, e.g. the enrichment tables; a missing file is
	// left out.
	Tables []FileTable
}

// FileTable is a CSV file exposed as a view named Name.
type FileTable struct {
	Name    string
	Path    string
	Columns []Column // Type is a DuckDB type name
}

// Column names and types one result column; Type is DuckDB's type name.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SkippedFile is a lake file left out of a query because DuckDB could not
// read it.
type SkippedFile struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Result is the outcome of a query.
type Result struct {
	Columns []Column
	// Rows holds the values as the DuckDB driver returns them: uint8..uint64,
	// int*, float64, string, []byte (addresses: 16 bytes, IPv4-mapped),
	// time.Time (UTC), *big.Int (HUGEINT, e.g. sum of bytes), nil.
	Rows [][]any
	// Truncated is true when more rows than Config.MaxRows existed.
	Truncated bool
	Elapsed   time.Duration
	// Files is the number of lake files the flows view covered.
	Files int
	// Skipped lists unreadable files that were left out.
	Skipped []SkippedFile
}

// ErrNotSelect is returned for any SQL that is not a single SELECT query.
var ErrNotSelect = errors.New("only a single SELECT (or WITH ... SELECT) statement is allowed")

// maxOpenConns bounds concurrent queries; each holds one DuckDB connection.
const maxOpenConns = 8

// Engine runs queries over the lake. It is safe for concurrent use.
type Engine struct {
	cfg      Config
	dataDir  string // absolute
	flowsDir string // absolute, the only directory DuckDB may read
	conn     *duckdb.Connector
	db       *sql.DB
	spillDir string // DuckDB's temp_directory, private to this engine

	mu   sync.Mutex
	bad  map[string]fileStamp // files known unreadable, by path
	good map[string]fileStamp // files whose framing passed
}

// maxGood bounds the memory of checked files; past it the memory restarts
// (files replaced by compaction would otherwise accumulate forever).
const maxGood = 200_000

// fileStamp identifies a version of a file (size, modification time) and,
// for unreadable ones, why it failed.
type fileStamp struct {
	size   int64
	mtime  time.Time
	reason string
}

// Open starts an in-memory DuckDB database, sandboxes it and registers the
// helper functions.
//
// Concurrency: one database, one connection per query (database/sql pool).
// The flows view is a TEMP view, private to the connection, so concurrent
// queries with different time ranges never see each other's file list, and
// DuckDB runs them in parallel on its shared thread pool.
func Open(cfg Config) (*Engine, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("engine: no data directory")
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("engine: data directory: %w", err)
	}
	// DuckDB resolves relative paths against the working directory but
	// checks them against allowed_directories as written: a table under a
	// relative data directory would be refused.
	cfg.Tables = slices.Clone(cfg.Tables)
	for i, t := range cfg.Tables {
		if cfg.Tables[i].Path, err = filepath.Abs(t.Path); err != nil {
			return nil, fmt.Errorf("engine: table %s: %w", t.Name, err)
		}
	}
	e := &Engine{cfg: cfg, dataDir: dataDir, flowsDir: filepath.Join(dataDir, "flows"), bad: map[string]fileStamp{}, good: map[string]fileStamp{}}
	// Spill space for aggregations larger than memory. DuckDB's default is
	// .tmp in the working directory: wherever `flowlake sql` was started.
	if e.spillDir, err = os.MkdirTemp("", "flowlake-duckdb-"); err != nil {
		return nil, fmt.Errorf("engine: spill directory: %w", err)
	}
	e.conn, err = duckdb.NewConnector("", nil)
	if err != nil {
		os.RemoveAll(e.spillDir)
		return nil, fmt.Errorf("engine: open duckdb: %w", err)
	}
	e.db = sql.OpenDB(e.conn)
	e.db.SetMaxOpenConns(maxOpenConns)
	e.db.SetMaxIdleConns(2)
	if err := e.setup(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// setup registers helper functions, then sandboxes and locks the database.
// Settings are GLOBAL so that every pooled connection inherits them; after
// lock_configuration nothing, including our own code, can change them.
func (e *Engine) setup() error {
	ctx := context.Background()
	c, err := e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("engine: connect: %w", err)
	}
	defer c.Close()
	if err := registerFunctions(c); err != nil {
		return fmt.Errorf("engine: register functions: %w", err)
	}
	stmts := []string{
		// No extension may be fetched or loaded behind the user's back;
		// parquet, json and icu are linked in.
		"SET GLOBAL autoinstall_known_extensions = false",
		"SET GLOBAL autoload_known_extensions = false",
		"SET GLOBAL allow_community_extensions = false",
		"SET GLOBAL TimeZone = 'UTC'",
		// Footers are read at bind and at scan; caching them (validated by
		// modification time) halves the metadata I/O of repeated queries.
		"SET GLOBAL parquet_metadata_cache = true",
		"SET GLOBAL temp_directory = " + quote(e.spillDir),
	}
	if e.cfg.Threads > 0 {
		stmts = append(stmts, fmt.Sprintf("SET GLOBAL threads = %d", e.cfg.Threads))
	}
	if e.cfg.MemoryLimit != "" {
		stmts = append(stmts, "SET GLOBAL memory_limit = "+quote(e.cfg.MemoryLimit))
	}
	// The lake is the only readable place. enable_external_access=false
	// alone would also forbid the lake; with allowed_directories it admits
	// exactly that directory. The trailing separator stops a sibling such as
	// flows-private/ from matching the prefix.
	stmts = append(stmts,
		"SET GLOBAL allowed_directories = ["+quote(e.flowsDir+string(filepath.Separator))+"]",
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL lock_configuration = true",
	)
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("engine: %s: %w", s, err)
		}
	}
	return nil
}

// Close releases the database.
func (e *Engine) Close() error {
	var errs []error
	if e.db != nil {
		errs = append(errs, e.db.Close())
	}
	if e.conn != nil {
		errs = append(errs, e.conn.Close())
	}
	if e.spillDir != "" {
		errs = append(errs, os.RemoveAll(e.spillDir))
	}
	return errors.Join(errs...)
}

// quote renders s as a SQL string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

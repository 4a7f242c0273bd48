// Package engine runs read-only SQL over the Parquet lake with embedded DuckDB.
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
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// Query runs one SELECT statement over the flows in [from, to) (zero times:
// unbounded) and returns all rows, at most Config.MaxRows.
func (e *Engine) Query(ctx context.Context, sqlText string, from, to time.Time) (*Result, error) {
	return e.QueryFiltered(ctx, sqlText, archive.Filter{From: from, To: to})
}

// QueryFiltered is Query over the files that may hold the flows flt
// describes. The flows view is restricted to time_received in [flt.From,
// flt.To) only: the rest of flt must be implied by the query itself (the
// KQL compiler's Bounds are), or rows of the files left out go missing.
func (e *Engine) QueryFiltered(ctx context.Context, sqlText string, flt archive.Filter) (*Result, error) {
	var rows [][]any
	res, err := e.queryRows(ctx, sqlText, flt, func(_ []Column, row []any) error {
		rows = append(rows, row)
		return nil
	})
	if res != nil {
		res.Rows = rows
	}
	return res, err
}

// QueryRows is Query streaming: fn is called for each row (a fresh slice
// each time) with the result's columns, and the returned Result has no Rows.
// An error from fn stops the query and is returned.
func (e *Engine) QueryRows(ctx context.Context, sqlText string, from, to time.Time, fn func(cols []Column, row []any) error) (*Result, error) {
	return e.queryRows(ctx, sqlText, archive.Filter{From: from, To: to}, fn)
}

func (e *Engine) queryRows(ctx context.Context, sqlText string, flt archive.Filter, fn func(cols []Column, row []any) error) (*Result, error) {
	from, to := flt.From, flt.To
	start := time.Now()
	if e.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.Timeout)
		defer cancel()
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: connect: %w", err)
	}
	defer conn.Close()
	if err := checkSelect(ctx, conn, sqlText); err != nil {
		return nil, err
	}
	files, schemas, err := e.listFiles(flt)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	files, res.Skipped = e.screen(files)
	delivered, relists := 0, 0
	counting := func(cols []Column, row []any) error {
		delivered++
		return fn(cols, row)
	}
	// A corrupt file that passed the footer screen shows up as a query
	// error naming it: leave it out and run again, as long as no row has
	// been handed out yet.
	for {
		res.Files = len(files)
		if testHookBeforeRun != nil {
			testHookBeforeRun()
		}
		err = e.run(ctx, conn, sqlText, lakeFiles{files, schemas}, from, to, res, counting)
		if err == nil || delivered > 0 || ctx.Err() != nil {
			break
		}
		found := e.culprits(ctx, conn, err, files)
		if len(found) == 0 {
			break
		}
		if relists < 3 && vanished(found) {
			// Replaced by compaction or pruned after its grace delay while
			// we planned: its rows are in files the new listing names.
			relists++
			if files, schemas, err = e.listFiles(flt); err != nil {
				break
			}
			files, res.Skipped = e.screen(files)
			continue
		}
		for _, f := range found {
			e.markBad(f.Path, f.Reason)
			res.Skipped = append(res.Skipped, f)
			files = without(files, f.Path)
		}
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("engine: query interrupted after %v: %w", res.Elapsed.Round(time.Millisecond), ctx.Err())
		}
		return res, err
	}
	return res, nil
}

// run defines the flows view over files and executes sqlText once.
func (e *Engine) run(ctx context.Context, conn *sql.Conn, sqlText string, files lakeFiles, from, to time.Time, res *Result, fn func([]Column, []any) error) error {
	if err := e.defineView(ctx, conn, files, from, to); err != nil {
		return err
	}
	return conn.Raw(func(dc any) error {
		dconn, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("engine: unexpected driver connection %T", dc)
		}
		// Prepare without a context: it refuses more than one statement
		// without running any (PrepareContext would run all but the last).
		ds, err := dconn.Prepare(sqlText)
		if err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		defer ds.Close()
		st, ok := ds.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("engine: unexpected driver statement %T", ds)
		}
		typ, err := st.StatementType()
		if err != nil {
			return fmt.Errorf("engine: statement type: %w", err)
		}
		if typ != duckdb.STATEMENT_TYPE_SELECT {
			return ErrNotSelect
		}
		if st.NumInput() > 0 {
			return errors.New("engine: query has parameters ($1, ?): write the values into the query")
		}
		rows, err := st.QueryContext(ctx, nil)
		if err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		defer rows.Close()
		names := rows.Columns()
		cols := make([]Column, len(names))
		typed, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
		for i, n := range names {
			cols[i].Name = n
			if typed != nil {
				cols[i].Type = typed.ColumnTypeDatabaseTypeName(i)
			}
		}
		res.Columns = cols
		n := 0
		for {
			row := make([]driver.Value, len(cols))
			if err := rows.Next(row); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return fmt.Errorf("engine: %w", err)
			}
			if e.cfg.MaxRows > 0 && n == e.cfg.MaxRows {
				res.Truncated = true
				return nil
			}
			n++
			out := make([]any, len(row))
			for i, v := range row {
				out[i] = v
			}
			if err := fn(cols, out); err != nil {
				return err
			}
		}
	})
}

// checkSelect asks DuckDB's own parser whether sqlText is exactly one
// SELECT statement: json_serialize_sql serializes only SELECT statements
// and lists every statement it parsed. run checks the prepared statement's
// type as well; this parser-level check also catches statements that the
// binder would rewrite (PRAGMA into SELECT, for instance).
func checkSelect(ctx context.Context, conn *sql.Conn, sqlText string) error {
	var js string
	if err := conn.QueryRowContext(ctx, "SELECT json_serialize_sql(?::VARCHAR)::VARCHAR", sqlText).Scan(&js); err != nil {
		return fmt.Errorf("engine: parse: %w", err)
	}
	var parsed struct {
		Error      bool              `json:"error"`
		ErrorType  string            `json:"error_type"`
		Message    string            `json:"error_message"`
		Statements []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(js), &parsed); err != nil {
		return fmt.Errorf("engine: parse: %w", err)
	}
	switch {
	case parsed.Error && parsed.ErrorType == "not implemented":
		// DuckDB's message ("Only SELECT statements can be serialized to
		// json!") speaks of its own function; name the statement instead.
		kw := strings.ToUpper(strings.Fields(sqlText + " x")[0])
		switch kw {
		case "SELECT", "WITH", "FROM", "(":
			return fmt.Errorf("%w: a later statement is not a SELECT", ErrNotSelect)
		}
		return fmt.Errorf("%w, not %s", ErrNotSelect, kw)
	case parsed.Error:
		return fmt.Errorf("engine: %s", parsed.Message)
	case len(parsed.Statements) != 1:
		return fmt.Errorf("%w: found %d statements", ErrNotSelect, len(parsed.Statements))
	}
	return nil
}

// lakeFiles are the files a query reads, with the schema key
// (archive.FileInfo.Schema) of those whose schema is known: files of one
// schema are read together without matching columns by name file by file.
type lakeFiles struct {
	paths   []string
	schemas map[string]string // path -> schema key
}

// listFiles returns the absolute paths of the lake files for flt, and the
// schema keys of those the catalog knows.
func (e *Engine) listFiles(flt archive.Filter) ([]string, map[string]string, error) {
	var files []archive.FileInfo
	var err error
	if e.cfg.Files != nil {
		files, err = e.cfg.Files(flt)
	} else {
		var paths []string
		paths, err = globLake(e.flowsDir, flt.From, flt.To)
		for _, p := range paths {
			files = append(files, archive.FileInfo{Path: p})
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("engine: list lake files: %w", err)
	}
	out := make([]string, 0, len(files))
	schemas := map[string]string{}
	for _, fi := range files {
		f := fi.Path
		if !filepath.IsAbs(f) {
			if strings.HasPrefix(filepath.ToSlash(f), "flows/") {
				f = filepath.Join(e.dataDir, f)
			} else if f, err = filepath.Abs(f); err != nil {
				return nil, nil, fmt.Errorf("engine: lake file: %w", err)
			}
		}
		f = filepath.Clean(f)
		out = append(out, f)
		if fi.Schema != "" {
			schemas[f] = fi.Schema
		}
	}
	return out, schemas, nil
}

// screen drops files known to be unreadable and files whose Parquet
// framing (magic at both ends, footer length) is broken — a truncated file
// costs two small reads to detect, not a failed query. Files vanishing
// between listing and query (replaced by compaction, grace delay expired)
// are dropped silently: their rows live in the file that replaced them.
func (e *Engine) screen(files []string) (ok []string, skipped []SkippedFile) {
	ok = files[:0:0]
	for _, f := range files {
		st, err := os.Stat(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			skipped = append(skipped, SkippedFile{Path: f, Reason: err.Error()})
			continue
		}
		e.mu.Lock()
		b, isBad := e.bad[f]
		g, isGood := e.good[f]
		e.mu.Unlock()
		if isBad && b.size == st.Size() && b.mtime.Equal(st.ModTime()) {
			skipped = append(skipped, SkippedFile{Path: f, Reason: b.reason})
			continue
		}
		if isGood && g.size == st.Size() && g.mtime.Equal(st.ModTime()) {
			ok = append(ok, f)
			continue
		}
		if err := checkFraming(f, st.Size()); err != nil {
			e.markBad(f, err.Error())
			skipped = append(skipped, SkippedFile{Path: f, Reason: err.Error()})
			continue
		}
		e.mu.Lock()
		if len(e.good) >= maxGood {
			clear(e.good)
		}
		e.good[f] = fileStamp{size: st.Size(), mtime: st.ModTime()}
		e.mu.Unlock()
		ok = append(ok, f)
	}
	return ok, skipped
}

// checkFraming verifies a Parquet file's "PAR1" magic at both ends and that
// its footer length fits in the file.
func checkFraming(path string, size int64) error {
	if size < 12 {
		return fmt.Errorf("%s: %d bytes, too short for Parquet", path, size)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var head [4]byte
	var tail [8]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if string(head[:]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return fmt.Errorf("%s: not a Parquet file (magic missing; truncated?)", path)
	}
	footer := int64(tail[0]) | int64(tail[1])<<8 | int64(tail[2])<<16 | int64(tail[3])<<24
	if footer+12 > size {
		return fmt.Errorf("%s: footer length %d exceeds file size %d", path, footer, size)
	}
	return nil
}

// markBad remembers that path is unreadable while its size and modification
// time stay the same.
func (e *Engine) markBad(path, reason string) {
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	slog.Warn("engine: skipping unreadable lake file", "path", path, "reason", reason)
	e.mu.Lock()
	if len(e.bad) >= maxGood {
		clear(e.bad)
	}
	e.bad[path] = fileStamp{size: st.Size(), mtime: st.ModTime(), reason: reason}
	delete(e.good, path)
	e.mu.Unlock()
}

// culprits finds the files behind a failed query: the file the error
// names, or — for errors of the kinds corrupt data raises, which DuckDB does
// not always tie to a file — the files that fail a full read, found by
// bisection. Errors a query itself causes (syntax, binding, conversion)
// never trigger the search, which would cost a scan of the range.
func (e *Engine) culprits(ctx context.Context, conn *sql.Conn, err error, files []string) []SkippedFile {
	msg := err.Error()
	best := ""
	for _, f := range files {
		// The longest match wins, so that a.parquet never shadows
		// aa.parquet's error.
		if strings.Contains(msg, f) && len(f) > len(best) {
			best = f
		}
	}
	if best != "" {
		return []SkippedFile{{Path: best, Reason: msg}}
	}
	if !dataError(msg) {
		return nil
	}
	return isolate(ctx, conn, files)
}

// dataError tells whether a DuckDB error message is of a kind that
// unreadable files raise.
func dataError(msg string) bool {
	for _, k := range []string{"Invalid Error", "IO Error", "Serialization Error", "INTERNAL Error", "Internal Error"} {
		if strings.Contains(msg, k) {
			return true
		}
	}
	return false
}

// isolate returns the files that fail a full read, halving the set each
// step: about two full reads of the files in all.
func isolate(ctx context.Context, conn *sql.Conn, files []string) []SkippedFile {
	if len(files) == 0 || ctx.Err() != nil {
		return nil
	}
	err := readAll(ctx, conn, files)
	if err == nil {
		return nil
	}
	if len(files) == 1 {
		reason := err.Error()
		if !strings.Contains(reason, files[0]) {
			reason = files[0] + ": " + reason
		}
		return []SkippedFile{{Path: files[0], Reason: reason}}
	}
	half := len(files) / 2
	return append(isolate(ctx, conn, files[:half]), isolate(ctx, conn, files[half:])...)
}

// readAll decodes every value of every column of files; hashing defeats
// answers from statistics alone.
func readAll(ctx context.Context, conn *sql.Conn, files []string) error {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = quote(f)
	}
	rows, err := conn.QueryContext(ctx, "SELECT bit_xor(hash(COLUMNS(*))) FROM read_parquet(["+strings.Join(q, ", ")+"], union_by_name = true, hive_partitioning = false)")
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(any)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// testHookBeforeRun, when set by a test, runs between planning and each
// execution (to delete a planned file, as compaction may).
var testHookBeforeRun func()

// vanished tells whether any of files no longer exists.
func vanished(files []SkippedFile) bool {
	for _, f := range files {
		if _, err := os.Stat(f.Path); errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

func without(files []string, drop string) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		if f != drop {
			out = append(out, f)
		}
	}
	return out
}

// quote renders s as a SQL string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowlake/flowlake/internal/archive"
)

// Lake files: which files a query reads (from the catalog), screening the
// unreadable ones out before DuckDB sees them, and finding the culprit when
// one fails inside a query.

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

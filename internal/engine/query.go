package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/flowlake/flowlake/internal/archive"
)

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

// QueryFilteredRows is QueryFiltered streaming, as QueryRows.
func (e *Engine) QueryFilteredRows(ctx context.Context, sqlText string, flt archive.Filter, fn func(cols []Column, row []any) error) (*Result, error) {
	return e.queryRows(ctx, sqlText, flt, fn)
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

// testHookBeforeRun, when set by a test, runs between planning and each
// execution (to delete a planned file, as compaction may).
var testHookBeforeRun func()

package engine

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// SQLType is the DuckDB type of a schema column in the flows view
// (schema.Type.DuckDB).
func SQLType(t schema.Type) string { return t.DuckDB() }

// defineView (re)creates the connection's TEMP view flows over files,
// restricted to time_received in [from, to) when those are set.
func (e *Engine) defineView(ctx context.Context, conn *sql.Conn, lake lakeFiles, from, to time.Time) error {
	files := lake.paths
	view := viewSQL(lake, from, to, nil)
	_, err := conn.ExecContext(ctx, view)
	if err != nil && len(files) > 0 && strings.Contains(err.Error(), "Binder Error") {
		// A column added to the schema after every file in range was
		// written: find the columns the files do have and fill the rest
		// with NULLs.
		have, derr := fileColumns(ctx, conn, files)
		if derr != nil {
			return fmt.Errorf("engine: define flows view: %w", err)
		}
		_, err = conn.ExecContext(ctx, viewSQL(lake, from, to, have))
	}
	if err != nil {
		return fmt.Errorf("engine: define flows view: %w", err)
	}
	for _, t := range e.cfg.Tables {
		if _, serr := os.Stat(t.Path); serr != nil {
			continue
		}
		if _, err := conn.ExecContext(ctx, fileTableSQL(t)); err != nil {
			return fmt.Errorf("engine: define %s view: %w", t.Name, err)
		}
	}
	return nil
}

// fileTableSQL builds the view over a CSV table; names and types come from
// the program, the path is quoted.
func fileTableSQL(t FileTable) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE OR REPLACE TEMP VIEW %s AS SELECT * FROM read_csv(%s, header = true, auto_detect = false, columns = {",
		quoteIdent(t.Name), quoteLit(t.Path))
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %s", quoteLit(c.Name), quoteLit(c.Type))
	}
	b.WriteString("})")
	return b.String()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteLit(s string) string   { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// viewSQL builds the CREATE VIEW statement. have, when not nil, is the set
// of columns present in the files; others become typed NULLs.
//
// Files of one schema are read by one read_parquet; files of schemas that
// carry reverse flows (archive.Paired: compacted files, where a row may
// hold a connection's two flows) by a second one too, for those reverse
// flows (archive.PairedColumnSQL), so that the view holds every flow once,
// whatever the files' layout.
func viewSQL(lake lakeFiles, from, to time.Time, have map[string]bool) string {
	var b strings.Builder
	b.WriteString("CREATE OR REPLACE TEMP VIEW flows AS ")
	if len(lake.paths) == 0 {
		writeColumns(&b, func(int) (string, bool) { return "", false })
		b.WriteString(" WHERE false")
		return b.String()
	}
	for i, g := range fileGroups(lake, have) {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		writeBranch(&b, g, false, from, to, have)
		if g.paired {
			b.WriteString(" UNION ALL ")
			writeBranch(&b, g, true, from, to, have)
		}
	}
	return b.String()
}

// fileGroup is files read by one read_parquet.
type fileGroup struct {
	paths  []string
	byName bool // union_by_name: the files' schemas differ or are unknown
	paired bool // the files carry reverse flows
}

// fileGroups splits the lake's files by schema. union_by_name matches
// every file's columns by name and costs a quarter of a full scan on 170
// files (the metadata of each file read twice), so it is used only for
// files whose schema is unknown, or when have shows that some files lack
// columns: then all files are read as one group.
func fileGroups(lake lakeFiles, have map[string]bool) []fileGroup {
	known := have == nil
	for _, p := range lake.paths {
		known = known && lake.schemas[p] != ""
	}
	if !known {
		return []fileGroup{{paths: lake.paths, byName: true, paired: have == nil || have[archive.PairedSQL]}}
	}
	var groups []fileGroup
	at := map[string]int{}
	for _, p := range lake.paths {
		key := lake.schemas[p]
		i, ok := at[key]
		if !ok {
			i = len(groups)
			at[key] = i
			groups = append(groups, fileGroup{paired: archive.Paired(key)})
		}
		groups[i].paths = append(groups[i].paths, p)
	}
	return groups
}

// writeBranch writes the SELECT of g's flows: the files' rows, or (rev)
// the reverse flows some rows carry.
func writeBranch(b *strings.Builder, g fileGroup, rev bool, from, to time.Time, have map[string]bool) {
	writeColumns(b, func(i int) (string, bool) {
		expr, col := ident(schema.Columns[i].Name), schema.Columns[i].Name
		if rev {
			expr, col = archive.PairedColumnSQL(i)
		}
		return expr, have == nil || have[col]
	})
	// hive_partitioning off: the date=/hour= directory names would
	// otherwise become extra columns, and the files are already chosen by
	// time.
	b.WriteString(" FROM read_parquet([")
	for i, f := range g.paths {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(f))
	}
	fmt.Fprintf(b, "], union_by_name = %t, hive_partitioning = false)", g.byName)
	var conds []string
	if rev {
		conds = append(conds, archive.PairedSQL)
	}
	recv := ident("time_received")
	if rev {
		recv, _ = archive.PairedColumnSQL(flow.ColTimeReceived)
	}
	if have == nil || have["time_received"] {
		if !from.IsZero() {
			conds = append(conds, recv+" >= "+tsLiteral(from))
		}
		if !to.IsZero() {
			conds = append(conds, recv+" < "+tsLiteral(to))
		}
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
}

// writeColumns writes "SELECT" and the view's columns: column i is
// expr(i) when ok, else a typed NULL (the files lack it).
func writeColumns(b *strings.Builder, expr func(i int) (string, bool)) {
	b.WriteString("SELECT ")
	for i, c := range schema.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		typ := SQLType(c.Type)
		e, ok := expr(i)
		if !ok {
			fmt.Fprintf(b, "CAST(NULL AS %s) AS %s", typ, ident(c.Name))
			continue
		}
		// Casts to the type a column already has are dropped by DuckDB's
		// binder, so they cost nothing and keep filter pushdown; they make
		// the view's types independent of how a file was written.
		fmt.Fprintf(b, "CAST(%s AS %s) AS %s", e, typ, ident(c.Name))
	}
}

// fileColumns returns the union of the column names in files.
func fileColumns(ctx context.Context, conn *sql.Conn, files []string) (map[string]bool, error) {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = quote(f)
	}
	rows, err := conn.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(["+strings.Join(q, ", ")+"], union_by_name = true, hive_partitioning = false))")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		have[n] = true
	}
	return have, rows.Err()
}

// tsLiteral renders t as a TIMESTAMPTZ literal; it compares with the
// files' UTC-adjusted column without a cast, so the filter reaches the
// Parquet statistics.
func tsLiteral(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
}

// ident quotes a column name as a SQL identifier.
func ident(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// globLake lists dir/date=YYYY-MM-DD/hour=HH/*.parquet whose hour overlaps
// [from, to): the fallback when no catalog is configured.
func globLake(dir string, from, to time.Time) ([]string, error) {
	dates, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, d := range dates {
		day, ok := strings.CutPrefix(d.Name(), "date=")
		if !d.IsDir() || !ok {
			continue
		}
		hours, err := os.ReadDir(filepath.Join(dir, d.Name()))
		if err != nil {
			return nil, err
		}
		for _, h := range hours {
			hh, ok := strings.CutPrefix(h.Name(), "hour=")
			if !h.IsDir() || !ok {
				continue
			}
			start, err := time.Parse("2006-01-02 15", day+" "+hh)
			if err != nil {
				continue
			}
			if (!to.IsZero() && !start.Before(to)) || (!from.IsZero() && !start.Add(time.Hour).After(from)) {
				continue
			}
			matches, err := filepath.Glob(filepath.Join(dir, d.Name(), h.Name(), "*.parquet"))
			if err != nil {
				return nil, err
			}
			files = append(files, matches...)
		}
	}
	sort.Strings(files)
	return files, nil
}

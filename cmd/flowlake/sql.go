package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/engine"
)

func init() {
	var (
		dataDir, format, from, to, memLimit string
		timeout                             time.Duration
		maxRows, threads                    int
	)
	cmd := &cobra.Command{
		Use:   "sql 'SELECT ...'",
		Short: "Run a read-only SQL query over the flow archive (DuckDB)",
		Long: `Run one SELECT statement over the archive with embedded DuckDB.

The view flows holds every archived flow (columns as in the flow schema;
times are TIMESTAMPTZ in UTC, addresses 16-byte BLOBs). ip('10.1.1.8') turns
text into an address, ip_str(src_addr) back. --from/--to restrict the view
to flows received in [from, to) and read only the files that cover it:

  flowlake sql --from 2026-03-03 --to 2026-03-04 \
    "SELECT * FROM flows WHERE src_addr = ip('10.1.1.8') AND dst_addr = ip('136.144.58.113') AND dst_port = 443"

The query is sandboxed: a single SELECT/WITH statement, no file access
outside <data-dir>/flows, no extensions, no settings.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "table", "csv", "json", "jsonl":
			default:
				return fmt.Errorf("--format %q: want table, csv, json or jsonl", format)
			}
			now := time.Now().UTC()
			fromT, err := parseWhen(from, now)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			toT, err := parseWhen(to, now)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if maxRows == 0 && format == "table" {
				// A table is for reading; a million lines is not.
				maxRows = 10000
			}
			eng, err := engine.Open(engine.Config{
				DataDir: dataDir, Timeout: timeout, MaxRows: maxRows, Threads: threads, MemoryLimit: memLimit,
				// Plan with the archive's catalog: no directory listing,
				// and files are chosen by their real time range.
				Files: archive.Lister(dataDir),
			})
			if err != nil {
				return err
			}
			defer eng.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			w := newSQLWriter(format, out)
			res, err := eng.QueryRows(ctx, args[0], fromT, toT, w.row)
			if err != nil {
				return err
			}
			if err := w.finish(res.Columns); err != nil {
				return err
			}
			errOut := cmd.ErrOrStderr()
			for _, s := range res.Skipped {
				fmt.Fprintf(errOut, "flowlake: skipped unreadable file %s: %s\n", s.Path, s.Reason)
			}
			if res.Truncated {
				fmt.Fprintf(errOut, "flowlake: output truncated to %d rows (--max-rows)\n", maxRows)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "./data", "archive data directory")
	f.StringVar(&format, "format", "table", "output format: table, csv, json or jsonl")
	f.StringVar(&from, "from", "", "only flows received at or after: RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] (UTC), or a duration ago (24h)")
	f.StringVar(&to, "to", "", "only flows received before (same forms as --from)")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "interrupt the query after this long (0: never)")
	f.IntVar(&maxRows, "max-rows", 0, "stop after this many rows (0: 10000 for table, else unlimited)")
	f.IntVar(&threads, "threads", 0, "DuckDB threads (0: all CPUs)")
	f.StringVar(&memLimit, "memory-limit", "", "DuckDB memory limit, e.g. 4GB (default: 80% of RAM)")
	rootCmd.AddCommand(cmd)
}

// parseWhen reads a --from/--to value; "" is the zero time (unbounded).
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] or a duration such as 24h", s)
}

// sqlWriter renders rows in one output format; csv and jsonl stream,
// table and json need every row first.
type sqlWriter struct {
	format string
	out    io.Writer
	csv    *csv.Writer
	cols   []engine.Column
	rows   [][]any
	n      int
}

func newSQLWriter(format string, out io.Writer) *sqlWriter {
	w := &sqlWriter{format: format, out: out}
	if format == "csv" {
		w.csv = csv.NewWriter(out)
	}
	return w
}

func (w *sqlWriter) row(cols []engine.Column, row []any) error {
	if w.cols == nil {
		w.cols = cols
		if w.csv != nil {
			if err := w.csv.Write(columnNames(cols)); err != nil {
				return err
			}
		}
	}
	w.n++
	switch w.format {
	case "csv":
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = engine.FormatValue(v)
		}
		return w.csv.Write(rec)
	case "jsonl":
		b, err := jsonObject(cols, row)
		if err != nil {
			return err
		}
		_, err = w.out.Write(append(b, '\n'))
		return err
	}
	w.rows = append(w.rows, row)
	return nil
}

// finish writes what the buffered formats hold, and the header of a csv
// without rows.
func (w *sqlWriter) finish(cols []engine.Column) error {
	switch w.format {
	case "csv":
		if w.n == 0 {
			if err := w.csv.Write(columnNames(cols)); err != nil {
				return err
			}
		}
		w.csv.Flush()
		return w.csv.Error()
	case "json":
		if _, err := io.WriteString(w.out, "["); err != nil {
			return err
		}
		for i, row := range w.rows {
			b, err := jsonObject(cols, row)
			if err != nil {
				return err
			}
			sep := ",\n"
			if i == 0 {
				sep = "\n"
			}
			if _, err := io.WriteString(w.out, sep+string(b)); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w.out, "\n]\n")
		return err
	case "table":
		tw := tabwriter.NewWriter(w.out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(columnNames(cols), "\t"))
		for _, row := range w.rows {
			cells := make([]string, len(row))
			for i, v := range row {
				// Tabs and newlines inside a value would break the columns.
				cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(engine.FormatValue(v))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		fmt.Fprintf(tw, "(%d rows)\n", len(w.rows))
		return tw.Flush()
	}
	return nil
}

func columnNames(cols []engine.Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// jsonObject renders a row as a JSON object with keys in column order.
func jsonObject(cols []engine.Column, row []any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, v := range row {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(cols[i].Name)
		b.Write(k)
		b.WriteByte(':')
		val, err := json.Marshal(engine.JSONValue(v))
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

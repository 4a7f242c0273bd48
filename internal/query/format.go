package query

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Formats lists the output formats of Write.
var Formats = []string{"table", "csv", "json", "jsonl"}

// Write prints resp in format: an aligned table, CSV with a header, one
// JSON document (the API's response) or one JSON object per row.
func Write(w io.Writer, format string, resp *Response) error {
	switch format {
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		names := make([]string, len(resp.Columns))
		for i, c := range resp.Columns {
			names[i] = c.Name
		}
		fmt.Fprintln(tw, strings.Join(names, "\t"))
		for _, r := range resp.Rows {
			for i, v := range r {
				if i > 0 {
					fmt.Fprint(tw, "\t")
				}
				fmt.Fprint(tw, text(v))
			}
			fmt.Fprintln(tw)
		}
		return tw.Flush()
	case "csv":
		cw := csv.NewWriter(w)
		names := make([]string, len(resp.Columns))
		for i, c := range resp.Columns {
			names[i] = c.Name
		}
		_ = cw.Write(names)
		rec := make([]string, len(resp.Columns))
		for _, r := range resp.Rows {
			for i, v := range r {
				rec[i] = text(v)
			}
			_ = cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	case "jsonl":
		enc := json.NewEncoder(w)
		for _, r := range resp.Rows {
			obj := make(map[string]any, len(r))
			for i, v := range r {
				obj[resp.Columns[i].Name] = v
			}
			if err := enc.Encode(obj); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%g", x)
	default:
		if b, err := json.Marshal(x); err == nil && (len(b) == 0 || b[0] == '[' || b[0] == '{') {
			return string(b)
		}
		return fmt.Sprint(x)
	}
}

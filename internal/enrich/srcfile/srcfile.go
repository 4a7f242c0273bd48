// Package srcfile holds what the enrichment source files (networks and
// inventory, YAML/JSON/CSV) share: errors that name the file and line, and
// the `key=value;key=value` tag syntax.
package srcfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// LineError reports a bad entry with the file and line it is on.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// CSVError turns an encoding/csv error into a LineError when it has a line.
func CSVError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return At(path, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// ParseTags reads `k=v;k=v` (spaces around keys and values trimmed); an
// empty string gives nil.
func ParseTags(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	tags := map[string]string{}
	for kv := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("bad tag %q: want key=value", kv)
		}
		tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return tags, nil
}

// TagString renders tags as `k=v;k=v` sorted by key ("" for none).
func TagString(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k + "=" + tags[k])
	}
	return b.String()
}

// ReadCSV reads the CSV source file path (its content data): a header row
// naming the columns (any case; aliases maps other names to a column's),
// which must include key, then one entry a row. row gets each record's line
// and its values by column name ("" for a column the file lacks). columns
// lists the known columns for the error about a missing key.
func ReadCSV(path string, data []byte, key, columns string, aliases map[string]string, row func(line int, get func(name string) string) error) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err == io.EOF {
		return At(path, 1, errors.New("empty file: want a header row"))
	}
	if err != nil {
		return CSVError(path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if a, ok := aliases[h]; ok {
			h = a
		}
		col[h] = i
	}
	if _, ok := col[key]; !ok {
		line, _ := r.FieldPos(0)
		return At(path, line, fmt.Errorf("header has no %s column (columns: %s)", key, columns))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return CSVError(path, err)
		}
		line, _ := r.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if err := row(line, get); err != nil {
			return err
		}
	}
}

// At returns a LineError for line of file.
func At(file string, line int, err error) *LineError {
	return &LineError{File: file, Line: line, Err: err}
}

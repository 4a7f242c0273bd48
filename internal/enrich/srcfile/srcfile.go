// Package srcfile holds what the enrichment source files (networks and
// inventory, YAML/JSON/CSV) share: errors that name the file and line, and
// the `key=value;key=value` tag syntax.
package srcfile

import (
	"encoding/csv"
	"errors"
	"fmt"
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

// At returns a LineError for line of file.
func At(file string, line int, err error) *LineError {
	return &LineError{File: file, Line: line, Err: err}
}

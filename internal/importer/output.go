package importer

import (
	"bufio"
	"fmt"
	"io"

	"github.com/flowlake/flowlake/internal/flow"
)

// JSONLines is a flow.Writer that writes one JSON object per row: the
// output of `flowlake import --out` until the archive is the default.
type JSONLines struct {
	w   *bufio.Writer
	buf []byte
}

// NewJSONLines writes rows to w; call Flush at the end.
func NewJSONLines(w io.Writer) *JSONLines {
	return &JSONLines{w: bufio.NewWriterSize(w, 256<<10)}
}

// WriteBatch implements flow.Writer.
func (j *JSONLines) WriteBatch(b *flow.Batch) error {
	for i := 0; i < b.Len(); i++ {
		j.buf = b.AppendJSON(j.buf[:0], i)
		j.buf = append(j.buf, '\n')
		if _, err := j.w.Write(j.buf); err != nil {
			return fmt.Errorf("json lines: %w", err)
		}
	}
	return nil
}

// Flush writes buffered rows out.
func (j *JSONLines) Flush() error { return j.w.Flush() }

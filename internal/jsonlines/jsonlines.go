// Package jsonlines writes flows as JSON lines: one object per flow, keyed by
// schema column name. It is the debugging and pipe-to-anything output of
// `flowlake serve --jsonl`, `flowlake decode` and `flowlake import --out`.
package jsonlines

import (
	"bufio"
	"fmt"
	"io"
	"sync"

	"github.com/flowlake/flowlake/internal/flow"
)

// Writer is a flow.Writer writing one JSON object per row. It is safe for
// concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   *bufio.Writer
	buf []byte
}

// New writes rows to w; call Flush at the end.
func New(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 256<<10)}
}

// WriteBatch implements flow.Writer.
func (j *Writer) WriteBatch(b *flow.Batch) error {
	j.mu.Lock()
	defer j.mu.Unlock()
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
func (j *Writer) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.w.Flush()
}

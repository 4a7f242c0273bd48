// Package jsonl writes flows as JSON lines: one object per flow, keyed by
// schema column name. Encoder is the synchronous writer of `flowlake
// decode` and `flowlake import --out`; Output is the driver behind
// output.Output that `flowlake serve --jsonl` (output.jsonl) runs, fed
// through a bounded queue so a slow file or pipe never stalls collection.
package jsonl

import (
	"bufio"
	"fmt"
	"io"
	"sync"

	"github.com/flowlake/flowlake/internal/flow"
)

// Encoder is a flow.Writer writing one JSON object per row. It is safe for
// concurrent use.
type Encoder struct {
	mu  sync.Mutex
	w   *bufio.Writer
	buf []byte
}

// NewEncoder writes rows to w; call Flush at the end.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: bufio.NewWriterSize(w, 256<<10)}
}

// WriteBatch implements flow.Writer.
func (j *Encoder) WriteBatch(b *flow.Batch) error {
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
func (j *Encoder) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.w.Flush()
}

package enrich

import "github.com/flowlake/flowlake/internal/flow"

// Writer returns a flow.Writer that enriches each batch in place, then hands
// it to w: the enrichment stage for inputs that push batches (importers).
// Flush and Close pass through to w when it has them.
func (e *Enricher) Writer(w flow.Writer) *StageWriter {
	return &StageWriter{e: e, w: w}
}

// StageWriter is the writer Writer returns.
type StageWriter struct {
	e *Enricher
	w flow.Writer
}

// WriteBatch implements flow.Writer.
func (s *StageWriter) WriteBatch(b *flow.Batch) error {
	s.e.Enrich(b)
	return s.w.WriteBatch(b)
}

// Flush flushes the next writer, if it buffers.
func (s *StageWriter) Flush() error {
	if f, ok := s.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

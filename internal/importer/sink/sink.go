// Package sink is the hand-off between a flow log parser and the import
// runner: parsers add rows to a batch, the runner decides what happens to a
// full batch (skip already imported rows, write, record progress).
package sink

import "github.com/flowlake/flowlake/internal/flow"

// DefaultBatchSize is the number of rows handed over at a time.
const DefaultBatchSize = 8192

// Sink collects parsed rows into Batch and hands full batches to Flush.
type Sink struct {
	// Batch holds the rows not yet flushed.
	Batch *flow.Batch
	// Size is the number of rows at which Row flushes (DefaultBatchSize if 0).
	Size int
	// FlushFn consumes a batch; the sink truncates it afterwards.
	FlushFn func(b *flow.Batch) error
	// BadFn is told about every malformed record: pos is the line number for
	// line formats, the record/tuple number for JSON formats.
	BadFn func(pos int64, err error)
}

// New returns a sink that calls flush with full batches and bad for
// malformed records (either may be nil).
func New(flush func(*flow.Batch) error, bad func(int64, error)) *Sink {
	return &Sink{Batch: new(flow.Batch), FlushFn: flush, BadFn: bad}
}

// Row appends one zeroed row and returns its index, flushing first when the
// batch is full.
func (s *Sink) Row() (int, error) {
	size := s.Size
	if size <= 0 {
		size = DefaultBatchSize
	}
	if s.Batch.Len() >= size {
		if err := s.Flush(); err != nil {
			return 0, err
		}
	}
	return s.Batch.Extend(1), nil
}

// Add appends one row and fills it; when fill fails the row is dropped and
// reported as malformed at pos. kept tells which; err is a flush's error
// only.
func (s *Sink) Add(pos int64, fill func(b *flow.Batch, i int) error) (kept bool, err error) {
	i, err := s.Row()
	if err != nil {
		return false, err
	}
	if err := fill(s.Batch, i); err != nil {
		s.Drop(i)
		s.Bad(pos, err)
		return false, nil
	}
	return true, nil
}

// Drop removes row i (the last one) after the record turned out malformed.
func (s *Sink) Drop(i int) { s.Batch.Truncate(i) }

// Bad reports a malformed record.
func (s *Sink) Bad(pos int64, err error) {
	if s.BadFn != nil {
		s.BadFn(pos, err)
	}
}

// Flush hands the pending rows over, if any.
func (s *Sink) Flush() error {
	if s.Batch.Len() == 0 {
		return nil
	}
	if s.FlushFn != nil {
		if err := s.FlushFn(s.Batch); err != nil {
			return err
		}
	}
	s.Batch.Truncate(0)
	return nil
}

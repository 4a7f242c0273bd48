// Package recorder keeps what a flow log parser or an import hands over,
// for tests: every row as a flow.Record and every malformed-record report.
package recorder

import (
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
)

// Bad is one malformed-record report.
type Bad struct {
	Pos int64
	Err string
}

// Recorder is a flow.Writer and a sink's flush and bad-record callbacks.
type Recorder struct {
	Rows []flow.Record
	Bads []Bad
}

// WriteBatch keeps b's rows.
func (r *Recorder) WriteBatch(b *flow.Batch) error {
	for i := 0; i < b.Len(); i++ {
		var rec flow.Record
		b.Row(i, &rec)
		r.Rows = append(r.Rows, rec)
	}
	return nil
}

// Bad keeps a malformed-record report.
func (r *Recorder) Bad(pos int64, err error) {
	r.Bads = append(r.Bads, Bad{pos, err.Error()})
}

// Sink is a sink that hands its batches and reports to r, flushing every
// size rows (sink.DefaultBatchSize if 0).
func (r *Recorder) Sink(size int) *sink.Sink {
	s := sink.New(r.WriteBatch, r.Bad)
	s.Size = size
	return s
}

// BadPositions lists the reports' positions.
func (r *Recorder) BadPositions() []int64 {
	pos := make([]int64, len(r.Bads))
	for i, b := range r.Bads {
		pos[i] = b.Pos
	}
	return pos
}

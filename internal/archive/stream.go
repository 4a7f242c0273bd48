package archive

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// stream is the flush file of one hour being built: batches are encoded
// into its Parquet column writers as they arrive, so between flushes the
// archive holds compressed pages (a few tens of bytes a flow) instead of a
// copy of every column of every flow (about half a kilobyte a flow, strings
// included, which the garbage collector had to scan on every cycle: most of
// the ingest CPU and a 2.5 GB heap at 512 Ki flows per flush).
type stream struct {
	hour   int64
	fw     *fileWriter // its w writes the open file
	out    *bytes.Buffer
	vals   []parquet.Value
	rows   int
	rgRows int    // rows in the row group being built
	used   uint64 // Archive.useSeq at the last append
	lo, hi int64
}

// encodedFile is a finished flush file in memory: written to disk at once,
// or kept while writing fails.
type encodedFile struct {
	data   []byte
	rows   int
	lo, hi int64
}

func newStream(fw *fileWriter, hour int64) *stream {
	out := new(bytes.Buffer)
	fw.writer(out)
	return &stream{hour: hour, fw: fw, out: out, vals: make([]parquet.Value, 0, valueChunk)}
}

// append encodes all rows of b (all of the stream's hour; lo and hi are
// timeRange(b), which the caller has). On error the stream is unusable:
// some columns may hold the rows, others not.
func (s *stream) append(b *flow.Batch, lo, hi int64) error {
	n := b.Len()
	cols := s.fw.w.ColumnWriters()
	for c := range schema.Columns {
		for lo := 0; lo < n; lo += valueChunk {
			hi := min(lo+valueChunk, n)
			s.vals = columnValues(s.vals[:cap(s.vals)], b, c, lo, hi)
			if _, err := cols[c].WriteRowValues(s.vals); err != nil {
				return fmt.Errorf("column %s: %w", schema.Columns[c].Name, err)
			}
		}
	}
	if s.rows == 0 {
		s.lo, s.hi = lo, hi
	} else {
		s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
	}
	s.rows += n
	s.rgRows += n
	if rg := s.fw.opt.rowGroupRows; rg > 0 && s.rgRows >= rg {
		// Row groups end at batch boundaries, a batch past the target at
		// most: the unit of pruning needs no exact size.
		if err := s.fw.w.Flush(); err != nil {
			return err
		}
		s.rgRows = 0
	}
	return nil
}

// finish closes the file and returns it. The stream's writer may be reused
// afterwards (fileWriter.writer resets it).
func (s *stream) finish() (*encodedFile, error) {
	s.fw.w.SetKeyValueMetadata(metaMinTime, strconv.FormatInt(s.lo, 10))
	s.fw.w.SetKeyValueMetadata(metaMaxTime, strconv.FormatInt(s.hi, 10))
	if err := s.fw.w.Close(); err != nil {
		s.fw.w = nil // a writer that failed half-way is in an unknown state
		return nil, err
	}
	return &encodedFile{data: s.out.Bytes(), rows: s.rows, lo: s.lo, hi: s.hi}, nil
}

// writeTo writes the file's bytes.
func (f *encodedFile) writeTo(w io.Writer) error {
	_, err := w.Write(f.data)
	return err
}

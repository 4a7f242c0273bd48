package archive

import (
	"bytes"
	"fmt"
	"io"

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
	key    streamKey
	fw     *fileWriter // its w writes the open file
	out    *bytes.Buffer
	vals   []parquet.Value
	rows   int
	rgRows int    // rows in the row group being built
	used   uint64 // Archive.useSeq at the last append
	ext    extent
	// stage gathers the rows of a bucket from successive batches until
	// stageRows are in, then they are encoded together: encoding 64 rows
	// of each of 16 buckets per batch touched 16 files' column buffers and
	// dictionaries per column and measured 1.9x the CPU of one file.
	stage *flow.Batch
}

// stageRows is how many rows a bucketed stream gathers before encoding.
const stageRows = 2048

// streamKey names a flush file being built: flows of one hour whose
// src_addr falls in bucket of buckets (SrcBucket).
type streamKey struct {
	hour            int64
	bucket, buckets int
}

// encodedFile is a finished flush file in memory: written to disk at once,
// or kept while writing fails.
type encodedFile struct {
	data []byte
	rows int
	key  streamKey
	ext  extent
}

func newStream(fw *fileWriter, key streamKey) *stream {
	out := new(bytes.Buffer)
	fw.writer(out)
	return &stream{key: key, fw: fw, out: out, vals: make([]parquet.Value, 0, valueChunk)}
}

// append encodes the rows (nil: all) of b, all of the stream's hour and
// bucket; rows of a bucket are staged first (see stage). On error the
// stream is unusable: some columns may hold the rows, others not.
func (s *stream) append(b *flow.Batch, rows []int) error {
	if rows == nil {
		s.rows += b.Len()
		if err := s.flushStage(); err != nil {
			return err
		}
		return s.encode(b)
	}
	if s.stage == nil {
		s.stage = new(flow.Batch)
	}
	s.stage.AppendRows(b, rows)
	s.rows += len(rows)
	if s.stage.Len() < stageRows {
		return nil
	}
	return s.flushStage()
}

// flushStage encodes the staged rows.
func (s *stream) flushStage() error {
	if s.stage == nil || s.stage.Len() == 0 {
		return nil
	}
	err := s.encode(s.stage)
	s.stage.Truncate(0)
	return err
}

// encode encodes every row of b.
func (s *stream) encode(b *flow.Batch) error {
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
	s.ext.merge(extentOf(b))
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
	if err := s.flushStage(); err != nil {
		s.fw.w = nil
		return nil, err
	}
	for _, kv := range s.ext.meta(s.key.bucket, s.key.buckets) {
		s.fw.w.SetKeyValueMetadata(kv[0], kv[1])
	}
	if err := s.fw.w.Close(); err != nil {
		s.fw.w = nil // a writer that failed half-way is in an unknown state
		return nil, err
	}
	return &encodedFile{data: s.out.Bytes(), rows: s.rows, key: s.key, ext: s.ext}, nil
}

// writeTo writes the file's bytes.
func (f *encodedFile) writeTo(w io.Writer) error {
	_, err := w.Write(f.data)
	return err
}

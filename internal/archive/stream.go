package archive

import (
	"io"

	"github.com/flowlake/flowlake/internal/flow"
)

// stream is the flush file of one hour being built: batches are encoded
// into its page buffers as they arrive, so between flushes the archive
// holds compressed pages (a few tens of bytes a flow) instead of a copy of
// every column of every flow (about half a kilobyte a flow, strings
// included, which the garbage collector had to scan on every cycle: most of
// the ingest CPU and a 2.5 GB heap at 512 Ki flows per flush).
type stream struct {
	key  streamKey
	ff   *flushFile
	rows int
	used uint64 // Archive.useSeq at the last append
	ext  extent
}

// streamKey names a flush file being built: flows of one hour whose
// address pair falls in bucket of buckets (PairBucket).
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

func newStream(ff *flushFile, key streamKey) *stream {
	return &stream{key: key, ff: ff}
}

// added accounts for the rows (nil: all) of b appended to the stream's
// file and returns how many they are.
func (s *stream) added(b *flow.Batch, rows []int) int {
	e := extentOf(b, rows)
	s.rows += e.n
	s.ext.merge(e)
	return e.n
}

// finish closes the file and returns it. The stream's flushFile may be
// reused afterwards.
func (s *stream) finish() (*encodedFile, error) {
	data, err := s.ff.finish(s.ext.meta(s.key.bucket, s.key.buckets))
	if err != nil {
		s.ff.reset()
		return nil, err
	}
	return &encodedFile{data: data, rows: s.rows, key: s.key, ext: s.ext}, nil
}

// writeTo writes the file's bytes.
func (f *encodedFile) writeTo(w io.Writer) error {
	_, err := w.Write(f.data)
	return err
}

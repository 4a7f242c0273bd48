package archive

import (
	"cmp"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// maxStreams bounds the hours with a flush file open at once: each holds
// its columns' page buffers (a few MB), and an import of old logs out of
// time order would otherwise open one per hour it touches.
const maxStreams = 4

// WriteBatch encodes b's flows into the flush file of their hour; they
// reach disk at the next flush. It implements flow.Writer and never fails
// because the disk does: while writing fails, flows are kept (encoded) up to
// MaxBufferedRows and beyond that dropped and counted
// (flowlake_archive_dropped_flows_total).
func (a *Archive) WriteBatch(b *flow.Batch) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errors.New("archive: closed")
	}
	// An empty archive takes any batch, so a batch larger than the bound is
	// not dropped while the disk works.
	if a.pending > 0 && a.pending+n > a.cfg.MaxBufferedRows {
		first := !a.dropping
		a.dropping = true
		a.mu.Unlock()
		a.m.dropped.Add(float64(n))
		if first {
			slog.Error("archive: buffer full, dropping flows until writing catches up", "buffered", a.cfg.MaxBufferedRows)
		}
		return nil
	}
	full := a.encodeLocked(b)
	a.m.buffered.Set(float64(a.pending))
	retry := !a.failing || time.Since(a.lastFail) >= a.cfg.FlushInterval
	a.mu.Unlock()
	if !full {
		return nil
	}
	if a.running.Load() {
		select {
		case a.kick <- struct{}{}:
		default:
		}
		return nil
	}
	if retry {
		// Without Run nobody else flushes: do it here. Errors are logged
		// and counted by Flush; the flows stay buffered.
		_ = a.Flush()
	}
	return nil
}

// encodeLocked adds b to the streams of its hours and buckets and reports
// whether a flush is due.
func (a *Archive) encodeLocked(b *flow.Batch) (full bool) {
	lo, hi := timeRange(b)
	if hour := hourOf(lo); hour == hourOf(hi) {
		if a.buckets <= 1 {
			return a.appendLocked(b, []streamKey{{hour: hour}}, [][]int{nil})
		}
		// One hour, buckets: rows split by bucket without a map lookup
		// per row (the collector's case).
		if len(a.bucketRows) < a.buckets {
			a.bucketRows = make([][]int, a.buckets)
		}
		byBucket := a.bucketRows[:a.buckets]
		for i := range byBucket {
			byBucket[i] = byBucket[i][:0]
		}
		for i := range b.SrcAddr {
			k := PairBucket(b.SrcAddr[i], b.DstAddr[i], a.buckets)
			byBucket[k] = append(byBucket[k], i)
		}
		var keys []streamKey
		var rows [][]int
		for k, r := range byBucket {
			if len(r) > 0 {
				keys = append(keys, streamKey{hour: hour, bucket: k, buckets: a.buckets})
				rows = append(rows, r)
			}
		}
		full = a.appendLocked(b, keys, rows)
		if b.Len() > 64<<10 {
			a.bucketRows = nil // scratch of an unusual batch: let it go
		}
		return full
	}
	// Flows of several hours (late exporters, imports of old logs) or
	// buckets: each file stays inside its partition and bucket. The rows of
	// each are picked by index.
	var order []streamKey
	for i, t := range b.TimeReceived {
		k := streamKey{hour: hourOf(t)}
		if a.buckets > 1 {
			k.bucket, k.buckets = PairBucket(b.SrcAddr[i], b.DstAddr[i], a.buckets), a.buckets
		}
		rows := a.keyRows[k]
		if len(rows) == 0 {
			order = append(order, k)
		}
		a.keyRows[k] = append(rows, i)
	}
	rows := make([][]int, len(order))
	for i, k := range order {
		rows[i] = a.keyRows[k]
	}
	full = a.appendLocked(b, order, rows)
	for k, rows := range a.keyRows {
		if cap(rows) > 4*b.Len() || len(a.keyRows) > 4*maxStreams*a.cfg.Buckets {
			delete(a.keyRows, k) // scratch of an unusual batch: let it go
			continue
		}
		a.keyRows[k] = rows[:0]
	}
	return full
}

// appendLocked encodes the rows rows[i] (nil: all) of b, all of keys[i]'s
// hour and bucket, into keys[i]'s stream.
func (a *Archive) appendLocked(b *flow.Batch, keys []streamKey, rows [][]int) (full bool) {
	streams := make([]*stream, len(keys))
	for i, k := range keys {
		s := a.streams[k]
		if s == nil {
			if len(a.streams) >= maxStreams*max(a.buckets, 1) {
				a.finishLeastRecentLocked(keys)
				full = true
			}
			var ff *flushFile
			if k := len(a.idle); k > 0 {
				ff, a.idle = a.idle[k-1], a.idle[:k-1]
			} else {
				ff = newFlushFile(a.cfg.RowGroupRows, flushLevel)
			}
			s = newStream(ff, k)
			a.streams[k] = s
		}
		a.useSeq++
		s.used = a.useSeq
		streams[i] = s
	}
	files := make([]*flushFile, len(streams))
	for i, s := range streams {
		files[i] = s.ff
	}
	if err := appendBatch(b, files, rows); err != nil {
		// Encoding into memory does not fail on bad input (every value of
		// every column has a Parquet form); this is a bug, and the
		// streams' flows are lost with it.
		var lost int
		for _, s := range streams {
			delete(a.streams, s.key)
			s.ff.reset()
			a.idle = append(a.idle, s.ff)
			a.pending -= s.rows
			a.open -= s.rows
			lost += s.rows
		}
		a.m.dropped.Add(float64(lost + b.Len()))
		a.m.writeErrors.Inc()
		slog.Error("archive: encoding flows failed; dropping the hour's unflushed flows", "flows", lost+b.Len(), "err", err)
		return full
	}
	for i, s := range streams {
		n := s.added(b, rows[i])
		a.pending += n
		a.open += n
	}
	return full || a.open >= a.cfg.FlushRows
}

// finishLeastRecentLocked closes the stream written to least recently,
// but those of keep, leaving its file ready for the next flush.
func (a *Archive) finishLeastRecentLocked(keep []streamKey) {
	var old *stream
	for _, s := range a.streams {
		if (old == nil || s.used < old.used) && !slices.Contains(keep, s.key) {
			old = s
		}
	}
	if old == nil {
		return // every open stream takes rows of this batch
	}
	delete(a.streams, old.key)
	a.open -= old.rows
	a.finishLocked(old)
}

// finishLocked closes s and queues its file, or counts its flows lost.
func (a *Archive) finishLocked(s *stream) {
	f, err := s.finish()
	a.idle = append(a.idle, s.ff)
	if err != nil {
		a.pending -= s.rows
		a.m.dropped.Add(float64(s.rows))
		a.m.writeErrors.Inc()
		slog.Error("archive: encoding flows failed; dropping the hour's unflushed flows", "flows", s.rows, "err", err)
		return
	}
	a.ready = append(a.ready, f)
}

// Flush writes the buffered flows now, one file per hour of time_received.
// On error the files that could not be written stay buffered (encoded) for
// the next attempt.
func (a *Archive) Flush() error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	open := make([]*stream, 0, len(a.streams))
	for _, s := range a.streams {
		open = append(open, s)
	}
	clear(a.streams)
	now := time.Now()
	a.buckets = a.nextBuckets(a.buckets, a.flushSize(a.open, now.Sub(a.lastFlush)))
	a.open, a.lastFlush = 0, now
	a.mu.Unlock()

	// Closing a file encodes its last row group: done outside the lock, so
	// that WriteBatch goes on meanwhile into new streams.
	slices.SortFunc(open, func(x, y *stream) int {
		return cmp.Or(cmp.Compare(x.key.hour, y.key.hour), cmp.Compare(x.key.bucket, y.key.bucket))
	})
	finished := make([]*encodedFile, 0, len(open))
	var lost int
	var encErr error
	for _, s := range open {
		f, err := s.finish()
		if err != nil {
			lost += s.rows
			encErr = err
		} else {
			finished = append(finished, f)
		}
	}
	a.mu.Lock()
	for _, s := range open {
		a.idle = append(a.idle, s.ff)
	}
	files := append(a.ready, finished...)
	a.ready = nil
	a.pending -= lost
	a.mu.Unlock()
	if encErr != nil {
		a.m.dropped.Add(float64(lost))
		a.m.writeErrors.Inc()
		slog.Error("archive: encoding flows failed; dropping the unflushed flows", "flows", lost, "err", encErr)
	}
	if len(files) == 0 {
		return nil
	}

	var infos []FileInfo
	var failed []*encodedFile
	var err error
	written := 0
	for _, f := range files {
		fi, werr := writeFileWith(a.flowsDir, a.newName(f.ext.recv[0], "f"), int64(f.rows), f.writeTo)
		if werr != nil {
			failed = append(failed, f)
			if err == nil {
				err = werr
			}
			continue
		}
		f.ext.describe(&fi, f.key.bucket, f.key.buckets)
		infos = append(infos, fi)
		written += f.rows
	}
	if len(infos) > 0 {
		a.addFiles(infos, nil)
	}
	a.m.flows.Add(float64(written))

	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending -= written
	a.m.buffered.Set(float64(a.pending))
	if err != nil {
		a.m.writeErrors.Inc()
		a.ready = append(failed, a.ready...)
		a.lastFail = time.Now()
		if !a.failing {
			a.failing = true
			slog.Error("archive: writing Parquet failed; buffering flows and retrying every flush interval",
				"err", err, "buffered", a.pending, "limit", a.cfg.MaxBufferedRows, "retry", a.cfg.FlushInterval)
		}
		return err
	}
	if a.failing || a.dropping {
		slog.Info("archive: writing works again", "dir", a.flowsDir)
		a.failing, a.dropping = false, false
	}
	return nil
}

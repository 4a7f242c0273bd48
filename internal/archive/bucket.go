package archive

import "time"

// bucketsFor returns the buckets for the next flush after one of
// rows flows: the most, up to Buckets, that leave BucketRows flows per
// file.
func (a *Archive) bucketsFor(rows int) int {
	k := 1
	for k < a.cfg.Buckets && rows >= 2*k*a.cfg.BucketRows {
		k *= 2
	}
	return k
}

// flushSize is how many flows a flush holds at the rate of the last one
// (rows in elapsed): FlushInterval's worth, FlushRows at most. Counting
// rows per flush instead let a short flush (one kicked by FlushRows, then
// one by the clock a second later) drop the bucket count. Flushes closer
// than a quarter interval (called by hand: tests, Close) count as they
// are.
func (a *Archive) flushSize(rows int, elapsed time.Duration) int {
	if elapsed < a.cfg.FlushInterval/4 || a.lastFlush.IsZero() {
		return rows
	}
	return int(min(float64(rows)*float64(a.cfg.FlushInterval)/float64(elapsed), float64(a.cfg.FlushRows)))
}

// nextBuckets returns the bucket count after a flush of rows flows when
// cur was used: more at once, fewer only once flushes hold less than half
// of what cur needs. Files of different counts are never merged (a bucket
// of 8 is two of 16), so a count flapping with the flush sizes (a flush
// kicked by FlushRows, then a short one by the clock) left a 100 M-flow
// lake with files of several counts, a third of which a needle read.
func (a *Archive) nextBuckets(cur, rows int) int {
	k := a.bucketsFor(rows)
	if k < cur && a.bucketsFor(2*rows) >= cur {
		return cur
	}
	return k
}

// hourOf returns the hour (since the Unix epoch, floored) holding ns.
func hourOf(ns int64) int64 {
	h := ns / int64(time.Hour)
	if ns < 0 && ns%int64(time.Hour) != 0 {
		h--
	}
	return h
}

package archive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// A needle query ("did A talk to B on 3 March?") must read a handful of
// files, not every file of a year-long lake. Files are partitioned by hour
// of time_received on disk; the catalog also keeps, per file, the range of
// time_start and time_end and the bucket the file holds, and
// Catalog.Select leaves out the files a query's Filter excludes.
//
// Buckets: when flows arrive fast, each hour's flows are spread over
// several flush files by a hash of the larger of their two addresses
// (PairBucket), and compaction merges files of one bucket only.
// All flows between two hosts in one hour, both ways, then live in the few
// files of their bucket instead of in every file of the hour (at 130 k
// flows/s an hour is ~100 compacted files, each of which held every busy
// address), and compaction finds a connection's two flows in one file to
// store them in one row (pairFlows). Hashing rather than address ranges
// spreads the buckets whatever the address plan; row groups inside each
// file are still cut from address order (clusterCut), so range predicates
// keep pruning them. A query bounding only one side (src_addr == A) reads every bucket:
// A's flows are spread over its peers' buckets.

// Span is a closed range of times; Known is false for files written before
// the catalog recorded it.
type Span struct {
	Min, Max time.Time
	Known    bool
}

// Filter describes the flows a query needs, so that files holding none of
// them are left out. The zero Filter needs every file.
type Filter struct {
	// From and To bound time_received: [From, To); zero ends are open.
	From, To time.Time
	// Times bounds time columns by name ("time_received", "time_start",
	// "time_end"): every wanted flow has Min <= value <= Max (zero ends
	// open).
	Times map[string]Span
	// SrcAddrs and DstAddrs, when not nil, list every src_addr and dst_addr
	// a wanted flow can have (empty: no flow is wanted). Buckets prune only
	// when both are set (PairBucket).
	SrcAddrs, DstAddrs []flow.Addr
}

// bucketHashName names PairBucket's hash in file metadata and the catalog:
// a later hash gets another name, and files bucketed by an earlier one
// ("m1", by src_addr alone) read as unbucketed, selected for every query,
// until compaction splits them again (splitCandidates).
const bucketHashName = "p1"

// metaSrcBucket, metaTimeStart and metaTimeEnd are footer metadata keys,
// so that a catalog rebuilt from footers keeps the files' extents.
const (
	metaSrcBucket = "flowlake.src_bucket" // "p1:3/16": bucket 3 of 16 (the key predates pair buckets)
	metaTimeStart = "flowlake.time_start" // "min,max" Unix ns as stored (ms)
	metaTimeEnd   = "flowlake.time_end"
)

// PairBucket returns the bucket of a flow from src to dst among buckets (a
// power of two; 0 or 1: one bucket): a hash of the larger of the two
// addresses (byte order). It is symmetric: both directions of a connection
// share a bucket, so that compaction finds them in one file and pairs them
// (pairFlows). The larger address rather than a hash of both: on a site
// whose clients are in 10/8 it is the server for most connections, so
// buckets partition the servers and a row group (cut by dst_addr,
// clusterCut) holds few of them. On 30 M flows of the site corpus, against
// a hash of both addresses: 9.0 against 9.8 bytes/flow, top-10 sources by
// bytes 329-460 against 418-529 ms, a needle 66 against 73-83 ms; the
// price is uneven buckets (the largest 1.59x the mean, against 1.02; the
// src_addr buckets before them 1.38). The hash is part of the lake's
// layout: files record its name (bucketHashName), so it must never change
// under that name.
func PairBucket(src, dst flow.Addr, buckets int) int {
	if buckets <= 1 {
		return 0
	}
	if bytes.Compare(src[:], dst[:]) < 0 {
		src = dst
	}
	return int(addrHash(src) >> (64 - bits.TrailingZeros(uint(buckets))))
}

// addrHash mixes every bit of a into the top bits the bucket is taken
// from (splitmix64's finaliser).
func addrHash(a flow.Addr) uint64 {
	x := binary.LittleEndian.Uint64(a[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(a[8:]), 31)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// extent is what a file's flows span, in Unix ns as stored (floored to the
// millisecond): time_received, time_start and time_end ranges.
type extent struct {
	recv, start, end [2]int64
	n                int // rows covered; 0: the ranges are unset
}

// extentOf returns the extent of the rows (nil: all) of b.
func extentOf(b *flow.Batch, rows []int) extent {
	n := b.Len()
	if rows != nil {
		n = len(rows)
	}
	if n == 0 {
		return extent{}
	}
	return extent{recv: storedSpan(b.TimeReceived, rows), start: storedSpan(b.TimeStart, rows), end: storedSpan(b.TimeEnd, rows), n: n}
}

// storedSpan returns the smallest and largest of the rows (nil: all; at
// least one) of col as stored: floored to the millisecond, so that catalog
// ranges are exactly those of the files' values.
func storedSpan(col []int64, rows []int) [2]int64 {
	var lo, hi int64
	if rows == nil {
		lo, hi = bounds(col)
	} else {
		lo, hi = col[rows[0]], col[rows[0]]
		for _, r := range rows {
			lo, hi = min(lo, col[r]), max(hi, col[r])
		}
	}
	return [2]int64{toMillis(lo) * 1e6, toMillis(hi) * 1e6}
}

// merge widens e to cover o.
func (e *extent) merge(o extent) {
	if o.n == 0 {
		return
	}
	if e.n == 0 {
		*e = o
		return
	}
	w := func(x *[2]int64, y [2]int64) { x[0], x[1] = min(x[0], y[0]), max(x[1], y[1]) }
	w(&e.recv, o.recv)
	w(&e.start, o.start)
	w(&e.end, o.end)
	e.n += o.n
}

// meta returns the footer metadata of a file holding e's flows in bucket
// of buckets.
func (e *extent) meta(bucket, buckets int) [][2]string {
	r := func(x [2]int64) string { return strconv.FormatInt(x[0], 10) + "," + strconv.FormatInt(x[1], 10) }
	m := [][2]string{
		{metaMinTime, strconv.FormatInt(e.recv[0], 10)},
		{metaMaxTime, strconv.FormatInt(e.recv[1], 10)},
		{metaTimeStart, r(e.start)},
		{metaTimeEnd, r(e.end)},
	}
	// Always set: a reused writer keeps the previous file's metadata.
	b := ""
	if buckets > 1 {
		b = formatBucket(bucket, buckets)
	}
	return append(m, [2]string{metaSrcBucket, b})
}

// describe fills fi's extent fields from e.
func (e *extent) describe(fi *FileInfo, bucket, buckets int) {
	fi.MinTime, fi.MaxTime = flow.Time(e.recv[0]), flow.Time(e.recv[1])
	fi.TimeStart = Span{Min: flow.Time(e.start[0]), Max: flow.Time(e.start[1]), Known: true}
	fi.TimeEnd = Span{Min: flow.Time(e.end[0]), Max: flow.Time(e.end[1]), Known: true}
	if buckets > 1 {
		fi.Bucket, fi.Buckets = bucket, buckets
	}
}

func formatBucket(bucket, buckets int) string {
	return fmt.Sprintf("%s:%d/%d", bucketHashName, bucket, buckets)
}

// parseBucket reads formatBucket's form. A hash this build does not know
// gives one bucket (the file is selected for every source).
func parseBucket(s string) (bucket, buckets int, err error) {
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad src bucket %q", s)
	}
	if name != bucketHashName {
		return 0, 0, nil
	}
	bs, ks, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, fmt.Errorf("bad src bucket %q", s)
	}
	if bucket, err = strconv.Atoi(bs); err != nil {
		return 0, 0, fmt.Errorf("bad src bucket %q: %w", s, err)
	}
	if buckets, err = strconv.Atoi(ks); err != nil {
		return 0, 0, fmt.Errorf("bad src bucket %q: %w", s, err)
	}
	if buckets < 1 || buckets&(buckets-1) != 0 || bucket < 0 || bucket >= buckets {
		return 0, 0, fmt.Errorf("bad src bucket %q", s)
	}
	return bucket, buckets, nil
}

// parseSpan reads extent.meta's "min,max" form.
func parseSpan(s string) (Span, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return Span{}, fmt.Errorf("bad time range %q", s)
	}
	lo, err1 := strconv.ParseInt(a, 10, 64)
	hi, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || lo > hi {
		return Span{}, fmt.Errorf("bad time range %q", s)
	}
	return Span{Min: flow.Time(lo), Max: flow.Time(hi), Known: true}, nil
}

// wants reports whether f may hold flows flt needs.
func (f *FileInfo) wants(flt *Filter) bool {
	if !flt.From.IsZero() && f.MaxTime.Before(flt.From) {
		return false
	}
	if !flt.To.IsZero() && !f.MinTime.Before(flt.To) {
		return false
	}
	for name, want := range flt.Times {
		var have Span
		switch name {
		case "time_received":
			have = Span{Min: f.MinTime, Max: f.MaxTime, Known: true}
		case "time_start":
			have = f.TimeStart
		case "time_end":
			have = f.TimeEnd
		}
		if !have.Known {
			continue
		}
		if (!want.Min.IsZero() && have.Max.Before(want.Min)) || (!want.Max.IsZero() && have.Min.After(want.Max)) {
			return false
		}
	}
	if flt.SrcAddrs != nil && flt.DstAddrs != nil && f.Buckets > 1 {
		for _, s := range flt.SrcAddrs {
			for _, d := range flt.DstAddrs {
				if PairBucket(s, d, f.Buckets) == f.Bucket {
					return true
				}
			}
		}
		return false
	}
	return (flt.SrcAddrs == nil || len(flt.SrcAddrs) > 0) && (flt.DstAddrs == nil || len(flt.DstAddrs) > 0)
}

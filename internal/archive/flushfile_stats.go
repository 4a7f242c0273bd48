package archive

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"unsafe"

	"github.com/parquet-go/parquet-go/format"

	"github.com/flowlake/flowlake/internal/flow"
)

// observeInt32 adds the page's values to the statistics; observeUint64,
// observeTime and observeAddr likewise.
func (fc *flushCol) observeInt32() {
	if len(fc.i32) == 0 {
		return
	}
	// The UINT columns order as unsigned.
	lo, hi := bounds(unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(fc.i32))), len(fc.i32)))
	fc.mergeUnsigned(uint64(lo), uint64(hi))
}

func (fc *flushCol) observeUint64() {
	if len(fc.i64) == 0 {
		return
	}
	fc.mergeUnsigned(bounds(unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(fc.i64))), len(fc.i64))))
}

// bounds returns the smallest and largest of s (non-empty).
func bounds[T cmp.Ordered](s []T) (lo, hi T) {
	lo, hi = s[0], s[0]
	for _, v := range s {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func (fc *flushCol) mergeUnsigned(lo, hi uint64) {
	if !fc.stats {
		fc.minU, fc.maxU, fc.stats = lo, hi, true
		return
	}
	fc.minU, fc.maxU = min(fc.minU, lo), max(fc.maxU, hi)
}

func (fc *flushCol) observeTime() {
	if len(fc.i64) == 0 {
		return
	}
	lo, hi := bounds(fc.i64)
	if !fc.stats {
		fc.minT, fc.maxT, fc.stats = lo, hi, true
		return
	}
	fc.minT, fc.maxT = min(fc.minT, lo), max(fc.maxT, hi)
}

// observeAddr also reports whether the page holds one value.
func (fc *flushCol) observeAddr() (same bool) {
	if len(fc.addrs) == 0 {
		return false
	}
	// Addresses compare as two big-endian words.
	key := func(a *flow.Addr) (uint64, uint64) {
		return binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	}
	less := func(ah, al, bh, bl uint64) bool { return ah < bh || ah == bh && al < bl }
	lo, hi := fc.addrs[0], fc.addrs[0]
	lh, ll := key(&lo)
	hh, hl := lh, ll
	same = true
	for i := range fc.addrs {
		a := &fc.addrs[i]
		ah, al := key(a)
		if ah == lh && al == ll && ah == hh && al == hl {
			continue
		}
		same = false
		if less(ah, al, lh, ll) {
			lo, lh, ll = *a, ah, al
		}
		if less(hh, hl, ah, al) {
			hi, hh, hl = *a, ah, al
		}
	}
	if !fc.stats {
		fc.minA, fc.maxA, fc.stats = lo, hi, true
		return same
	}
	if bytes.Compare(lo[:], fc.minA[:]) < 0 {
		fc.minA = lo
	}
	if bytes.Compare(hi[:], fc.maxA[:]) > 0 {
		fc.maxA = hi
	}
	return same
}

// statistics returns the row group statistics of the column, in its
// physical type's PLAIN form (what min_value/max_value hold).
func (fc *flushCol) statistics() format.Statistics {
	if !fc.stats {
		return format.Statistics{}
	}
	var lo, hi []byte
	switch fc.kind {
	case kindInt32:
		lo = binary.LittleEndian.AppendUint32(nil, uint32(fc.minU))
		hi = binary.LittleEndian.AppendUint32(nil, uint32(fc.maxU))
	case kindInt64:
		lo = binary.LittleEndian.AppendUint64(nil, fc.minU)
		hi = binary.LittleEndian.AppendUint64(nil, fc.maxU)
	case kindTime:
		lo = binary.LittleEndian.AppendUint64(nil, uint64(fc.minT))
		hi = binary.LittleEndian.AppendUint64(nil, uint64(fc.maxT))
	case kindAddr:
		lo, hi = append([]byte(nil), fc.minA[:]...), append([]byte(nil), fc.maxA[:]...)
	default:
		return format.Statistics{}
	}
	return format.Statistics{MinValue: lo, MaxValue: hi}
}

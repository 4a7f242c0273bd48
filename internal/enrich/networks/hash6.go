package networks

import (
	"encoding/binary"
	"math/bits"
)

// maxHash6Lens bounds the prefix lengths a hash6 takes: a look-up probes
// once per length, and past a handful bart's trie walk is cheaper.
const maxHash6Lens = 6

// hash6 answers IPv6 longest-prefix look-ups when the networks use few
// prefix lengths (files usually hold /32, /48, /56, /64): one probe of an
// open-addressing table per length, longest first, where walking bart's
// trie costs a node (and a likely cache miss) per byte of the prefix.
type hash6 struct {
	lens  []uint8 // distinct prefix lengths, longest first
	slots []slot6 // half empty at most, linear probing
	mask  uint64
}

// slot6 is one prefix: its masked address, length and value+1 (0: empty).
type slot6 struct {
	hi, lo uint64
	val    int32
	bits   uint8
}

// newHash6 returns the table of prefixes ps (masked 16-byte addresses and
// lengths) with values vs, or nil when they use too many lengths.
func newHash6(addrs [][16]byte, lens []uint8, vals []int32) *hash6 {
	var seen [129]bool
	h := &hash6{}
	for _, l := range lens {
		if !seen[l] {
			seen[l] = true
			h.lens = append(h.lens, l)
		}
	}
	if len(h.lens) > maxHash6Lens || len(addrs) == 0 {
		return nil
	}
	// Longest first: the first hit is the longest match.
	for i := 1; i < len(h.lens); i++ {
		for j := i; j > 0 && h.lens[j] > h.lens[j-1]; j-- {
			h.lens[j], h.lens[j-1] = h.lens[j-1], h.lens[j]
		}
	}
	n := 16
	for n < 2*len(addrs) {
		n *= 2
	}
	h.slots = make([]slot6, n)
	h.mask = uint64(n - 1)
	for i, a := range addrs {
		hi, lo := mask6(a, lens[i])
		s := h.hash(hi, lo, lens[i])
		for ; h.slots[s].val != 0; s = (s + 1) & h.mask {
			if h.slots[s].hi == hi && h.slots[s].lo == lo && h.slots[s].bits == lens[i] {
				break // a repeated prefix: the later value wins
			}
		}
		h.slots[s] = slot6{hi: hi, lo: lo, val: vals[i] + 1, bits: lens[i]}
	}
	return h
}

// mask6 returns the first l bits of a as two words.
func mask6(a [16]byte, l uint8) (hi, lo uint64) {
	hi, lo = binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	switch {
	case l == 0:
		return 0, 0
	case l <= 64:
		return hi &^ (1<<(64-l) - 1), 0
	case l < 128:
		return hi, lo &^ (1<<(128-l) - 1)
	}
	return hi, lo
}

func (h *hash6) hash(hi, lo uint64, l uint8) uint64 {
	x := hi ^ bits.RotateLeft64(lo*0x9e3779b97f4a7c15, 31) ^ uint64(l)<<56
	x *= 0xff51afd7ed558ccd
	return (x ^ x>>29) & h.mask
}

// lookup returns the value of the longest prefix holding a, or -1.
func (h *hash6) lookup(a [16]byte) int32 {
	for _, l := range h.lens {
		hi, lo := mask6(a, l)
		for s := h.hash(hi, lo, l); ; s = (s + 1) & h.mask {
			sl := &h.slots[s]
			if sl.val == 0 {
				break
			}
			if sl.hi == hi && sl.lo == lo && sl.bits == l {
				return sl.val - 1
			}
		}
	}
	return -1
}

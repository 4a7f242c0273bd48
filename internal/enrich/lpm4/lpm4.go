// Package lpm4 is a read-only longest-prefix-match table for IPv4 addresses
// held as uint32, built once from a set of prefixes. It trades build time
// for look-ups of at most three dependent loads with no pointers to chase:
// the enrichment stage does two to four of them per flow, and a general
// multibit trie (bart) spends most of its time in cache misses on node
// pointers and type switches there.
//
// Layout (DIR-16-8 with interval runs below /24):
//   - l1 has one entry per /16: a value, or the index of an l2 chunk;
//   - an l2 chunk has one entry per /24 of its /16: a value, or a run;
//   - a run lists the intervals of one /24 (prefixes longer than /24) as
//     (first last octet, value) pairs, so a /24 with a few /26s or host
//     routes costs a few words instead of a 256-entry chunk.
//
// Values are small integers the caller maps to its own data (an index into a
// slice), so the tables hold no pointers and the garbage collector never
// scans them.
package lpm4

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// MaxValue is the largest value a table can hold.
const MaxValue = 1<<24 - 2

// tag marks an entry that points further down (an l2 chunk in l1, a run in
// l2) instead of holding a value. Untagged entries hold value+1, 0 = none.
const tag = 1 << 31

// maxRunWords bounds the run storage: a run entry keeps its offset in 23
// bits.
const maxRunWords = 1 << 23

// Entry is one prefix of a table and its value.
type Entry struct {
	Prefix netip.Prefix // IPv4
	Value  uint32       // at most MaxValue
}

// Table is an immutable IPv4 longest-prefix-match table. The zero value is
// empty and ready to use.
type Table struct {
	l1   []uint32 // 1<<16 entries, or nil when empty
	l2   []uint32 // chunks of 256
	runs []uint32 // first octet<<24 | value+1
}

// Build returns the table of entries. IPv4-mapped prefixes are not accepted:
// callers unmap them. When two entries have the same prefix the later one
// wins.
func Build(entries []Entry) (*Table, error) {
	t := &Table{}
	if len(entries) == 0 {
		return t, nil
	}
	es := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if !e.Prefix.IsValid() || !e.Prefix.Addr().Is4() {
			return nil, fmt.Errorf("lpm4: %v is not an IPv4 prefix", e.Prefix)
		}
		if e.Value > MaxValue {
			return nil, fmt.Errorf("lpm4: value %d above %d", e.Value, MaxValue)
		}
		e.Prefix = e.Prefix.Masked()
		es = append(es, e)
	}
	// Shorter prefixes first, so that painting longer ones over them gives
	// the longest match; stable, so that a repeated prefix ends with the
	// value of its last entry.
	slices.SortStableFunc(es, func(a, b Entry) int { return a.Prefix.Bits() - b.Prefix.Bits() })

	t.l1 = make([]uint32, 1<<16)
	chunk := map[uint32]uint32{} // /16 -> l2 chunk index
	i := 0
	for ; i < len(es) && es[i].Prefix.Bits() <= 16; i++ {
		a, bits := addr(es[i].Prefix), es[i].Prefix.Bits()
		fill(t.l1[a>>16:], 1<<(16-bits), es[i].Value+1)
	}
	for ; i < len(es) && es[i].Prefix.Bits() <= 24; i++ {
		a, bits := addr(es[i].Prefix), es[i].Prefix.Bits()
		c := t.chunkOf(chunk, a>>16)
		fill(t.l2[c<<8|(a>>8)&0xff:], 1<<(24-bits), es[i].Value+1)
	}
	// Longer prefixes, grouped by /24 in order of their first appearance
	// (which keeps them sorted by length within each group).
	long := es[i:]
	groups := map[uint32][]Entry{}
	var order []uint32
	for _, e := range long {
		k := addr(e.Prefix) >> 8
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], e)
	}
	var tmp [256]uint32
	for _, k := range order {
		c := t.chunkOf(chunk, k>>8)
		slot := c<<8 | k&0xff
		fill(tmp[:], 256, t.l2[slot])
		for _, e := range groups[k] {
			a, bits := addr(e.Prefix), e.Prefix.Bits()
			fill(tmp[a&0xff:], 1<<(32-bits), e.Value+1)
		}
		off := uint32(len(t.runs))
		for o, v := range tmp {
			if o == 0 || v != tmp[o-1] {
				t.runs = append(t.runs, uint32(o)<<24|v)
			}
		}
		n := uint32(len(t.runs)) - off
		if n == 1 {
			// The long prefixes did not split the /24 after all.
			t.runs = t.runs[:off]
			t.l2[slot] = tmp[0]
			continue
		}
		if len(t.runs) > maxRunWords {
			return nil, errors.New("lpm4: too many prefixes longer than /24")
		}
		t.l2[slot] = tag | off<<8 | (n - 1)
	}
	for hi, c := range chunk {
		t.l1[hi] = tag | c
	}
	t.l2 = slices.Clip(t.l2)
	t.runs = slices.Clip(t.runs)
	return t, nil
}

// chunkOf returns the l2 chunk of /16 hi, creating it from the l1 value.
func (t *Table) chunkOf(chunk map[uint32]uint32, hi uint32) uint32 {
	if c, ok := chunk[hi]; ok {
		return c
	}
	c := uint32(len(t.l2) >> 8)
	v := t.l1[hi]
	for range 256 {
		t.l2 = append(t.l2, v)
	}
	chunk[hi] = c
	return c
}

func fill(s []uint32, n int, v uint32) {
	for j := range n {
		s[j] = v
	}
}

func addr(p netip.Prefix) uint32 {
	b := p.Addr().As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Lookup returns the value of the longest prefix holding a, and false when
// none does.
func (t *Table) Lookup(a uint32) (uint32, bool) {
	if v := t.lookup(a); v != 0 {
		return v - 1, true
	}
	return 0, false
}

// lookup returns value+1 of the longest match, or 0.
func (t *Table) lookup(a uint32) uint32 {
	if len(t.l1) != 1<<16 {
		return 0
	}
	e := t.l1[a>>16]
	if e&tag == 0 {
		return e
	}
	e = t.l2[(e&^tag)<<8|(a>>8)&0xff]
	if e&tag == 0 {
		return e
	}
	off, n := (e&^tag)>>8, e&0xff+1
	run := t.runs[off : off+n]
	o := a << 24
	// The first interval starts at octet 0; find the last one starting at
	// or before o. Runs are short (a few subnets of a /24), so a linear
	// scan beats a binary search unless the /24 is cut into many pieces.
	if len(run) > 16 {
		lo, hi := 1, len(run) // run[lo-1] starts at or before o; run[hi:] after
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if run[m]&0xff000000 <= o {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return run[lo-1] & 0xffffff
	}
	v := run[0]
	for _, r := range run[1:] {
		if r&0xff000000 > o {
			break
		}
		v = r
	}
	return v & 0xffffff
}

// Bytes returns the memory the table holds.
func (t *Table) Bytes() int {
	return 4 * (len(t.l1) + len(t.l2) + len(t.runs))
}

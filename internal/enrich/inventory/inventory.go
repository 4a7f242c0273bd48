// Package inventory maps addresses to the VM (or host) that held them, with
// the history of names so that a flow gets the name of its own time and a
// query can ask what an address was called on a given date.
package inventory

import (
	"encoding/binary"
	"maps"
	"math"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// Entry is what a source (file, vCenter) says about one address now.
type Entry struct {
	Addr       netip.Addr
	Name       string
	Host       string
	Cluster    string
	Datacenter string
	Tags       string // k=v;k=v, sorted
}

// Version is an Entry with the interval it was valid in, as observed by
// flowlake: ValidFrom is when a source first reported it, ValidTo when it
// stopped (0 while current). Times are Unix nanoseconds.
type Version struct {
	Entry
	Source    string
	ValidFrom int64
	ValidTo   int64
}

// Store keeps the current and past versions of every address. Look-ups are
// lock-free on an immutable snapshot; updates copy-on-write.
type Store struct {
	mu      sync.Mutex // serialises updates
	snap    atomic.Pointer[Snapshot]
	strings map[string]string
}

// NewStore returns an empty store.
func NewStore() *Store {
	s := &Store{strings: map[string]string{}}
	s.snap.Store(&Snapshot{m: map[flow.Addr][]*Version{}})
	return s
}

func (s *Store) intern(v string) string {
	if v == "" {
		return ""
	}
	if x, ok := s.strings[v]; ok {
		return x
	}
	s.strings[v] = v
	return v
}

// Update replaces what source says, as observed at time at: addresses whose
// entry changed get a new version, addresses source no longer reports have
// their version closed. Versions from other sources are left alone.
func (s *Store) Update(source string, entries []Entry, at time.Time) {
	now := at.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap.Load().m
	next := make(map[flow.Addr][]*Version, len(old)+len(entries))
	maps.Copy(next, old)
	seen := make(map[flow.Addr]bool, len(entries))
	for _, e := range entries {
		if !e.Addr.IsValid() {
			continue
		}
		e.Addr = e.Addr.Unmap()
		k := flow.AddrFromNetip(e.Addr)
		if seen[k] {
			continue // first one wins when a source lists an address twice
		}
		seen[k] = true
		e.Name, e.Host, e.Cluster, e.Datacenter, e.Tags = s.intern(e.Name), s.intern(e.Host), s.intern(e.Cluster), s.intern(e.Datacenter), s.intern(e.Tags)
		vs := next[k]
		if n := len(vs); n > 0 && vs[n-1].ValidTo == 0 {
			cur := vs[n-1]
			if cur.Entry == e && cur.Source == source {
				continue
			}
			closed := *cur
			closed.ValidTo = now
			vs = append(vs[:n-1:n-1], &closed)
		} else {
			vs = vs[:len(vs):len(vs)]
		}
		next[k] = append(vs, &Version{Entry: e, Source: source, ValidFrom: now})
	}
	for k, vs := range next {
		n := len(vs)
		if seen[k] || n == 0 || vs[n-1].ValidTo != 0 || vs[n-1].Source != source {
			continue
		}
		closed := *vs[n-1]
		closed.ValidTo = now
		next[k] = append(vs[:n-1:n-1], &closed)
	}
	s.snap.Store(&Snapshot{m: next, v4: newIndex4(next)})
}

// Snapshot is a consistent view for one batch.
type Snapshot struct {
	m  map[flow.Addr][]*Version
	v4 *index4 // the IPv4 addresses of m
}

// Snapshot returns the current view.
func (s *Store) Snapshot() Snapshot { return *s.snap.Load() }

// Lookup returns the version of addr valid at t (Unix ns). A flow older than
// the first observation gets the first version: the address was most likely
// already called that before flowlake first asked.
func (sn Snapshot) Lookup(addr flow.Addr, t int64) *Version {
	if sn.v4 != nil {
		if addr.Is4() {
			return at(sn.v4.get(binary.BigEndian.Uint32(addr[12:])), t)
		}
		if i := sn.v4.find16(addr); i >= 0 {
			return at(sn.v4.vers[i], t)
		}
		return nil
	}
	return at(sn.m[addr], t)
}

// Lookup4 is Lookup for the IPv4 address a.
func (sn Snapshot) Lookup4(a [4]byte, t int64) *Version {
	if sn.v4 == nil {
		return at(sn.m[flow.AddrFrom4(a)], t)
	}
	return at(sn.v4.get(binary.BigEndian.Uint32(a[:])), t)
}

// Find4 is Lookup4 in two steps, for look-ups in bulk: it returns the
// position of the IPv4 address a, for At, or -1 when the inventory never
// saw it. Keeping the search apart from reading the versions lets a caller
// run many searches back to back, whose cache misses then overlap.
func (sn Snapshot) Find4(a [4]byte) int32 {
	if sn.v4 == nil {
		return -1
	}
	return sn.v4.find(binary.BigEndian.Uint32(a[:]))
}

// Find16 is Find4 for an IPv6 address (not IPv4-mapped: IPv4 addresses
// are not searched).
func (sn Snapshot) Find16(a flow.Addr) int32 {
	if sn.v4 == nil {
		return -1
	}
	return sn.v4.find16(a)
}

// Each4 calls f with every IPv4 address of the snapshot and its position
// (as Find4 gives it), for tables that answer more than the inventory in
// one look-up.
func (sn Snapshot) Each4(f func(a [4]byte, i int32)) {
	if sn.v4 == nil {
		return
	}
	for _, s := range sn.v4.slots {
		if s != 0 {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], uint32(s>>32))
			f(a, int32(uint32(s))-1)
		}
	}
}

// Same tells whether sn and o are the same snapshot.
func (sn Snapshot) Same(o Snapshot) bool { return sn.v4 == o.v4 }

// At returns the version valid at t of the address at position i (from
// Find4 or Find16, not -1).
func (sn Snapshot) At(i int32, t int64) *Version { return at(sn.v4.vers[i], t) }

// Names4 returns the VM and host names valid at t of the address at
// position i (from Find4 or Find16, not -1), and false when no version is: At
// without following pointers for the common case of a flow newer than the
// address's last change.
func (sn Snapshot) Names4(i int32, t int64) (name, host string, ok bool) {
	c := &sn.v4.last[i]
	if t >= c.from {
		// at would stop at the last version too.
		if c.to == 0 || t < c.to {
			return c.name, c.host, true
		}
		return "", "", false
	}
	if c.only {
		// Older than the only version: at gives it anyway.
		return c.name, c.host, true
	}
	if v := at(sn.v4.vers[i], t); v != nil {
		return v.Name, v.Host, true
	}
	return "", "", false
}

// Prefetch4 reads the entry at position i (from Find4, not -1) so that a
// Names4 soon after finds it in cache. It returns a value of no meaning for
// the caller to fold into something it keeps, so that the read stays.
func (sn Snapshot) Prefetch4(i int32) int64 { return sn.v4.last[i].from }

// at returns the version of vs valid at t.
func at(vs []*Version, t int64) *Version {
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if t >= v.ValidFrom {
			if v.ValidTo == 0 || t < v.ValidTo {
				return v
			}
			return nil
		}
	}
	if len(vs) > 0 {
		return vs[0]
	}
	return nil
}

// Len returns how many addresses the snapshot knows (current or past).
func (sn Snapshot) Len() int { return len(sn.m) }

// index4 is an open-addressing hash table of the IPv4 addresses of a
// snapshot: a flat array of address<<32|position words (half empty, linear
// probing), small enough to stay in cache where a map of 16-byte keys and
// slice headers is not, and most flow addresses are not in the inventory,
// so the common answer is a miss found in one probe.
//
// It also indexes the IPv6 addresses (slots6), in the same vers and last,
// so that they need no map probe either.
type index4 struct {
	slots  []uint64 // addr<<32 | (position in vers)+1; 0 = empty
	shift  uint
	slots6 []slot6 // half empty at most, linear probing
	shift6 uint
	vers   [][]*Version
	last   []lastVersion // of each vers element
}

// slot6 is one IPv6 address of an index4 and its position+1 (0: empty).
type slot6 struct {
	hi, lo uint64
	pos    int32
}

// lastVersion is the latest version of an address, packed for the flow
// path in one cache line (padded so that elements do not straddle two).
type lastVersion struct {
	from, to   int64
	name, host string
	only       bool // the address has no other version
	_          [15]byte
}

func newIndex4(m map[flow.Addr][]*Version) *index4 {
	n := 0
	for k := range m {
		if k.Is4() {
			n++
		}
	}
	bits := uint(4)
	for 1<<bits < 2*n {
		bits++
	}
	bits6 := uint(4)
	for 1<<bits6 < 2*(len(m)-n) {
		bits6++
	}
	x := &index4{slots: make([]uint64, 1<<bits), shift: 32 - bits, slots6: make([]slot6, 1<<bits6), shift6: 64 - bits6,
		vers: make([][]*Version, 0, len(m)), last: make([]lastVersion, 0, len(m))}
	mask, mask6 := uint32(len(x.slots)-1), uint64(len(x.slots6)-1)
	for k, vs := range m {
		if k.Is4() {
			a := binary.BigEndian.Uint32(k[12:])
			h := hash4(a, x.shift)
			for x.slots[h] != 0 {
				h = (h + 1) & mask
			}
			x.slots[h] = uint64(a)<<32 | uint64(len(x.vers)+1)
		} else {
			hi, lo := binary.BigEndian.Uint64(k[:8]), binary.BigEndian.Uint64(k[8:])
			h := hash16(hi, lo, x.shift6)
			for x.slots6[h].pos != 0 {
				h = (h + 1) & mask6
			}
			x.slots6[h] = slot6{hi: hi, lo: lo, pos: int32(len(x.vers) + 1)}
		}
		x.vers = append(x.vers, vs)
		var lv lastVersion
		if len(vs) > 0 {
			v := vs[len(vs)-1]
			lv = lastVersion{from: v.ValidFrom, to: v.ValidTo, name: v.Name, host: v.Host, only: len(vs) == 1}
		} else {
			// No version: at finds nothing whatever t is.
			lv = lastVersion{from: math.MinInt64, to: math.MinInt64}
		}
		x.last = append(x.last, lv)
	}
	return x
}

// hash16 hashes an IPv6 address to shift bits from the top.
func hash16(hi, lo uint64, shift uint) uint64 {
	return ((hi ^ (lo * 0x9e3779b97f4a7c15)) * 0xff51afd7ed558ccd) >> shift
}

// find16 returns the position of the IPv6 address a in vers, or -1.
func (x *index4) find16(a flow.Addr) int32 {
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	mask := uint64(len(x.slots6) - 1)
	for h := hash16(hi, lo, x.shift6); ; h = (h + 1) & mask {
		s := &x.slots6[h]
		if s.pos == 0 {
			return -1
		}
		if s.hi == hi && s.lo == lo {
			return s.pos - 1
		}
	}
}

// hash4 is Fibonacci hashing: consecutive addresses (a subnet's hosts)
// spread over the table.
func hash4(a uint32, shift uint) uint32 { return (a * 0x9e3779b1) >> shift }

func (x *index4) get(a uint32) []*Version {
	if i := x.find(a); i >= 0 {
		return x.vers[i]
	}
	return nil
}

// find returns the position of a in vers, or -1.
func (x *index4) find(a uint32) int32 {
	mask := uint32(len(x.slots) - 1)
	for h := hash4(a, x.shift); ; h = (h + 1) & mask {
		s := x.slots[h]
		if s == 0 {
			return -1
		}
		if uint32(s>>32) == a {
			return int32(uint32(s)) - 1
		}
	}
}

// History returns every version of every address, ordered by address then
// time.
func (s *Store) History() []Version {
	m := s.snap.Load().m
	out := make([]Version, 0, len(m))
	for _, vs := range m {
		for _, v := range vs {
			out = append(out, *v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Addr.Compare(out[j].Addr); c != 0 {
			return c < 0
		}
		return out[i].ValidFrom < out[j].ValidFrom
	})
	return out
}

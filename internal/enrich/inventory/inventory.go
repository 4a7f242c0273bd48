// Package inventory maps addresses to the VM (or host) that held them, with
// the history of names so that a flow gets the name of its own time and a
// query can ask what an address was called on a given date.
package inventory

import (
	"maps"
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
	snap    atomic.Pointer[map[flow.Addr][]*Version]
	strings map[string]string
}

// NewStore returns an empty store.
func NewStore() *Store {
	s := &Store{strings: map[string]string{}}
	m := map[flow.Addr][]*Version{}
	s.snap.Store(&m)
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
	old := *s.snap.Load()
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
	s.snap.Store(&next)
}

// Snapshot is a consistent view for one batch.
type Snapshot struct{ m map[flow.Addr][]*Version }

// Snapshot returns the current view.
func (s *Store) Snapshot() Snapshot { return Snapshot{*s.snap.Load()} }

// Lookup returns the version of addr valid at t (Unix ns). A flow older than
// the first observation gets the first version: the address was most likely
// already called that before flowlake first asked.
func (sn Snapshot) Lookup(addr flow.Addr, t int64) *Version {
	vs := sn.m[addr]
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

// History returns every version of every address, ordered by address then
// time.
func (s *Store) History() []Version {
	m := *s.snap.Load()
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

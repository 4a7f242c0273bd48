package enrich

import (
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/flowlake/flowlake/internal/flow"
)

type ifKey struct {
	exp   flow.Addr
	index uint32
}

// ifaceSnap is an immutable view of exporter and interface names.
type ifaceSnap struct {
	exporters map[flow.Addr]*exporterNames
	names     map[ifKey]string
}

// exporterNames holds one exporter's name and its interface names indexed
// by ifIndex (most ifIndexes are small), so the per-flow look-up is a slice
// index instead of a map probe.
type exporterNames struct {
	name string
	ifs  []string
}

// maxDenseIf bounds the dense ifIndex slice; larger indexes use the map.
const maxDenseIf = 1 << 14

func (s *ifaceSnap) exporter(a flow.Addr) *exporterNames {
	if x := s.exporters[a]; x != nil {
		return x
	}
	return &noExporter
}

var noExporter exporterNames

// ifName returns the name of interface idx of exporter a (whose names x is).
func (s *ifaceSnap) ifName(x *exporterNames, a flow.Addr, idx uint32) string {
	if idx < uint32(len(x.ifs)) {
		return x.ifs[idx]
	}
	if idx < maxDenseIf || len(s.names) == 0 {
		return ""
	}
	return s.names[ifKey{a, idx}]
}

// ifaceStore merges interface names from three sources, in order of
// precedence: configuration, SNMP, what exporters sent.
type ifaceStore struct {
	mu      sync.Mutex
	cfgExp  map[flow.Addr]string
	snmpExp map[flow.Addr]string
	cfg     map[ifKey]flow.Interface
	polled  map[ifKey]flow.Interface
	learned map[ifKey]flow.Interface
	strs    map[string]string
	snap    atomic.Pointer[ifaceSnap]
}

func newIfaceStore() *ifaceStore {
	s := &ifaceStore{
		cfgExp: map[flow.Addr]string{}, snmpExp: map[flow.Addr]string{},
		cfg: map[ifKey]flow.Interface{}, polled: map[ifKey]flow.Interface{}, learned: map[ifKey]flow.Interface{},
		strs: map[string]string{},
	}
	s.snap.Store(&ifaceSnap{exporters: map[flow.Addr]*exporterNames{}, names: map[ifKey]string{}})
	return s
}

func (s *ifaceStore) snapshot() *ifaceSnap { return s.snap.Load() }

func (s *ifaceStore) setConfig(exps []ExporterConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ec := range exps {
		a, err := netip.ParseAddr(ec.Addr)
		if err != nil {
			return fmt.Errorf("enrich: exporters[%d]: bad addr %q: %w", i, ec.Addr, err)
		}
		k := flow.AddrFromNetip(a.Unmap())
		if ec.Name != "" {
			s.cfgExp[k] = ec.Name
		}
		for idx, name := range ec.Interfaces {
			s.cfg[ifKey{k, idx}] = flow.Interface{ExporterAddr: k, Index: idx, Name: name}
		}
	}
	s.rebuild()
	return nil
}

// learn records interfaces exporters described; it rebuilds the snapshot
// only when something changed, since exporters repeat options data often.
func (s *ifaceStore) learn(ifs []flow.Interface) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, it := range ifs {
		k := ifKey{it.ExporterAddr, it.Index}
		it.ObservationDomain = 0
		if old, ok := s.learned[k]; ok && mergeIf(old, it) == old {
			continue
		}
		s.learned[k] = mergeIf(s.learned[k], it)
		changed = true
	}
	if changed {
		s.rebuild()
	}
}

// mergeIf keeps old fields the update leaves empty: sFlow and IPFIX options
// may describe the same interface in several partial records.
func mergeIf(old, upd flow.Interface) flow.Interface {
	if upd.Name == "" {
		upd.Name = old.Name
	}
	if upd.Description == "" {
		upd.Description = old.Description
	}
	if upd.Alias == "" {
		upd.Alias = old.Alias
	}
	if upd.Speed == 0 {
		upd.Speed = old.Speed
	}
	return upd
}

func (s *ifaceStore) setSNMP(exp netip.Addr, sysName string, ifs []flow.Interface) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := flow.AddrFromNetip(exp.Unmap())
	if sysName != "" {
		s.snmpExp[k] = sysName
	}
	for key := range s.polled {
		if key.exp == k {
			delete(s.polled, key)
		}
	}
	for _, it := range ifs {
		it.ExporterAddr = k
		s.polled[ifKey{k, it.Index}] = it
	}
	s.rebuild()
}

func (s *ifaceStore) intern(v string) string {
	if x, ok := s.strs[v]; ok {
		return x
	}
	s.strs[v] = v
	return v
}

// displayName is the name a flow column gets: ifName, else ifDescr.
func displayName(it flow.Interface) string {
	if it.Name != "" {
		return it.Name
	}
	if it.Description != "" {
		return it.Description
	}
	return it.Alias
}

func (s *ifaceStore) rebuild() {
	snap := &ifaceSnap{exporters: map[flow.Addr]*exporterNames{}, names: map[ifKey]string{}}
	get := func(a flow.Addr) *exporterNames {
		x := snap.exporters[a]
		if x == nil {
			x = &exporterNames{}
			snap.exporters[a] = x
		}
		return x
	}
	names := map[flow.Addr]string{}
	maps.Copy(names, s.snmpExp)
	maps.Copy(names, s.cfgExp)
	for a, n := range names {
		get(a).name = s.intern(n)
	}
	for _, src := range []map[ifKey]flow.Interface{s.learned, s.polled, s.cfg} {
		for k, it := range src {
			n := displayName(it)
			if n == "" {
				continue
			}
			n = s.intern(n)
			if k.index >= maxDenseIf {
				snap.names[k] = n
				continue
			}
			x := get(k.exp)
			if int(k.index) >= len(x.ifs) {
				x.ifs = append(x.ifs, make([]string, int(k.index)+1-len(x.ifs))...)
			}
			x.ifs[k.index] = n
		}
	}
	s.snap.Store(snap)
}

// InterfaceRow is one exporter interface as the enrichment table shows it.
type InterfaceRow struct {
	ExporterAddr string `json:"exporter_addr"`
	ExporterName string `json:"exporter_name"`
	Index        uint32 `json:"if_index"`
	Name         string `json:"if_name"`
	Description  string `json:"if_descr"`
	Alias        string `json:"if_alias"`
	Speed        uint64 `json:"if_speed"`
	Source       string `json:"source"` // config, snmp, exporter
}

func (s *ifaceStore) rows() []InterfaceRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.snap.Load()
	merged := map[ifKey]InterfaceRow{}
	for _, src := range []struct {
		name string
		m    map[ifKey]flow.Interface
	}{{"exporter", s.learned}, {"snmp", s.polled}, {"config", s.cfg}} {
		for k, it := range src.m {
			r, ok := merged[k]
			if !ok {
				r = InterfaceRow{ExporterAddr: k.exp.String(), ExporterName: snap.exporter(k.exp).name, Index: k.index}
			}
			if it.Name != "" {
				r.Name = it.Name
			}
			if it.Description != "" {
				r.Description = it.Description
			}
			if it.Alias != "" {
				r.Alias = it.Alias
			}
			if it.Speed != 0 {
				r.Speed = it.Speed
			}
			r.Source = src.name
			merged[k] = r
		}
	}
	out := make([]InterfaceRow, 0, len(merged))
	for _, r := range merged {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ExporterAddr != out[j].ExporterAddr {
			return out[i].ExporterAddr < out[j].ExporterAddr
		}
		return out[i].Index < out[j].Index
	})
	return out
}

// Package networks maps address prefixes (IPv4 and IPv6) to the names of the
// networks they hold, read from a YAML or CSV file; the longest prefix wins.
package networks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/flowlake/flowlake/internal/enrich/lpm4"
	"github.com/flowlake/flowlake/internal/enrich/srcfile"
	"gopkg.in/yaml.v3"
)

// Network is one entry of the networks file.
type Network struct {
	Prefix netip.Prefix      `json:"prefix"`
	Name   string            `json:"name"`
	Site   string            `json:"site"`
	Role   string            `json:"role"`
	Tenant string            `json:"tenant"`
	VNet   string            `json:"vnet"`
	Subnet string            `json:"subnet"`
	Tags   map[string]string `json:"tags"`
}

// Table is an immutable set of networks; a reload builds a new Table.
type Table struct {
	path string
	lpm  bart.Fast[*Network]
	list []*Network
	// v4 answers IPv4 look-ups (nil if it could not be built; lpm then
	// does): flat arrays indexed by address beat walking trie nodes. v6
	// holds the IPv6 prefixes with positions as values, so the flow path
	// handles both families by position: v4nets (IPv4 networks, then
	// IPv6 ones) turns positions back into networks.
	v4      *lpm4.Table
	v6      bart.Fast[int32]
	v6h     *hash6 // the IPv6 prefixes when they use few lengths (else nil: v6 answers)
	v4nets  []*Network
	n4      int                // IPv4 networks: the first n4 of v4nets
	v4names []Names            // the names of v4nets, packed for the flow path
	v4idx   map[*Network]int32 // position in v4nets, for Index4 without v4

	strs map[string]string // interning while loading; nil after
}

// Lookup returns the most specific network holding ip, or nil.
func (t *Table) Lookup(ip netip.Addr) *Network {
	if t == nil {
		return nil
	}
	if ip.Is4() && t.v4 != nil {
		return t.Lookup4(ip.As4())
	}
	n, _ := t.lpm.Lookup(ip)
	return n
}

// Lookup4 returns the most specific network holding the IPv4 address a, or
// nil: the flow path's look-up, without building a netip.Addr.
func (t *Table) Lookup4(a [4]byte) *Network {
	if t == nil {
		return nil
	}
	if t.v4 == nil {
		n, _ := t.lpm.Lookup(netip.AddrFrom4(a))
		return n
	}
	if i, ok := t.v4.Lookup(binary.BigEndian.Uint32(a[:])); ok {
		return t.v4nets[i]
	}
	return nil
}

// Index4 is Lookup4 in two steps, for look-ups in bulk: it returns the
// position of the network holding a, for At, or -1. Keeping the search
// apart from reading the network lets a caller run many searches back to
// back, whose cache misses then overlap.
func (t *Table) Index4(a [4]byte) int32 {
	if t == nil {
		return -1
	}
	if t.v4 == nil {
		if n, ok := t.lpm.Lookup(netip.AddrFrom4(a)); ok {
			if i, ok := t.v4idx[n]; ok {
				return i
			}
		}
		return -1
	}
	if i, ok := t.v4.Lookup(binary.BigEndian.Uint32(a[:])); ok {
		return int32(i)
	}
	return -1
}

// Index6 is Index4 for an IPv6 address.
func (t *Table) Index6(ip netip.Addr) int32 {
	if t == nil {
		return -1
	}
	if t.v6h != nil {
		if !ip.Is6() {
			return -1 // the trie of IPv6 prefixes holds no IPv4 address
		}
		return t.v6h.lookup(ip.As16())
	}
	if i, ok := t.v6.Lookup(ip); ok {
		return i
	}
	return -1
}

// Index16 is Index6 for an IPv6 address as 16 bytes (not IPv4-mapped: the
// IPv4 networks are not searched).
func (t *Table) Index16(a [16]byte) int32 {
	if t == nil {
		return -1
	}
	if t.v6h != nil {
		return t.v6h.lookup(a)
	}
	if i, ok := t.v6.Lookup(netip.AddrFrom16(a)); ok {
		return i
	}
	return -1
}

// Entries4 returns the IPv4 prefixes of the table with their positions
// (as Index4 gives them) as values, for tables that answer more than the
// networks in one look-up.
func (t *Table) Entries4() []lpm4.Entry {
	if t == nil {
		return nil
	}
	es := make([]lpm4.Entry, t.n4)
	for i, n := range t.v4nets[:t.n4] {
		es[i] = lpm4.Entry{Prefix: n.Prefix, Value: uint32(i)}
	}
	return es
}

// At returns the network at position i (from Index4 or Index6, not -1).
func (t *Table) At(i int32) *Network { return t.v4nets[i] }

// Names is what the flow path needs of a network, packed in one cache line
// (the padding keeps elements from straddling two: the look-up is a cache
// miss per flow end with large tables, and a straddling element costs two).
type Names struct {
	Name, Site, Subnet string
	// SiteID numbers the distinct sites of the table: equal IDs, equal
	// sites, so classification compares two integers.
	SiteID uint32
	_      [12]byte
}

// NamesAt returns the names of the network at position i (from Index4 or
// Index6, not -1).
func (t *Table) NamesAt(i int32) *Names { return &t.v4names[i] }

// finish builds the look-up tables by position once every network is
// added.
func (t *Table) finish() *Table {
	t.strs = nil
	var es []lpm4.Entry
	t.v4nets = t.v4nets[:0]
	for p, n := range t.lpm.All4() {
		es = append(es, lpm4.Entry{Prefix: p, Value: uint32(len(t.v4nets))})
		t.v4nets = append(t.v4nets, n)
	}
	t.n4 = len(t.v4nets)
	var (
		addrs6 [][16]byte
		lens6  []uint8
		vals6  []int32
	)
	for p, n := range t.lpm.All6() {
		t.v6.Insert(p, int32(len(t.v4nets)))
		addrs6 = append(addrs6, p.Addr().As16())
		lens6 = append(lens6, uint8(p.Bits()))
		vals6 = append(vals6, int32(len(t.v4nets)))
		t.v4nets = append(t.v4nets, n)
	}
	t.v6h = newHash6(addrs6, lens6, vals6)
	t.v4names = make([]Names, len(t.v4nets))
	sites := map[string]uint32{}
	for i, n := range t.v4nets {
		id, ok := sites[n.Site]
		if !ok {
			id = uint32(len(sites))
			sites[n.Site] = id
		}
		t.v4names[i] = Names{Name: n.Name, Site: n.Site, Subnet: n.Subnet, SiteID: id}
	}
	v4, err := lpm4.Build(es)
	if err != nil {
		// Only a pathological file gets here (millions of prefixes longer
		// than /24); bart answers instead, correctly if slower.
		t.v4 = nil
		t.v4idx = make(map[*Network]int32, len(t.v4nets))
		for i, n := range t.v4nets {
			t.v4idx[n] = int32(i)
		}
		return t
	}
	t.v4 = v4
	return t
}

// Networks returns the entries in file order.
func (t *Table) Networks() []*Network {
	if t == nil {
		return nil
	}
	return t.list
}

// Len returns the number of networks.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.list)
}

// New builds a table from entries (later entries replace earlier ones with
// the same prefix).
func New(entries []*Network) *Table {
	t := &Table{}
	for _, n := range entries {
		t.add(n)
	}
	return t.finish()
}

func (t *Table) add(n *Network) {
	// Callers unmap IPv4-mapped flow addresses before look-up, so IPv4
	// prefixes are stored as IPv4.
	if n.Prefix.Addr().Is4In6() && n.Prefix.Bits() >= 96 {
		n.Prefix = netip.PrefixFrom(n.Prefix.Addr().Unmap(), n.Prefix.Bits()-96)
	}
	n.Prefix = n.Prefix.Masked()
	// Files repeat sites, roles and tenants on many lines: one copy of
	// each saves memory, and flow classification compares the sites of
	// both ends, which for equal sites is then a pointer comparison on
	// strings already in cache.
	if t.strs == nil {
		t.strs = map[string]string{}
	}
	for _, f := range []*string{&n.Name, &n.Site, &n.Role, &n.Tenant, &n.VNet, &n.Subnet} {
		if v, ok := t.strs[*f]; ok {
			*f = v
		} else {
			t.strs[*f] = *f
		}
	}
	t.lpm.Insert(n.Prefix, n)
	t.list = append(t.list, n)
}

// Load reads a networks file: YAML (.yaml, .yml) or CSV (anything else).
func Load(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("networks file: %w", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return parseYAML(path, data)
	default:
		return parseCSV(path, data)
	}
}

type yamlEntry struct {
	Prefix string            `yaml:"prefix"`
	Name   string            `yaml:"name"`
	Site   string            `yaml:"site"`
	Role   string            `yaml:"role"`
	Tenant string            `yaml:"tenant"`
	VNet   string            `yaml:"vnet"`
	VPC    string            `yaml:"vpc"`
	Subnet string            `yaml:"subnet"`
	Tags   map[string]string `yaml:"tags"`
}

// parseYAML accepts a list of entries or a mapping with a `networks` list.
func parseYAML(path string, data []byte) (*Table, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	t := &Table{path: path}
	if len(doc.Content) == 0 {
		return t.finish(), nil
	}
	seq := doc.Content[0]
	if seq.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(seq.Content); i += 2 {
			if seq.Content[i].Value == "networks" {
				found = seq.Content[i+1]
			}
		}
		if found == nil {
			return nil, srcfile.At(path, seq.Line, errors.New("want a list of networks or a `networks:` key"))
		}
		seq = found
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, srcfile.At(path, seq.Line, errors.New("want a list of networks"))
	}
	for _, item := range seq.Content {
		var e yamlEntry
		if err := item.Decode(&e); err != nil {
			return nil, srcfile.At(path, item.Line, err)
		}
		pfx, err := parsePrefix(e.Prefix)
		if err != nil {
			return nil, srcfile.At(path, item.Line, err)
		}
		vnet := e.VNet
		if vnet == "" {
			vnet = e.VPC
		}
		t.add(&Network{Prefix: pfx, Name: e.Name, Site: e.Site, Role: e.Role, Tenant: e.Tenant, VNet: vnet, Subnet: e.Subnet, Tags: e.Tags})
	}
	return t.finish(), nil
}

// yamlError keeps yaml.v3's "line N" but puts the file in front.
func yamlError(path string, err error) error {
	return fmt.Errorf("%s: %w", path, err)
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, errors.New("missing prefix")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad prefix %q: %w", s, err)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad prefix %q: %w", s, err)
	}
	return p, nil
}

// csvColumns are the header names understood in a CSV networks file; the
// header row is required and columns may come in any order.
var csvColumns = []string{"prefix", "name", "site", "role", "tenant", "vnet", "subnet", "tags"}

// parseCSV reads a CSV file with a header row. tags are `k=v;k=v`.
func parseCSV(path string, data []byte) (*Table, error) {
	t := &Table{path: path}
	err := srcfile.ReadCSV(path, data, "prefix", strings.Join(csvColumns, ","), map[string]string{"vpc": "vnet"}, func(line int, get func(string) string) error {
		pfx, err := parsePrefix(get("prefix"))
		if err != nil {
			return srcfile.At(path, line, err)
		}
		n := &Network{Prefix: pfx, Name: get("name"), Site: get("site"), Role: get("role"), Tenant: get("tenant"), VNet: get("vnet"), Subnet: get("subnet")}
		if n.Tags, err = srcfile.ParseTags(get("tags")); err != nil {
			return srcfile.At(path, line, err)
		}
		t.add(n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t.finish(), nil
}

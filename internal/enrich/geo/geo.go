// Package geo maps addresses to country and autonomous system with
// MaxMind-format databases (GeoLite2/GeoIP2, DB-IP, IPinfo and country-only
// layouts).
package geo

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/flowlake/flowlake/internal/enrich/lpm4"
)

// Info is what a database says about one network. Strings are shared by every
// network with the same record, so filling a flow column never allocates.
type Info struct {
	Country string // ISO 3166-1 alpha-2
	ASN     uint32
	ASName  string
}

// DB is one loaded database, immutable after Open: reloading builds a new DB.
type DB struct {
	path string
	// lpm holds every network of the database: walking bart's multibit
	// trie is cheaper than the database's binary search tree.
	lpm bart.Table[*Info]
	// byOffset holds the decoded record of every data section offset,
	// decoded once at load so look-ups only walk the search tree.
	byOffset map[uintptr]*Info
	asNames  map[uint32]string
	Type     string // metadata database_type
	// v4 answers IPv4 look-ups when it could be built (nil otherwise):
	// flat arrays indexed by address instead of trie nodes; v4info turns
	// its values back into records.
	v4     *lpm4.Table
	v4info []*Info
	v4idx  map[*Info]int32 // position in v4info, for Index4 without v4
}

// record covers the layouts of the databases we read. Country is `any`
// because GeoLite2 stores an object there and IPinfo a plain code.
type record struct {
	Country           any    `maxminddb:"country"`
	CountryCode       string `maxminddb:"country_code"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	ASNumber uint32 `maxminddb:"autonomous_system_number"`
	ASOrg    string `maxminddb:"autonomous_system_organization"`
	ASN      any    `maxminddb:"asn"` // IPinfo: "AS15169"
	ASName   string `maxminddb:"as_name"`
	Org      string `maxminddb:"organization"`
}

// Open reads the database at path into memory (not mmap: a reload may drop
// the old DB while a look-up is still using it, and the GC keeps heap bytes
// alive where an unmapped file would fault) and decodes every record.
func Open(path string) (*DB, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geo database %s: %w", path, err)
	}
	r, err := maxminddb.OpenBytes(buf)
	if err != nil {
		return nil, fmt.Errorf("geo database %s: %w", path, err)
	}
	db := &DB{path: path, byOffset: make(map[uintptr]*Info), asNames: make(map[uint32]string), Type: r.Metadata.DatabaseType}
	strs := make(map[string]string)
	intern := func(s string) string {
		if s == "" {
			return ""
		}
		if v, ok := strs[s]; ok {
			return v
		}
		strs[s] = s
		return s
	}
	for res := range r.Networks() {
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("geo database %s: network %s: %w", path, res.Prefix(), err)
		}
		off := res.Offset()
		if info, ok := db.byOffset[off]; ok {
			db.insert(res.Prefix(), info)
			continue
		}
		var rec record
		if err := res.Decode(&rec); err != nil {
			return nil, fmt.Errorf("geo database %s: record for %s: %w", path, res.Prefix(), err)
		}
		info := &Info{
			Country: intern(rec.country()),
			ASN:     rec.asn(),
			ASName:  intern(rec.asName()),
		}
		db.byOffset[off] = info
		db.insert(res.Prefix(), info)
		if info.ASN != 0 && info.ASName != "" {
			if _, ok := db.asNames[info.ASN]; !ok {
				db.asNames[info.ASN] = info.ASName
			}
		}
	}
	db.buildV4()
	return db, nil
}

// buildV4 builds the IPv4 look-up table from the trie. A database too
// fragmented for it keeps answering from the trie.
func (db *DB) buildV4() {
	idx := make(map[*Info]uint32)
	var es []lpm4.Entry
	var infos []*Info
	for p, info := range db.lpm.All4() {
		i, ok := idx[info]
		if !ok {
			i = uint32(len(infos))
			idx[info] = i
			infos = append(infos, info)
		}
		es = append(es, lpm4.Entry{Prefix: p, Value: i})
	}
	db.v4info = infos
	v4, err := lpm4.Build(es)
	if err != nil {
		db.v4idx = make(map[*Info]int32, len(idx))
		for info, i := range idx {
			db.v4idx[info] = int32(i)
		}
		return
	}
	db.v4 = v4
}

// Index4 is Lookup4 in two steps, for look-ups in bulk: it returns the
// position of the record for a, for At, or -1. Keeping the search apart
// from reading the record lets a caller run many searches back to back,
// whose cache misses then overlap.
func (db *DB) Index4(a [4]byte) int32 {
	if db == nil {
		return -1
	}
	if db.v4 == nil {
		if info, ok := db.lpm.Lookup(netip.AddrFrom4(a)); ok {
			if i, ok := db.v4idx[info]; ok {
				return i
			}
		}
		return -1
	}
	if i, ok := db.v4.Lookup(binary.BigEndian.Uint32(a[:])); ok {
		return int32(i)
	}
	return -1
}

// At returns the record at position i (from Index4, not -1).
func (db *DB) At(i int32) *Info { return db.v4info[i] }

func (r *record) country() string {
	switch c := r.Country.(type) {
	case string:
		return strings.ToUpper(c)
	case map[string]any:
		if s, ok := c["iso_code"].(string); ok && s != "" {
			return s
		}
	}
	if r.CountryCode != "" {
		return strings.ToUpper(r.CountryCode)
	}
	return r.RegisteredCountry.ISOCode
}

func (r *record) asn() uint32 {
	if r.ASNumber != 0 {
		return r.ASNumber
	}
	switch v := r.ASN.(type) {
	case string:
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 32)
		if err == nil {
			return uint32(n)
		}
	case uint64:
		return uint32(v)
	case uint32:
		return v
	case int:
		return uint32(v)
	}
	return 0
}

func (r *record) asName() string {
	switch {
	case r.ASOrg != "":
		return r.ASOrg
	case r.ASName != "":
		return r.ASName
	}
	return r.Org
}

// Path returns the file the database was read from.
func (db *DB) Path() string { return db.path }

// Records returns how many distinct records the database holds.
func (db *DB) Records() int { return len(db.byOffset) }

// Lookup returns what the database knows about ip, or nil.
func (db *DB) Lookup(ip netip.Addr) *Info {
	if db == nil {
		return nil
	}
	ip = ip.Unmap()
	if ip.Is4() && db.v4 != nil {
		return db.Lookup4(ip.As4())
	}
	info, _ := db.lpm.Lookup(ip)
	return info
}

// Lookup4 returns what the database knows about the IPv4 address a, or nil:
// the flow path's look-up, without building a netip.Addr.
func (db *DB) Lookup4(a [4]byte) *Info {
	if db == nil {
		return nil
	}
	if db.v4 == nil {
		info, _ := db.lpm.Lookup(netip.AddrFrom4(a))
		return info
	}
	if i, ok := db.v4.Lookup(binary.BigEndian.Uint32(a[:])); ok {
		return db.v4info[i]
	}
	return nil
}

// V4Bytes returns the memory of the IPv4 look-up table (0 when the trie
// answers IPv4 look-ups).
func (db *DB) V4Bytes() int {
	if db == nil || db.v4 == nil {
		return 0
	}
	return db.v4.Bytes()
}

// insert adds a network, storing IPv4 networks (which the database may
// report IPv4-mapped) as IPv4 since look-ups use unmapped addresses.
func (db *DB) insert(p netip.Prefix, info *Info) {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	db.lpm.Insert(p.Masked(), info)
}

// ASName returns the organisation the database names for AS number asn, for
// flows whose exporter already gave the AS number.
func (db *DB) ASName(asn uint32) string {
	if db == nil {
		return ""
	}
	return db.asNames[asn]
}

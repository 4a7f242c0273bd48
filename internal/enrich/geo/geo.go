// Package geo maps addresses to country and autonomous system with
// MaxMind-format databases (GeoLite2/GeoIP2, DB-IP, IPinfo and country-only
// layouts).
package geo

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
	"github.com/oschwald/maxminddb-golang/v2"
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
	return db, nil
}

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
	info, _ := db.lpm.Lookup(ip.Unmap())
	return info
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

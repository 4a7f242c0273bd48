package geo

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testDir holds MaxMind's test databases (built from maxmind/MaxMind-DB
// source-data; the expected values below come from that source data).
const testDir = "../../../testdata/geo/test-mmdb"

func TestMaxMindTestDatabases(t *testing.T) {
	asn, err := Open(filepath.Join(testDir, "GeoLite2-ASN-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	got := asn.Lookup(netip.MustParseAddr("1.128.0.0"))
	if got == nil || got.ASN != 1221 || got.ASName != "Telstra Pty Ltd" {
		t.Errorf("ASN 1.128.0.0 = %+v, want 1221 Telstra Pty Ltd", got)
	}
	// An IPv4-mapped IPv6 address is the same host.
	if got2 := asn.Lookup(netip.MustParseAddr("::ffff:1.128.0.1")); got2 != got {
		t.Errorf("mapped look-up = %+v, want %+v", got2, got)
	}
	if got := asn.Lookup(netip.MustParseAddr("10.0.0.1")); got != nil {
		t.Errorf("private address found in ASN db: %+v", got)
	}
	for _, name := range []string{"GeoLite2-Country-Test.mmdb", "GeoLite2-City-Test.mmdb"} {
		db, err := Open(filepath.Join(testDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, ip := range []string{"81.2.69.142", "2.125.160.216"} {
			got := db.Lookup(netip.MustParseAddr(ip))
			if got == nil || got.Country != "GB" {
				t.Errorf("%s %s = %+v, want GB", name, ip, got)
			}
		}
	}
}

// TestCountryOnlyLayout reads the country-only layout ({country_code: XX}) of
// the open databases in ../shared when they are present.
func TestCountryOnlyLayout(t *testing.T) {
	path := "/work/shared/data/open/geo/extracted/geo-whois-asn-country.mmdb"
	if _, err := os.Stat(path); err != nil {
		t.Skip("shared open geo database not present on this machine")
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, info := range db.byOffset {
		if len(info.Country) == 2 && strings.ToUpper(info.Country) == info.Country {
			n++
		}
	}
	if n == 0 || n < db.Records()/2 {
		t.Fatalf("%d of %d records have a country code", n, db.Records())
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bad, filepath.Join(dir, "missing.mmdb")} {
		_, err := Open(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Open(%s) error = %v, want one naming the file", p, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join(testDir, "GeoLite2-ASN-Test.mmdb"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("\xab\xcd\xefMaxMind.com"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.mmdb")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Open(p)
		if err == nil {
			db.Lookup(netip.MustParseAddr("1.128.0.0"))
		}
	})
}

// TestIPv4TableAgreesWithTrie checks the flat IPv4 table against the trie
// on the first, last and a middle address of every IPv4 network of the
// databases, and on the addresses just outside each.
func TestIPv4TableAgreesWithTrie(t *testing.T) {
	paths := []string{filepath.Join(testDir, "GeoLite2-ASN-Test.mmdb"), filepath.Join(testDir, "GeoLite2-City-Test.mmdb")}
	if !testing.Short() {
		// A real database: hundreds of thousands of networks of every
		// length.
		paths = append(paths, filepath.Join(testDir, "..", "iptoasn-country.mmdb"))
	}
	for _, path := range paths {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if db.v4 == nil {
			t.Fatalf("%s: IPv4 table not built", path)
		}
		n := 0
		for p := range db.lpm.All4() {
			first := binary.BigEndian.Uint32(p.Addr().AsSlice())
			last := first | (1<<(32-p.Bits()) - 1)
			for _, v := range []uint32{first, last, first + (last-first)/2, first - 1, last + 1} {
				var a [4]byte
				binary.BigEndian.PutUint32(a[:], v)
				want, _ := db.lpm.Lookup(netip.AddrFrom4(a))
				if got := db.Lookup4(a); got != want {
					t.Fatalf("%s %v: Lookup4 %+v, trie %+v", path, netip.AddrFrom4(a), got, want)
				}
				if i := db.Index4(a); (i < 0) != (want == nil) || (i >= 0 && db.At(i) != want) {
					t.Fatalf("%s %v: Index4 %d, trie %+v", path, netip.AddrFrom4(a), i, want)
				}
			}
			n++
		}
		if n == 0 {
			t.Fatalf("%s: no IPv4 network", path)
		}
	}
}

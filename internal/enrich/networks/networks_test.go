package networks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"unsafe"

	"github.com/flowlake/flowlake/internal/enrich/srcfile"
	"github.com/flowlake/flowlake/internal/testenv"
)

const sampleYAML = `networks:
  - prefix: 10.0.0.0/8
    name: corp
    site: paris
  - prefix: 10.1.0.0/16
    name: dc-lyon
    site: lyon
    role: datacenter
    tenant: ops
    vnet: vnet-1
    subnet: app
    tags: {env: prod}
  - prefix: 2001:db8::/32
    name: v6-corp
    site: paris
  - prefix: 192.0.2.7
    name: one-host
`

const sampleCSV = `prefix,name,site,role,tenant,vpc,subnet,tags
10.0.0.0/8,corp,paris,,,,,
10.1.0.0/16,dc-lyon,lyon,datacenter,ops,vnet-1,app,env=prod
# a comment line
2001:db8::/32,v6-corp,paris,,,,,
192.0.2.7,one-host,,,,,,
`

func TestLoadLongestPrefix(t *testing.T) {
	for _, f := range []struct{ name, body string }{{"n.yaml", sampleYAML}, {"n.csv", sampleCSV}} {
		tab, err := Load(testenv.WriteFile(t, f.name, f.body))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if tab.Len() != 4 {
			t.Errorf("%s: %d networks, want 4", f.name, tab.Len())
		}
		cases := map[string]string{
			"10.2.3.4":        "corp",
			"10.1.3.4":        "dc-lyon",
			"2001:db8::1":     "v6-corp",
			"192.0.2.7":       "one-host",
			"192.0.2.8":       "",
			"::ffff:10.1.0.1": "dc-lyon",
			"2001:db9::1":     "",
		}
		for ip, want := range cases {
			n := tab.Lookup(netip.MustParseAddr(ip).Unmap())
			got := ""
			if n != nil {
				got = n.Name
			}
			if got != want {
				t.Errorf("%s: %s -> %q, want %q", f.name, ip, got, want)
			}
		}
		n := tab.Lookup(netip.MustParseAddr("10.1.0.1"))
		if n.Site != "lyon" || n.Role != "datacenter" || n.Tenant != "ops" || n.VNet != "vnet-1" || n.Subnet != "app" || n.Tags["env"] != "prod" {
			t.Errorf("%s: fields %+v", f.name, n)
		}
	}
}

func TestBadInputNamesFileAndLine(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"bad.csv", "prefix,name\n10.0.0.0/8,a\n10.0.0.0/33,b\n", ":3:"},
		{"bad2.csv", "prefix,name\n10.0.0.0/8,a\n\n\"unterminated,b\n", ":4:"},
		{"tags.csv", "prefix,tags\n10.0.0.0/8,novalue\n", ":2:"},
		{"nohdr.csv", "name,site\nx,y\n", ":1:"},
		{"bad.yaml", "networks:\n  - prefix: 10.0.0.0/8\n    name: a\n  - prefix: nonsense\n    name: b\n", ":4:"},
		{"bad2.yaml", "networks:\n  - prefix: 10.0.0.0/8\n   name: [\n", "line "},
		{"bad3.yaml", "networks:\n  - prefix: 10.0.0.0/8\n    tags: [a, b]\n", ":2:"},
	}
	for _, c := range cases {
		p := testenv.WriteFile(t, c.name, c.body)
		_, err := Load(p)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want file and %q", c.name, err, c.want)
		}
	}
	var le *srcfile.LineError
	_, err := Load(testenv.WriteFile(t, "x.csv", "prefix\nfoo\n"))
	if !errors.As(err, &le) || le.Line != 2 {
		t.Errorf("error %v, want LineError at line 2", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sampleCSV, false)
	f.Add(sampleYAML, true)
	f.Add("prefix\n::/0\n", false)
	f.Fuzz(func(t *testing.T, body string, isYAML bool) {
		var tab *Table
		var err error
		if isYAML {
			tab, err = parseYAML("f.yaml", []byte(body))
		} else {
			tab, err = parseCSV("f.csv", []byte(body))
		}
		if err == nil {
			tab.Lookup(netip.MustParseAddr("10.0.0.1"))
			tab.Lookup(netip.MustParseAddr("2001:db8::1"))
		}
	})
}

// TestIPv4TableAgreesWithTrie checks the flat IPv4 table against the bart
// trie it is built from, on nested prefixes of every length and on
// addresses inside, at the edges of and outside them.
func TestIPv4TableAgreesWithTrie(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var nets []*Network
	for i := range 3000 {
		b := [4]byte{[]byte{10, 172, 192}[rng.IntN(3)], byte(rng.IntN(3)), byte(rng.IntN(16)), byte(rng.IntN(256))}
		p := netip.PrefixFrom(netip.AddrFrom4(b), 8+rng.IntN(25))
		nets = append(nets, &Network{Prefix: p, Name: fmt.Sprintf("n%d", i), Site: fmt.Sprintf("s%d", i%7), Subnet: fmt.Sprintf("sub%d", i)})
	}
	tab := New(nets)
	if tab.v4 == nil {
		t.Fatal("IPv4 table not built")
	}
	for range 50_000 {
		p := nets[rng.IntN(len(nets))].Prefix
		a := p.Addr().As4()
		off := rng.Uint32() >> (p.Bits() - 2 + rng.IntN(3)) // mostly inside, sometimes past the end
		v := binary.BigEndian.Uint32(a[:]) + off
		binary.BigEndian.PutUint32(a[:], v)
		want, _ := tab.lpm.Lookup(netip.AddrFrom4(a))
		if got := tab.Lookup4(a); got != want {
			t.Fatalf("%v: Lookup4 %v, trie %v", netip.AddrFrom4(a), got, want)
		}
		i := tab.Index4(a)
		switch {
		case want == nil && i != -1:
			t.Fatalf("%v: Index4 %d, want -1", netip.AddrFrom4(a), i)
		case want != nil && (i < 0 || tab.At(i) != want || !sameNames(tab.NamesAt(i), want)):
			t.Fatalf("%v: Index4 %d does not give %v", netip.AddrFrom4(a), i, want)
		}
	}
}

// TestIndex6AgreesWithTrie checks the position look-up of IPv6 addresses
// against the trie of networks.
func TestIndex6AgreesWithTrie(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var nets []*Network
	for i := range 2000 {
		var b [16]byte
		b[0], b[1], b[2], b[3], b[4], b[5] = 0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(4)), byte(rng.IntN(256))
		nets = append(nets, &Network{Prefix: netip.PrefixFrom(netip.AddrFrom16(b), 32+rng.IntN(33)), Name: fmt.Sprintf("v6-%d", i)})
	}
	nets = append(nets, &Network{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Name: "v4"})
	tab := New(nets)
	for range 20_000 {
		var b [16]byte
		b[0], b[1], b[2], b[3], b[4], b[5], b[6] = 0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(5)), byte(rng.IntN(256)), byte(rng.IntN(256))
		ip := netip.AddrFrom16(b)
		want, _ := tab.lpm.Lookup(ip)
		i := tab.Index6(ip)
		if (i < 0) != (want == nil) || (i >= 0 && (tab.At(i) != want || tab.NamesAt(i).Name != want.Name)) {
			t.Fatalf("%v: Index6 %d, trie %+v", ip, i, want)
		}
	}
	if i := tab.Index4([4]byte{10, 1, 2, 3}); i < 0 || tab.At(i).Name != "v4" {
		t.Errorf("IPv4 position after IPv6 ones: %d", i)
	}
}

// sameNames tells whether nw holds the names of n.
func sameNames(nw *Names, n *Network) bool {
	return nw.Name == n.Name && nw.Site == n.Site && nw.Subnet == n.Subnet
}

// TestSiteIDs checks that site IDs are equal exactly when sites are.
func TestSiteIDs(t *testing.T) {
	var nets []*Network
	for i := range 300 {
		nets = append(nets, &Network{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24), Site: fmt.Sprintf("s%d", i%7)})
		if i%50 == 0 {
			nets[len(nets)-1].Site = ""
		}
	}
	tab := New(nets)
	for i := range tab.v4names {
		for j := range tab.v4names {
			a, b := tab.NamesAt(int32(i)), tab.NamesAt(int32(j))
			if (a.Site == b.Site) != (a.SiteID == b.SiteID) {
				t.Fatalf("sites %q %q, IDs %d %d", a.Site, b.Site, a.SiteID, b.SiteID)
			}
		}
	}
}

// TestHash6AgreesWithTrie checks the hash look-up of IPv6 addresses
// against the trie of networks, with the few prefix lengths it takes
// (including /0 and /128, and prefixes inside others).
func TestHash6AgreesWithTrie(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	lens := []int{0, 32, 48, 56, 64, 128}
	var nets []*Network
	for i := range 3000 {
		var b [16]byte
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7] = 0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(3)), byte(rng.IntN(8)), byte(rng.IntN(4)), byte(rng.IntN(4))
		b[15] = byte(rng.IntN(4))
		l := lens[rng.IntN(len(lens))]
		switch {
		case i == 0:
			l = 0
		case l == 0:
			l = 48
		}
		nets = append(nets, &Network{Prefix: netip.PrefixFrom(netip.AddrFrom16(b), l), Name: fmt.Sprintf("v6-%d", i)})
	}
	nets = append(nets, &Network{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Name: "v4"})
	tab := New(nets)
	if tab.v6h == nil {
		t.Fatal("IPv6 hash not built")
	}
	for range 50_000 {
		var b [16]byte
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7] = 0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(4)), byte(rng.IntN(9)), byte(rng.IntN(5)), byte(rng.IntN(5))
		b[15] = byte(rng.IntN(5))
		if rng.IntN(10) == 0 {
			b[0] = 0xfd
		}
		ip := netip.AddrFrom16(b)
		want, _ := tab.lpm.Lookup(ip)
		for _, i := range []int32{tab.Index6(ip), tab.Index16(b)} {
			if (i < 0) != (want == nil) || (i >= 0 && tab.At(i) != want) {
				t.Fatalf("%v: position %d, trie %+v", ip, i, want)
			}
		}
	}
	if i := tab.Index6(netip.MustParseAddr("10.1.2.3")); i != -1 {
		t.Errorf("IPv4 address found among IPv6 networks (::/0): %d", i)
	}
	if i := tab.Index4([4]byte{10, 1, 2, 3}); i < 0 || tab.At(i).Name != "v4" {
		t.Errorf("IPv4 position after IPv6 ones: %d", i)
	}
}

// TestNamesSize keeps Names at one cache line (see its comment).
func TestNamesSize(t *testing.T) {
	if n := unsafe.Sizeof(Names{}); n != 64 {
		t.Errorf("Names is %d bytes, want 64", n)
	}
}

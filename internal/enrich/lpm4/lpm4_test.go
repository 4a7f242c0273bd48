package lpm4

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// naive is the reference: scan every entry, keep the longest match, the
// later entry on equal prefixes.
func naive(es []Entry, a uint32) (uint32, bool) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], a)
	ip := netip.AddrFrom4(b)
	best, val, ok := -1, uint32(0), false
	for _, e := range es {
		if e.Prefix.Masked().Contains(ip) && e.Prefix.Bits() >= best {
			best, val, ok = e.Prefix.Bits(), e.Value, true
		}
	}
	return val, ok
}

func randomEntries(rng *rand.Rand, n int) []Entry {
	var es []Entry
	for i := range n {
		// Cluster prefixes in a few /8s so that they nest and overlap.
		b := [4]byte{[]byte{10, 172, 192, 44}[rng.IntN(4)], byte(rng.IntN(4)), byte(rng.IntN(8)), byte(rng.IntN(256))}
		bits := []int{0, 4, 8, 12, 15, 16, 17, 20, 23, 24, 25, 26, 28, 29, 30, 31, 32}[rng.IntN(17)]
		es = append(es, Entry{netip.PrefixFrom(netip.AddrFrom4(b), bits), uint32(i % 1000)})
	}
	// Repeat some prefixes with another value: the later must win.
	for i := range n / 10 {
		e := es[rng.IntN(len(es))]
		e.Value = uint32(5000 + i)
		es = append(es, e)
	}
	return es
}

func TestMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 20 {
		es := randomEntries(rng, 1+rng.IntN(300))
		tab, err := Build(es)
		if err != nil {
			t.Fatal(err)
		}
		for range 3000 {
			var a uint32
			if rng.IntN(4) == 0 {
				a = rng.Uint32()
			} else {
				// Near a prefix: inside it or just past its end.
				p := es[rng.IntN(len(es))].Prefix.Masked()
				a = addr(p) + uint32(rng.IntN(1<<min(32-p.Bits(), 10)+2))
			}
			gv, gok := tab.Lookup(a)
			wv, wok := naive(es, a)
			if gv != wv || gok != wok {
				t.Fatalf("round %d, %08x: got %d %v, want %d %v", round, a, gv, gok, wv, wok)
			}
		}
	}
}

// TestLongRuns cuts one /24 into more intervals than the linear scan
// handles, so the binary search path answers.
func TestLongRuns(t *testing.T) {
	es := []Entry{{netip.MustParsePrefix("10.0.0.0/16"), 1}}
	for o := 0; o < 256; o += 8 {
		es = append(es, Entry{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 5, byte(o)}), 30), uint32(100 + o)})
	}
	es = append(es, Entry{netip.MustParsePrefix("10.0.5.255/32"), 7})
	tab, err := Build(es)
	if err != nil {
		t.Fatal(err)
	}
	for o := range 256 {
		a := uint32(10)<<24 | 5<<8 | uint32(o)
		gv, gok := tab.Lookup(a)
		wv, wok := naive(es, a)
		if gv != wv || gok != wok {
			t.Fatalf("10.0.5.%d: got %d %v, want %d %v", o, gv, gok, wv, wok)
		}
	}
}

func TestEmptyAndErrors(t *testing.T) {
	var zero Table
	if _, ok := zero.Lookup(0x0a000001); ok {
		t.Error("zero table matched")
	}
	if _, err := Build([]Entry{{netip.MustParsePrefix("2001:db8::/32"), 1}}); err == nil {
		t.Error("IPv6 prefix accepted")
	}
	if _, err := Build([]Entry{{netip.MustParsePrefix("10.0.0.0/8"), MaxValue + 1}}); err == nil {
		t.Error("value above MaxValue accepted")
	}
	tab, err := Build([]Entry{{netip.MustParsePrefix("0.0.0.0/0"), 3}})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := tab.Lookup(0xffffffff); !ok || v != 3 {
		t.Errorf("default route: got %d %v", v, ok)
	}
}

func BenchmarkLookup(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var es []Entry
	var addrs []uint32
	for i := range 100_000 {
		var p netip.Prefix
		if i%2 == 0 {
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		} else {
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16 + byte(i>>14)&15, byte(i >> 6), byte(i&3) << 6}), 26)
		}
		es = append(es, Entry{p.Masked(), uint32(i)})
	}
	for range 4096 {
		addrs = append(addrs, addr(es[rng.IntN(len(es))].Prefix)+1)
	}
	tab, err := Build(es)
	if err != nil {
		b.Fatal(err)
	}
	var sink uint32
	for i := 0; b.Loop(); i++ {
		v, _ := tab.Lookup(addrs[i&4095])
		sink += v
	}
	_ = sink
	b.ReportMetric(float64(tab.Bytes()), "table-bytes")
}

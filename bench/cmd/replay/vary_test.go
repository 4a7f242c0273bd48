package main

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"net/netip"
	"slices"
	"testing"
)

// The layouts of softflowd's data templates in bench/corpus/netflow9.pcap
// (replay -count -templates): IPv4 1024 and IPv6 2048.
var (
	tmplV4 = [][2]uint16{{8, 4}, {12, 4}, {22, 4}, {21, 4}, {1, 4}, {2, 4}, {10, 4}, {14, 4}, {61, 1}, {136, 1}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {60, 1}, {5, 1}}
	tmplV6 = [][2]uint16{{27, 16}, {28, 16}, {22, 4}, {21, 4}, {1, 4}, {2, 4}, {10, 4}, {14, 4}, {61, 1}, {136, 1}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {60, 1}, {5, 1}}
)

// rec is one flow as the test writes and reads it, independently of the
// code under test: fields by their offsets in the layouts above.
type rec struct {
	src, dst     netip.Addr
	first, last  uint32 // FIRST/LAST_SWITCHED, ms of sysUptime
	bytes, pkts  uint32
	sport, dport uint16
	proto        uint8
}

func (r rec) encode() []byte {
	var b []byte
	b = append(b, r.src.AsSlice()...)
	b = append(b, r.dst.AsSlice()...)
	b = binary.BigEndian.AppendUint32(b, r.last)
	b = binary.BigEndian.AppendUint32(b, r.first)
	b = binary.BigEndian.AppendUint32(b, r.bytes)
	b = binary.BigEndian.AppendUint32(b, r.pkts)
	b = binary.BigEndian.AppendUint32(b, 1) // input if
	b = binary.BigEndian.AppendUint32(b, 2) // output if
	b = append(b, 0, 2)                     // direction, end reason
	b = binary.BigEndian.AppendUint16(b, r.sport)
	b = binary.BigEndian.AppendUint16(b, r.dport)
	b = append(b, r.proto, 0x1b, 4, 0) // protocol, tcp flags, ip version (4/6 fixed: not read back), tos
	return b
}

func decodeRec(b []byte, v6 bool) rec {
	n := 4
	if v6 {
		n = 16
	}
	var r rec
	r.src, _ = netip.AddrFromSlice(b[:n])
	r.dst, _ = netip.AddrFromSlice(b[n : 2*n])
	o := 2 * n
	r.last = binary.BigEndian.Uint32(b[o:])
	r.first = binary.BigEndian.Uint32(b[o+4:])
	r.bytes = binary.BigEndian.Uint32(b[o+8:])
	r.pkts = binary.BigEndian.Uint32(b[o+12:])
	r.sport = binary.BigEndian.Uint16(b[o+26:])
	r.dport = binary.BigEndian.Uint16(b[o+28:])
	r.proto = b[o+30]
	return r
}

func tmplRecord(id uint16, fields [][2]uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, uint16(len(fields)))
	for _, f := range fields {
		b = binary.BigEndian.AppendUint16(b, f[0])
		b = binary.BigEndian.AppendUint16(b, f[1])
	}
	return b
}

func flowset(id uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	return append(b, body...)
}

func v9Packet(count uint16, uptime, secs, seq, srcID uint32, sets ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 9)
	b = binary.BigEndian.AppendUint16(b, count)
	b = binary.BigEndian.AppendUint32(b, uptime)
	b = binary.BigEndian.AppendUint32(b, secs)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, srcID)
	for _, s := range sets {
		b = append(b, s...)
	}
	return b
}

func encodeAll(rs []rec) []byte {
	var b []byte
	for _, r := range rs {
		b = append(b, r.encode()...)
	}
	return b
}

var (
	client4 = netip.MustParseAddr("10.1.2.3")
	inner4  = netip.MustParseAddr("10.7.7.7")
	server4 = netip.MustParseAddr("93.184.216.34")
	dns4    = netip.MustParseAddr("8.8.8.8")
	ext4    = netip.MustParseAddr("1.1.1.1")
	client6 = netip.MustParseAddr("2001:db8:1:2:a:b:c:d")
	server6 = netip.MustParseAddr("2001:db8:8000::1")
	ext6    = netip.MustParseAddr("2001:db8:9000::53")

	v4recs = []rec{
		{src: client4, dst: server4, first: 1000, last: 5000, bytes: 700, pkts: 9, sport: 40000, dport: 443, proto: 6},
		{src: server4, dst: client4, first: 1010, last: 5000, bytes: 90000, pkts: 70, sport: 443, dport: 40000, proto: 6}, // reverse of the first
		{src: client4, dst: inner4, first: 2000, last: 2100, bytes: 300, pkts: 4, sport: 50000, dport: 22, proto: 6},
		{src: dns4, dst: ext4, first: 3000, last: 3001, bytes: 80, pkts: 1, sport: 53, dport: 33000, proto: 17},
	}
	v6recs = []rec{
		{src: client6, dst: server6, first: 1500, last: 9000, bytes: 1200, pkts: 12, sport: 61000, dport: 443, proto: 17},
		{src: server6, dst: client6, first: 1501, last: 9000, bytes: 45000, pkts: 40, sport: 443, dport: 61000, proto: 17},
		{src: ext6, dst: server6, first: 4000, last: 4000, bytes: 60, pkts: 1, sport: 12345, dport: 123, proto: 17},
	}
	// a later datagram of the same loop: the client again, with a new connection
	laterRecs = []rec{
		{src: client4, dst: dns4, first: 300000, last: 300010, bytes: 70, pkts: 1, sport: 40000, dport: 53, proto: 17},
	}
	optTmpl = []byte{1, 0, 0, 4, 0, 4, 0, 1, 0, 4, 0, 34, 0, 4} // options template 256: scope system, one option field
	optData = []byte{0, 0, 0, 0, 0, 0, 0, 10}
)

const (
	t0     = 1735689744 // unix_secs of the first datagram
	uptime = 144923
	srcID  = 7
)

// corpus builds three datagrams: templates + v4 and v6 data + options data;
// more data; a template-only refresh at the end of the capture span (359 s).
func corpus() []dgram {
	tmpls := flowset(0, append(tmplRecord(1024, tmplV4), tmplRecord(2048, tmplV6)...))
	return []dgram{
		{src: "192.0.2.1:9995", payload: v9Packet(11, uptime, t0, 100, srcID,
			tmpls, flowset(1, optTmpl), flowset(1024, encodeAll(v4recs)), flowset(2048, encodeAll(v6recs)), flowset(256, optData))},
		{src: "192.0.2.1:9995", payload: v9Packet(1, uptime+300000, t0+300, 101, srcID, flowset(1024, encodeAll(laterRecs)))},
		{src: "192.0.2.1:9995", payload: v9Packet(2, uptime+359000, t0+359, 102, srcID, tmpls)},
	}
}

// load does what main does with a corpus under -vary.
func load(t *testing.T) ([]dgram, *varier) {
	t.Helper()
	dgs := corpus()
	dec := newDecoder()
	for i := range dgs {
		dec.count(&dgs[i])
		dec.planVary(&dgs[i])
	}
	if dgs[0].flows != len(v4recs)+len(v6recs) || dgs[0].other != 1 || dgs[1].flows != 1 {
		t.Fatalf("test corpus not decoded as built: flows %d+%d, options %d", dgs[0].flows, dgs[1].flows, dgs[0].other)
	}
	return dgs, newVarier(dgs)
}

type sent struct {
	uptime, secs, seq uint32
	v4, v6, later     []rec
	dg                [][]byte
}

func send(t *testing.T, dgs []dgram, v *varier, loop int) sent {
	t.Helper()
	k := v.key(loop)
	var s sent
	for i := range dgs {
		s.dg = append(s.dg, v.rewrite(nil, &dgs[i], &k))
	}
	p := s.dg[0]
	s.uptime, s.secs, s.seq = binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint32(p[12:])
	// sets of datagram 0 at fixed offsets (built above)
	off := 20 + 4 + len(tmplRecord(1024, tmplV4)) + len(tmplRecord(2048, tmplV6)) + 4 + len(optTmpl) + 4
	for i := range v4recs {
		s.v4 = append(s.v4, decodeRec(p[off+i*42:], false))
	}
	off += 42*len(v4recs) + 4
	for i := range v6recs {
		s.v6 = append(s.v6, decodeRec(p[off+i*66:], true))
	}
	s.later = append(s.later, decodeRec(s.dg[1][24:], false))
	return s
}

func internal(a netip.Addr) bool {
	return netip.MustParsePrefix("10.0.0.0/8").Contains(a) || netip.MustParsePrefix("2001:db8:1::/48").Contains(a)
}

// checkLoop checks loop l's flows against the originals: time and sequence
// moved on, internal addresses and ephemeral ports remapped, the rest equal.
func checkLoop(t *testing.T, l int, got []rec, want []rec, span, seqSpan uint32) {
	t.Helper()
	for i, w := range want {
		g := got[i]
		for _, p := range [][2]netip.Addr{{w.src, g.src}, {w.dst, g.dst}} {
			switch {
			case !internal(p[0]) && p[1] != p[0]:
				t.Errorf("loop %d record %d: external %v changed to %v", l, i, p[0], p[1])
			case internal(p[0]) && !internal(p[1]):
				t.Errorf("loop %d record %d: internal %v mapped outside the internal prefix: %v", l, i, p[0], p[1])
			case internal(p[0]) && (p[1].Is4() != p[0].Is4() || p[1].Is4() && p[1].As4()[0] != 10):
				t.Errorf("loop %d record %d: internal %v mapped to %v", l, i, p[0], p[1])
			case internal(p[0]) && p[1] == p[0]:
				t.Errorf("loop %d record %d: internal %v not remapped", l, i, p[0])
			}
		}
		for _, p := range [][2]uint16{{w.sport, g.sport}, {w.dport, g.dport}} {
			switch {
			case p[0] < 32768 && p[1] != p[0]:
				t.Errorf("loop %d record %d: service port %d changed to %d", l, i, p[0], p[1])
			case p[0] >= 32768 && p[1] < 32768:
				t.Errorf("loop %d record %d: ephemeral port %d mapped out of range: %d", l, i, p[0], p[1])
			}
		}
		if g.first != w.first || g.last != w.last || g.bytes != w.bytes || g.pkts != w.pkts || g.proto != w.proto {
			t.Errorf("loop %d record %d: times or counters changed: %+v, want %+v", l, i, g, w)
		}
	}
}

func TestVaryLoops(t *testing.T) {
	dgs, v := load(t)
	if v.span != 360 {
		t.Fatalf("span %d s, want 360 (last - first export time + 1)", v.span)
	}
	if v.seqSpan[srcID] != 3 {
		t.Fatalf("sequence span %d, want 3 packets", v.seqSpan[srcID])
	}

	l0 := send(t, dgs, v, 0)
	for i := range dgs {
		if !bytes.Equal(l0.dg[i], dgs[i].payload) {
			t.Errorf("loop 0 datagram %d changed", i)
		}
	}

	l1, l2 := send(t, dgs, v, 1), send(t, dgs, v, 2)
	for l, s := range []sent{l1, l2} {
		l++
		if s.uptime != uptime || s.secs != t0+uint32(l)*360 || s.seq != 100+uint32(l)*3 {
			t.Errorf("loop %d header: uptime %d secs %d seq %d, want %d %d %d", l, s.uptime, s.secs, s.seq, uptime, t0+l*360, 100+l*3)
		}
		if got := binary.BigEndian.Uint32(s.dg[2][8:]); got != t0+359+uint32(l)*360 {
			t.Errorf("loop %d last datagram unix_secs %d", l, got)
		}
		if got := binary.BigEndian.Uint32(s.dg[2][12:]); got != 102+uint32(l)*3 {
			t.Errorf("loop %d last datagram sequence %d: does not follow on", l, got)
		}
		checkLoop(t, l, s.v4, v4recs, v.span, 3)
		checkLoop(t, l, s.v6, v6recs, v.span, 3)
		checkLoop(t, l, s.later, laterRecs, v.span, 3)
		// both directions of a connection, and a client across datagrams, map alike
		if s.v4[0].src != s.v4[1].dst || s.v4[0].sport != s.v4[1].dport || s.v4[0].src != s.v4[2].src {
			t.Errorf("loop %d: v4 connection directions disagree: %+v / %+v", l, s.v4[0], s.v4[1])
		}
		if s.v6[0].src != s.v6[1].dst || s.v6[0].sport != s.v6[1].dport {
			t.Errorf("loop %d: v6 connection directions disagree: %+v / %+v", l, s.v6[0], s.v6[1])
		}
		if s.later[0].src != s.v4[0].src || s.later[0].sport != s.v4[0].sport {
			t.Errorf("loop %d: client %v maps to %v in one datagram and %v in another", l, client4, s.v4[0].src, s.later[0].src)
		}
		// template and options sets are not touched: the template-only datagram
		// differs from the original only in unix_secs and sequence
		a, b := append([]byte(nil), s.dg[2]...), dgs[2].payload
		copy(a[8:16], b[8:16])
		if !bytes.Equal(a, b) {
			t.Errorf("loop %d: template-only datagram changed beyond its header", l)
		}
		if p := s.dg[0]; !bytes.Equal(p[len(p)-len(optData):], optData) {
			t.Errorf("loop %d: options data changed", l)
		}
		if len(s.dg[0]) != len(dgs[0].payload) {
			t.Errorf("loop %d: datagram length changed", l)
		}
	}
	if l1.v4[0].src == l2.v4[0].src || l1.v6[0].src == l2.v6[0].src || l1.v4[0].sport == l2.v4[0].sport {
		t.Errorf("loops 1 and 2 map a client or port alike: %v/%v %v/%v %d/%d",
			l1.v4[0].src, l2.v4[0].src, l1.v6[0].src, l2.v6[0].src, l1.v4[0].sport, l2.v4[0].sport)
	}
}

// TestVaryBijective maps 10k distinct internal addresses of each family and
// every ephemeral port: no two may collide, and all stay in range.
func TestVaryBijective(t *testing.T) {
	_, v := load(t)
	r := rand.New(rand.NewSource(1))
	for _, l := range []int{1, 2, 168} {
		k := v.key(l)
		seen4, out4 := map[uint32]bool{}, map[uint32]uint32{}
		for len(seen4) < 10000 {
			a := 10<<24 | uint32(r.Intn(1<<24))
			if seen4[a] {
				continue
			}
			seen4[a] = true
			m := k.v4(a)
			if m>>24 != 10 {
				t.Fatalf("loop %d: %08x mapped outside 10.0.0.0/8: %08x", l, a, m)
			}
			if prev, dup := out4[m]; dup {
				t.Fatalf("loop %d: %08x and %08x both map to %08x", l, prev, a, m)
			}
			out4[m] = a
		}
		seen6, out6 := map[[16]byte]bool{}, map[[16]byte][16]byte{}
		for len(seen6) < 10000 {
			var a [16]byte
			copy(a[:], netip.MustParseAddr("2001:db8:1::").AsSlice())
			r.Read(a[6:]) // subnet id and interface id
			if seen6[a] {
				continue
			}
			seen6[a] = true
			m := a
			k.v6(m[:])
			if !internal(netip.AddrFrom16(m)) {
				t.Fatalf("loop %d: %v mapped outside 2001:db8:1::/48: %v", l, netip.AddrFrom16(a), netip.AddrFrom16(m))
			}
			if prev, dup := out6[m]; dup {
				t.Fatalf("loop %d: %v and %v both map to %v", l, netip.AddrFrom16(prev), netip.AddrFrom16(a), netip.AddrFrom16(m))
			}
			out6[m] = a
		}
		var hit [65536]bool
		for p := 0; p < 65536; p++ {
			m := k.port(uint16(p))
			if p < 32768 && int(m) != p || p >= 32768 && m < 32768 {
				t.Fatalf("loop %d: port %d mapped to %d", l, p, m)
			}
			if hit[m] {
				t.Fatalf("loop %d: two ports map to %d", l, m)
			}
			hit[m] = true
		}
		// external addresses stay
		if a := uint32(93<<24 | 184<<16 | 216<<8 | 34); k.v4(a) != a {
			t.Errorf("loop %d: external IPv4 remapped", l)
		}
		ext := [16]byte(server6.As16())
		m := ext
		if k.v6(m[:]); m != ext {
			t.Errorf("loop %d: external IPv6 remapped", l)
		}
	}
}

// FuzzVary feeds arbitrary datagrams (after the test corpus' templates)
// through the load-time planner and a loop's rewrite: no panic, same length,
// and loop 0 leaves every byte.
func FuzzVary(f *testing.F) {
	for _, g := range corpus() {
		f.Add(g.payload)
	}
	f.Add(v9Packet(1, 0, 0, 0, srcID, flowset(1024, make([]byte, 41))))
	f.Fuzz(func(t *testing.T, p []byte) {
		dgs := append(corpus(), dgram{src: "192.0.2.1:9995", payload: p})
		dec := newDecoder()
		for i := range dgs {
			dec.count(&dgs[i])
			dec.planVary(&dgs[i])
		}
		v := newVarier(dgs)
		g := &dgs[len(dgs)-1]
		k0, k1 := v.key(0), v.key(1)
		if out := v.rewrite(nil, g, &k0); !bytes.Equal(out, p) {
			t.Fatal("loop 0 changed the datagram")
		}
		if out := v.rewrite(nil, g, &k1); len(out) != len(p) {
			t.Fatalf("loop 1 changed the length: %d -> %d", len(p), len(out))
		}
	})
}

// TestVaryPrimingSequence: the template-only datagrams sent before loop 0
// take the sequence numbers just before the corpus' first, so the collector
// sees one unbroken sequence from priming through every loop.
func TestVaryPrimingSequence(t *testing.T) {
	dgs := corpus()
	dec := newDecoder()
	for i := range dgs {
		dec.count(&dgs[i])
		dec.planVary(&dgs[i])
	}
	v := newVarier(dgs)
	pp := dec.primingPackets()
	if len(pp) != 3 {
		t.Fatalf("%d priming packets, want 3 (two data templates, one options template)", len(pp))
	}
	v.numberPriming(pp)
	var seqs []uint32
	for _, p := range pp {
		seqs = append(seqs, binary.BigEndian.Uint32(p[12:]))
	}
	for l := 0; l < 3; l++ {
		k := v.key(l)
		for i := range dgs {
			seqs = append(seqs, binary.BigEndian.Uint32(v.rewrite(nil, &dgs[i], &k)[12:]))
		}
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequence numbers as sent: %v: not consecutive at %d", seqs, i)
		}
	}
}

// BenchmarkRewrite measures one pass of -vary's per-datagram rewrite over the
// real corpus (bench/corpus/netflow9.pcap, skipped if absent), against
// loop 0's copy alone as the baseline: the cost the send loop pays per loop.
func BenchmarkRewrite(b *testing.B) {
	dgs, err := readPcap("../../corpus/netflow9.pcap")
	if err != nil {
		b.Skip("bench/corpus/netflow9.pcap:", err)
	}
	dec := newDecoder()
	flows := 0
	for i := range dgs {
		dec.count(&dgs[i])
		dec.planVary(&dgs[i])
		flows += dgs[i].flows
	}
	v := newVarier(dgs)
	for _, l := range []int{0, 1} {
		name := map[int]string{0: "loop0-copy", 1: "loop1-rewrite"}[l]
		b.Run(name, func(b *testing.B) {
			k := v.key(l)
			var buf []byte
			for b.Loop() {
				for i := range dgs {
					buf = v.rewrite(buf, &dgs[i], &k)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(flows), "ns/flow")
		})
	}
}

// TestVaryKeepClients: with -vary-clients=false, loop 1 keeps every
// address and still shifts times and remaps ephemeral ports.
func TestVaryKeepClients(t *testing.T) {
	dgs, v := load(t)
	v.keepClients = true
	l1 := send(t, dgs, v, 1)
	var remapped int
	for i, w := range append(append(slices.Clone(v4recs), v6recs...), laterRecs...) {
		g := append(append(slices.Clone(l1.v4), l1.v6...), l1.later...)[i]
		if g.src != w.src || g.dst != w.dst {
			t.Errorf("record %d: addresses %v -> %v, want %v -> %v", i, g.src, g.dst, w.src, w.dst)
		}
		if g.sport != w.sport || g.dport != w.dport {
			remapped++
		}
	}
	if remapped == 0 {
		t.Error("no ephemeral port remapped")
	}
	if l1.secs != t0+v.span {
		t.Errorf("unix_secs %d, want %d", l1.secs, t0+v.span)
	}
}

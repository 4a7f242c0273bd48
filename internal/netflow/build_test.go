package netflow

import (
	"net/netip"
	"testing"

	"github.com/flowlake/flowlake/internal/testenv/capture"
	"github.com/flowlake/flowlake/internal/testenv/wire"
)

// Packet builders for tests and benchmarks, following RFC 3954 (v9) and
// RFC 7011 (IPFIX) layouts.

type ie struct {
	id  uint16
	ent uint32
	len uint16
}

func set(id uint16, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return wire.Cat(wire.BE16(id), wire.BE16(uint16(4+len(body))), body)
}

func fieldSpecs(fields []ie, ipfix bool) []byte {
	var b []byte
	for _, f := range fields {
		if ipfix && f.ent != 0 {
			b = wire.Cat(b, wire.BE16(f.id|0x8000), wire.BE16(f.len), wire.BE32(f.ent))
		} else {
			b = wire.Cat(b, wire.BE16(f.id), wire.BE16(f.len))
		}
	}
	return b
}

func ipfixTemplate(id uint16, fields []ie) []byte {
	return set(2, wire.Cat(wire.BE16(id), wire.BE16(uint16(len(fields))), fieldSpecs(fields, true)))
}

func ipfixOptionsTemplate(id uint16, scopes int, fields []ie) []byte {
	return set(3, wire.Cat(wire.BE16(id), wire.BE16(uint16(len(fields))), wire.BE16(uint16(scopes)), fieldSpecs(fields, true)))
}

func ipfixWithdraw(id uint16) []byte {
	return set(2, wire.Cat(wire.BE16(id), wire.BE16(0)))
}

func ipfixMsg(seq, odid, exportSec uint32, sets ...[]byte) []byte {
	body := wire.Cat(sets...)
	return wire.Cat(wire.BE16(10), wire.BE16(uint16(16+len(body))), wire.BE32(exportSec), wire.BE32(seq), wire.BE32(odid), body)
}

func v9Template(id uint16, fields []ie) []byte {
	return set(0, wire.Cat(wire.BE16(id), wire.BE16(uint16(len(fields))), fieldSpecs(fields, false)))
}

func v9OptionsTemplate(id uint16, scopes, fields []ie) []byte {
	return set(1, wire.Cat(wire.BE16(id), wire.BE16(uint16(4*len(scopes))), wire.BE16(uint16(4*len(fields))), fieldSpecs(scopes, false), fieldSpecs(fields, false)))
}

func v9Msg(seq, srcID, uptimeMs, exportSec uint32, count uint16, sets ...[]byte) []byte {
	return wire.Cat(wire.BE16(9), wire.BE16(count), wire.BE32(uptimeMs), wire.BE32(exportSec), wire.BE32(seq), wire.BE32(srcID), wire.Cat(sets...))
}

func mustNew(t testing.TB, cfg Config) *Decoder {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func statsOf(t testing.TB, d *Decoder, version uint16, domain uint32) ExporterStats {
	t.Helper()
	for _, s := range d.Stats() {
		if s.Version == version && s.ObservationDomain == domain && s.Exporter == capture.Exporter.Addr() {
			return s
		}
	}
	t.Fatalf("no stats for version %d domain %d in %+v", version, domain, d.Stats())
	return ExporterStats{}
}

// Typical templates used by tests and benchmarks (~20 fields).
var (
	basicFields = []ie{{8, 0, 4}, {12, 0, 4}, {1, 0, 4}, {2, 0, 4}}

	typicalFields = []ie{
		{8, 0, 4}, {12, 0, 4}, {7, 0, 2}, {11, 0, 2}, {4, 0, 1}, {6, 0, 1}, {5, 0, 1},
		{10, 0, 4}, {14, 0, 4}, {15, 0, 4}, {16, 0, 4}, {17, 0, 4}, {9, 0, 1}, {13, 0, 1},
		{1, 0, 8}, {2, 0, 8}, {152, 0, 8}, {153, 0, 8}, {61, 0, 1}, {58, 0, 2}, {136, 0, 1},
	}
	typicalV9Fields = []ie{
		{8, 0, 4}, {12, 0, 4}, {7, 0, 2}, {11, 0, 2}, {4, 0, 1}, {6, 0, 1}, {5, 0, 1},
		{10, 0, 4}, {14, 0, 4}, {15, 0, 4}, {16, 0, 4}, {17, 0, 4}, {9, 0, 1}, {13, 0, 1},
		{1, 0, 8}, {2, 0, 8}, {22, 0, 4}, {21, 0, 4}, {61, 0, 1}, {58, 0, 2}, {48, 0, 1},
	}
)

func basicRecord(src, dst string, bytes, packets uint32) []byte {
	s, dd := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	return wire.Cat(s[:], dd[:], wire.BE32(bytes), wire.BE32(packets))
}

// typicalRecord fills typicalFields (IPFIX) or typicalV9Fields (v9).
func typicalRecord(i int, v9 bool) []byte {
	b := wire.Cat(
		[]byte{10, 0, byte(i >> 8), byte(i)}, []byte{192, 0, 2, byte(i)},
		wire.BE16(uint16(1024+i)), wire.BE16(443), []byte{6, 0x1b, 0},
		wire.BE32(uint32(i%8+1)), wire.BE32(2), []byte{10, 0, 0, 1}, wire.BE32(64500), wire.BE32(64501), []byte{24, 16},
		wire.BE64(uint64(1500*(i+1))), wire.BE64(uint64(i+1)),
	)
	if v9 {
		b = wire.Cat(b, wire.BE32(100000), wire.BE32(160000), []byte{0}, wire.BE16(100), []byte{1})
	} else {
		b = wire.Cat(b, wire.BE64(1700000000000), wire.BE64(1700000060000), []byte{0}, wire.BE16(100), []byte{3})
	}
	return b
}

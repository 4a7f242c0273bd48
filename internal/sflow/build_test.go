package sflow

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// Builders of sFlow v5 datagrams and sampled packets, written from the
// specification (sflow.org sFlow Version 5) for tests that need what no
// capture has. Their output is checked against tshark in
// TestTsharkSynthetic.

var (
	testExporter = netip.MustParseAddrPort("192.0.2.10:50000")
	testReceived = time.Unix(1700000000, 0)
	testAgent    = netip.MustParseAddr("198.51.100.7")
)

func mustNew(t testing.TB, cfg Config) *Decoder {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func decode(t testing.TB, d *Decoder, pkt []byte) *flow.Decoded {
	t.Helper()
	var out flow.Decoded
	if err := d.Decode(pkt, testExporter, testReceived, &out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return &out
}

func row(b *flow.Batch, i int) flow.Record {
	var r flow.Record
	b.Row(i, &r)
	return r
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// pad4 pads b to a multiple of 4 bytes, as XDR does with opaque data.
func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// tlv frames a sample or record: format, length, data.
func tlv(format uint32, data []byte) []byte {
	return cat(be32(format), be32(uint32(len(data))), data)
}

func addrXDR(a netip.Addr) []byte {
	if !a.IsValid() {
		return be32(0)
	}
	if a.Is4() {
		b := a.As4()
		return cat(be32(1), b[:])
	}
	b := a.As16()
	return cat(be32(2), b[:])
}

// datagram builds an sFlow v5 datagram from agent with the given samples.
func datagram(agent netip.Addr, sub, seq uint32, samples ...[]byte) []byte {
	b := cat(be32(5), addrXDR(agent), be32(sub), be32(seq), be32(123456), be32(uint32(len(samples))))
	for _, s := range samples {
		b = append(b, s...)
	}
	return b
}

// flowSample is a compact flow sample (format 1).
func flowSample(seq, srcIdx, rate, in, out uint32, recs ...[]byte) []byte {
	b := cat(be32(seq), be32(srcIdx), be32(rate), be32(rate*seq), be32(0), be32(in), be32(out), be32(uint32(len(recs))))
	for _, r := range recs {
		b = append(b, r...)
	}
	return tlv(fmtFlowSample, b)
}

// expandedFlowSample is an expanded flow sample (format 3).
func expandedFlowSample(seq, srcIdx, rate, inFmt, in, outFmt, out uint32, recs ...[]byte) []byte {
	b := cat(be32(seq), be32(0), be32(srcIdx), be32(rate), be32(rate*seq), be32(0),
		be32(inFmt), be32(in), be32(outFmt), be32(out), be32(uint32(len(recs))))
	for _, r := range recs {
		b = append(b, r...)
	}
	return tlv(fmtExpandedFlowSample, b)
}

func counterSample(seq, srcIdx uint32, recs ...[]byte) []byte {
	b := cat(be32(seq), be32(srcIdx), be32(uint32(len(recs))))
	for _, r := range recs {
		b = append(b, r...)
	}
	return tlv(fmtCounterSample, b)
}

func expandedCounterSample(seq, srcIdx uint32, recs ...[]byte) []byte {
	b := cat(be32(seq), be32(0), be32(srcIdx), be32(uint32(len(recs))))
	for _, r := range recs {
		b = append(b, r...)
	}
	return tlv(fmtExpandedCounterSample, b)
}

// rawHeader is a raw packet header record of the whole of pkt.
func rawHeader(proto uint32, frameLen uint32, pkt []byte) []byte {
	return tlv(recRawHeader, cat(be32(proto), be32(frameLen), be32(4), be32(uint32(len(pkt))), pad4(append([]byte(nil), pkt...))))
}

func ethernetRecord(length uint32, src, dst []byte, etype uint32) []byte {
	return tlv(recEthernet, cat(be32(length), src, []byte{0, 0}, dst, []byte{0, 0}, be32(etype)))
}

func ipv4Record(length uint32, proto uint32, src, dst netip.Addr, sport, dport, flags, tos uint32) []byte {
	s, d := src.As4(), dst.As4()
	return tlv(recIPv4, cat(be32(length), be32(proto), s[:], d[:], be32(sport), be32(dport), be32(flags), be32(tos)))
}

func ipv6Record(length uint32, proto uint32, src, dst netip.Addr, sport, dport, flags, prio uint32) []byte {
	s, d := src.As16(), dst.As16()
	return tlv(recIPv6, cat(be32(length), be32(proto), s[:], d[:], be32(sport), be32(dport), be32(flags), be32(prio)))
}

func switchRecord(srcVLAN, dstVLAN uint32) []byte {
	return tlv(recExtSwitch, cat(be32(srcVLAN), be32(0), be32(dstVLAN), be32(0)))
}

func routerRecord(nh netip.Addr, srcMask, dstMask uint32) []byte {
	return tlv(recExtRouter, cat(addrXDR(nh), be32(srcMask), be32(dstMask)))
}

// gatewayRecord has one AS_SEQUENCE segment holding path (none when
// empty) and one community.
func gatewayRecord(nh netip.Addr, as, srcAS, peerAS uint32, path ...uint32) []byte {
	b := cat(addrXDR(nh), be32(as), be32(srcAS), be32(peerAS))
	if len(path) == 0 {
		b = append(b, be32(0)...)
	} else {
		b = cat(b, be32(1), be32(2), be32(uint32(len(path))))
		for _, a := range path {
			b = append(b, be32(a)...)
		}
	}
	b = cat(b, be32(1), be32(65000<<16|100), be32(100))
	return tlv(recExtGateway, b)
}

func genericIfRecord(c *flow.IfCounters) []byte {
	return tlv(recGenericIf, cat(be32(c.IfIndex), be32(c.IfType), be64(c.IfSpeed), be32(c.IfDirection), be32(c.IfStatus),
		be64(c.InOctets), be32(uint32(c.InUcastPkts)), be32(uint32(c.InMulticastPkts)), be32(uint32(c.InBroadcastPkts)),
		be32(uint32(c.InDiscards)), be32(uint32(c.InErrors)), be32(uint32(c.InUnknownProtos)),
		be64(c.OutOctets), be32(uint32(c.OutUcastPkts)), be32(uint32(c.OutMulticastPkts)), be32(uint32(c.OutBroadcastPkts)),
		be32(uint32(c.OutDiscards)), be32(uint32(c.OutErrors)), be32(c.Promiscuous)))
}

func ethernetCountersRecord() []byte {
	b := make([]byte, 0, 52)
	for i := uint32(0); i < 13; i++ {
		b = append(b, be32(i*7)...)
	}
	return tlv(2, b)
}

var (
	macA = []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}
	macB = []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}
)

// eth builds an Ethernet II frame with the given VLAN tags (outer first;
// the first tag is 802.1ad when there are two).
func eth(dst, src []byte, vlans []uint16, etype uint16, payload []byte) []byte {
	b := cat(dst, src)
	for i, v := range vlans {
		tpid := uint16(0x8100)
		if i == 0 && len(vlans) > 1 {
			tpid = 0x88a8
		}
		b = cat(b, be16(tpid), be16(v))
	}
	return cat(b, be16(etype), payload)
}

func ipv4(src, dst netip.Addr, proto, tos uint8, payload []byte) []byte {
	s, d := src.As4(), dst.As4()
	h := cat([]byte{0x45, tos}, be16(uint16(20+len(payload))), be16(1), be16(0x4000), []byte{64, proto}, be16(0), s[:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return cat(h, payload)
}

// ipv6 builds an IPv6 packet; a non-nil hopByHop puts a hop-by-hop options
// header (8 bytes) before the payload.
func ipv6(src, dst netip.Addr, nh, tc uint8, hopByHop bool, payload []byte) []byte {
	s, d := src.As16(), dst.As16()
	first := nh
	if hopByHop {
		payload = cat([]byte{nh, 0, 1, 4, 0, 0, 0, 0}, payload)
		first = 0
	}
	return cat([]byte{0x60 | tc>>4, tc << 4, 0, 0}, be16(uint16(len(payload))), []byte{first, 64}, s[:], d[:], payload)
}

func tcp(sport, dport uint16, flags uint8) []byte {
	return cat(be16(sport), be16(dport), be32(1000), be32(2000), []byte{0x50, flags}, be16(512), be16(0), be16(0))
}

func udp(sport, dport uint16, payload []byte) []byte {
	return cat(be16(sport), be16(dport), be16(uint16(8+len(payload))), be16(0), payload)
}

func icmp(typ, code uint8) []byte {
	return []byte{typ, code, 0, 0, 0, 1, 0, 1}
}

func vxlan(vni uint32, frame []byte) []byte {
	return cat([]byte{0x08, 0, 0, 0}, be32(vni<<8), frame)
}

// writePcap writes datagrams as Ethernet/IPv4/UDP packets from 192.0.2.1
// to port 6343 in a classic pcap file.
func writePcap(t testing.TB, path string, dgs [][]byte) {
	t.Helper()
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 65535)
	b = le.AppendUint32(b, 1)
	for i, dg := range dgs {
		frame := eth(macB, macA, nil, 0x0800,
			ipv4(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), 17, 0, udp(40000, 6343, dg)))
		b = le.AppendUint32(b, uint32(1700000000+i))
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, uint32(len(frame)))
		b = le.AppendUint32(b, uint32(len(frame)))
		b = append(b, frame...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

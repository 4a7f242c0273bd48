package sflow

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/wire"
)

// Builders of sFlow v5 datagrams and sampled packets, written from the
// specification (sflow.org sFlow Version 5) for tests that need what no
// capture has. Their output is checked against tshark in
// TestTsharkSynthetic.

var (
	testAgent = netip.MustParseAddr("198.51.100.7")
)

func mustNew(t testing.TB, cfg Config) *Decoder {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
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
	return wire.Cat(wire.BE32(format), wire.BE32(uint32(len(data))), data)
}

func addrXDR(a netip.Addr) []byte {
	if !a.IsValid() {
		return wire.BE32(0)
	}
	if a.Is4() {
		b := a.As4()
		return wire.Cat(wire.BE32(1), b[:])
	}
	b := a.As16()
	return wire.Cat(wire.BE32(2), b[:])
}

// datagram builds an sFlow v5 datagram from agent with the given samples.
func datagram(agent netip.Addr, sub, seq uint32, samples ...[]byte) []byte {
	b := wire.Cat(wire.BE32(5), addrXDR(agent), wire.BE32(sub), wire.BE32(seq), wire.BE32(123456), wire.BE32(uint32(len(samples))))
	for _, s := range samples {
		b = append(b, s...)
	}
	return b
}

// flowSample is a compact flow sample (format 1).
func flowSample(seq, srcIdx, rate, in, out uint32, recs ...[]byte) []byte {
	b := wire.Cat(wire.BE32(seq), wire.BE32(srcIdx), wire.BE32(rate), wire.BE32(rate*seq), wire.BE32(0), wire.BE32(in), wire.BE32(out), wire.BE32(uint32(len(recs))))
	for _, r := range recs {
		b = append(b, r...)
	}
	return tlv(fmtFlowSample, b)
}

// expandedFlowSample is an expanded flow sample (format 3).
func expandedFlowSample(seq, srcIdx, rate, inFmt, in, outFmt, out uint32, recs ...[]byte) []byte {
	b := wire.Cat(wire.BE32(seq), wire.BE32(0), wire.BE32(srcIdx), wire.BE32(rate), wire.BE32(rate*seq), wire.BE32(0),
		wire.BE32(inFmt), wire.BE32(in), wire.BE32(outFmt), wire.BE32(out), wire.BE32(uint32(len(recs))))
	for _, r := range recs {
		b = append(b, r...)
	}
	return tlv(fmtExpandedFlowSample, b)
}

func counterSample(seq, srcIdx uint32, recs ...[]byte) []byte {
	b := wire.Cat(wire.BE32(seq), wire.BE32(srcIdx), wire.BE32(uint32(len(recs))))
	for _, r := range recs {
		b = append(b, r...)
	}
	return tlv(fmtCounterSample, b)
}

func expandedCounterSample(seq, srcIdx uint32, recs ...[]byte) []byte {
	b := wire.Cat(wire.BE32(seq), wire.BE32(0), wire.BE32(srcIdx), wire.BE32(uint32(len(recs))))
	for _, r := range recs {
		b = append(b, r...)
	}
	return tlv(fmtExpandedCounterSample, b)
}

// rawHeader is a raw packet header record of the whole of pkt.
func rawHeader(proto uint32, frameLen uint32, pkt []byte) []byte {
	return tlv(recRawHeader, wire.Cat(wire.BE32(proto), wire.BE32(frameLen), wire.BE32(4), wire.BE32(uint32(len(pkt))), pad4(append([]byte(nil), pkt...))))
}

func ethernetRecord(length uint32, src, dst []byte, etype uint32) []byte {
	return tlv(recEthernet, wire.Cat(wire.BE32(length), src, []byte{0, 0}, dst, []byte{0, 0}, wire.BE32(etype)))
}

func ipv4Record(length uint32, proto uint32, src, dst netip.Addr, sport, dport, flags, tos uint32) []byte {
	s, d := src.As4(), dst.As4()
	return tlv(recIPv4, wire.Cat(wire.BE32(length), wire.BE32(proto), s[:], d[:], wire.BE32(sport), wire.BE32(dport), wire.BE32(flags), wire.BE32(tos)))
}

func ipv6Record(length uint32, proto uint32, src, dst netip.Addr, sport, dport, flags, prio uint32) []byte {
	s, d := src.As16(), dst.As16()
	return tlv(recIPv6, wire.Cat(wire.BE32(length), wire.BE32(proto), s[:], d[:], wire.BE32(sport), wire.BE32(dport), wire.BE32(flags), wire.BE32(prio)))
}

func switchRecord(srcVLAN, dstVLAN uint32) []byte {
	return tlv(recExtSwitch, wire.Cat(wire.BE32(srcVLAN), wire.BE32(0), wire.BE32(dstVLAN), wire.BE32(0)))
}

func routerRecord(nh netip.Addr, srcMask, dstMask uint32) []byte {
	return tlv(recExtRouter, wire.Cat(addrXDR(nh), wire.BE32(srcMask), wire.BE32(dstMask)))
}

// gatewayRecord has one AS_SEQUENCE segment holding path (none when
// empty) and one community.
func gatewayRecord(nh netip.Addr, as, srcAS, peerAS uint32, path ...uint32) []byte {
	b := wire.Cat(addrXDR(nh), wire.BE32(as), wire.BE32(srcAS), wire.BE32(peerAS))
	if len(path) == 0 {
		b = append(b, wire.BE32(0)...)
	} else {
		b = wire.Cat(b, wire.BE32(1), wire.BE32(2), wire.BE32(uint32(len(path))))
		for _, a := range path {
			b = append(b, wire.BE32(a)...)
		}
	}
	b = wire.Cat(b, wire.BE32(1), wire.BE32(65000<<16|100), wire.BE32(100))
	return tlv(recExtGateway, b)
}

func genericIfRecord(c *flow.IfCounters) []byte {
	return tlv(recGenericIf, wire.Cat(wire.BE32(c.IfIndex), wire.BE32(c.IfType), wire.BE64(c.IfSpeed), wire.BE32(c.IfDirection), wire.BE32(c.IfStatus),
		wire.BE64(c.InOctets), wire.BE32(uint32(c.InUcastPkts)), wire.BE32(uint32(c.InMulticastPkts)), wire.BE32(uint32(c.InBroadcastPkts)),
		wire.BE32(uint32(c.InDiscards)), wire.BE32(uint32(c.InErrors)), wire.BE32(uint32(c.InUnknownProtos)),
		wire.BE64(c.OutOctets), wire.BE32(uint32(c.OutUcastPkts)), wire.BE32(uint32(c.OutMulticastPkts)), wire.BE32(uint32(c.OutBroadcastPkts)),
		wire.BE32(uint32(c.OutDiscards)), wire.BE32(uint32(c.OutErrors)), wire.BE32(c.Promiscuous)))
}

func ethernetCountersRecord() []byte {
	b := make([]byte, 0, 52)
	for i := uint32(0); i < 13; i++ {
		b = append(b, wire.BE32(i*7)...)
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
	b := wire.Cat(dst, src)
	for i, v := range vlans {
		tpid := uint16(0x8100)
		if i == 0 && len(vlans) > 1 {
			tpid = 0x88a8
		}
		b = wire.Cat(b, wire.BE16(tpid), wire.BE16(v))
	}
	return wire.Cat(b, wire.BE16(etype), payload)
}

func ipv4(src, dst netip.Addr, proto, tos uint8, payload []byte) []byte {
	s, d := src.As4(), dst.As4()
	h := wire.Cat([]byte{0x45, tos}, wire.BE16(uint16(20+len(payload))), wire.BE16(1), wire.BE16(0x4000), []byte{64, proto}, wire.BE16(0), s[:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return wire.Cat(h, payload)
}

// ipv6 builds an IPv6 packet; a non-nil hopByHop puts a hop-by-hop options
// header (8 bytes) before the payload.
func ipv6(src, dst netip.Addr, nh, tc uint8, hopByHop bool, payload []byte) []byte {
	s, d := src.As16(), dst.As16()
	first := nh
	if hopByHop {
		payload = wire.Cat([]byte{nh, 0, 1, 4, 0, 0, 0, 0}, payload)
		first = 0
	}
	return wire.Cat([]byte{0x60 | tc>>4, tc << 4, 0, 0}, wire.BE16(uint16(len(payload))), []byte{first, 64}, s[:], d[:], payload)
}

func tcp(sport, dport uint16, flags uint8) []byte {
	return wire.Cat(wire.BE16(sport), wire.BE16(dport), wire.BE32(1000), wire.BE32(2000), []byte{0x50, flags}, wire.BE16(512), wire.BE16(0), wire.BE16(0))
}

func udp(sport, dport uint16, payload []byte) []byte {
	return wire.Cat(wire.BE16(sport), wire.BE16(dport), wire.BE16(uint16(8+len(payload))), wire.BE16(0), payload)
}

func icmp(typ, code uint8) []byte {
	return []byte{typ, code, 0, 0, 0, 1, 0, 1}
}

func vxlan(vni uint32, frame []byte) []byte {
	return wire.Cat([]byte{0x08, 0, 0, 0}, wire.BE32(vni<<8), frame)
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

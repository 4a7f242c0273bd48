package sflow

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
	"github.com/flowlake/flowlake/internal/testenv/tshark"
	"github.com/flowlake/flowlake/internal/testenv/wire"
)

var (
	hostA  = netip.MustParseAddr("10.1.2.3")
	hostB  = netip.MustParseAddr("203.0.113.9")
	host6A = netip.MustParseAddr("2001:db8::1")
	host6B = netip.MustParseAddr("2001:db8:ffff::2")
	vtepA  = netip.MustParseAddr("172.16.0.1")
	vtepB  = netip.MustParseAddr("172.16.0.2")
	agent6 = netip.MustParseAddr("2001:db8:a::7")
)

// QinQ-tagged TCP SYN-ACK over IPv4 with switch, router and gateway
// records.
func qinqTCPSample(seq uint32) []byte {
	frame := eth(macB, macA, []uint16{100, 200}, 0x0800, ipv4(hostA, hostB, 6, 0xb8, tcp(40000, 443, 0x12)))
	return flowSample(seq, 7, 512, 7, 9,
		rawHeader(hdrEthernet, 1514, frame),
		switchRecord(300, 301),
		routerRecord(netip.MustParseAddr("10.1.0.254"), 24, 16),
		gatewayRecord(netip.MustParseAddr("10.9.9.9"), 65001, 64500, 64501, 64501, 64502, 64503))
}

// VXLAN-encapsulated IPv4 UDP (DNS) inside an outer IPv4 packet, sampled on
// VLAN 42.
func vxlanSample(seq uint32) []byte {
	inner := eth(macA, macB, nil, 0x0800, ipv4(hostB, hostA, 17, 0x10, udp(5353, 53, []byte("query"))))
	outer := eth(macB, macA, []uint16{42}, 0x0800, ipv4(vtepA, vtepB, 17, 0, udp(49152, 4789, vxlan(5001, inner))))
	return flowSample(seq, 4, 1000, 3, 4, rawHeader(hdrEthernet, uint32(len(outer)+4), outer))
}

// IPv6 UDP with a hop-by-hop header, in an expanded sample with a high
// output ifIndex and the agent itself as input.
func ipv6Sample(seq uint32) []byte {
	frame := eth(macA, macB, []uint16{7}, 0x86dd, ipv6(host6A, host6B, 17, 0x28, true, udp(1234, 4321, []byte("x"))))
	return expandedFlowSample(seq, 2000000001, 4096, 0, localInterface, 0, 2000000001, rawHeader(hdrEthernet, 200, frame))
}

func icmpv6Sample(seq uint32) []byte {
	return flowSample(seq, 5, 1, 5, 0, rawHeader(hdrIPv6, 64, ipv6(host6B, host6A, 58, 0, false, icmp(128, 0))))
}

func icmpSample(seq uint32) []byte {
	return flowSample(seq, 5, 10, 0, 5, rawHeader(hdrIPv4, 84, ipv4(hostA, hostB, 1, 0, icmp(3, 13))))
}

func countersSample(seq uint32) []byte {
	return counterSample(seq, 9, genericIfRecord(&testCounters), ethernetCountersRecord())
}

var testCounters = flow.IfCounters{
	IfIndex: 9, IfType: 6, IfSpeed: 10_000_000_000, IfDirection: 1, IfStatus: 3,
	InOctets: 1 << 40, InUcastPkts: 11, InMulticastPkts: 12, InBroadcastPkts: 13, InDiscards: 14,
	InErrors: 15, InUnknownProtos: 16, OutOctets: 1<<40 + 1, OutUcastPkts: 21, OutMulticastPkts: 22,
	OutBroadcastPkts: 23, OutDiscards: 24, OutErrors: 25, Promiscuous: 1,
}

// mplsSample is TCP over IPv4 under two MPLS labels.
func mplsSample(seq uint32) []byte {
	labels := wire.Cat(wire.BE32(16000<<12|0<<8|64), wire.BE32(17000<<12|1<<8|64)) // second is bottom of stack
	frame := eth(macA, macB, nil, 0x8847, wire.Cat(labels, ipv4(hostA, hostB, 6, 0, tcp(1111, 2222, 0x01))))
	return flowSample(seq, 1, 64, 1, 2, rawHeader(hdrEthernet, 800, frame))
}

// fragmentSample is a later IPv4 fragment: no transport header.
func fragmentSample(seq uint32) []byte {
	p := ipv4(hostA, hostB, 17, 0, udp(1, 2, nil))
	p[6], p[7] = 0x00, 0xb9 // fragment offset 185 (1480 bytes)
	p[10], p[11] = 0, 0
	return flowSample(seq, 1, 64, 1, 2, rawHeader(hdrIPv4, 100, p))
}

func sctpSample(seq uint32) []byte {
	frame := eth(macA, macB, []uint16{5}, 0x86dd, ipv6(host6A, host6B, 132, 0, false, wire.Cat(wire.BE16(2905), wire.BE16(2906), wire.BE32(1), wire.BE32(0))))
	return flowSample(seq, 1, 64, 1, 2, rawHeader(hdrEthernet, 120, frame))
}

// syntheticDatagrams are the datagrams the builders make, for tshark,
// fuzzing and benchmarks.
func syntheticDatagrams() [][]byte {
	return [][]byte{
		datagram(testAgent, 1, 1, qinqTCPSample(1), vxlanSample(2), countersSample(3)),
		datagram(agent6, 0, 1, ipv6Sample(1), icmpv6Sample(2), icmpSample(3), expandedCounterSample(4, 10, genericIfRecord(&testCounters))),
		datagram(testAgent, 2, 1, mplsSample(1), fragmentSample(2), sctpSample(3)),
	}
}

func TestFlowSample(t *testing.T) {
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, datagram(testAgent, 1, 1, qinqTCPSample(1)))
	if out.Flows.Len() != 1 {
		t.Fatalf("%d flows", out.Flows.Len())
	}
	r := capture.Row(&out.Flows, 0)
	want := flow.Record{
		TimeReceived: capture.Received.UnixNano(), TimeStart: capture.Received.UnixNano(), TimeEnd: capture.Received.UnixNano(),
		SourceType: flow.SourceTypeSflow, ExporterAddr: flow.AddrFromNetip(testAgent), ObservationDomain: 1,
		SamplingRate: 512, IPVersion: 4, SrcAddr: flow.AddrFromNetip(hostA), DstAddr: flow.AddrFromNetip(hostB),
		SrcPort: 40000, DstPort: 443, Proto: 6, TCPFlags: 0x12, TOS: 0xb8, VLAN: 100,
		SrcMAC: flow.MACFromBytes(macA), DstMAC: flow.MACFromBytes(macB), InIf: 7, OutIf: 9,
		NextHop: flow.MustParseAddr("10.1.0.254"), SrcAS: 64500, DstAS: 64503, SrcMask: 24, DstMask: 16,
		Direction: dirIngress, Bytes: 1514 * 512, Packets: 512,
	}
	if r != want {
		t.Errorf("decoded\n%+v\nwant\n%+v", r, want)
	}
}

func TestVXLAN(t *testing.T) {
	d := mustNew(t, Config{})
	r := capture.Row(&capture.Decode(t, d, datagram(testAgent, 0, 1, vxlanSample(1))).Flows, 0)
	if r.SrcAddr != flow.AddrFromNetip(hostB) || r.DstAddr != flow.AddrFromNetip(hostA) || r.Proto != 17 ||
		r.SrcPort != 5353 || r.DstPort != 53 || r.TOS != 0x10 || r.IPVersion != 4 {
		t.Errorf("inner 5-tuple not the flow's: %+v", r)
	}
	if r.VLAN != 42 || r.SrcMAC != flow.MACFromBytes(macB) || r.DstMAC != flow.MACFromBytes(macA) {
		t.Errorf("VLAN %d (want the outer 42), MACs %x %x (want the inner ones)", r.VLAN, r.SrcMAC, r.DstMAC)
	}
	if r.Direction != dirEgress {
		t.Errorf("direction %d, want egress (source is the output interface)", r.Direction)
	}
	if r.VXLANVNI != 5001 {
		t.Errorf("VNI %d, want 5001", r.VXLANVNI)
	}

	// A header cut inside the inner frame leaves the outer UDP flow.
	outer := eth(macB, macA, nil, 0x0800, ipv4(vtepA, vtepB, 17, 0, udp(49152, 4789, vxlan(5001, macA))))
	r = capture.Row(&capture.Decode(t, d, datagram(testAgent, 0, 2, flowSample(1, 3, 1, 3, 4, rawHeader(hdrEthernet, 1500, outer)))).Flows, 0)
	if r.SrcAddr != flow.AddrFromNetip(vtepA) || r.DstPort != 4789 || r.VXLANVNI != 5001 {
		t.Errorf("truncated inner frame: want the outer flow, got %+v", r)
	}
}

func TestIPv6AndExpanded(t *testing.T) {
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, datagram(agent6, 3, 1, ipv6Sample(1), icmpv6Sample(2), icmpSample(3)))
	if out.Flows.Len() != 3 {
		t.Fatalf("%d flows", out.Flows.Len())
	}
	r := capture.Row(&out.Flows, 0)
	if r.ExporterAddr != flow.AddrFromNetip(agent6) || r.ObservationDomain != 3 {
		t.Errorf("agent %v sub-agent %d", r.ExporterAddr, r.ObservationDomain)
	}
	if r.IPVersion != 6 || r.SrcAddr != flow.AddrFromNetip(host6A) || r.DstAddr != flow.AddrFromNetip(host6B) ||
		r.Proto != 17 || r.SrcPort != 1234 || r.DstPort != 4321 || r.TOS != 0x28 || r.VLAN != 7 {
		t.Errorf("IPv6 over hop-by-hop: %+v", r)
	}
	if r.InIf != 0 || r.OutIf != 2000000001 || r.Direction != dirEgress || r.SamplingRate != 4096 || r.Bytes != 200*4096 {
		t.Errorf("expanded sample: in %d out %d direction %d rate %d bytes %d", r.InIf, r.OutIf, r.Direction, r.SamplingRate, r.Bytes)
	}
	r = capture.Row(&out.Flows, 1)
	if r.Proto != 58 || r.ICMPType != 128 || r.ICMPCode != 0 || r.SrcPort != 0 || r.DstPort != 0 || r.Bytes != 64 || r.OutIf != 0 {
		t.Errorf("ICMPv6 in a raw IPv6 header: %+v", r)
	}
	r = capture.Row(&out.Flows, 2)
	if r.Proto != 1 || r.ICMPType != 3 || r.ICMPCode != 13 || r.Bytes != 840 || r.Packets != 10 || r.InIf != 0 {
		t.Errorf("ICMP in a raw IPv4 header: %+v", r)
	}
}

func TestHeaderVariants(t *testing.T) {
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, datagram(testAgent, 0, 1, mplsSample(1), fragmentSample(2), sctpSample(3)))
	r := capture.Row(&out.Flows, 0)
	if r.SrcAddr != flow.AddrFromNetip(hostA) || r.Proto != 6 || r.SrcPort != 1111 || r.DstPort != 2222 || r.TCPFlags != 1 {
		t.Errorf("TCP under MPLS: %+v", r)
	}
	r = capture.Row(&out.Flows, 1)
	if r.SrcAddr != flow.AddrFromNetip(hostA) || r.Proto != 17 || r.SrcPort != 0 || r.DstPort != 0 {
		t.Errorf("later fragment: %+v", r)
	}
	r = capture.Row(&out.Flows, 2)
	if r.IPVersion != 6 || r.Proto != 132 || r.SrcPort != 2905 || r.DstPort != 2906 || r.VLAN != 5 {
		t.Errorf("SCTP over IPv6: %+v", r)
	}
}

func TestSampledRecords(t *testing.T) {
	d := mustNew(t, Config{})
	pkt := datagram(testAgent, 0, 1,
		// IPv4 and Ethernet frame records only.
		flowSample(1, 1, 100, 1, 2,
			ethernetRecord(1518, macA, macB, 0x0800),
			ipv4Record(1500, 6, hostA, hostB, 80, 5555, 0x18, 0x20)),
		// IPv6 record only: IP length gives the bytes.
		flowSample(2, 1, 100, 1, 2, ipv6Record(1280, 17, host6A, host6B, 53, 5353, 0, 3)),
		// A raw header wins over the IPv4 record.
		flowSample(3, 1, 1, 1, 2,
			ipv4Record(99, 17, hostB, hostA, 1, 2, 0, 0),
			rawHeader(hdrIPv4, 60, ipv4(hostA, hostB, 6, 0, tcp(1, 2, 0x02)))),
		// Only an extended switch record: a sample still counts.
		flowSample(4, 1, 50, 1, 2, switchRecord(0xffffffff, 0)),
	)
	out := capture.Decode(t, d, pkt)
	if out.Flows.Len() != 4 {
		t.Fatalf("%d flows", out.Flows.Len())
	}
	r := capture.Row(&out.Flows, 0)
	if r.SrcAddr != flow.AddrFromNetip(hostA) || r.SrcPort != 80 || r.DstPort != 5555 || r.Proto != 6 || r.TCPFlags != 0x18 ||
		r.TOS != 0x20 || r.Bytes != 1518*100 || r.SrcMAC != flow.MACFromBytes(macA) || r.DstMAC != flow.MACFromBytes(macB) {
		t.Errorf("IPv4 + Ethernet frame records: %+v", r)
	}
	r = capture.Row(&out.Flows, 1)
	if r.IPVersion != 6 || r.DstAddr != flow.AddrFromNetip(host6B) || r.Proto != 17 || r.SrcPort != 53 || r.TOS != 3 || r.Bytes != 128000 {
		t.Errorf("IPv6 record: %+v", r)
	}
	r = capture.Row(&out.Flows, 2)
	if r.SrcAddr != flow.AddrFromNetip(hostA) || r.Proto != 6 || r.TCPFlags != 2 || r.Bytes != 60 {
		t.Errorf("raw header over IPv4 record: %+v", r)
	}
	r = capture.Row(&out.Flows, 3)
	if r.Packets != 50 || r.Bytes != 0 || r.VLAN != 0 || r.IPVersion != 0 {
		t.Errorf("switch record only: %+v", r)
	}
}

func TestGatewayWithoutRouter(t *testing.T) {
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, datagram(testAgent, 0, 1,
		flowSample(1, 1, 1, 1, 2, gatewayRecord(netip.MustParseAddr("10.9.9.9"), 65001, 0, 0)),
		flowSample(2, 1, 1, 1, 2, routerRecord(netip.MustParseAddr("0.0.0.0"), 0, 0), gatewayRecord(netip.MustParseAddr("2001:db8::9"), 65001, 1, 2, 3))))
	r := capture.Row(&out.Flows, 0)
	if r.NextHop != flow.MustParseAddr("10.9.9.9") || r.DstAS != 65001 || r.SrcAS != 0 {
		t.Errorf("gateway, empty AS path: next hop %v dst_as %d (want the router's AS) src_as %d", r.NextHop, r.DstAS, r.SrcAS)
	}
	r = capture.Row(&out.Flows, 1)
	if r.NextHop != flow.MustParseAddr("2001:db8::9") || r.DstAS != 3 || r.SrcAS != 1 {
		t.Errorf("unspecified router next hop: next hop %v dst_as %d src_as %d", r.NextHop, r.DstAS, r.SrcAS)
	}
}

func TestCounters(t *testing.T) {
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, datagram(testAgent, 2, 1, countersSample(77), expandedCounterSample(78, 9, genericIfRecord(&testCounters))))
	if out.Flows.Len() != 0 || len(out.Counters) != 2 {
		t.Fatalf("%d flows, %d counters", out.Flows.Len(), len(out.Counters))
	}
	for i, seq := range []uint32{77, 78} {
		want := testCounters
		want.Time = capture.Received.UnixNano()
		want.ExporterAddr = flow.AddrFromNetip(testAgent)
		want.ObservationDomain = 2
		want.SequenceNumber = seq
		if out.Counters[i] != want {
			t.Errorf("counters %d:\n%+v\nwant\n%+v", i, out.Counters[i], want)
		}
	}
}

func TestUnknownSkipped(t *testing.T) {
	d := mustNew(t, Config{})
	pkt := datagram(testAgent, 0, 1,
		tlv(4413<<12|5, []byte{1, 2, 3, 4, 5, 6, 7, 8}), // vendor sample
		tlv(5, make([]byte, 40)),                        // discarded packet event
		flowSample(1, 1, 8, 1, 2,
			tlv(4300<<12|1, []byte{9, 9, 9, 9}), // vendor record with format 1
			tlv(2100, nil),                      // unknown standard record
			rawHeader(hdrEthernet, 100, eth(macA, macB, nil, 0x0800, ipv4(hostA, hostB, 6, 0, tcp(1, 2, 0x10)))),
			rawHeader(hdrEthernet, 999, eth(macA, macB, nil, 0x86dd, nil)), // second header: ignored
			tlv(recExtSwitch, make([]byte, 20))),                           // longer than needed: fine
		counterSample(2, 1, tlv(1005, pad4([]byte{0, 0, 0, 3, 'e', 't', 'h'}))),
	)
	out := capture.Decode(t, d, pkt)
	if out.Flows.Len() != 1 || len(out.Counters) != 0 {
		t.Fatalf("%d flows, %d counters", out.Flows.Len(), len(out.Counters))
	}
	want := flow.Interface{ExporterAddr: flow.AddrFromNetip(testAgent), Index: 1, Name: "eth"}
	if len(out.Interfaces) != 1 || out.Interfaces[0] != want {
		t.Errorf("port name record: interfaces %+v, want %+v", out.Interfaces, want)
	}
	if r := capture.Row(&out.Flows, 0); r.Bytes != 800 || r.SrcAddr != flow.AddrFromNetip(hostA) || r.TCPFlags != 0x10 {
		t.Errorf("flow: %+v", r)
	}
	s := d.Stats()
	if len(s) != 1 || s[0].Samples != 4 || s[0].Records != 6 || s[0].Flows != 1 || s[0].Errors != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestMalformed(t *testing.T) {
	good := datagram(testAgent, 0, 1, qinqTCPSample(1), countersSample(2), vxlanSample(3))
	bad := func(off int, v uint32) []byte {
		b := append([]byte(nil), good...)
		copy(b[off:], wire.BE32(v))
		return b
	}
	// Offsets: header 28; sample 1 at 28: format, length, then seq (36),
	// source (40), rate, pool, drops, in, out, records (64), first record
	// at 68: format, length (72), then raw header proto, frame length,
	// stripped, header length (88).
	cases := map[string][]byte{
		"version 4":           bad(0, 4),
		"agent address type":  bad(4, 3),
		"sample count":        bad(24, 1<<30),
		"sample length":       bad(32, 1<<20),
		"record count":        bad(64, 1000),
		"record length":       bad(72, 1<<20),
		"header length":       bad(88, 200),
		"empty":               nil,
		"header only":         good[:27],
		"IPv6 agent cut":      wire.Cat(wire.BE32(5), wire.BE32(2), make([]byte, 20)),
		"short flow sample":   datagram(testAgent, 0, 1, tlv(fmtFlowSample, make([]byte, 28))),
		"short counter":       datagram(testAgent, 0, 1, counterSample(1, 1, tlv(recGenericIf, make([]byte, 84)))),
		"short IPv4 record":   datagram(testAgent, 0, 1, flowSample(1, 1, 1, 1, 1, tlv(recIPv4, make([]byte, 28)))),
		"short IPv6 record":   datagram(testAgent, 0, 1, flowSample(1, 1, 1, 1, 1, tlv(recIPv6, make([]byte, 52)))),
		"short router":        datagram(testAgent, 0, 1, flowSample(1, 1, 1, 1, 1, tlv(recExtRouter, wire.Cat(wire.BE32(2), make([]byte, 16))))),
		"router address type": datagram(testAgent, 0, 1, flowSample(1, 1, 1, 1, 1, tlv(recExtRouter, wire.Cat(wire.BE32(7), make([]byte, 16))))),
		"AS path count":       datagram(testAgent, 0, 1, flowSample(1, 1, 1, 1, 1, tlv(recExtGateway, wire.Cat(addrXDR(hostA), wire.BE32(1), wire.BE32(2), wire.BE32(3), wire.BE32(1<<30))))),
		"AS segment count":    datagram(testAgent, 0, 1, flowSample(1, 1, 1, 1, 1, tlv(recExtGateway, wire.Cat(addrXDR(hostA), wire.BE32(1), wire.BE32(2), wire.BE32(3), wire.BE32(1), wire.BE32(2), wire.BE32(1<<30))))),
		"communities":         datagram(testAgent, 0, 1, flowSample(1, 1, 1, 1, 1, tlv(recExtGateway, wire.Cat(addrXDR(hostA), wire.BE32(1), wire.BE32(2), wire.BE32(3), wire.BE32(0), wire.BE32(5))))),
	}
	// Every proper prefix of a good datagram is damaged.
	for n := 0; n < len(good); n += 3 {
		cases[fmt.Sprintf("prefix of %d bytes", n)] = good[:n]
	}
	d := mustNew(t, Config{})
	failures := 0
	for name, pkt := range cases {
		var out flow.Decoded
		err := d.Decode(pkt, capture.Exporter, capture.Received, &out)
		if err == nil {
			t.Errorf("%s: decoded without error", name)
			continue
		}
		failures++
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("%s: error wraps no sentinel: %v", name, err)
		}
	}
	var counted uint64
	for _, s := range d.Stats() {
		counted += s.Errors
	}
	if counted != uint64(failures) {
		t.Errorf("stats count %d errors, %d datagrams failed", counted, failures)
	}

	// A damaged sample between good ones costs only itself.
	var out flow.Decoded
	pkt := datagram(testAgent, 0, 1, qinqTCPSample(1), flowSample(2, 1, 1, 1, 1, tlv(recIPv4, make([]byte, 8))), countersSample(3), icmpSample(4))
	err := d.Decode(pkt, capture.Exporter, capture.Received, &out)
	if !errors.Is(err, ErrMalformed) || out.Flows.Len() != 2 || len(out.Counters) != 1 {
		t.Fatalf("got %v, %d flows, %d counters; want ErrMalformed, 2 flows, 1 counter record", err, out.Flows.Len(), len(out.Counters))
	}
	if r := capture.Row(&out.Flows, 1); r.Proto != 1 {
		t.Errorf("second flow is not the ICMP sample: %+v", r)
	}

	// A counter sample damaged after its generic record adds nothing.
	out.Reset()
	pkt = datagram(testAgent, 0, 1, counterSample(1, 1, genericIfRecord(&testCounters), tlv(recPortName, wire.BE32(99))))
	if err := d.Decode(pkt, capture.Exporter, capture.Received, &out); !errors.Is(err, ErrMalformed) || len(out.Counters)+len(out.Interfaces) != 0 {
		t.Errorf("got %v, %d counters, %d interfaces; want ErrMalformed and nothing", err, len(out.Counters), len(out.Interfaces))
	}
}

func TestSamplingOverride(t *testing.T) {
	d := mustNew(t, Config{SamplingOverrides: map[netip.Addr]uint32{testAgent: 2048}})
	out := capture.Decode(t, d, datagram(testAgent, 0, 1, qinqTCPSample(1), flowSample(2, 1, 0, 1, 1)))
	if r := capture.Row(&out.Flows, 0); r.SamplingRate != 2048 || r.Packets != 2048 || r.Bytes != 1514*2048 {
		t.Errorf("override: rate %d packets %d bytes %d", r.SamplingRate, r.Packets, r.Bytes)
	}
	d = mustNew(t, Config{})
	out = capture.Decode(t, d, datagram(testAgent, 0, 1, flowSample(2, 1, 0, 1, 1)))
	if r := capture.Row(&out.Flows, 0); r.SamplingRate != 1 || r.Packets != 1 {
		t.Errorf("rate 0: rate %d packets %d, want 1", r.SamplingRate, r.Packets)
	}
}

func TestSequenceGapsAndStats(t *testing.T) {
	d := mustNew(t, Config{})
	for _, seq := range []uint32{10, 11, 14, 15, 3, 4, 6} { // 2 lost, restart, 1 lost
		capture.Decode(t, d, datagram(testAgent, 1, seq, qinqTCPSample(seq)))
	}
	capture.Decode(t, d, datagram(testAgent, 2, 99, countersSample(1)))
	s := d.Stats()
	if len(s) != 2 {
		t.Fatalf("stats %+v", s)
	}
	want := ExporterStats{Agent: testAgent, SubAgentID: 1, Packets: 7, Samples: 7, Records: 28, Flows: 7, SequenceGaps: 3}
	if s[0] != want {
		t.Errorf("stats\n%+v\nwant\n%+v", s[0], want)
	}
	want = ExporterStats{Agent: testAgent, SubAgentID: 2, Packets: 1, Samples: 1, Records: 2, Counters: 1}
	if s[1] != want {
		t.Errorf("stats\n%+v\nwant\n%+v", s[1], want)
	}
}

func TestUnknownAgentAddressType(t *testing.T) {
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, datagram(netip.Addr{}, 4, 1, icmpSample(1)))
	if r := capture.Row(&out.Flows, 0); r.ExporterAddr != flow.AddrFromNetip(capture.Exporter.Addr()) || r.ObservationDomain != 4 {
		t.Errorf("exporter %v domain %d, want the UDP source and sub-agent 4", r.ExporterAddr, r.ObservationDomain)
	}
	capture.Decode(t, d, datagram(netip.Addr{}, 4, 2)) // 24 bytes: no samples
	if s := d.Stats(); len(s) != 1 || s[0].Agent != capture.Exporter.Addr() || s[0].Packets != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestMaxAgents(t *testing.T) {
	d := mustNew(t, Config{MaxAgents: 2})
	for i := 0; i < 5; i++ {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
		var out flow.Decoded
		if err := d.Decode(datagram(a, 0, 1, icmpSample(1)), capture.Exporter, capture.Received, &out); err != nil || out.Flows.Len() != 1 {
			t.Fatalf("agent %d: %v, %d flows", i, err, out.Flows.Len())
		}
	}
	s := d.Stats()
	if len(s) != 3 || s[0].Agent.IsValid() || s[0].Packets != 3 || s[1].Packets != 1 || s[2].Packets != 1 {
		t.Errorf("stats %+v; want the overflow entry with 3 datagrams first", s)
	}
}

// TestConcurrent decodes from several goroutines into their own outputs
// (run with -race to check the locking).
func TestConcurrent(t *testing.T) {
	d := mustNew(t, Config{})
	const workers, rounds = 4, 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out flow.Decoded
			for i := 0; i < rounds; i++ {
				out.Reset()
				for _, dg := range syntheticDatagrams() {
					if err := d.Decode(dg, capture.Exporter, capture.Received, &out); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	var packets, flows uint64
	for _, s := range d.Stats() {
		packets += s.Packets
		flows += s.Flows
	}
	if packets != workers*rounds*3 || flows != workers*rounds*8 {
		t.Errorf("%d packets, %d flows counted; want %d, %d", packets, flows, workers*rounds*3, workers*rounds*8)
	}
}

func TestNoAllocations(t *testing.T) {
	d := mustNew(t, Config{})
	pkt := benchDatagram()
	var out flow.Decoded
	capture.Decode(t, d, pkt) // agent state
	allocs := testing.AllocsPerRun(100, func() {
		out.Reset()
		if err := d.Decode(pkt, capture.Exporter, capture.Received, &out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per datagram", allocs)
	}
}

// TestTsharkSynthetic checks the builders and the decoder against tshark
// on what the captures lack: QinQ, VXLAN, IPv6 with extension headers,
// ICMPv6, raw IP headers, expanded samples with high ifIndex values.
func TestTsharkSynthetic(t *testing.T) {
	tshark.Require(t)
	path := filepath.Join(t.TempDir(), "synthetic.pcap")
	writePcap(t, path, append(syntheticDatagrams(), benchDatagram()))
	flows, counters := compareCapture(t, path, nil)
	if flows != 5+3+8 || counters != 2 {
		t.Errorf("tshark shows %d flows and %d counter records, want 16 and 2", flows, counters)
	}
}

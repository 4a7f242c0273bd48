package sflow

import (
	"net/netip"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
)

// benchDatagram is a datagram of 8 flow samples as switches send them:
// 128-byte Ethernet headers (TCP and UDP, IPv4 and IPv6, one VLAN-tagged)
// with an extended switch record each.
func benchDatagram() []byte {
	payload := make([]byte, 80)
	var samples [][]byte
	for i := 0; i < 8; i++ {
		var frame []byte
		src := netip.AddrFrom4([4]byte{10, 0, byte(i), 1})
		switch i % 4 {
		case 0:
			frame = eth(macA, macB, nil, 0x0800, ipv4(src, hostB, 6, 0, append(tcp(uint16(40000+i), 443, 0x10), payload...)))
		case 1:
			frame = eth(macA, macB, []uint16{10}, 0x0800, ipv4(src, hostB, 17, 0, udp(uint16(50000+i), 53, payload)))
		case 2:
			frame = eth(macA, macB, nil, 0x86dd, ipv6(host6A, host6B, 6, 0, false, append(tcp(uint16(40000+i), 80, 0x18), payload...)))
		case 3:
			frame = eth(macA, macB, nil, 0x0800, ipv4(src, hostA, 6, 0, append(tcp(22, uint16(60000+i), 0x10), payload...)))
		}
		frame = frame[:128]
		samples = append(samples, flowSample(uint32(i+1), 3, 1024, 3, 5, rawHeader(hdrEthernet, 1518, frame), switchRecord(10, 10)))
	}
	return datagram(testAgent, 0, 1, samples...)
}

func benchDecode(b *testing.B, dgs [][]byte) {
	d := mustNew(b, Config{})
	var out flow.Decoded
	flows := 0
	for _, dg := range dgs {
		out.Reset()
		if err := d.Decode(dg, capture.Exporter, capture.Received, &out); err != nil {
			b.Fatal(err)
		}
		flows += out.Flows.Len()
	}
	if flows == 0 {
		b.Fatal("no flows")
	}
	size := 0
	for _, dg := range dgs {
		size += len(dg)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, dg := range dgs {
			out.Reset()
			if err := d.Decode(dg, capture.Exporter, capture.Received, &out); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*flows)
	b.ReportMetric(ns, "ns/flow")
	b.ReportMetric(1e9/ns, "flows/s")
}

// BenchmarkDecodeSynthetic8 decodes one datagram of 8 flow samples.
func BenchmarkDecodeSynthetic8(b *testing.B) {
	benchDecode(b, [][]byte{benchDatagram()})
}

// BenchmarkDecodeCapture replays the flow samples of a real switch's
// datagram (gopacket's live capture: 6 flow samples and a counter sample)
// and the vflow capture (10 flow samples with router/gateway records).
func BenchmarkDecodeCapture(b *testing.B) {
	var dgs [][]byte
	for _, name := range []string{
		"gopacket-unknown-live-switch-sflow5-6flows-1counter.pcap",
		"vflow-unknown-switches-sflow5-10flowsamples-router-gateway.pcap",
	} {
		for _, dg := range capture.Datagrams(b, capture.Path(b, "sflow5/"+name)) {
			dgs = append(dgs, dg.Payload)
		}
	}
	benchDecode(b, dgs)
}

// BenchmarkBaselineBatch is the floor under the decoders: resetting the
// batch and extending it by 8 flows with the columns sFlow writes set,
// without reading anything. Decoding benchmarks compare to its ns/flow.
func BenchmarkBaselineBatch(b *testing.B) {
	var out flow.Decoded
	exp := flow.AddrFromNetip(testAgent)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out.Reset()
		first := out.Flows.Extend(8)
		for j := first; j < first+8; j++ {
			out.Flows.ExporterAddr[j] = exp
			out.Flows.SamplingRate[j] = 1024
			out.Flows.Packets[j] = 1024
			out.Flows.Bytes[j] = 1518 * 1024
		}
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*8)
	b.ReportMetric(ns, "ns/flow")
}

package netflow

import (
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
)

const benchRecords = 28

func benchDecode(b *testing.B, setup, pkt []byte, flows int) {
	d := mustNew(b, Config{})
	var out flow.Decoded
	if setup != nil {
		if err := d.Decode(setup, capture.Exporter, capture.Received, &out); err != nil {
			b.Fatal(err)
		}
	}
	out.Reset()
	if err := d.Decode(pkt, capture.Exporter, capture.Received, &out); err != nil || out.Flows.Len() != flows {
		b.Fatalf("decode: %v, %d flows, want %d", err, out.Flows.Len(), flows)
	}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out.Reset()
		if err := d.Decode(pkt, capture.Exporter, capture.Received, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*flows)
	b.ReportMetric(ns, "ns/flow")
	b.ReportMetric(1e9/ns, "flows/s")
}

func BenchmarkDecodeV5(b *testing.B) {
	benchDecode(b, nil, v5Packet(1, 30, 0), 30)
}

func BenchmarkDecodeV9(b *testing.B) {
	var recs []byte
	for i := 0; i < benchRecords; i++ {
		recs = append(recs, typicalRecord(i, true)...)
	}
	setup := v9Msg(1, 0, 200000, 1700000000, 1, v9Template(300, typicalV9Fields))
	pkt := v9Msg(2, 0, 200000, 1700000000, benchRecords, set(300, recs))
	benchDecode(b, setup, pkt, benchRecords)
}

func BenchmarkDecodeIPFIX(b *testing.B) {
	var recs []byte
	for i := 0; i < benchRecords; i++ {
		recs = append(recs, typicalRecord(i, false)...)
	}
	setup := ipfixMsg(0, 0, 1700000000, ipfixTemplate(300, typicalFields))
	pkt := ipfixMsg(0, 0, 1700000000, set(300, recs))
	benchDecode(b, setup, pkt, benchRecords)
}

// BenchmarkDecodeCapture replays a real exporter's capture (CESNET probe,
// IPFIX, 68 messages, 3979 flows), templates learnt beforehand.
func BenchmarkDecodeCapture(b *testing.B) {
	dgs := capture.Datagrams(b, capture.Path(b, "ipfix/ipfixcol2-cesnet-probe-ipfix-68msgs-3979recs.pcap"))
	d := mustNew(b, Config{})
	var out flow.Decoded
	flows := 0
	for _, dg := range dgs {
		out.Reset()
		if err := d.Decode(dg.Payload, dg.Src, dg.Time, &out); err != nil {
			b.Fatal(err)
		}
		flows += out.Flows.Len()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, dg := range dgs {
			out.Reset()
			if err := d.Decode(dg.Payload, dg.Src, dg.Time, &out); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*flows)
	b.ReportMetric(ns, "ns/flow")
	b.ReportMetric(1e9/ns, "flows/s")
}

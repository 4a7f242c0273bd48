package netflow

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
	"github.com/flowlake/flowlake/internal/testenv/wire"
)

func TestIPFIXBasicAndFixedColumns(t *testing.T) {
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, ipfixMsg(0, 7, 1700000100,
		ipfixTemplate(300, typicalFields),
		set(300, wire.Cat(typicalRecord(1, false), typicalRecord(2, false)))))
	if out.Flows.Len() != 2 {
		t.Fatalf("flows = %d, want 2", out.Flows.Len())
	}
	r := capture.Row(&out.Flows, 1)
	if r.SrcAddr != flow.MustParseAddr("10.0.0.2") || r.DstAddr != flow.MustParseAddr("192.0.2.2") ||
		r.SrcPort != 1026 || r.DstPort != 443 || r.Proto != 6 || r.TCPFlags != 0x1b || r.InIf != 3 || r.OutIf != 2 ||
		r.NextHop != flow.MustParseAddr("10.0.0.1") || r.SrcAS != 64500 || r.DstAS != 64501 || r.SrcMask != 24 || r.DstMask != 16 ||
		r.Bytes != 4500 || r.Packets != 3 || r.VLAN != 100 || r.Direction != flow.DirectionIngress || r.FlowState != flow.FlowStateEnd {
		t.Errorf("record = %+v", r)
	}
	if r.TimeStart != 1700000000000*1e6 || r.TimeEnd != 1700000060000*1e6 {
		t.Errorf("times %d %d", r.TimeStart, r.TimeEnd)
	}
	if r.SourceType != flow.SourceTypeIpfix || r.ObservationDomain != 7 || r.SamplingRate != 1 || r.IPVersion != 4 ||
		r.ExporterAddr != flow.AddrFromNetip(capture.Exporter.Addr()) || r.TimeReceived != capture.Received.UnixNano() {
		t.Errorf("origin columns = %+v", r)
	}
}

func TestTemplateWithdrawalAndRedefinition(t *testing.T) {
	d := mustNew(t, Config{})
	data := set(256, basicRecord("10.0.0.1", "10.0.0.2", 100, 1))
	out := capture.Decode(t, d, ipfixMsg(0, 1, 1700000000, ipfixTemplate(256, basicFields), data))
	if out.Flows.Len() != 1 || capture.Row(&out.Flows, 0).Bytes != 100 {
		t.Fatalf("before withdrawal: %d flows", out.Flows.Len())
	}
	out = capture.Decode(t, d, ipfixMsg(1, 1, 1700000000, ipfixWithdraw(256), data))
	if out.Flows.Len() != 0 {
		t.Fatalf("data decoded after withdrawal")
	}
	if s := statsOf(t, d, 10, 1); s.TemplateMisses != 1 || s.Templates != 0 {
		t.Errorf("stats after withdrawal %+v", s)
	}
	// Redefinition with another layout: dst first, then packets, bytes.
	// The held set (old layout) is decoded with it: that is what RFC 7011
	// allows a collector to assume, so only check the new data.
	redef := []ie{{12, 0, 4}, {8, 0, 4}, {2, 0, 4}, {1, 0, 4}}
	d2 := mustNew(t, Config{})
	capture.Decode(t, d2, ipfixMsg(0, 1, 1700000000, ipfixTemplate(256, basicFields)))
	out = capture.Decode(t, d2, ipfixMsg(1, 1, 1700000000, ipfixTemplate(256, redef), set(256, basicRecord("10.0.0.9", "10.0.0.8", 5, 700))))
	r := capture.Row(&out.Flows, 0)
	if r.DstAddr != flow.MustParseAddr("10.0.0.9") || r.SrcAddr != flow.MustParseAddr("10.0.0.8") || r.Packets != 5 || r.Bytes != 700 {
		t.Errorf("redefined template not used: %+v", r)
	}
	// Options template withdrawal (4-byte record in an options set).
	capture.Decode(t, d2, ipfixMsg(2, 1, 1700000000, ipfixOptionsTemplate(300, 1, []ie{{302, 0, 4}, {34, 0, 4}})))
	before := statsOf(t, d2, 10, 1).Templates
	capture.Decode(t, d2, ipfixMsg(3, 1, 1700000000, set(3, wire.Cat(wire.BE16(300), wire.BE16(0)))))
	if s := statsOf(t, d2, 10, 1); s.Templates != before-1 || s.Errors != 0 {
		t.Errorf("options template withdrawal: %+v", s)
	}
	// Withdraw all data templates (template id = set id 2).
	capture.Decode(t, d2, ipfixMsg(2, 1, 1700000000, set(2, wire.Cat(wire.BE16(2), wire.BE16(0)))))
	if s := statsOf(t, d2, 10, 1); s.Templates != 0 {
		t.Errorf("templates after withdraw-all: %d", s.Templates)
	}
}

func TestPendingDecodedWhenTemplateArrives(t *testing.T) {
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, ipfixMsg(0, 1, 1700000000, set(256, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 100, 1), basicRecord("10.0.0.3", "10.0.0.4", 200, 2)))))
	if out.Flows.Len() != 0 {
		t.Fatal("decoded without template")
	}
	out = capture.Decode(t, d, ipfixMsg(2, 1, 1700000001, ipfixTemplate(256, basicFields)))
	if out.Flows.Len() != 2 {
		t.Fatalf("held set gave %d flows, want 2", out.Flows.Len())
	}
	r := capture.Row(&out.Flows, 1)
	if r.SrcAddr != flow.MustParseAddr("10.0.0.3") || r.Bytes != 200 || r.TimeStart != 1700000000*1e9 {
		t.Errorf("held record = %+v (export time must be the held datagram's)", r)
	}
	if s := statsOf(t, d, 10, 1); s.TemplateMisses != 1 || s.Records != 2 {
		t.Errorf("stats %+v", s)
	}
	// Released once only.
	if out = capture.Decode(t, d, ipfixMsg(2, 1, 1700000001, ipfixTemplate(256, []ie{{8, 0, 4}, {12, 0, 4}, {2, 0, 4}, {1, 0, 4}}))); out.Flows.Len() != 0 {
		t.Errorf("held set released twice")
	}
}

func TestPendingBounded(t *testing.T) {
	d := mustNew(t, Config{MaxPendingSets: 2, MaxPendingBytes: 1000})
	for i := 0; i < 5; i++ {
		capture.Decode(t, d, ipfixMsg(uint32(i), 1, 1700000000, set(256, basicRecord("10.0.0.1", "10.0.0.2", uint32(i), 1))))
	}
	dom, _ := d.domain(capture.Exporter.Addr(), 10, 1)
	if len(dom.pending) != 2 {
		t.Fatalf("held %d sets, want 2", len(dom.pending))
	}
	out := capture.Decode(t, d, ipfixMsg(9, 1, 1700000000, ipfixTemplate(256, basicFields)))
	if out.Flows.Len() != 2 || capture.Row(&out.Flows, 0).Bytes != 3 || capture.Row(&out.Flows, 1).Bytes != 4 {
		t.Fatalf("released %d flows, want the newest 2", out.Flows.Len())
	}
	// Byte bound: a set larger than the budget is not held at all.
	big := make([]byte, 2000)
	capture.Decode(t, d, ipfixMsg(10, 1, 1700000000, set(999, big)))
	if dom.pendingLen > 1000 {
		t.Errorf("pending bytes %d over budget", dom.pendingLen)
	}
	// Decoder-wide budget: other domains cannot hold more.
	d = mustNew(t, Config{MaxPendingBytesTotal: 40})
	for odid := uint32(0); odid < 5; odid++ {
		capture.Decode(t, d, ipfixMsg(0, odid, 1700000000, set(256, basicRecord("10.0.0.1", "10.0.0.2", 1, 1))))
	}
	if got := d.pendingTotal.Load(); got != 32 {
		t.Errorf("held %d bytes over all domains, want 32 (two 16-byte sets)", got)
	}
	capture.Decode(t, d, ipfixMsg(1, 0, 1700000000, ipfixTemplate(256, basicFields)))
	if got := d.pendingTotal.Load(); got != 16 {
		t.Errorf("held %d bytes after release, want 16", got)
	}
}

func TestSaveLoadTemplates(t *testing.T) {
	a := mustNew(t, Config{})
	capture.Decode(t, a, ipfixMsg(0, 3, 1700000000, ipfixTemplate(256, basicFields), ipfixTemplate(257, typicalFields),
		ipfixOptionsTemplate(258, 1, []ie{{302, 0, 4}, {305, 0, 4}, {306, 0, 4}}),
		set(258, wire.Cat(wire.BE32(5), wire.BE32(1), wire.BE32(99)))))
	var buf bytes.Buffer
	if err := a.SaveTemplates(&buf); err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, Config{})
	if err := b.LoadTemplates(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if s := statsOf(t, b, 10, 3); s.Templates != 3 {
		t.Errorf("loaded %d templates, want 3", s.Templates)
	}
	// Sampled data with selector 5 (1 in 100) decodes at once.
	fields := append(append([]ie{}, basicFields...), ie{302, 0, 4})
	capture.Decode(t, b, ipfixMsg(1, 3, 1700000000, ipfixTemplate(259, fields)))
	out := capture.Decode(t, b, ipfixMsg(2, 3, 1700000000, set(256, basicRecord("10.0.0.1", "10.0.0.2", 10, 1)),
		set(259, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 10, 1), wire.BE32(5)))))
	if out.Flows.Len() != 2 {
		t.Fatalf("flows after load = %d", out.Flows.Len())
	}
	if r := capture.Row(&out.Flows, 1); r.SamplingRate != 100 || r.Bytes != 1000 {
		t.Errorf("sampler table not restored: %+v", r)
	}
	var again bytes.Buffer
	if err := b.SaveTemplates(&again); err != nil {
		t.Fatal(err)
	}
	if err := mustNew(t, Config{}).LoadTemplates(bytes.NewReader([]byte(`{"format":"other","version":1}`))); err == nil {
		t.Error("foreign format accepted")
	}
	if err := mustNew(t, Config{MaxTemplatesPerDomain: 1}).LoadTemplates(bytes.NewReader(buf.Bytes())); err == nil {
		t.Error("limit not applied to loaded templates")
	}
}

func TestSampling(t *testing.T) {
	// v9 options: scope system, fields sampler id 48, mode 49, interval 50.
	opt := v9OptionsTemplate(260, []ie{{1, 0, 4}}, []ie{{48, 0, 1}, {49, 0, 1}, {50, 0, 4}})
	optData := set(260, wire.Cat(wire.BE32(0), []byte{7, 2}, wire.BE32(512)))
	rec := func(sampler byte) []byte {
		return wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 100, 2), []byte{sampler})
	}
	tpl := v9Template(261, append(append([]ie{}, basicFields...), ie{48, 0, 1}))
	d := mustNew(t, Config{})
	capture.Decode(t, d, v9Msg(1, 0, 1000, 1700000000, 3, opt, optData, tpl))
	out := capture.Decode(t, d, v9Msg(2, 0, 1000, 1700000000, 2, set(261, wire.Cat(rec(7), rec(8)))))
	if r := capture.Row(&out.Flows, 0); r.SamplingRate != 512 || r.Bytes != 51200 || r.Packets != 1024 {
		t.Errorf("sampler 7: %+v", r)
	}
	if r := capture.Row(&out.Flows, 1); r.SamplingRate != 1 || r.Bytes != 100 {
		t.Errorf("unknown sampler 8: rate %d bytes %d", r.SamplingRate, r.Bytes)
	}

	// Rate inside the data record (IE 34), and IPFIX 305/306.
	d = mustNew(t, Config{})
	out = capture.Decode(t, d, ipfixMsg(0, 0, 1700000000,
		ipfixTemplate(256, append(append([]ie{}, basicFields...), ie{34, 0, 4})),
		ipfixTemplate(257, append(append([]ie{}, basicFields...), ie{305, 0, 4}, ie{306, 0, 4})),
		set(256, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 10, 1), wire.BE32(10))),
		set(257, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 10, 1), wire.BE32(1), wire.BE32(9)))))
	if r := capture.Row(&out.Flows, 0); r.SamplingRate != 10 || r.Bytes != 100 {
		t.Errorf("IE 34: %+v", r)
	}
	if r := capture.Row(&out.Flows, 1); r.SamplingRate != 10 || r.Bytes != 100 {
		t.Errorf("IE 305/306: %+v", r)
	}

	// Override wins over everything the exporter says.
	d = mustNew(t, Config{SamplingOverrides: map[netip.Addr]uint32{capture.Exporter.Addr(): 4}})
	capture.Decode(t, d, v9Msg(1, 0, 1000, 1700000000, 3, opt, optData, tpl))
	out = capture.Decode(t, d, v9Msg(2, 0, 1000, 1700000000, 1, set(261, rec(7))))
	if r := capture.Row(&out.Flows, 0); r.SamplingRate != 4 || r.Bytes != 400 {
		t.Errorf("override: %+v", r)
	}
	// And for v5, whose header carries the interval.
	pkt := v5Packet(1, 1, 3)
	out = capture.Decode(t, d, pkt)
	if r := capture.Row(&out.Flows, 0); r.SamplingRate != 4 || r.Bytes != 4*1000 {
		t.Errorf("v5 override: %+v", r)
	}
	out = capture.Decode(t, mustNew(t, Config{}), pkt)
	if r := capture.Row(&out.Flows, 0); r.SamplingRate != 3 || r.Bytes != 3*1000 {
		t.Errorf("v5 header rate: %+v", r)
	}
}

// v5Packet builds a v5 datagram of n records, flow_sequence seq and
// sampling interval rate; record i has 1000 bytes, 10 packets.
func v5Packet(seq uint32, n int, rate uint16) []byte {
	b := wire.Cat(wire.BE16(5), wire.BE16(uint16(n)), wire.BE32(1000), wire.BE32(1700000000), wire.BE32(0), wire.BE32(seq), []byte{0, 0}, wire.BE16(rate))
	for i := 0; i < n; i++ {
		b = wire.Cat(b, []byte{10, 0, 0, byte(i)}, []byte{10, 1, 0, byte(i)}, []byte{0, 0, 0, 0}, wire.BE16(1), wire.BE16(2),
			wire.BE32(10), wire.BE32(1000), wire.BE32(500), wire.BE32(900), wire.BE16(1234), wire.BE16(80), []byte{0, 0x12, 6, 0}, wire.BE16(1), wire.BE16(2), []byte{8, 16, 0, 0})
	}
	return b
}

func TestTimeConversion(t *testing.T) {
	// v9: the uptime wrapped between first-switched and export.
	fields := append(append([]ie{}, basicFields...), ie{22, 0, 4}, ie{21, 0, 4})
	d := mustNew(t, Config{})
	out := capture.Decode(t, d, v9Msg(1, 0, 1000, 1700000000, 2, v9Template(256, fields),
		set(256, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 1, 1), wire.BE32(0xFFFFFF00), wire.BE32(500)))))
	r := capture.Row(&out.Flows, 0)
	exportMs := int64(1700000000) * 1000
	if want := (exportMs - 1000 - 256) * 1e6; r.TimeStart != want {
		t.Errorf("wrapped start = %v, want %v", time.Unix(0, r.TimeStart).UTC(), time.Unix(0, want).UTC())
	}
	if want := (exportMs - 500) * 1e6; r.TimeEnd != want {
		t.Errorf("end = %v, want %v", time.Unix(0, r.TimeEnd).UTC(), time.Unix(0, want).UTC())
	}

	// IPFIX: seconds, NTP microseconds, delta microseconds, and uptime
	// relative to systemInitTimeMilliseconds from options data.
	d = mustNew(t, Config{})
	ntp := uint64(1700000000+2208988800)<<32 | 1<<31 // +0.5 s
	out = capture.Decode(t, d, ipfixMsg(0, 0, 1700000100,
		ipfixTemplate(256, []ie{{150, 0, 4}, {155, 0, 8}}),
		ipfixTemplate(257, []ie{{158, 0, 4}, {159, 0, 4}}),
		ipfixOptionsTemplate(258, 1, []ie{{144, 0, 4}, {160, 0, 8}}),
		ipfixTemplate(259, []ie{{22, 0, 4}, {21, 0, 4}}),
		set(256, wire.Cat(wire.BE32(1700000000), wire.BE64(ntp))),
		set(257, wire.Cat(wire.BE32(3_000_000), wire.BE32(1_000_000))),
		set(258, wire.Cat(wire.BE32(1), wire.BE64(1699990000000))),
		set(259, wire.Cat(wire.BE32(1000), wire.BE32(2000)))))
	want := [][2]int64{
		{1700000000e9, 1700000000e9 + 5e8},
		{1700000097e9, 1700000099e9},
		{1699990001000 * 1e6, 1699990002000 * 1e6},
	}
	for i, w := range want {
		r := capture.Row(&out.Flows, i)
		if r.TimeStart != w[0] || r.TimeEnd != w[1] {
			t.Errorf("flow %d: %v..%v, want %v..%v", i, time.Unix(0, r.TimeStart).UTC(), time.Unix(0, r.TimeEnd).UTC(),
				time.Unix(0, w[0]).UTC(), time.Unix(0, w[1]).UTC())
		}
	}
}

func TestBiflowReverseCounters(t *testing.T) {
	d := mustNew(t, Config{})
	fields := append(append([]ie{}, basicFields...), ie{1, penReverse, 8}, ie{2, penReverse, 8}, ie{9999, 12345, 4})
	out := capture.Decode(t, d, ipfixMsg(0, 0, 1700000000, ipfixTemplate(256, fields),
		set(256, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 100, 2), wire.BE64(7000), wire.BE64(9), wire.BE32(42)))))
	if r := capture.Row(&out.Flows, 0); r.Bytes != 100 || r.Packets != 2 || r.RevBytes != 7000 || r.RevPackets != 9 {
		t.Errorf("biflow: %+v", r)
	}
}

func TestSequenceGaps(t *testing.T) {
	d := mustNew(t, Config{})
	capture.Decode(t, d, v5Packet(100, 2, 0))
	capture.Decode(t, d, v5Packet(102, 2, 0)) // in order
	capture.Decode(t, d, v5Packet(110, 2, 0)) // 6 flows lost
	if s := statsOf(t, d, 5, 0); s.SequenceGaps != 6 || s.Packets != 3 || s.Records != 6 {
		t.Errorf("v5 stats %+v", s)
	}
	tpl := v9Template(256, basicFields)
	capture.Decode(t, d, v9Msg(1, 4, 1000, 1700000000, 1, tpl))
	capture.Decode(t, d, v9Msg(2, 4, 1000, 1700000000, 1, tpl))
	capture.Decode(t, d, v9Msg(5, 4, 1000, 1700000000, 1, tpl)) // packets 3, 4 lost
	if s := statsOf(t, d, 9, 4); s.SequenceGaps != 2 {
		t.Errorf("v9 gaps %d, want 2", s.SequenceGaps)
	}
	data := set(256, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 1, 1), basicRecord("10.0.0.1", "10.0.0.2", 1, 1)))
	capture.Decode(t, d, ipfixMsg(0, 4, 1700000000, ipfixTemplate(256, basicFields), data))
	capture.Decode(t, d, ipfixMsg(2, 4, 1700000000, data))
	capture.Decode(t, d, ipfixMsg(7, 4, 1700000000, data)) // records 4..6 lost
	if s := statsOf(t, d, 10, 4); s.SequenceGaps != 3 {
		t.Errorf("IPFIX gaps %d, want 3", s.SequenceGaps)
	}
}

func TestNSELNATAndPolicy(t *testing.T) {
	d := mustNew(t, Config{})
	fields := []ie{{8, 0, 4}, {12, 0, 4}, {7, 0, 2}, {11, 0, 2}, {4, 0, 1},
		{225, 0, 4}, {226, 0, 4}, {227, 0, 2}, {228, 0, 2}, {40005, 0, 1}, {231, 0, 4}, {232, 0, 4}, {298, 0, 4}, {299, 0, 4}}
	rec := func(event byte) []byte {
		return wire.Cat([]byte{10, 0, 0, 1, 8, 8, 8, 8}, wire.BE16(5555), wire.BE16(53), []byte{17},
			[]byte{198, 51, 100, 1, 8, 8, 8, 8}, wire.BE16(40000), wire.BE16(53), []byte{event}, wire.BE32(60), wire.BE32(120), wire.BE32(1), wire.BE32(1))
	}
	out := capture.Decode(t, d, v9Msg(1, 0, 1000, 1700000000, 3, v9Template(256, fields), set(256, wire.Cat(rec(3), rec(2)))))
	r := capture.Row(&out.Flows, 0)
	if r.Action != flow.ActionDeny || r.FWEvent != 3 || r.PostNATSrcAddr != flow.MustParseAddr("198.51.100.1") ||
		r.PostNATSrcPort != 40000 || r.PostNATDstPort != 53 || r.Bytes != 60 || r.RevBytes != 120 || r.Packets != 1 || r.RevPackets != 1 {
		t.Errorf("denied NSEL flow: %+v", r)
	}
	if r := capture.Row(&out.Flows, 1); r.Action != flow.ActionAllow || r.FlowState != flow.FlowStateEnd {
		t.Errorf("deleted NSEL flow: action %d state %d", r.Action, r.FlowState)
	}
	// forwardingStatus 89: dropped (status 2 in the top bits).
	out = capture.Decode(t, d, ipfixMsg(0, 0, 1700000000, ipfixTemplate(256, append(append([]ie{}, basicFields...), ie{89, 0, 1}, ie{230, 0, 1})),
		set(256, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 1, 1), []byte{0x80 | 2, 1}))))
	if r := capture.Row(&out.Flows, 0); r.Action != flow.ActionDeny || r.NATEvent != 1 {
		t.Errorf("forwardingStatus dropped: %+v", r)
	}
}

func TestICMPAndFallbacks(t *testing.T) {
	d := mustNew(t, Config{})
	fields := []ie{{8, 0, 4}, {12, 0, 4}, {11, 0, 2}, {4, 0, 1}, {18, 0, 4}, {252, 0, 4}, {81, 0, 6}, {254, 0, 2}}
	out := capture.Decode(t, d, v9Msg(1, 0, 1000, 1700000000, 2, v9Template(256, fields),
		set(256, wire.Cat([]byte{10, 0, 0, 1, 10, 0, 0, 2}, wire.BE16(3<<8|1), []byte{1}, []byte{203, 0, 113, 1}, wire.BE32(7),
			[]byte{0, 0x53, 0, 0, 0, 1}, wire.BE16(42)))))
	r := capture.Row(&out.Flows, 0)
	if r.ICMPType != 3 || r.ICMPCode != 1 || r.NextHop != flow.MustParseAddr("203.0.113.1") || r.InIf != 7 ||
		r.SrcMAC != 0x005300000001 || r.VLAN != 42 {
		t.Errorf("fallbacks: %+v", r)
	}
	out = capture.Decode(t, d, ipfixMsg(0, 0, 1700000000, ipfixTemplate(256, []ie{{4, 0, 1}, {178, 0, 1}, {179, 0, 1}, {27, 0, 16}}),
		set(256, wire.Cat([]byte{58, 128, 0}, netip.MustParseAddr("2001:db8::1").AsSlice()))))
	if r := capture.Row(&out.Flows, 0); r.ICMPType != 128 || r.IPVersion != 6 || r.SrcAddr != flow.MustParseAddr("2001:db8::1") {
		t.Errorf("ICMPv6: %+v", r)
	}
}

func TestOptionsInterfacesAndApplications(t *testing.T) {
	d := mustNew(t, Config{})
	name := append([]byte("Gi0/0/1"), 0, 0, 0)
	out := capture.Decode(t, d, ipfixMsg(0, 5, 1700000000,
		ipfixOptionsTemplate(256, 1, []ie{{10, 0, 4}, {82, 0, 10}, {83, 0, varLen}}),
		set(256, wire.Cat(wire.BE32(3), name, []byte{6}, []byte("uplink"))),
		ipfixOptionsTemplate(257, 1, []ie{{95, 0, 4}, {96, 0, varLen}}),
		set(257, wire.Cat([]byte{13, 0, 0, 80}, []byte{4}, []byte("http"))),
		ipfixTemplate(258, append(append([]ie{}, basicFields...), ie{95, 0, 4})),
		set(258, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 1, 1), []byte{13, 0, 0, 80}))))
	if len(out.Interfaces) != 1 {
		t.Fatalf("interfaces = %+v", out.Interfaces)
	}
	if i := out.Interfaces[0]; i.Index != 3 || i.Name != "Gi0/0/1" || i.Description != "uplink" || i.ObservationDomain != 5 {
		t.Errorf("interface = %+v", i)
	}
	if out.Flows.Len() != 1 || capture.Row(&out.Flows, 0).Application != "http" {
		t.Errorf("application not resolved: %d flows", out.Flows.Len())
	}
	// v9 options with the interface scope.
	out = capture.Decode(t, d, v9Msg(1, 0, 1000, 1700000000, 2, v9OptionsTemplate(300, []ie{{2, 0, 4}}, []ie{{82, 0, 8}}),
		set(300, wire.Cat(wire.BE32(9), []byte("eth9\x00\x00\x00\x00")))))
	if len(out.Interfaces) != 1 || out.Interfaces[0].Index != 9 || out.Interfaces[0].Name != "eth9" {
		t.Errorf("v9 interface = %+v", out.Interfaces)
	}
}

func TestVariableLengthAndMappedFields(t *testing.T) {
	d, err := New(Config{Fields: []FieldMapping{{Enterprise: 9, ID: 12232, Column: "vpc"}, {Enterprise: 0, ID: 234, Column: "src_as"}}})
	if err != nil {
		t.Fatal(err)
	}
	long := bytes.Repeat([]byte("x"), 300)
	fields := []ie{{8, 0, 4}, {12232, 9, varLen}, {96, 0, varLen}, {234, 0, 4}, {12, 0, 4}}
	out := capture.Decode(t, d, ipfixMsg(0, 0, 1700000000, ipfixTemplate(256, fields),
		set(256, wire.Cat([]byte{10, 0, 0, 1}, []byte{3}, []byte("vrf"), []byte{255}, wire.BE16(300), long, wire.BE32(77), []byte{10, 0, 0, 2},
			[]byte{10, 0, 0, 3}, []byte{0}, []byte{0}, wire.BE32(78), []byte{10, 0, 0, 4}))))
	if out.Flows.Len() != 2 {
		t.Fatalf("flows = %d", out.Flows.Len())
	}
	r := capture.Row(&out.Flows, 0)
	if r.VPC != "vrf" || len(r.Application) != 300 || r.SrcAS != 77 || r.DstAddr != flow.MustParseAddr("10.0.0.2") {
		t.Errorf("variable-length record: %+v", r)
	}
	if r := capture.Row(&out.Flows, 1); r.SrcAS != 78 || r.DstAddr != flow.MustParseAddr("10.0.0.4") {
		t.Errorf("second record: %+v", r)
	}
	for _, bad := range []FieldMapping{{ID: 1, Column: "nope"}, {ID: 1, Column: "direction"}, {ID: 1, Column: "time_start"}} {
		if _, err := New(Config{Fields: []FieldMapping{bad}}); err == nil {
			t.Errorf("mapping %+v accepted", bad)
		}
	}
}

func TestMalformedAndLimits(t *testing.T) {
	d := mustNew(t, Config{MaxTemplatesPerDomain: 4, MaxFieldsPerTemplate: 32})
	var out flow.Decoded
	for name, pkt := range map[string][]byte{
		"short":          {0, 9, 0},
		"ipfix length":   wire.Cat(wire.BE16(10), wire.BE16(400), wire.BE32(0), wire.BE32(0), wire.BE32(0)),
		"set length":     ipfixMsg(0, 0, 0, wire.Cat(wire.BE16(256), wire.BE16(200))),
		"template id":    ipfixMsg(0, 0, 0, ipfixTemplate(5, basicFields)),
		"many fields":    ipfixMsg(0, 0, 0, set(2, wire.Cat(wire.BE16(256), wire.BE16(65535), bytes.Repeat([]byte{0, 1, 0, 4}, 100)))),
		"fields overrun": ipfixMsg(0, 0, 0, set(2, wire.Cat(wire.BE16(256), wire.BE16(30), bytes.Repeat([]byte{0, 1, 0, 4}, 3)))),
		"var overrun": ipfixMsg(0, 0, 0, ipfixTemplate(256, []ie{{96, 0, varLen}}),
			set(256, wire.Cat([]byte{255, 0xff, 0xff}, []byte("abc")))),
		"v5 count": wire.Cat(wire.BE16(5), wire.BE16(30), make([]byte, 60)),
	} {
		err := d.Decode(pkt, capture.Exporter, capture.Received, &out)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if err := d.Decode(wire.Cat(wire.BE16(7), make([]byte, 30)), capture.Exporter, capture.Received, &out); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("version 7: %v", err)
	}
	// Template count cap.
	var sets [][]byte
	for id := uint16(256); id < 266; id++ {
		sets = append(sets, ipfixTemplate(id, basicFields))
	}
	if err := d.Decode(ipfixMsg(0, 9, 0, sets...), capture.Exporter, capture.Received, &out); !errors.Is(err, ErrMalformed) {
		t.Errorf("template flood: %v", err)
	}
	if s := statsOf(t, d, 10, 9); s.Templates != 4 || s.Errors != 1 {
		t.Errorf("after template flood: %+v", s)
	}
	// Global field budget across domains, released by withdrawal.
	d = mustNew(t, Config{MaxTemplateFields: 10})
	capture.Decode(t, d, ipfixMsg(0, 1, 0, ipfixTemplate(256, basicFields), ipfixTemplate(257, basicFields)))
	if err := d.Decode(ipfixMsg(0, 2, 0, ipfixTemplate(256, basicFields)), capture.Exporter, capture.Received, &out); !errors.Is(err, ErrMalformed) {
		t.Errorf("field budget: %v", err)
	}
	capture.Decode(t, d, ipfixMsg(1, 1, 0, ipfixWithdraw(257)))
	capture.Decode(t, d, ipfixMsg(1, 2, 0, ipfixTemplate(256, basicFields)))
	if d.fields.Load() != 8 {
		t.Errorf("field budget in use %d, want 8", d.fields.Load())
	}
}

func TestConcurrentDecode(t *testing.T) {
	d := mustNew(t, Config{})
	tpl := ipfixTemplate(300, typicalFields)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var out flow.Decoded
			exp := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(g % 2)}), 1)
			for i := 0; i < 200; i++ {
				out.Reset()
				pkt := ipfixMsg(uint32(i), uint32(i%3), 1700000000, tpl, set(300, typicalRecord(i, false)))
				if err := d.Decode(pkt, exp, capture.Received, &out); err != nil || out.Flows.Len() != 1 {
					t.Errorf("decode: %v, %d flows", err, out.Flows.Len())
					return
				}
			}
		}(g)
	}
	wg.Add(1)
	go func() { // readers of the shared state while decoding runs
		defer wg.Done()
		for i := 0; i < 50; i++ {
			d.Stats()
			if err := d.SaveTemplates(io.Discard); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	var recs uint64
	for _, s := range d.Stats() {
		recs += s.Records
	}
	if recs != 800 {
		t.Errorf("records %d, want 800", recs)
	}
}

// TestNBARApplicationNames learns Cisco NBAR's application table from a
// real options capture and resolves a data record's applicationId (95)
// through it.
func TestNBARApplicationNames(t *testing.T) {
	d := mustNew(t, Config{})
	dgs := capture.Datagrams(t, capture.Path(t, "netflow9/logstash-cisco-nbar-nfv9-opttpl260.pcap"))
	var out flow.Decoded
	for _, dg := range dgs {
		if err := d.Decode(dg.Payload, dg.Src, dg.Time, &out); err != nil {
			t.Fatal(err)
		}
	}
	srcID := wire.BE32(0)
	copy(srcID, dgs[0].Payload[16:20])
	pkt := wire.Cat(wire.BE16(9), wire.BE16(2), wire.BE32(1000), wire.BE32(1700000000), wire.BE32(99), srcID,
		v9Template(400, append(append([]ie{}, basicFields...), ie{95, 0, 4})),
		set(400, wire.Cat(basicRecord("10.0.0.1", "10.0.0.2", 1, 1), []byte{1, 0, 0, 8})))
	out.Reset()
	if err := d.Decode(pkt, dgs[0].Src, capture.Received, &out); err != nil {
		t.Fatal(err)
	}
	if out.Flows.Len() != 1 || out.Flows.Application[0] != "egp" {
		t.Errorf("application = %q, want egp (IANA-L3 8 in the exporter's table)", out.Flows.Application)
	}
}

func TestIPFIXMessagesBackToBack(t *testing.T) {
	d := mustNew(t, Config{})
	data := set(256, basicRecord("10.0.0.1", "10.0.0.2", 100, 1))
	out := capture.Decode(t, d, wire.Cat(ipfixMsg(0, 1, 1700000000, ipfixTemplate(256, basicFields)), ipfixMsg(0, 1, 1700000000, data), ipfixMsg(1, 1, 1700000000, data)))
	if out.Flows.Len() != 2 {
		t.Errorf("flows = %d, want 2", out.Flows.Len())
	}
	var o flow.Decoded
	if err := d.Decode(wire.Cat(ipfixMsg(2, 1, 1700000000, data), []byte{1, 2, 3}), capture.Exporter, capture.Received, &o); !errors.Is(err, ErrMalformed) || o.Flows.Len() != 1 {
		t.Errorf("trailing garbage: %v, %d flows", err, o.Flows.Len())
	}
}

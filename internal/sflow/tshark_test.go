package sflow

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
	"github.com/flowlake/flowlake/internal/testenv/tshark"
)

// fields collects every value below n by key, in order.
type fields map[string][]string

func collect(n tshark.Node, m fields) {
	n.Walk(func(key, val string) { m[key] = append(m[key], val) })
}

func (m fields) first(key string) (string, bool) {
	if v := m[key]; len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// tsSample is one sample as tshark decoded it.
type tsSample struct {
	kind string // "flow" or "counters"
	f    fields // the sample's own fields and its records' (not the header's)
	hdr  fields // the sampled header's decoded layers
	// inner holds the layers after a VXLAN header, if any.
	inner fields
	// records by name ("Raw packet header", ...), for what needs the
	// structure (AS path segments, VXLAN).
	recs map[string]tshark.Node
}

type tsPacket struct {
	sflow     bool
	hdr       fields
	samples   []tsSample
	malformed bool
}

func runTshark(t *testing.T, path string) []tsPacket {
	t.Helper()
	var pkts []tsPacket
	for _, layers := range tshark.Layers(t, path, "udp.port==6343,sflow") {
		sf, ok := layers.Child("sflow")
		if !ok {
			pkts = append(pkts, tsPacket{})
			continue
		}
		tp := tsPacket{sflow: true, hdr: fields{}, malformed: layers.Has("_ws.malformed")}
		for _, k := range sf.Kids {
			if !k.Obj {
				tp.hdr[k.Key] = append(tp.hdr[k.Key], k.Val)
				continue
			}
			var kind string
			switch {
			case strings.HasPrefix(k.Key, "Flow sample"), strings.HasPrefix(k.Key, "Expanded flow sample"):
				kind = "flow"
			case strings.HasPrefix(k.Key, "Counters sample"), strings.HasPrefix(k.Key, "Expanded counters sample"):
				kind = "counters"
			default:
				continue
			}
			s := tsSample{kind: kind, f: fields{}, hdr: fields{}, recs: map[string]tshark.Node{}}
			for _, r := range k.Kids {
				if !r.Obj {
					s.f[r.Key] = append(s.f[r.Key], r.Val)
					continue
				}
				if _, dup := s.recs[r.Key]; !dup {
					s.recs[r.Key] = r
				}
				for _, v := range r.Kids {
					switch {
					case v.Key == "sflow_245.header_tree":
						// Layers after a VXLAN header are the inner frame's.
						dst := s.hdr
						for _, l := range v.Kids {
							if l.Obj {
								collect(l, dst)
							} else {
								dst[l.Key] = append(dst[l.Key], l.Val)
							}
							if l.Key == "vxlan" {
								s.inner = fields{}
								dst = s.inner
							}
						}
					case v.Obj:
						collect(v, s.f)
					default:
						s.f[v.Key] = append(s.f[v.Key], v.Val)
					}
				}
			}
			tp.samples = append(tp.samples, s)
		}
		// tshark shows what follows a VXLAN header in a sampled header as
		// top-level layers after the sFlow one: they belong to the sample
		// whose header ends in UDP to the VXLAN port.
		var inner fields
		for _, l := range layers.Kids {
			if inner != nil {
				if l.Obj {
					collect(l, inner)
				} else {
					inner[l.Key] = append(inner[l.Key], l.Val)
				}
			}
			if l.Key == "vxlan" {
				inner = fields{}
			}
		}
		for i := range tp.samples {
			if s := &tp.samples[i]; inner != nil && s.inner == nil && lastIs(s.hdr["udp.dstport"], "4789") {
				s.inner, inner = inner, nil
			}
		}
		pkts = append(pkts, tp)
	}
	return pkts
}

func lastIs(v []string, want string) bool { return len(v) > 0 && v[len(v)-1] == want }

func TestTsharkAgreement(t *testing.T) {
	tshark.Require(t)
	for _, path := range captureFiles(t) {
		name := filepath.Base(path)
		if strings.Contains(name, "malformed") {
			continue // TestCaptures checks those are rejected
		}
		t.Run(name, func(t *testing.T) {
			compareCapture(t, path, damaged[name])
		})
	}
}

// compareCapture decodes every datagram of a capture and compares each
// sample, field by field, with what tshark shows. skip lists datagrams
// known to be damaged.
func compareCapture(t *testing.T, path string, skip map[int]string) (flows, counters int) {
	t.Helper()
	dgs := capture.Datagrams(t, path)
	tpkts := runTshark(t, path)
	if len(tpkts) != len(dgs) {
		t.Fatalf("tshark shows %d packets, capture has %d datagrams", len(tpkts), len(dgs))
	}
	d := mustNew(t, Config{})
	values := 0
	for pi, dg := range dgs {
		tp := tpkts[pi]
		var out flow.Decoded
		err := d.Decode(dg.Payload, dg.Src, dg.Time, &out)
		if !tp.sflow {
			if err == nil {
				t.Errorf("datagram %d: tshark sees no sFlow, decoded without error", pi)
			}
			continue
		}
		if _, ok := skip[pi]; ok {
			continue
		}
		if err != nil {
			t.Fatalf("datagram %d: %v", pi, err)
		}
		where := fmt.Sprintf("datagram %d", pi)
		agent := flow.Addr{}
		if v, ok := tp.hdr.first("sflow_245.agent"); ok {
			agent = flow.MustParseAddr(v)
		} else if v, ok := tp.hdr.first("sflow_245.agent.v6"); ok {
			agent = flow.MustParseAddr(v)
		}
		sub, _ := tp.hdr.first("sflow_245.sub_agent_id")
		fi, ci := 0, 0
		for si, s := range tp.samples {
			w := fmt.Sprintf("%s sample %d", where, si)
			switch s.kind {
			case "flow":
				if fi >= out.Flows.Len() {
					t.Fatalf("%s: decoded %d flows, tshark shows more", w, out.Flows.Len())
				}
				var r flow.Record
				out.Flows.Row(fi, &r)
				fi++
				values += compareFlow(t, w, s, &r)
				values += check(t, w, "agent", agent.String(), r.ExporterAddr.String())
				values += check(t, w, "sub_agent_id", sub, strconv.FormatUint(uint64(r.ObservationDomain), 10))
			case "counters":
				n := len(s.f["sflow_245.ifindex"])
				for k := 0; k < n; k++ {
					if ci >= len(out.Counters) {
						t.Fatalf("%s: decoded %d counter records, tshark shows more", w, len(out.Counters))
					}
					values += compareCounters(t, w, s.f, k, &out.Counters[ci])
					values += check(t, w, "agent", agent.String(), out.Counters[ci].ExporterAddr.String())
					ci++
				}
			}
		}
		// tshark stops at what it cannot parse (newer counter formats):
		// then it may show fewer samples than there are.
		if !tp.malformed && (fi != out.Flows.Len() || ci != len(out.Counters)) {
			t.Errorf("%s: decoded %d flows and %d counters, tshark shows %d and %d", where, out.Flows.Len(), len(out.Counters), fi, ci)
		}
		flows += fi
		counters += ci
	}
	if flows+counters > 0 && values == 0 {
		t.Errorf("no value compared")
	}
	t.Logf("%d flows and %d counter records, %d values agree with tshark", flows, counters, values)
	return flows, counters
}

func check(t *testing.T, where, key, want, got string) int {
	t.Helper()
	if want != got {
		t.Errorf("%s: %s: tshark %q, decoded %q", where, key, want, got)
	}
	return 1
}

func num(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return v
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

// ifValue is the ifIndex the decoder reports for an interface of format
// f and value v.
func ifValue(f, v uint64) uint64 {
	if f != 0 || v == localInterface {
		return 0
	}
	return v
}

func compareFlow(t *testing.T, w string, s tsSample, r *flow.Record) int {
	t.Helper()
	n := 0
	f := s.f
	rate := num(t, f["sflow.flow_sample.sampling_rate"][0])
	if rate == 0 {
		rate = 1
	}
	n += check(t, w, "sampling_rate", u(rate), u(uint64(r.SamplingRate)))
	n += check(t, w, "packets", u(rate), u(r.Packets))
	if v, ok := f.first("sflow_245.header.frame_length"); ok {
		n += check(t, w, "bytes", u(num(t, v)*rate), u(r.Bytes))
	} else if v, ok := f.first("sflow_245.ethernet.length"); ok {
		n += check(t, w, "bytes", u(num(t, v)*rate), u(r.Bytes))
	}
	// Interfaces: compact (value in the low 30 bits) or expanded.
	if v, ok := f.first("sflow.flow_sample.input_interface_value"); ok {
		fm, _ := f.first("sflow.flow_sample.input_interface_format")
		n += check(t, w, "in_if", u(ifValue(num(t, fm), num(t, v))), u(uint64(r.InIf)))
	} else if v, ok := f.first("sflow.flow_sample.input_interface"); ok {
		x := num(t, v)
		n += check(t, w, "in_if", u(ifValue(x>>30, x&(1<<30-1))), u(uint64(r.InIf)))
	}
	if v, ok := f.first("sflow.flow_sample.output_interface_value"); ok {
		fm, ok := f.first("sflow.flow_sample.output_interface_format")
		if !ok {
			fm, _ = f.first("sflow.flow_sample.output_interface.format")
		}
		n += check(t, w, "out_if", u(ifValue(num(t, fm), num(t, v))), u(uint64(r.OutIf)))
	}

	// The sampled header. With VXLAN the inner frame's layers come last.
	h := s.hdr
	if hasKey(s.inner, "ip.src") || hasKey(s.inner, "ipv6.src") {
		h = s.inner
	}
	pick := h.first
	// The outer tag: 802.1ad (QinQ service tag) before 802.1Q.
	if v, ok := s.hdr.first("ieee8021ad.id"); ok {
		n += check(t, w, "vlan (802.1ad)", v, u(uint64(r.VLAN)))
	} else if v, ok := s.hdr.first("vlan.id"); ok {
		n += check(t, w, "vlan", v, u(uint64(r.VLAN)))
	} else if v, ok := f.first("sflow_245.vlan.in"); ok {
		if num(t, v) > 4095 {
			v = "0" // none
		}
		n += check(t, w, "vlan (extended switch)", v, u(uint64(r.VLAN)))
	}
	if v, ok := pick("eth.src"); ok {
		n += check(t, w, "src_mac", v, flow.MACString(r.SrcMAC))
		d, _ := pick("eth.dst")
		n += check(t, w, "dst_mac", d, flow.MACString(r.DstMAC))
	} else if v, ok := f.first("sflow_245.ethernet.source_mac_address"); ok {
		n += check(t, w, "src_mac", v, flow.MACString(r.SrcMAC))
		d, _ := f.first("sflow_245.ethernet.destination_mac_address")
		n += check(t, w, "dst_mac", d, flow.MACString(r.DstMAC))
	}
	var proto uint64
	if v, ok := pick("ip.src"); ok && !hasKey(h, "ipv6.src") {
		n += check(t, w, "ip_version", "4", u(uint64(r.IPVersion)))
		n += check(t, w, "src_addr", v, r.SrcAddr.String())
		d, _ := pick("ip.dst")
		n += check(t, w, "dst_addr", d, r.DstAddr.String())
		p, _ := pick("ip.proto")
		proto = num(t, p)
		n += check(t, w, "proto", u(proto), u(uint64(r.Proto)))
		tos, _ := pick("ip.dsfield")
		n += check(t, w, "tos", u(num(t, tos)), u(uint64(r.TOS)))
	} else if v, ok := pick("ipv6.src"); ok {
		n += check(t, w, "ip_version", "6", u(uint64(r.IPVersion)))
		n += check(t, w, "src_addr", netip.MustParseAddr(v).String(), r.SrcAddr.String())
		d, _ := pick("ipv6.dst")
		n += check(t, w, "dst_addr", netip.MustParseAddr(d).String(), r.DstAddr.String())
		p, _ := pick("ipv6.nxt")
		proto = num(t, p)
		switch proto {
		case 0, 43, 44, 51, 60: // extension headers: the decoder follows them
		default:
			n += check(t, w, "proto", u(proto), u(uint64(r.Proto)))
		}
		tc, _ := pick("ipv6.tclass")
		n += check(t, w, "tos", u(num(t, tc)), u(uint64(r.TOS)))
	} else {
		n += check(t, w, "ip_version", "0", u(uint64(r.IPVersion)))
	}
	switch proto {
	case 6:
		if v, ok := pick("tcp.srcport"); ok {
			n += check(t, w, "src_port", v, u(uint64(r.SrcPort)))
			d, _ := pick("tcp.dstport")
			n += check(t, w, "dst_port", d, u(uint64(r.DstPort)))
		}
		if v, ok := pick("tcp.flags"); ok {
			n += check(t, w, "tcp_flags", u(num(t, v)&0x1ff), u(uint64(r.TCPFlags)))
		}
	case 17:
		if v, ok := pick("udp.srcport"); ok {
			n += check(t, w, "src_port", v, u(uint64(r.SrcPort)))
			d, _ := pick("udp.dstport")
			n += check(t, w, "dst_port", d, u(uint64(r.DstPort)))
		}
	case 1:
		if v, ok := pick("icmp.type"); ok {
			n += check(t, w, "icmp_type", v, u(uint64(r.ICMPType)))
			c, _ := pick("icmp.code")
			n += check(t, w, "icmp_code", c, u(uint64(r.ICMPCode)))
		}
	case 58:
		if v, ok := pick("icmpv6.type"); ok {
			n += check(t, w, "icmp_type", v, u(uint64(r.ICMPType)))
			c, _ := pick("icmpv6.code")
			n += check(t, w, "icmp_code", c, u(uint64(r.ICMPCode)))
		}
	}

	// Extended router and gateway records.
	if rt, ok := s.recs["Extended router data"]; ok {
		m := fields{}
		collect(rt, m)
		nh, ok := m.first("sflow_245.nexthop")
		if !ok {
			nh, _ = m.first("sflow_245.nexthop.v6")
		}
		n += check(t, w, "next_hop", addrText(nh), r.NextHop.String())
		sm, _ := m.first("sflow_245.nexthop.src_mask")
		dm, _ := m.first("sflow_245.nexthop.dst_mask")
		n += check(t, w, "src_mask", u(maskOf(num(t, sm))), u(uint64(r.SrcMask)))
		n += check(t, w, "dst_mask", u(maskOf(num(t, dm))), u(uint64(r.DstMask)))
	}
	if gw, ok := s.recs["Extended gateway data"]; ok {
		m := fields{}
		for _, k := range gw.Kids {
			if !k.Obj {
				m[k.Key] = append(m[k.Key], k.Val)
			}
		}
		if _, router := s.recs["Extended router data"]; !router {
			nh, _ := m.first("sflow_245.nexthop")
			n += check(t, w, "next_hop (gateway)", addrText(nh), r.NextHop.String())
		}
		sa, _ := m.first("sflow_245.srcAS")
		n += check(t, w, "src_as", sa, u(uint64(r.SrcAS)))
		// The destination AS is the last of the AS path, or the router's
		// own when the path is empty. Communities also show as dstAS in
		// tshark's output, under their own tree: only path trees count.
		dst, _ := m.first("sflow_245.as")
		for _, k := range gw.Kids {
			if k.Key == "sflow.as_type_tree" {
				for _, a := range k.Kids {
					if a.Key == "sflow_245.dstAS" {
						dst = a.Val
					}
				}
			}
		}
		n += check(t, w, "dst_as", dst, u(uint64(r.DstAS)))
	}
	return n
}

func hasKey(m fields, key string) bool { return len(m[key]) > 0 }

// addrText normalises an address as tshark prints it to flow.Addr's text
// ("" for unspecified).
func addrText(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil || a.IsUnspecified() {
		return ""
	}
	return a.Unmap().String()
}

func maskOf(v uint64) uint64 {
	if v > 128 {
		return 0
	}
	return v
}

func compareCounters(t *testing.T, w string, f fields, k int, c *flow.IfCounters) int {
	t.Helper()
	n := 0
	get := func(key string) uint64 {
		t.Helper()
		v := f[key]
		if k >= len(v) {
			t.Fatalf("%s: %s missing from record %d", w, key, k)
		}
		return num(t, v[k])
	}
	for _, x := range []struct {
		key string
		got uint64
	}{
		{"sflow_245.ifindex", uint64(c.IfIndex)},
		{"sflow_245.iftype", uint64(c.IfType)},
		{"sflow_245.ifspeed", c.IfSpeed},
		{"sflow_245.ifdirection", uint64(c.IfDirection)},
		{"sflow_245.ifinoct", c.InOctets},
		{"sflow_245.ifinpkt", c.InUcastPkts},
		{"sflow_245.ifinmcast", c.InMulticastPkts},
		{"sflow_245.ifinbcast", c.InBroadcastPkts},
		{"sflow_245.ifindisc", c.InDiscards},
		{"sflow_245.ifinerr", c.InErrors},
		{"sflow_245.ifinunk", c.InUnknownProtos},
		{"sflow_245.ifoutoct", c.OutOctets},
		{"sflow_245.ifoutpkt", c.OutUcastPkts},
		{"sflow_245.ifoutmcast", c.OutMulticastPkts},
		{"sflow_245.ifoutbcast", c.OutBroadcastPkts},
		{"sflow_245.ifoutdisc", c.OutDiscards},
		{"sflow_245.ifouterr", c.OutErrors},
		{"sflow_245.ifpromisc", uint64(c.Promiscuous)},
	} {
		n += check(t, w, x.key, u(get(x.key)), u(x.got))
	}
	status := get("sflow_245.ifadmin_status") | get("sflow_245.ifoper_status")<<1
	n += check(t, w, "ifStatus", u(status), u(uint64(c.IfStatus)))
	return n
}

package netflow

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
	"github.com/flowlake/flowlake/internal/testenv/tshark"
)

// flatten collects the first value of every field below n. The first
// non-zero source and destination address, IPv4 or IPv6, in record order
// is also kept as "src" and "dst".
func flatten(n tshark.Node, m map[string]string) {
	n.Walk(func(key, val string) {
		if _, ok := m[key]; !ok {
			m[key] = val
		}
		var alias string
		switch key {
		case "cflow.srcaddr", "cflow.srcaddrv6":
			alias = "src"
		case "cflow.dstaddr", "cflow.dstaddrv6":
			alias = "dst"
		}
		if _, ok := m[alias]; alias != "" && !ok {
			if a, err := netip.ParseAddr(val); err == nil && !a.IsUnspecified() {
				m[alias] = val
			}
		}
	})
}

// tsharkPacket is what tshark decoded of one datagram: its header fields
// and its flow (not options) data records in order.
type tsharkPacket struct {
	hdr   map[string]string
	flows []map[string]string
	// undecoded counts data flowsets tshark could not decode (no template).
	undecoded int
	// malformed: tshark's dissector gave up part way (it then shows only
	// the records before the spot it could not parse).
	malformed bool
}

func runTshark(t *testing.T, path string, ports []uint16) []tsharkPacket {
	t.Helper()
	decodeAs := []string{"udp.port==2055,cflow", "udp.port==4739,cflow"}
	for _, p := range ports {
		decodeAs = append(decodeAs, fmt.Sprintf("udp.port==%d,cflow", p))
	}
	optionTemplates := map[string]bool{}
	var pkts []tsharkPacket
	for _, layers := range tshark.Layers(t, path, decodeAs...) {
		cf, ok := layers.Child("cflow")
		if !ok {
			pkts = append(pkts, tsharkPacket{})
			continue
		}
		tp := tsharkPacket{hdr: map[string]string{}}
		for _, k := range cf.Kids {
			if !k.Obj {
				tp.hdr[k.Key] = k.Val
			}
		}
		flatten(cf, tp.hdr)
		if _, ok := layers.Child("_ws.malformed"); ok {
			tp.malformed = true
		}
		for _, fs := range cf.Kids {
			if !fs.Obj {
				continue
			}
			if strings.HasPrefix(fs.Key, "pdu ") { // NetFlow v5 record
				m := map[string]string{}
				flatten(fs, m)
				tp.flows = append(tp.flows, m)
				continue
			}
			idn, ok := fs.Child("cflow.flowset_id")
			if !ok {
				continue
			}
			id, _ := strconv.Atoi(idn.Val)
			switch {
			case id == 1 || id == 3:
				for _, tpl := range fs.Kids {
					if tid, ok := tpl.Child("cflow.template_id"); ok {
						optionTemplates[tid.Val] = true
					}
				}
			case id >= 256:
				if optionTemplates[idn.Val] {
					continue
				}
				n := 0
				for _, rec := range fs.Kids {
					if rec.Obj && strings.HasPrefix(rec.Key, "Flow ") {
						m := map[string]string{}
						flatten(rec, m)
						tp.flows = append(tp.flows, m)
						n++
					}
				}
				if n == 0 {
					tp.undecoded++
				}
			}
		}
		pkts = append(pkts, tp)
	}
	return pkts
}

// dataBeforeTemplate lists captures whose data sets precede their template
// (in the datagram or the capture): tshark cannot decode those sets, we
// hold them and decode them when the template arrives, so we yield more
// flows than tshark shows, at the datagram where the template arrived.
var dataBeforeTemplate = map[string]bool{
	"bitkeks-softflowd-nfv9-data-before-template-in-packet.pcap": true,
}

func TestTsharkAgreement(t *testing.T) {
	tshark.Require(t)
	for _, path := range captureFiles(t) {
		name := filepath.Base(path)
		if strings.HasSuffix(path, ".ipfix") || strings.Contains(name, "malformed") {
			continue // tshark reads pcaps only; malformed ones are TestCaptures'
		}
		t.Run(name, func(t *testing.T) {
			dgs := capture.Datagrams(t, path)
			portSet := map[uint16]bool{}
			for _, dg := range dgs {
				portSet[dg.Dst.Port()] = true
			}
			var ports []uint16
			for p := range portSet {
				ports = append(ports, p)
			}
			tpkts := runTshark(t, path, ports)
			if len(tpkts) != len(dgs) {
				t.Fatalf("tshark shows %d packets, capture has %d datagrams", len(tpkts), len(dgs))
			}
			d, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			compared, fields := 0, 0
			for pi, dg := range dgs {
				var out flow.Decoded
				if err := d.Decode(dg.Payload, dg.Src, dg.Time, &out); err != nil {
					t.Fatalf("packet %d: %v", pi, err)
				}
				tp := tpkts[pi]
				got := out.Flows.Len()
				want := len(tp.flows)
				first := 0
				switch {
				case got == want:
				case tp.malformed && got > want:
					// tshark stopped early (e.g. H3C's 2-byte field
					// that tshark reads as an IPv4 address): compare the
					// records it did show.
				default:
					if !dataBeforeTemplate[name] || got < want {
						t.Fatalf("packet %d: decoded %d flows, tshark shows %d (%d undecoded sets)", pi, got, want, tp.undecoded)
					}
					// Held sets were released first, when the template
					// arrived, before the sets tshark could decode.
					first = got - want
				}
				for fi, tf := range tp.flows {
					var r flow.Record
					out.Flows.Row(first+fi, &r)
					fields += compareFlow(t, fmt.Sprintf("packet %d flow %d", pi, fi), tp.hdr, tf, &r)
					compared++
				}
			}
			if compared > 0 && fields == 0 {
				t.Errorf("no field compared")
			}
			t.Logf("%d flows, %d field values agree with tshark", compared, fields)
		})
	}
}

// compareFlow checks every field tshark shows against the decoded record
// and returns how many it compared.
func compareFlow(t *testing.T, where string, hdr, tf map[string]string, r *flow.Record) int {
	t.Helper()
	n := 0
	check := func(key, want, got string) {
		t.Helper()
		n++
		if want != got {
			t.Errorf("%s: %s: tshark %q, decoded %q", where, key, want, got)
		}
	}
	num := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("%s: bad number %q", where, s)
		}
		return v
	}
	addr := func(a flow.Addr) string {
		if a.IsZero() || a.Netip().IsUnspecified() {
			return ""
		}
		return a.Netip().String()
	}
	// flow.Addr holds IPv4 mapped into IPv6, so an IPv6 field carrying
	// ::ffff:a.b.c.d reads back as a.b.c.d.
	tsAddr := func(s string) string {
		a := netip.MustParseAddr(s).Unmap()
		if a.IsUnspecified() {
			return ""
		}
		return a.String()
	}
	for _, k := range []struct {
		key string
		got flow.Addr
	}{{"src", r.SrcAddr}, {"dst", r.DstAddr}} {
		if v, ok := tf[k.key]; ok {
			check(k.key+"addr", tsAddr(v), addr(k.got))
		} else if _, ok := tf["cflow."+k.key+"addr"]; ok {
			check(k.key+"addr", "", addr(k.got))
		} else if _, ok := tf["cflow."+k.key+"addrv6"]; ok {
			check(k.key+"addr", "", addr(k.got))
		}
	}
	nh, hasNH := tf["cflow.nexthop"]
	if !hasNH {
		nh, hasNH = tf["cflow.nexthopv6"]
	}
	if hasNH && tsAddr(nh) != "" {
		check("nexthop", tsAddr(nh), addr(r.NextHop))
	} else if v, ok := tf["cflow.bgpnexthop"]; ok {
		check("bgpnexthop", tsAddr(v), addr(r.NextHop))
	} else if v, ok := tf["cflow.bgpnexthopv6"]; ok {
		check("bgpnexthopv6", tsAddr(v), addr(r.NextHop))
	}
	rate := uint64(r.SamplingRate)
	if rate == 0 {
		t.Errorf("%s: sampling_rate 0", where)
		rate = 1
	}
	if v, ok := hdr["cflow.samplerate"]; ok && num(v) > 0 && r.SourceType == flow.SourceTypeNetflow5 {
		check("samplerate", strconv.FormatUint(num(v), 10), strconv.FormatUint(rate, 10))
	}
	nums := []struct {
		key  string
		got  uint64
		mult uint64
	}{
		{"cflow.srcport", uint64(r.SrcPort), 1},
		{"cflow.dstport", uint64(r.DstPort), 1},
		{"cflow.protocol", uint64(r.Proto), 1},
		// bytes and packets come out sampling-corrected.
		{"cflow.octets", r.Bytes, rate},
		{"cflow.packets", r.Packets, rate},
		{"cflow.inputint", uint64(r.InIf), 1},
		{"cflow.outputint", uint64(r.OutIf), 1},
		{"cflow.tcpflags", uint64(r.TCPFlags), 1},
		{"cflow.tos", uint64(r.TOS), 1},
		{"cflow.srcas", uint64(r.SrcAS), 1},
		{"cflow.dstas", uint64(r.DstAS), 1},
		{"cflow.srcmask", uint64(r.SrcMask), 1},
		{"cflow.srcmaskv6", uint64(r.SrcMask), 1},
		{"cflow.dstmask", uint64(r.DstMask), 1},
		{"cflow.dstmaskv6", uint64(r.DstMask), 1},
		{"cflow.vlanid", uint64(r.VLAN), 1},
	}
	for _, c := range nums {
		if v, ok := tf[c.key]; ok {
			check(c.key, strconv.FormatUint(num(v)*c.mult, 10), strconv.FormatUint(c.got, 10))
		}
	}
	for _, c := range []struct {
		key string
		got uint64
	}{{"cflow.srcmac", r.SrcMAC}, {"cflow.dstmac", r.DstMAC}} {
		if v, ok := tf[c.key]; ok {
			check(c.key, v, macString(c.got))
		}
	}
	// Times: absolute ones as tshark prints them; sysUptime-relative ones
	// (v5, v9) from the header's export time and uptime.
	const layout = "Jan _2, 2006 15:04:05.000000000 MST"
	for _, c := range []struct {
		abs, rel string
		got      int64
	}{{"cflow.abstimestart", "cflow.timestart", r.TimeStart}, {"cflow.abstimeend", "cflow.timeend", r.TimeEnd}} {
		if v, ok := tf[c.abs]; ok {
			ts, err := time.Parse(layout, v)
			if err != nil {
				t.Fatalf("%s: %s: %v", where, c.abs, err)
			}
			if ts.Unix() != 0 { // tshark shows 1970 for uptime times it cannot place
				check(c.abs, ts.UTC().Format(time.RFC3339Nano), time.Unix(0, c.got).UTC().Format(time.RFC3339Nano))
			}
		} else if v, ok := tf[c.rel]; ok && r.SourceType != flow.SourceTypeIpfix {
			up := secondsMs(t, v)
			sys := secondsMs(t, hdr["cflow.sysuptime"])
			export := int64(num(hdr["cflow.unix_secs"])) * 1000
			if r.SourceType == flow.SourceTypeNetflow5 {
				export += int64(num(hdr["cflow.unix_nsecs"])) / 1e6
			}
			want := export - int64(int32(uint32(sys)-uint32(up)))
			check(c.rel, time.UnixMilli(want).UTC().Format(time.RFC3339Nano), time.Unix(0, c.got).UTC().Format(time.RFC3339Nano))
		}
	}
	return n
}

func secondsMs(t *testing.T, s string) int64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad seconds %q", s)
	}
	return int64(f*1000 + 0.5)
}

func macString(m uint64) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", byte(m>>40), byte(m>>32), byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
}

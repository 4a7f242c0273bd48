package netflow

import (
	"errors"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
	"github.com/flowlake/flowlake/internal/testenv/wire"
)

// fuzzConfig keeps limits small so that the fuzzer reaches them.
var fuzzConfig = Config{MaxTemplatesPerDomain: 16, MaxFieldsPerTemplate: 64, MaxPendingSets: 4, MaxPendingBytes: 4096, MaxDomains: 64}

func checkDecode(t *testing.T, d *Decoder, pkt []byte) {
	var out flow.Decoded
	err := d.Decode(pkt, capture.Exporter, capture.Received, &out)
	if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("error wraps neither ErrMalformed nor ErrUnsupportedVersion: %v", err)
	}
	// Every flow takes at least one byte of the datagram (held sets come
	// from earlier datagrams, at most MaxPendingBytes of them).
	if n := out.Flows.Len(); n > len(pkt)+fuzzConfig.MaxPendingBytes {
		t.Fatalf("%d flows from %d bytes", n, len(pkt))
	}
	for _, s := range d.Stats() {
		if s.Templates > fuzzConfig.MaxTemplatesPerDomain {
			t.Fatalf("%d templates in a domain, limit %d", s.Templates, fuzzConfig.MaxTemplatesPerDomain)
		}
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, dom := range d.domains {
		for _, tp := range dom.templates {
			if len(tp.fields) > fuzzConfig.MaxFieldsPerTemplate {
				t.Fatalf("template with %d fields kept", len(tp.fields))
			}
		}
		if len(dom.pending) > fuzzConfig.MaxPendingSets || dom.pendingLen > fuzzConfig.MaxPendingBytes {
			t.Fatalf("pending %d sets, %d bytes over the bounds", len(dom.pending), dom.pendingLen)
		}
	}
}

// FuzzDecode feeds arbitrary datagrams, seeded with every datagram of the
// NetFlow/IPFIX captures, twice through one decoder (the second time with
// the templates the first pass learnt).
func FuzzDecode(f *testing.F) {
	for _, path := range captureFiles(f) {
		for _, dg := range capture.Datagrams(f, path) {
			f.Add(dg.Payload)
		}
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		d := mustNew(t, fuzzConfig)
		checkDecode(t, d, pkt)
		checkDecode(t, d, pkt)
	})
}

// FuzzTemplateData fuzzes a template (raw field specifiers, any count)
// followed by a data set for it, in NetFlow v9 or IPFIX framing.
func FuzzTemplateData(f *testing.F) {
	f.Add(fieldSpecs(typicalFields, true), typicalRecord(1, false), true, uint16(21))
	f.Add(fieldSpecs(typicalV9Fields, false), typicalRecord(1, true), false, uint16(21))
	f.Add(fieldSpecs([]ie{{96, 0, varLen}, {12232, 9, varLen}, {8, 0, 4}}, true), []byte{3, 'a', 'b', 'c', 255, 0, 1, 'x', 1, 2, 3, 4}, true, uint16(3))
	f.Add([]byte{0, 1, 0xff, 0xff}, []byte{255, 0xff, 0xff}, true, uint16(65535))
	f.Fuzz(func(t *testing.T, specs, data []byte, ipfix bool, count uint16) {
		d := mustNew(t, fuzzConfig)
		var pkt []byte
		if ipfix {
			tpl := set(2, wire.Cat(wire.BE16(300), wire.BE16(count), specs))
			pkt = ipfixMsg(0, 0, 1700000000, tpl, set(300, data))
			if len(pkt) > 65535 {
				return
			}
		} else {
			tpl := set(0, wire.Cat(wire.BE16(300), wire.BE16(count), specs))
			pkt = v9Msg(1, 0, 1000, 1700000000, 2, tpl, set(300, data))
		}
		checkDecode(t, d, pkt)
		// Data again, after the template was (maybe) learnt.
		if ipfix {
			checkDecode(t, d, ipfixMsg(1, 0, 1700000000, set(300, data)))
		} else {
			checkDecode(t, d, v9Msg(2, 0, 1000, 1700000000, 1, set(300, data)))
		}
	})
}

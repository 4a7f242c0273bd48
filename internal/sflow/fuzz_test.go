package sflow

import (
	"errors"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
)

// FuzzDecode feeds arbitrary datagrams, seeded with every datagram of the
// sFlow captures and the synthetic ones, through a decoder with a small
// agent limit. Beyond not panicking, it checks the invariants callers rely
// on.
func FuzzDecode(f *testing.F) {
	for _, path := range captureFiles(f) {
		for _, dg := range capture.Datagrams(f, path) {
			f.Add(dg.Payload)
		}
	}
	for _, dg := range syntheticDatagrams() {
		f.Add(dg)
	}
	f.Add(benchDatagram())
	f.Fuzz(func(t *testing.T, pkt []byte) {
		d := mustNew(t, Config{MaxAgents: 4})
		var out flow.Decoded
		for pass := 0; pass < 2; pass++ {
			out.Reset()
			err := d.Decode(pkt, capture.Exporter, capture.Received, &out)
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			// A flow sample takes at least 40 bytes and a counter record
			// 96: output is bounded by input.
			if n := out.Flows.Len(); n*40 > len(pkt) {
				t.Fatalf("%d flows from %d bytes", n, len(pkt))
			}
			if n := len(out.Counters); n*96 > len(pkt) {
				t.Fatalf("%d counter records from %d bytes", n, len(pkt))
			}
			for i := 0; i < out.Flows.Len(); i++ {
				if out.Flows.SamplingRate[i] == 0 || out.Flows.Packets[i] != uint64(out.Flows.SamplingRate[i]) {
					t.Fatalf("flow %d: rate %d packets %d", i, out.Flows.SamplingRate[i], out.Flows.Packets[i])
				}
				if v := out.Flows.IPVersion[i]; v != 0 && v != 4 && v != 6 {
					t.Fatalf("flow %d: IP version %d", i, v)
				}
			}
		}
		var packets, flows, errs uint64
		for _, s := range d.Stats() {
			packets += s.Packets
			flows += s.Flows
			errs += s.Errors
		}
		if packets != 2 || flows != 2*uint64(out.Flows.Len()) || errs%2 != 0 {
			t.Fatalf("stats: %d packets, %d flows, %d errors after two passes of %d flows", packets, flows, errs, out.Flows.Len())
		}
	})
}

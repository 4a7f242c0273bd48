package sflow

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/capture"
)

// captureFiles lists the sFlow captures of testdata.
func captureFiles(t testing.TB) []string {
	t.Helper()
	return capture.Files(t, "sflow5/*.pcap")
}

// damaged lists datagrams of captures not marked malformed that are
// nonetheless invalid, with why: they must be rejected with a counted error
// while the rest of the capture decodes.
var damaged = map[string]map[int]string{
	"gopacket-mixed-sflow5-record-type-coverage-11pkts.pcap": {
		// Hand-made in gopacket's tests: the extended router record is 4
		// bytes longer than the sample that holds it (its masks read
		// 0xffffffff); tshark reads past the sample without a mark.
		2: "record beyond sample end",
		5: "record beyond sample end",
		// tshark marks this one malformed too.
		8: "sample beyond datagram end",
	},
}

// notSFlow reports whether a datagram is something else sent to the sFlow
// port (the HP capture has NetFlow v5 datagrams on 6343).
func notSFlow(p []byte) bool {
	return len(p) < 4 || p[0] != 0 || p[1] != 0 || p[2] != 0 || p[3] != 5
}

func TestCaptures(t *testing.T) {
	for _, path := range captureFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			name := filepath.Base(path)
			malformed := strings.Contains(name, "malformed")
			d := mustNew(t, Config{})
			dgs := capture.Datagrams(t, path)
			outs, errs := capture.DecodeFile(t, d, path)
			other := 0
			flows, counters, nerr := 0, 0, 0
			for i, err := range errs {
				flows += outs[i].Flows.Len()
				counters += len(outs[i].Counters)
				if err == nil {
					if _, ok := damaged[name][i]; ok {
						t.Errorf("damaged datagram %d decoded without error", i)
					}
					continue
				}
				nerr++
				t.Logf("datagram %d: %v", i, err)
				switch {
				case errors.Is(err, ErrUnsupportedVersion) && notSFlow(dgs[i].Payload):
					other++
				case !errors.Is(err, ErrMalformed):
					t.Errorf("datagram %d: error does not wrap ErrMalformed: %v", i, err)
				case damaged[name][i] != "":
					other++
				case !malformed:
					t.Errorf("datagram %d: %v", i, err)
				}
			}
			var counted, statFlows, statCounters uint64
			for _, s := range d.Stats() {
				counted += s.Errors
				statFlows += s.Flows
				statCounters += s.Counters
			}
			if counted != uint64(nerr) {
				t.Errorf("stats count %d errors, Decode returned %d", counted, nerr)
			}
			if statFlows != uint64(flows) || statCounters != uint64(counters) {
				t.Errorf("stats count %d flows and %d counters, output has %d and %d", statFlows, statCounters, flows, counters)
			}
			if malformed && nerr == other {
				t.Errorf("malformed capture decoded without error (%d flows)", flows)
			}
			t.Logf("%d datagrams, %d flows, %d counters, stats %+v", len(errs), flows, counters, d.Stats())
		})
	}
}

// TestCapturePrefixes decodes every prefix of every captured datagram: a
// cut datagram must fail cleanly, never yield more than the whole, and
// never panic.
func TestCapturePrefixes(t *testing.T) {
	for _, path := range captureFiles(t) {
		d := mustNew(t, Config{})
		for i, dg := range capture.Datagrams(t, path) {
			var whole flow.Decoded
			wholeErr := d.Decode(dg.Payload, dg.Src, dg.Time, &whole)
			var out flow.Decoded
			for n := 0; n < len(dg.Payload); n++ {
				out.Reset()
				err := d.Decode(dg.Payload[:n], dg.Src, dg.Time, &out)
				if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
					t.Fatalf("%s datagram %d cut at %d: error wraps no sentinel: %v", filepath.Base(path), i, n, err)
				}
				// Only bytes after the last sample may go unnoticed.
				if err == nil && wholeErr == nil && (out.Flows.Len() != whole.Flows.Len() || len(out.Counters) != len(whole.Counters)) {
					t.Errorf("%s datagram %d cut at %d: decoded without error into part of the whole", filepath.Base(path), i, n)
				}
				if out.Flows.Len() > whole.Flows.Len() || len(out.Counters) > len(whole.Counters) {
					t.Fatalf("%s datagram %d cut at %d: more output than the whole datagram", filepath.Base(path), i, n)
				}
			}
		}
	}
}

package netflow

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowlake/flowlake/internal/testenv/capture"
)

// TestPmacctTotals compares flow, byte and packet totals (sampling
// renormalised where nfacctd was configured so) with nfacctd's own output
// for the same captures, recorded by pmacct's test automation.
func TestPmacctTotals(t *testing.T) {
	for _, n := range []string{"100", "101", "102", "104", "111"} {
		t.Run(n, func(t *testing.T) {
			f, err := os.Open(capture.Path(t, "_expected/pmacct-ta/"+n+"-output-flow-00.json"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var wantFlows int
			var wantBytes, wantPackets uint64
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "" {
					continue
				}
				var rec struct{ Bytes, Packets uint64 }
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					t.Fatal(err)
				}
				wantFlows++
				wantBytes += rec.Bytes
				wantPackets += rec.Packets
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(capture.Path(t, "*/pmacct-ta-*-"+n+".pcap"))
			if len(files) == 0 {
				t.Fatalf("no capture for pmacct test %s", n)
			}
			var flows int
			var bytes, packets uint64
			for _, path := range files {
				d := mustNew(t, Config{})
				outs, errs := capture.DecodeFile(t, d, path)
				for i, o := range outs {
					if errs[i] != nil {
						t.Errorf("%s packet %d: %v", filepath.Base(path), i, errs[i])
					}
					flows += o.Flows.Len()
					for j := 0; j < o.Flows.Len(); j++ {
						bytes += o.Flows.Bytes[j]
						packets += o.Flows.Packets[j]
					}
				}
			}
			if flows != wantFlows || bytes != wantBytes || packets != wantPackets {
				t.Errorf("flows/bytes/packets = %d/%d/%d, nfacctd %d/%d/%d", flows, bytes, packets, wantFlows, wantBytes, wantPackets)
			}
		})
	}
}

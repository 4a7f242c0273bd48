package azure

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
)

// genDoc makes a PT1H.json blob of n tuples: records of 10 flow groups of
// 100 tuples, as a busy subnet produces.
func genDoc(kind Kind, n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"records":[`)
	t := 0
	for r := 0; t < n; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		if kind == VNet {
			fmt.Fprintf(&b, `{"time":"2026-11-20T10:00:00Z","flowLogVersion":4,"macAddress":"6045BD%06X","category":"FlowLogFlowEvent","flowLogResourceID":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/FL","targetResourceID":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet%d","flowRecords":{"flows":[{"aclID":"acl-%d","flowGroups":[`, r, r%4, r%3)
		} else {
			fmt.Fprintf(&b, `{"time":"2026-11-20T10:00:00Z","macAddress":"000D3A%06X","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG%d","properties":{"Version":2,"flows":[`, r, r%4)
		}
		for g := 0; g < 10 && t < n; g++ {
			if g > 0 {
				b.WriteByte(',')
			}
			if kind == VNet {
				fmt.Fprintf(&b, `{"rule":"Rule_%d","flowTuples":[`, g)
			} else {
				fmt.Fprintf(&b, `{"rule":"Rule_%d","flows":[{"mac":"000D3A%06X","flowTuples":[`, g, r)
			}
			for k := 0; k < 100 && t < n; k++ {
				if k > 0 {
					b.WriteByte(',')
				}
				if kind == VNet {
					fmt.Fprintf(&b, `"%d,10.%d.%d.%d,52.%d.%d.%d,%d,443,6,O,E,NX,%d,%d,%d,%d"`, 1763632800000+t, t%200, t%250, t%249, t%50, t%251, t%13, 1024+t%60000, t%90, t*7%100000, t%80, t*11%900000)
				} else {
					fmt.Fprintf(&b, `"%d,10.%d.%d.%d,52.%d.%d.%d,%d,443,T,O,A,E,%d,%d,%d,%d"`, 1763632800+t/1000, t%200, t%250, t%249, t%50, t%251, t%13, 1024+t%60000, t%90, t*7%100000, t%80, t*11%900000)
				}
				t++
			}
			if kind == VNet {
				b.WriteString(`]}`)
			} else {
				b.WriteString(`]}]}`)
			}
		}
		if kind == VNet {
			b.WriteString(`]}]}}`)
		} else {
			b.WriteString(`]}}`)
		}
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func bench(b *testing.B, kind Kind) {
	const chunk = 100_000
	doc := genDoc(kind, chunk)
	s := sink.New(func(*flow.Batch) error { return nil }, func(pos int64, err error) { b.Fatal(pos, err) })
	p := NewParser(kind, Options{})
	b.SetBytes(int64(len(doc) / chunk))
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		if err := p.Parse(doc, s); err != nil {
			b.Fatal(err)
		}
		done += chunk
	}
	s.Flush()
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "records/s")
}

// One op is one tuple (documents of 100 000 tuples are parsed whole, so b.N
// is rounded up to a multiple; records/s counts what was parsed).
func BenchmarkParseVNet(b *testing.B) { bench(b, VNet) }

// BenchmarkParseNSG is BenchmarkParseVNet for NSG v2 blobs.
func BenchmarkParseNSG(b *testing.B) { bench(b, NSG) }

func TestGeneratedDocParses(t *testing.T) {
	for _, k := range []Kind{VNet, NSG} {
		rows, bads := parseBytes(t, k, genDoc(k, 2500))
		if len(rows) != 2500 || len(bads) != 0 {
			t.Errorf("kind %d: %d rows, reports %v", k, len(rows), bads)
		}
	}
}

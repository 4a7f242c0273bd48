package archive

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// pairTestBatch returns generated flows (most with their reverse flow)
// where some reverse flows differ from their flow's mirror in one column
// the pair columns do not keep, and flows that must not pair: if any of
// them were paired, its restored reverse would come back changed.
func pairTestBatch(t *testing.T) *flow.Batch {
	t.Helper()
	t0 := time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)
	b := new(flow.Batch)
	newFlowGen(11, t0, 3000).fill(b, 30000)
	perturb := []func(i int){
		func(i int) { b.VLAN[i] = 42 },
		func(i int) { b.NextHop[i] = flow.MustParseAddr("192.0.2.254") },
		func(i int) { b.PostNATSrcAddr[i] = flow.MustParseAddr("198.51.100.7") },
		func(i int) { b.ExporterAddr[i] = flow.MustParseAddr("192.0.2.99") },
		func(i int) { b.Direction[i] = flow.DirectionEgress },
		func(i int) { b.InIfName[i] = "xe-0/0/1" },
		func(i int) { b.FlowType[i] = flow.FlowTypeInternet },
		func(i int) { b.RevBytes[i] = 5 },
		func(i int) { b.SrcCountry[i] = "NL" },
		func(i int) { b.TimeStart[i] += 2 * int64(time.Hour) },
	}
	for i := 3; i < b.Len(); i += 7 {
		perturb[(i/7)%len(perturb)](i)
	}
	var r flow.Record
	add := func(f func(r *flow.Record)) {
		b.Row(0, &r)
		f(&r)
		b.Append(&r)
	}
	self := flow.MustParseAddr("10.9.9.9")
	for range 2 { // a host talking to itself on one port: no direction
		add(func(r *flow.Record) { r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = self, self, 53, 53 })
	}
	a, z := flow.MustParseAddr("10.1.1.8"), flow.MustParseAddr("136.144.58.113")
	one := func(r *flow.Record, fwd bool) {
		r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = a, z, 50000, 443
		r.InIf, r.OutIf = 3, 10
		r.FlowType = flow.FlowTypeToInternet
		if !fwd {
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = z, a, 443, 50000
			r.InIf, r.OutIf = 10, 3
			r.FlowType = flow.FlowTypeFromInternet
			r.SrcCountry, r.DstCountry = r.DstCountry, r.SrcCountry
			r.SrcASName, r.DstASName = r.DstASName, r.SrcASName
		}
	}
	// Twice one way, once the other: one pair, one flow alone.
	add(func(r *flow.Record) { one(r, true) })
	add(func(r *flow.Record) { one(r, true); r.Bytes++ })
	add(func(r *flow.Record) { one(r, false) })
	// The reverse received in the next hour: files are partitioned by it.
	add(func(r *flow.Record) {
		one(r, true)
		r.SrcPort, r.TimeReceived = 50001, t0.Add(59*time.Minute).UnixNano()
	})
	add(func(r *flow.Record) {
		one(r, false)
		r.DstPort, r.TimeReceived = 50001, t0.Add(61*time.Minute).UnixNano()
	})
	return b
}

func TestPairFlowsRestoresEveryFlow(t *testing.T) {
	b := pairTestBatch(t)
	rec, p := pairFlows(b)
	paired := 0
	for _, ok := range p.paired {
		if ok {
			paired++
		}
	}
	if rec.Len()+paired != b.Len() || rec.Len() != len(p.paired) {
		t.Fatalf("%d rows, %d paired, for %d flows", rec.Len(), paired, b.Len())
	}
	// The generator answers most connections; a sixth of the answers are
	// perturbed.
	if rec.Len() > b.Len()*3/4 {
		t.Errorf("%d rows for %d flows: too few pairs", rec.Len(), b.Len())
	}
	// Written as compaction writes, read back as every reader does.
	path := filepath.Join(t.TempDir(), "c.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw := newFileWriter(writeOptions{rowGroupRows: 4096, level: compactLevel, sorting: compactOrder.columns(), schema: compactSchema})
	ext := extentOf(b, nil)
	meta := append(ext.meta(0, 1), [2]string{metaFlows, strconv.Itoa(b.Len())})
	if err := fw.write(f, rec, p, sortedIndex(rec, compactOrder, 4096), meta); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := new(flow.Batch)
	if err := readFile(path, got); err != nil {
		t.Fatal(err)
	}
	if d := diffMultisets(multiset(b), multiset(got)); d != "" {
		t.Fatal(d)
	}
	ft, _, err := readFooter(path)
	if err != nil || ft.rows != int64(b.Len()) {
		t.Fatalf("footer: %d flows, %v; want %d", ft.rows, err, b.Len())
	}
}

// Flows without their reverse stay rows of their own.
func TestPairFlowsLeavesOneWayFlows(t *testing.T) {
	b := pairTestBatch(t)
	var oneWay []int
	seen := map[pairKey]bool{}
	for i := range b.Len() {
		if k, _ := keyOf(b, i); !seen[k] {
			seen[k] = true
			oneWay = append(oneWay, i)
		}
	}
	c := new(flow.Batch)
	c.AppendRows(b, oneWay)
	rec, _ := pairFlows(c)
	if rec.Len() != c.Len() || c.Len() > b.Len()*3/4 {
		t.Fatalf("%d flows, one per connection, became %d rows (%d flows in all)", c.Len(), rec.Len(), b.Len())
	}
}

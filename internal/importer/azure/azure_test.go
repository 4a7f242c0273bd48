package azure

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/recorder"
)

const dir = "../../../testdata/cloud"

func parseBytes(t testing.TB, kind Kind, data []byte) ([]flow.Record, []recorder.Bad) {
	t.Helper()
	var rec recorder.Recorder
	s := rec.Sink(4)
	if err := NewParser(kind, Options{Now: 5}).Parse(data, s); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	return rec.Rows, rec.Bads
}

func parse(t *testing.T, kind Kind, name string) ([]flow.Record, []recorder.Bad) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return parseBytes(t, kind, data)
}

const ms = int64(1e6)

type totals struct {
	rows, allow, deny, begin, cont, end int
	pkts, bytes, revPkts, revBytes      uint64
}

func sum(rows []flow.Record) totals {
	var t totals
	for _, r := range rows {
		t.rows++
		switch r.Action {
		case flow.ActionAllow:
			t.allow++
		case flow.ActionDeny:
			t.deny++
		}
		switch r.FlowState {
		case flow.FlowStateBegin:
			t.begin++
		case flow.FlowStateContinue:
			t.cont++
		case flow.FlowStateEnd:
			t.end++
		}
		t.pkts += r.Packets
		t.bytes += r.Bytes
		t.revPkts += r.RevPackets
		t.revBytes += r.RevBytes
	}
	return t
}

func TestVNetDocSample(t *testing.T) {
	rows, bads := parse(t, VNet, "azure-vnet/msdocs-vnet-flowlog-v4-sample-PT1H.json")
	if len(bads) != 0 {
		t.Fatalf("reports %v", bads)
	}
	// 10 allowed tuples (5 B, 5 E) and 9 denied ones; counters summed by hand.
	want := totals{rows: 19, allow: 10, deny: 9, begin: 5, end: 5, pkts: 33, bytes: 4528, revPkts: 44, revBytes: 43292}
	if got := sum(rows); got != want {
		t.Errorf("totals\n got %+v\nwant %+v", got, want)
	}
	first := flow.Record{TimeReceived: 5, TimeStart: 1663146003606 * ms, TimeEnd: 1663146003606 * ms, SourceType: flow.SourceTypeAzureVnet,
		IPVersion: 4, SrcAddr: flow.MustParseAddr("10.0.0.6"), DstAddr: flow.MustParseAddr("52.239.184.180"), SrcPort: 23956, DstPort: 443, Proto: 6,
		SrcMAC: 0x00224871C205, Direction: flow.DirectionEgress, Action: flow.ActionAllow, FlowState: flow.FlowStateEnd,
		Packets: 3, Bytes: 767, RevPackets: 2, RevBytes: 1580,
		Account: "00000000-0000-0000-0000-000000000000", Region: "eastus2euap", VPC: "myVNet", Rule: "DefaultRule_AllowInternetOutBound",
		Labels: `{"encryption":"NX","acl_id":"00000000-1234-abcd-ef00-c1c2c3c4c5c6","resource_group":"myResourceGroup"}`}
	if rows[1] != first {
		t.Errorf("tuple 2:\n got %+v\nwant %+v", rows[1], first)
	}
	d := rows[10]
	if d.SrcAddr != flow.MustParseAddr("101.33.218.153") || d.DstPort != 22 || d.Direction != flow.DirectionIngress ||
		d.DstMAC != 0x00224871C205 || d.SrcMAC != 0 || d.Action != flow.ActionDeny || d.FlowState != flow.FlowStateUnknown ||
		d.Rule != "BlockHighRiskTCPPortsFromInternet" {
		t.Errorf("tuple 11: %+v", d)
	}
	if rows[18].Rule != "Internet" || rows[18].DstPort != 31244 {
		t.Errorf("tuple 19: %+v", rows[18])
	}
}

func TestVNetRealSample(t *testing.T) {
	rows, bads := parse(t, VNet, "azure-vnet/jagilber-vnet-flowlog-v4-eastus2euap-sample.json")
	if len(bads) != 0 || len(rows) != 7 {
		t.Fatalf("%d rows, reports %v", len(rows), bads)
	}
	for _, r := range rows {
		if r.Account != "014e7430-fd92-4579-9119-e861d926508a" || r.VPC != "flrunnersVnet" || r.Region != "eastus2euap" {
			t.Errorf("context: %+v", r)
		}
	}
	if rows[0].Bytes != 8645 || rows[0].Packets != 15 || rows[0].RevBytes != 9044 || rows[0].RevPackets != 13 || rows[0].FlowState != flow.FlowStateEnd {
		t.Errorf("tuple 1: %+v", rows[0])
	}
}

func TestVNetGenerated(t *testing.T) {
	rows, bads := parse(t, VNet, "azure-vnet/flowlake-vnet-v4-nic-subnet-generated.ndjson")
	var pos []int64
	for _, b := range bads {
		pos = append(pos, b.Pos)
	}
	if len(rows) != 4 || fmt.Sprint(pos) != "[5 6 7]" {
		t.Fatalf("%d rows, reports %v; want 4 rows, reports at 5 6 7", len(rows), bads)
	}
	c := rows[1]
	want := flow.Record{TimeReceived: 5, TimeStart: 1763636460000 * ms, TimeEnd: 1763636460000 * ms, SourceType: flow.SourceTypeAzureVnet,
		IPVersion: 4, SrcAddr: flow.MustParseAddr("10.2.1.5"), DstAddr: flow.MustParseAddr("10.2.2.6"), SrcPort: 49152, DstPort: 1433, Proto: 6,
		DstMAC: 0x6045BD0A0B0C, Direction: flow.DirectionIngress, Action: flow.ActionAllow, FlowState: flow.FlowStateContinue,
		Packets: 10, Bytes: 1200, RevPackets: 8, RevBytes: 64000, DstSubnet: "snet-db",
		Account: "33333333-0000-0000-0000-000000000003", Region: "westeurope", VPC: "vnet-app", Rule: "UserRule_AllowSQL",
		Labels: `{"encryption":"X","acl_id":"acl-1","resource_group":"rg-app"}`}
	if c != want {
		t.Errorf("tuple 2:\n got %+v\nwant %+v", c, want)
	}
	if rows[2].Labels != `{"encryption":"NX_NOT_ACCEPTED","acl_id":"acl-1","resource_group":"rg-app"}` {
		t.Errorf("tuple 3 labels %s", rows[2].Labels)
	}
	n := rows[3]
	if n.InterfaceID != "nic-web-01" || n.VPC != "" || n.SrcMAC != 0x6045BD0D0E0F || n.Proto != 17 || n.Direction != flow.DirectionEgress ||
		n.RevBytes != 130 || n.SrcSubnet != "" {
		t.Errorf("tuple 4: %+v", n)
	}
}

func TestNSGv2DocSample(t *testing.T) {
	rows, bads := parse(t, NSG, "azure-nsg/msdocs-nsg-flowlog-v2-sample-PT1H.json")
	if len(bads) != 0 {
		t.Fatalf("reports %v", bads)
	}
	want := totals{rows: 11, allow: 4, deny: 7, begin: 8, cont: 1, end: 2, pkts: 46, bytes: 25533, revPkts: 37, revBytes: 21128}
	if got := sum(rows); got != want {
		t.Errorf("totals\n got %+v\nwant %+v", got, want)
	}
	r := rows[0]
	w := flow.Record{TimeReceived: 5, TimeStart: 1542110402e9, TimeEnd: 1542110402e9, SourceType: flow.SourceTypeAzureNsg, IPVersion: 4,
		SrcAddr: flow.MustParseAddr("192.0.2.190"), DstAddr: flow.MustParseAddr("10.5.16.4"), SrcPort: 28746, DstPort: 443, Proto: 17,
		DstMAC: 0x000D3AF87856, Direction: flow.DirectionIngress, Action: flow.ActionDeny, FlowState: flow.FlowStateBegin,
		Account: "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e", Rule: "DefaultRule_DenyAllInBound",
		Labels: `{"nsg":"FABRIAKMVM1-NSG","resource_group":"FABRIKAMRG"}`}
	if r != w {
		t.Errorf("tuple 1:\n got %+v\nwant %+v", r, w)
	}
	c := rows[5]
	if c.FlowState != flow.FlowStateContinue || c.Packets != 30 || c.Bytes != 16978 || c.RevPackets != 24 || c.RevBytes != 14008 ||
		c.SrcMAC != 0x000D3AF87856 || c.Action != flow.ActionAllow || c.Rule != "DefaultRule_AllowInternetOutBound" {
		t.Errorf("tuple 6: %+v", c)
	}
}

func TestNSGv1Generated(t *testing.T) {
	rows, bads := parse(t, NSG, "azure-nsg/flowlake-nsg-v1-generated.json")
	if len(rows) != 5 || len(bads) != 2 || bads[0].Pos != 5 || bads[1].Pos != 6 {
		t.Fatalf("%d rows, reports %v; want 5 rows, tuples 5 and 6 reported", len(rows), bads)
	}
	if rows[2].SrcAddr != flow.MustParseAddr("2001:db8::7") || rows[2].IPVersion != 6 || rows[2].DstMAC != 0x000D3A112233 {
		t.Errorf("tuple 3: %+v", rows[2])
	}
	if rows[1].Direction != flow.DirectionEgress || rows[1].Action != flow.ActionAllow || rows[1].Rule != "UserRule_AllowHTTPS" ||
		rows[1].FlowState != flow.FlowStateUnknown || rows[1].Packets != 0 || rows[1].Account != "22222222-0000-0000-0000-000000000001" {
		t.Errorf("tuple 2: %+v", rows[1])
	}
	if rows[4].SrcAddr != flow.MustParseAddr("203.0.113.10") || rows[4].Action != flow.ActionDeny || rows[4].Proto != 17 {
		t.Errorf("tuple 7: %+v", rows[4])
	}
}

func TestMalformedDocuments(t *testing.T) {
	for _, doc := range []string{`{"records":[1,2]}`, `{"records":[{"flowRecords":{"flows":[{"flowGroups":[{"flowTuples":[7,"1,2"]}]}]}}]}`, `not json`, `{"records":[{"flowRecords"`} {
		rows, bads := parseBytes(t, VNet, []byte(doc))
		if len(rows) != 0 || len(bads) == 0 {
			t.Errorf("%s: %d rows, reports %v", doc, len(rows), bads)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"azure-vnet/msdocs-vnet-flowlog-v4-sample-PT1H.json", "azure-nsg/msdocs-nsg-flowlog-v2-sample-PT1H.json", "azure-vnet/flowlake-vnet-v4-nic-subnet-generated.ndjson"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, nsg bool) {
		k := VNet
		if nsg {
			k = NSG
		}
		parseBytes(t, k, data)
	})
}

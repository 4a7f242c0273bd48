package flow

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/flowlake/flowlake/internal/flow/schema"
)

// The generated types must follow the schema table field for field; a stale
// record_gen.go (schema edited without go generate) fails here.
func TestGeneratedMatchesSchema(t *testing.T) {
	rt := reflect.TypeOf(Record{})
	bt := reflect.TypeOf(Batch{})
	if rt.NumField() != len(schema.Columns) || NumColumns != len(schema.Columns) {
		t.Fatalf("Record has %d fields, NumColumns=%d, schema has %d columns: run go generate ./internal/flow",
			rt.NumField(), NumColumns, len(schema.Columns))
	}
	for i, c := range schema.Columns {
		f := rt.Field(i)
		if f.Name != c.Go {
			t.Errorf("Record field %d is %s, schema says %s", i, f.Name, c.Go)
		}
		if got, want := f.Type.Name(), c.Type.GoType(); got != want {
			t.Errorf("Record.%s is %s, schema type %s wants %s", f.Name, got, c.Type, want)
		}
		bf, ok := bt.FieldByName(c.Go)
		if !ok || bf.Type.Kind() != reflect.Slice || bf.Type.Elem() != f.Type {
			t.Errorf("Batch.%s missing or not []%s", c.Go, f.Type)
		}
	}
	seen := map[string]bool{}
	for _, c := range schema.Columns {
		if seen[c.Name] {
			t.Errorf("duplicate column %s", c.Name)
		}
		seen[c.Name] = true
		if c.Type == schema.Enum && (len(c.Values) == 0 || c.Values[0] != "unknown") {
			t.Errorf("enum column %s must start with unknown", c.Name)
		}
		if c.Doc == "" {
			t.Errorf("column %s has no doc", c.Name)
		}
	}
}

func TestBatchExtendTruncateRows(t *testing.T) {
	var b Batch
	i := b.Extend(3)
	if i != 0 || b.Len() != 3 || len(b.SrcPort) != 3 || len(b.Labels) != 3 {
		t.Fatalf("Extend: first=%d len=%d", i, b.Len())
	}
	b.SrcPort[1] = 443
	b.SrcAddr[1] = MustParseAddr("10.1.1.8")
	b.Truncate(2)
	// Re-extending must zero what the truncated rows held.
	b.SrcPort[1] = 0
	b.SrcPort = b.SrcPort[:3]
	b.SrcPort[2] = 99
	b.SrcPort = b.SrcPort[:2]
	j := b.Extend(1)
	if j != 2 || b.SrcPort[2] != 0 {
		t.Fatalf("Extend after Truncate: index %d, stale value %d", j, b.SrcPort[2])
	}

	var r Record
	r.DstPort = 53
	r.Action = ActionDeny
	r.SrcVM = "web-1"
	b.Append(&r)
	var got Record
	b.Row(3, &got)
	if got != r {
		t.Fatalf("Row(3) = %+v, want %+v", got, r)
	}

	var c Batch
	c.AppendRows(&b, []int{3, 0})
	if c.Len() != 2 || c.DstPort[0] != 53 || c.SrcVM[0] != "web-1" || c.DstPort[1] != 0 {
		t.Fatalf("AppendRows: %+v", c.DstPort)
	}
	c.AppendBatch(&b)
	if c.Len() != 6 || len(c.Labels) != 6 {
		t.Fatalf("AppendBatch len %d", c.Len())
	}
	if s, ok := c.Column(ColDstPort).([]uint16); !ok || len(s) != 6 {
		t.Fatalf("Column(ColDstPort) = %T", c.Column(ColDstPort))
	}
}

func TestAppendJSON(t *testing.T) {
	var b Batch
	b.Append(&Record{
		TimeStart:  1700000000123000000,
		SourceType: SourceTypeIpfix,
		SrcAddr:    MustParseAddr("10.1.1.8"),
		DstAddr:    MustParseAddr("2001:db8::1"),
		DstPort:    443,
		SrcMAC:     0x0011223344ff,
		Bytes:      1500,
		SrcVM:      `we"b`,
	})
	var m map[string]any
	if err := json.Unmarshal(b.AppendJSON(nil, 0), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"time_start":  "2023-11-14T22:13:20.123Z",
		"source_type": "ipfix",
		"src_addr":    "10.1.1.8",
		"dst_addr":    "2001:db8::1",
		"dst_port":    float64(443),
		"src_mac":     "00:11:22:33:44:ff",
		"bytes":       float64(1500),
		"src_vm":      `we"b`,
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("JSON\n got %v\nwant %v", m, want)
	}
}

func TestAddr(t *testing.T) {
	a := AddrFromUint32(0x0a010108)
	if !a.Is4() || a.String() != "10.1.1.8" || a != MustParseAddr("10.1.1.8") {
		t.Fatalf("AddrFromUint32: %v", a)
	}
	v6 := MustParseAddr("2001:db8::1")
	if v6.Is4() || v6.String() != "2001:db8::1" {
		t.Fatalf("v6: %v", v6)
	}
	if (Addr{}).String() != "" || !(Addr{}).IsZero() {
		t.Fatal("zero Addr")
	}
	if _, ok := AddrFromSlice([]byte{1, 2, 3}); ok {
		t.Fatal("3-byte address accepted")
	}
	if EnumValue(schema.Actions, "deny") != ActionDeny || EnumValue(schema.Actions, "bogus") != 0 {
		t.Fatal("EnumValue")
	}
}

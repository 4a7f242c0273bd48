package ingest

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// randomFlows fills every column with random values, zero often (zero
// fields are left out of the message and must come back zero).
func randomFlows(n int, seed uint64) *flow.Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	b := &flow.Batch{}
	b.Extend(n)
	for c, col := range schema.Columns {
		for i := range n {
			zero := r.IntN(4) == 0
			switch v := b.Column(c).(type) {
			case []uint8:
				if !zero {
					if col.Type == schema.Enum {
						v[i] = uint8(r.IntN(len(col.Values)))
					} else {
						v[i] = uint8(r.Uint32())
					}
				}
			case []uint16:
				if !zero {
					v[i] = uint16(r.Uint32())
				}
			case []uint32:
				if !zero {
					v[i] = r.Uint32()
				}
			case []uint64:
				if !zero {
					v[i] = r.Uint64()
				}
			case []int64:
				if !zero {
					v[i] = r.Int64() - r.Int64()
				}
			case []flow.Addr:
				if !zero {
					for k := range v[i] {
						v[i][k] = byte(r.Uint32())
					}
				}
			case []string:
				if !zero {
					v[i] = []string{"a", "ü", "x\x00y", "long string with spaces"}[r.IntN(4)]
				}
			}
		}
	}
	return b
}

func TestWireRoundTrip(t *testing.T) {
	src := randomFlows(500, 3)
	got := &flow.Batch{}
	var msg []byte
	for i := range src.Len() {
		msg = AppendFlow(msg[:0], src, i)
		if err := DecodeFlow(msg, got); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	for i := range src.Len() {
		var a, b flow.Record
		src.Row(i, &a)
		got.Row(i, &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, b, a)
		}
	}
}

func TestWireRejects(t *testing.T) {
	b := &flow.Batch{}
	for name, msg := range map[string][]byte{
		"truncated varint": {0x08, 0xff},
		"short address":    {byte(FieldNumber(9))<<3 | 2, 3, 1, 2, 3},
		"enum out of range": func() []byte {
			c := 0
			for i, col := range schema.Columns {
				if col.Name == "direction" {
					c = i
				}
			}
			return protowire.AppendVarint(protowire.AppendTag(nil, FieldNumber(c), protowire.VarintType), 9)
		}(),
		"bytes for a number": {0x08<<0 | 2, 1, 0},
		"truncated bytes":    {byte(FieldNumber(5))<<3 | 2, 10, 1},
	} {
		if err := DecodeFlow(msg, b); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if b.Len() != 0 {
			t.Fatalf("%s: a rejected message left a row", name)
		}
	}
	// Unknown fields (a newer flowlake's columns) are skipped.
	msg := []byte{0xf8, 0x07, 5} // field 127, varint 5
	if err := DecodeFlow(msg, b); err != nil || b.Len() != 1 {
		t.Errorf("unknown field: %v, %d rows", err, b.Len())
	}
}

func FuzzDecodeFlow(f *testing.F) {
	src := randomFlows(20, 9)
	for i := range src.Len() {
		f.Add(AppendFlow(nil, src, i))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		b := &flow.Batch{}
		if err := DecodeFlow(msg, b); err != nil {
			if b.Len() != 0 {
				t.Fatal("error left a row")
			}
			return
		}
		// What decodes re-encodes to a message decoding to the same row.
		again := &flow.Batch{}
		if err := DecodeFlow(AppendFlow(nil, b, 0), again); err != nil {
			t.Fatal(err)
		}
		var x, y flow.Record
		b.Row(0, &x)
		again.Row(0, &y)
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("%+v != %+v", x, y)
		}
	})
}

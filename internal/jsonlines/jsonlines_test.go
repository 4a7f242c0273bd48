package jsonlines

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
)

func TestWriteBatch(t *testing.T) {
	var b flow.Batch
	for i, a := range []string{"10.1.1.8", "2001:db8::1"} {
		r := flow.Record{SrcAddr: flow.AddrFromNetip(netip.MustParseAddr(a)), DstPort: uint16(443 + i), Bytes: uint64(100 * (i + 1))}
		b.Append(&r)
	}
	var out bytes.Buffer
	w := New(&out)
	if err := w.WriteBatch(&b); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines", len(lines))
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		if m["bytes"] != float64(100*(i+1)) || m["dst_port"] != float64(443+i) {
			t.Errorf("line %d: %s", i, l)
		}
	}
	if !strings.Contains(lines[0], `"10.1.1.8"`) || !strings.Contains(lines[1], `"2001:db8::1"`) {
		t.Errorf("addresses not formatted: %s", out.String())
	}
}

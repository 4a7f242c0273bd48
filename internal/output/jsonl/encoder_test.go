package jsonl

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/output"
)

func TestWriteBatch(t *testing.T) {
	var b flow.Batch
	for i, a := range []string{"10.1.1.8", "2001:db8::1"} {
		r := flow.Record{SrcAddr: flow.AddrFromNetip(netip.MustParseAddr(a)), DstPort: uint16(443 + i), Bytes: uint64(100 * (i + 1))}
		b.Append(&r)
	}
	var out bytes.Buffer
	w := NewEncoder(&out)
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

func TestDefaultConfigValidates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Path = "-"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestOutput writes through the driver to a file: every row sent before
// Stop is in the file after it, appended to what was there.
func TestOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	os.WriteFile(path, []byte("{\"earlier\":1}\n"), 0o644)
	m, err := output.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Path = path
	o, err := New(cfg, Dependencies{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(); err != nil {
		t.Fatal(err)
	}
	var b flow.Batch
	want := 0
	for i := range 5 {
		b.Truncate(0)
		for j := range 3 {
			b.Append(&flow.Record{Bytes: uint64(10*i + j + 1)})
		}
		o.Send(&b)
		want += 3
		time.Sleep(time.Millisecond) // let the writer keep up: no drop
	}
	if err := o.Stop(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != want+1 || lines[0] != `{"earlier":1}` {
		t.Fatalf("%d lines, want %d after the earlier one:\n%s", len(lines), want+1, data)
	}
	for i, l := range lines[1:] {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil || row["bytes"] != float64(10*(i/3)+i%3+1) {
			t.Errorf("line %d: %s (%v)", i+1, l, err)
		}
	}
}

package query

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/engine"
	"github.com/flowlake/flowlake/internal/flow"
)

// lake writes flows into a real archive and opens the engine over it.
func lake(t *testing.T, rows []flow.Record) *engine.Engine {
	t.Helper()
	dir := t.TempDir()
	a, err := archive.Open(dir, archive.Config{GraceDelete: -1})
	if err != nil {
		t.Fatal(err)
	}
	var b flow.Batch
	for i := range rows {
		b.Append(&rows[i])
	}
	if err := a.WriteBatch(&b); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(engine.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func rec(src, dst string, dport uint16, bytes uint64, at time.Time) flow.Record {
	return flow.Record{
		TimeReceived: at.UnixNano(), TimeStart: at.UnixNano(),
		SrcAddr: flow.AddrFromNetip(netip.MustParseAddr(src)), DstAddr: flow.AddrFromNetip(netip.MustParseAddr(dst)),
		DstPort: dport, Proto: 6, Bytes: bytes, Packets: 1,
	}
}

func TestHTTPQuery(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	yesterday := now.Add(-24 * time.Hour)
	rows := []flow.Record{
		rec("10.1.1.8", "136.144.58.113", 443, 1000, yesterday),
		rec("10.1.1.8", "136.144.58.113", 443, 500, yesterday.Add(time.Hour)),
		rec("10.1.1.9", "136.144.58.113", 80, 70, yesterday),
		rec("10.1.1.8", "136.144.58.113", 443, 9, now.Add(-time.Minute)), // today: outside "yesterday"
	}
	svc := New(Config{Engine: lake(t, rows), MaxRows: 100, Now: func() time.Time { return now }})
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()

	post := func(req Request) (int, map[string]any) {
		body, _ := json.Marshal(req)
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}

	status, out := post(Request{Query: "flows | where dst_port == 443 | summarize b = sum(bytes) by src_addr, dst_addr | render barchart", Since: "yesterday"})
	if status != 200 {
		t.Fatalf("status %d: %v", status, out)
	}
	rowsOut := out["rows"].([]any)
	if len(rowsOut) != 1 {
		t.Fatalf("rows %v", rowsOut)
	}
	r := rowsOut[0].([]any)
	if r[0] != "10.1.1.8" || r[1] != "136.144.58.113" || r[2].(float64) != 1500 {
		t.Errorf("row %v, want 10.1.1.8 136.144.58.113 1500", r)
	}
	if render, _ := out["render"].(map[string]any); render["kind"] != "barchart" {
		t.Errorf("render hint %v", out["render"])
	}

	status, out = post(Request{Query: "flows\n| where dst_port = = 443"})
	e, _ := out["error"].(map[string]any)
	if status != 400 || e["line"].(float64) != 2 || e["col"] == nil || e["message"] == "" {
		t.Errorf("syntax error: status %d, %v", status, out)
	}
	status, out = post(Request{Query: "flows | count", Since: "someday"})
	if e, _ := out["error"].(map[string]any); status != 400 || e["kind"] != "window" {
		t.Errorf("bad window: status %d, %v", status, out)
	}
	status, out = post(Request{Query: "flows | take 3", MaxRows: 2})
	if status != 200 || len(out["rows"].([]any)) != 2 || out["truncated"] != true {
		t.Errorf("max rows: status %d, %d rows, truncated %v", status, len(out["rows"].([]any)), out["truncated"])
	}
}

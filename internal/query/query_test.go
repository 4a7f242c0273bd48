package query

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/enrich"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/kql"
	"github.com/flowlake/flowlake/internal/store"
	"github.com/flowlake/flowlake/internal/store/lake"
)

// reader opens the lake store's reader over dataDir.
func reader(t *testing.T, dataDir string) store.Reader {
	t.Helper()
	r, err := lake.NewReader(lake.ReaderConfig{}, lake.Dependencies{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	return r
}

// lakeOf writes flows into a real archive and opens the lake's reader
// over it.
func lakeOf(t *testing.T, rows []flow.Record) store.Reader {
	t.Helper()
	dir := t.TempDir()
	a, err := archive.Open(dir, archive.Config{GraceDelete: -1}, archive.Dependencies{})
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
	return reader(t, dir)
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
	svc := New(Config{MaxRows: 100}, Dependencies{Store: lakeOf(t, rows), Now: func() time.Time { return now }})
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

// TestEnrichmentTables joins flows with the inventory history and the
// networks table that serve publishes next to the lake.
func TestEnrichmentTables(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rows := []flow.Record{
		rec("10.1.1.8", "136.144.58.113", 443, 1000, now.Add(-time.Hour)),
		rec("10.1.1.9", "136.144.58.113", 443, 70, now.Add(-time.Hour)),
	}
	dir := t.TempDir()
	a, err := archive.Open(dir, archive.Config{GraceDelete: -1}, archive.Dependencies{})
	if err != nil {
		t.Fatal(err)
	}
	var b flow.Batch
	for i := range rows {
		b.Append(&rows[i])
	}
	a.WriteBatch(&b)
	a.Close()

	src := t.TempDir()
	inv := filepath.Join(src, "inventory.csv")
	nets := filepath.Join(src, "networks.csv")
	os.WriteFile(inv, []byte("addr,name,host\n10.1.1.8,web-01,esx-3\n"), 0o644)
	os.WriteFile(nets, []byte("prefix,name,site\n10.1.1.0/24,dmz,paris\n"), 0o644)
	e, err := enrich.New(enrich.Config{Inventory: inv, Networks: nets}, enrich.Dependencies{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if err := e.WriteTables(lake.TablesDir(dir)); err != nil {
		t.Fatal(err)
	}
	svc := New(Config{}, Dependencies{Store: reader(t, dir), Now: func() time.Time { return now }})
	resp, err := svc.Run(context.Background(), Request{Query: `flows
		| extend a = tostring(src_addr)
		| join kind=inner (inventory_history) on $left.a == $right.addr
		| project name, host, bytes`})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Rows) != 1 || resp.Rows[0][0] != "web-01" || resp.Rows[0][1] != "esx-3" || fmt.Sprint(resp.Rows[0][2]) != "1000" {
		t.Errorf("join with inventory_history: %v", resp.Rows)
	}
	resp, err = svc.Run(context.Background(), Request{Query: `networks | project prefix, name, site`})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Rows) != 1 || resp.Rows[0][0] != "10.1.1.0/24" || resp.Rows[0][2] != "paris" {
		t.Errorf("networks table: %v", resp.Rows)
	}
}

// A needle query reads only the lake files of its source's bucket and its
// day, and answers exactly as the same query over every file does.
func TestNeedleReadsFewFiles(t *testing.T) {
	dir := t.TempDir()
	a, err := archive.Open(dir, archive.Config{GraceDelete: -1, Buckets: 8, BucketRows: 50, FlushRows: 1 << 20}, archive.Dependencies{})
	if err != nil {
		t.Fatal(err)
	}
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var hosts []string
	for i := range 40 {
		hosts = append(hosts, fmt.Sprintf("10.1.%d.%d", i/8, 1+i%8))
	}
	for d := range 4 {
		for h := range 3 {
			var b flow.Batch
			for i := range 1200 {
				at := day0.Add(time.Duration(d)*24*time.Hour + time.Duration(h*5)*time.Hour + time.Duration(i)*time.Second)
				r := rec(hosts[(i*7+d)%len(hosts)], hosts[(i*13+h)%len(hosts)], []uint16{443, 53, 80}[i%3], uint64(100+i), at)
				b.Append(&r)
			}
			if err := a.WriteBatch(&b); err != nil {
				t.Fatal(err)
			}
			if err := a.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	r := reader(t, dir)
	pruned := New(Config{}, Dependencies{Store: r})
	// The same store, told only the time window.
	full := New(Config{}, Dependencies{Store: windowOnly{r}})
	var fewer bool
	for i, src := range hosts[:10] {
		day := day0.Add(time.Duration(i%4) * 24 * time.Hour)
		q := fmt.Sprintf(`flows | where time_start >= datetime(%s) and time_start < datetime(%s) and src_addr == "%s" and dst_port == 443 | summarize n=count(), b=sum(bytes) by dst_addr | order by dst_addr asc`,
			day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339), src)
		p, err := pruned.Run(context.Background(), Request{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		w, err := full.Run(context.Background(), Request{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(p.Rows) != fmt.Sprint(w.Rows) {
			t.Fatalf("%s:\npruned (%d files) %v\nall (%d files)    %v", q, p.Timing.Files, p.Rows, w.Timing.Files, w.Rows)
		}
		if len(w.Rows) == 0 {
			t.Fatalf("%s: no rows: the test checks nothing", q)
		}
		if p.Timing.Files > w.Timing.Files {
			t.Fatalf("pruned query read %d files, the full one %d", p.Timing.Files, w.Timing.Files)
		}
		t.Logf("%s: %d of %d files", src, p.Timing.Files, w.Timing.Files)
		fewer = fewer || p.Timing.Files*4 <= w.Timing.Files
	}
	if !fewer {
		t.Fatal("no needle query read at most a quarter of the files")
	}
}

// windowOnly is a store.Reader that drops each query's bounds: it reads
// every file of the window.
type windowOnly struct{ store.Reader }

func (w windowOnly) Query(ctx context.Context, q store.Query, row store.RowFunc) (*store.Result, error) {
	q.Bounds = kql.Bounds{}
	return w.Reader.Query(ctx, q, row)
}

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

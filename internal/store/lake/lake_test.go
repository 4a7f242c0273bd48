package lake

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/kql"
	"github.com/flowlake/flowlake/internal/store"
)

// TestWriteThenQuery goes through the store interfaces only: flows written
// by the Writer are durable after Flush, and the Reader answers a compiled
// query over them, streaming rows with the store's columns; the lock keeps
// a second writer out while the first runs.
func TestWriteThenQuery(t *testing.T) {
	dir := t.TempDir()
	cfg := archive.DefaultConfig()
	cfg.FlushInterval = time.Hour
	deps := Dependencies{DataDir: dir, Registerer: prometheus.NewRegistry()}
	var w store.Writer
	w, err := NewWriter(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var b flow.Batch
	var want uint64
	for i := range 100 {
		src := netip.AddrFrom4([4]byte{10, 0, 0, byte(1 + i%4)})
		b.Append(&flow.Record{TimeReceived: at.Add(time.Duration(i) * time.Second).UnixNano(), SrcAddr: flow.AddrFromNetip(src),
			DstAddr: flow.MustParseAddr("192.0.2.9"), Bytes: uint64(i + 1), Packets: 1})
		if i%4 == 0 {
			want += uint64(i + 1)
		}
	}
	if err := w.WriteBatch(&b); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	other, _ := NewWriter(cfg, Dependencies{DataDir: dir, Registerer: prometheus.NewRegistry()})
	if err := other.Start(); !errors.Is(err, archive.ErrLocked) {
		t.Errorf("second writer on the lake: %v, want ErrLocked", err)
	}

	var r store.Reader
	r, err = NewReader(ReaderConfig{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if _, ok := r.Tables()["inventory_history"]; !ok {
		t.Errorf("enrichment tables missing: %v", r.Tables())
	}
	c, err := kql.Compile(`flows | where src_addr == "10.0.0.1" and dst_addr == "192.0.2.9" | summarize b = sum(bytes), n = count()`,
		kql.Options{Dialect: r.Dialect(), Tables: r.Tables(), From: at, To: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	res, err := r.Query(context.Background(), store.Query{SQL: c.SQL, From: at, To: at.Add(time.Hour), Bounds: c.Bounds},
		func(cols []store.Column, row []any) error {
			if len(cols) != 2 || cols[0].Name != "b" || cols[1].Name != "n" {
				t.Errorf("columns %v", cols)
			}
			rows = append(rows, row)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || fmt.Sprint(rows[0][0]) != fmt.Sprint(want) || fmt.Sprint(rows[0][1]) != "25" {
		t.Errorf("rows %v, want [[%d 25]]", rows, want)
	}
	if res.Files != 1 || len(res.Columns) != 2 {
		t.Errorf("result %+v", res)
	}
	// A window holding no flow reads no file.
	res, err = r.Query(context.Background(), store.Query{SQL: c.SQL, From: at.Add(-2 * time.Hour), To: at.Add(-time.Hour)},
		func([]store.Column, []any) error { return nil })
	if err != nil || res.Files != 0 {
		t.Errorf("empty window: %+v, %v", res, err)
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
}

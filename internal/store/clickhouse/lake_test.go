package clickhouse

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/store/clickhouse/chtest"
)

// makeLake writes b into a new lake (flush files, then compaction, which
// pairs connections' two flows into one row) and returns its directory.
func makeLake(t *testing.T, b *flow.Batch) string {
	t.Helper()
	dir := t.TempDir()
	a, err := archive.Open(dir, archive.Config{GraceDelete: -1, FlushRows: 2000}, archive.Dependencies{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	for at := 0; at < b.Len(); at += 1500 {
		part := &flow.Batch{}
		var idx []int
		for i := at; i < min(at+1500, b.Len()); i++ {
			idx = append(idx, i)
		}
		part.AppendRows(b, idx)
		if err := a.WriteBatch(part); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Compact half the lake's hours: both file kinds get copied.
	if _, err := a.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCopyLake copies a lake into ClickHouse, interrupted once: every flow
// arrives exactly once, as the lake holds it (milliseconds), and a rerun
// copies nothing again.
func TestCopyLake(t *testing.T) {
	srv := chtest.Start(t, chtest.Options{})
	ctx := context.Background()
	b := genBatch(12000, 5, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	// The lake keeps milliseconds: compare against that.
	for i := range b.TimeReceived {
		b.TimeReceived[i] -= b.TimeReceived[i] % 1e6
		b.TimeStart[i] -= b.TimeStart[i] % 1e6
		b.TimeEnd[i] -= b.TimeEnd[i] % 1e6
	}
	lake := makeLake(t, b)
	st, _ := archive.Stats(lake)
	if st.CompactedFiles == 0 || st.CompactedFiles == st.Files {
		t.Logf("lake: %d files, %d compacted", st.Files, st.CompactedFiles)
	}
	s, err := Open(ctx, testConfig(srv.DSN("lk")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// First run: stop after two files.
	cctx, cancel := context.WithCancel(ctx)
	p, err := s.CopyLake(cctx, lake, func(p CopyProgress) {
		if p.Files == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || p.Files != 2 {
		t.Fatalf("interrupted run: %+v, %v", p, err)
	}
	p, err = s.CopyLake(ctx, lake, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.FilesSkipped != 2 || p.Flows != int64(b.Len()) {
		t.Errorf("resumed run: %+v", p)
	}
	p, err = s.CopyLake(ctx, lake, nil)
	if err != nil || p.Files != 0 || p.FilesSkipped != p.FilesTotal {
		t.Errorf("third run copied again: %+v, %v", p, err)
	}
	got := strings.Split(srv.Query(t, "SELECT "+strings.Join(oracleExprs(s.Features()), ", ")+" FROM lk.flows"), "\n")
	var want []string
	for i := range b.Len() {
		want = append(want, expectRow(b, i))
	}
	sortStrings(got)
	sortStrings(want)
	if len(got) != len(want) {
		t.Fatalf("%d flows in ClickHouse, %d in the lake", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("flow differs:\n got %s\nwant %s", got[i], want[i])
		}
	}
}

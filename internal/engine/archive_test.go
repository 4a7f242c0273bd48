package engine

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// catalogFiles plans with the archive's catalog, as flowlake does.
func catalogFiles(dataDir string) func(archive.Filter) ([]archive.FileInfo, error) {
	return archive.Lister(dataDir)
}

// TestArchiveLake queries files written by internal/archive, before and
// after compaction: answers match values computed from the flows written,
// and do not change when the files are merged and sorted.
func TestArchiveLake(t *testing.T) {
	dataDir := t.TempDir()
	a, err := archive.Open(dataDir, archive.Config{GraceDelete: -1, RowGroupRows: 1000}, archive.Dependencies{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	recs := withReplies(genFlows(21, 12000, day0, 3*time.Hour))
	// Several flushes, so that each hour has several small files.
	for part := 0; part < 4; part++ {
		var b flow.Batch
		for i := part; i < len(recs); i += 4 {
			b.Append(&recs[i])
		}
		if err := a.WriteBatch(&b); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	e := openEngine(t, Config{DataDir: dataDir, Files: catalogFiles(dataDir)})

	n := recs[777]
	from, to := day0.Add(40*time.Minute), day0.Add(2*time.Hour+10*time.Minute)
	var total, inRange, needle int64
	var bytes443 uint64
	for _, r := range recs {
		total++
		if r.TimeReceived >= from.UnixNano() && r.TimeReceived < to.UnixNano() {
			inRange++
			if r.DstPort == 443 {
				bytes443 += r.Bytes
			}
		}
		if r.SrcAddr == n.SrcAddr && r.DstAddr == n.DstAddr && r.DstPort == n.DstPort {
			needle++
		}
	}
	needleSQL := fmt.Sprintf("SELECT count(*) FROM flows WHERE src_addr = ip('%s') AND dst_addr = %s AND dst_port = %d",
		n.SrcAddr.Netip().Unmap(), blobLiteral(n.DstAddr), n.DstPort)
	var everyFlow [][][]any // SELECT * before and after compaction
	check := func(stage string) [][]any {
		if got := asInt(t, scalar(t, e, "SELECT count(*) FROM flows", time.Time{}, time.Time{})); got != total {
			t.Errorf("%s: count = %d, want %d", stage, got, total)
		}
		if got := asInt(t, scalar(t, e, "SELECT count(*) FROM flows", from, to)); got != inRange {
			t.Errorf("%s: count in range = %d, want %d", stage, got, inRange)
		}
		if got := asInt(t, scalar(t, e, "SELECT sum(bytes) FROM flows WHERE dst_port = 443", from, to)); uint64(got) != bytes443 {
			t.Errorf("%s: bytes to 443 in range = %d, want %d", stage, got, bytes443)
		}
		if got := asInt(t, scalar(t, e, needleSQL, time.Time{}, time.Time{})); got != needle || needle == 0 {
			t.Errorf("%s: needle = %d, want %d (> 0)", stage, got, needle)
		}
		everyFlow = append(everyFlow, query(t, e, "SELECT * FROM flows ORDER BY ALL", time.Time{}, time.Time{}).Rows)
		return query(t, e, "SELECT ip_str(src_addr), dst_port, count(*), sum(bytes), min(time_received), max(time_end) FROM flows GROUP BY ALL ORDER BY ALL", time.Time{}, time.Time{}).Rows
	}
	before := check("flushed")
	files := query(t, e, "SELECT count(*) FROM flows", time.Time{}, time.Time{}).Files
	cr, err := a.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := check("compacted")
	filesAfter := query(t, e, "SELECT count(*) FROM flows", time.Time{}, time.Time{}).Files
	t.Logf("compaction: %+v; files %d → %d", cr, files, filesAfter)
	if filesAfter >= files {
		t.Errorf("compaction left %d files (was %d): the test did not exercise it", filesAfter, files)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("grouped results differ after compaction")
	}
	if !reflect.DeepEqual(everyFlow[0], everyFlow[1]) || len(everyFlow[0]) != len(recs) {
		t.Errorf("flows differ after compaction (%d flows, then %d; %d written)", len(everyFlow[0]), len(everyFlow[1]), len(recs))
	}
	// Compaction stored most replies in their request's row.
	var rows int64
	for _, f := range mustFiles(t, catalogFiles(dataDir)) {
		rows += parquetRows(t, f.Path)
	}
	if rows >= int64(len(recs))*4/5 {
		t.Errorf("%d rows in the compacted files for %d flows: replies not paired", rows, len(recs))
	}
}

// withReplies adds to every other flow of recs its reply: the reverse
// flow, as an exporter sends it (its own counters, flags and times a few
// ms later; in and out interfaces and enrichment mirrored).
func withReplies(recs []flow.Record) []flow.Record {
	out := slices.Clone(recs)
	for i, r := range recs {
		if i%2 == 1 {
			continue
		}
		q := r
		q.SrcAddr, q.DstAddr, q.SrcPort, q.DstPort = r.DstAddr, r.SrcAddr, r.DstPort, r.SrcPort
		q.SrcMAC, q.DstMAC, q.InIf, q.OutIf = r.DstMAC, r.SrcMAC, r.OutIf, r.InIf
		q.Bytes, q.Packets, q.TCPFlags, q.TOS = r.Bytes*3+uint64(i), r.Packets+1, 0x12, uint8(i)
		q.Direction = uint8(i % len(schema.Directions))
		q.TimeStart += int64(i%7) * int64(time.Millisecond)
		q.TimeEnd += int64(i%11) * int64(time.Millisecond)
		q.TimeReceived += int64(i%3) * int64(time.Millisecond)
		out = append(out, q)
	}
	return out
}

func mustFiles(t *testing.T, list func(archive.Filter) ([]archive.FileInfo, error)) []archive.FileInfo {
	t.Helper()
	files, err := list(archive.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// parquetRows is the row count in path's footer.
func parquetRows(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf.NumRows()
}

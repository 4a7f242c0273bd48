package app

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/config"
	"github.com/flowlake/flowlake/internal/flow/schema"
	"github.com/flowlake/flowlake/internal/importer"
	"github.com/flowlake/flowlake/internal/pcapfile"
	"github.com/flowlake/flowlake/internal/query"
	"github.com/flowlake/flowlake/internal/store/lake"
)

// TestCollectImportQuery runs the whole embedded path: NetFlow collected on
// UDP and AWS flow logs imported from a watched directory both go through
// enrichment into the Parquet archive, and one KQL query over the archive
// sees both, with the totals the pipeline handed to its writers.
func TestCollectImportQuery(t *testing.T) {
	logs := t.TempDir()
	src, err := os.ReadFile("../../testdata/cloud/aws/otelcontrib-s3-default-with-header.log")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(logs, "vpc.log"), src, 0o644)

	var dataDir string
	svc, mw, stop := start(t, func(c *config.Config) {
		dataDir = c.DataDir
		c.Archive.Enabled = true
		c.Archive.FlushInterval = 200 * time.Millisecond
		c.Imports = []importer.WatchConfig{{Name: "aws", Format: "aws-vpc", Dir: logs, Interval: 100 * time.Millisecond}}
	})
	dgrams, err := pcapfile.ReadFile("../../testdata/pcap/netflow5/" + firstFile(t, "../../testdata/pcap/netflow5"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := net.Dial("udp", svc.Collector().UDPAddrs()[0].String())
	want := 0
	for _, d := range dgrams {
		c.Write(d.Payload)
		want += int(d.Payload[3])
	}
	c.Close()
	waitFlows(mw, want+2) // the AWS file holds two flows
	waitStable(mw)
	stop() // flushes the archive

	mw.mu.Lock()
	wantBySource := map[string]int{}
	stCol, _ := schema.ByName("source_type")
	for st, n := range mw.bySource {
		wantBySource[stCol.Values[st]] = n
	}
	wantBytes := mw.bytes
	mw.mu.Unlock()
	if wantBySource["netflow5"] != want || wantBySource["aws_vpc"] != 2 {
		t.Fatalf("pipeline saw %v, want %d netflow5 and 2 aws_vpc", wantBySource, want)
	}

	r, err := lake.NewReader(lake.ReaderConfig{}, lake.Dependencies{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	qs := query.New(query.Config{}, query.Dependencies{Store: r})
	resp, err := qs.Run(context.Background(), query.Request{
		Query: `flows | summarize n = count(), b = sum(bytes) by source_type | order by source_type asc`})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	var gotBytes float64
	for _, r := range resp.Rows {
		got[r[0].(string)] = int(toFloat(t, r[1]))
		gotBytes += toFloat(t, r[2])
	}
	if len(got) != len(wantBySource) || got["netflow5"] != wantBySource["netflow5"] || got["aws_vpc"] != 2 || uint64(gotBytes) != wantBytes {
		t.Errorf("query over the archive: %v, %v bytes; pipeline wrote %v, %d bytes", got, gotBytes, wantBySource, wantBytes)
	}
	// The same address filter works on both sources' rows.
	resp, err = qs.Run(context.Background(), query.Request{
		Query: `flows | where ipv4_is_private(src_addr) | summarize n = count() by source_type`, Since: "2000-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Rows) == 0 {
		t.Errorf("no private sources found: %v", resp.Rows)
	}
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case int:
		return float64(x)
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			t.Fatalf("not a number: %q", x)
		}
		return f
	}
	t.Fatalf("not a number: %T %v", v, v)
	return 0
}

package gcp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/recorder"
)

const dir = "../../../testdata/cloud/gcp"

func parseBytes(t testing.TB, data []byte) ([]flow.Record, []int64) {
	t.Helper()
	var rec recorder.Recorder
	s := rec.Sink(0)
	if err := NewParser(Options{Now: 9}).Parse(bytes.NewReader(data), s); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	return rec.Rows, rec.BadPositions()
}

func ts(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

func check(t *testing.T, rows []flow.Record) {
	t.Helper()
	want := flow.Record{TimeReceived: ts("2026-11-20T09:00:30Z"), TimeStart: ts("2026-11-20T09:00:00.1Z"), TimeEnd: ts("2026-11-20T09:00:05.6Z"),
		SourceType: flow.SourceTypeGcpVpc, IPVersion: 4, SrcAddr: flow.MustParseAddr("10.128.0.5"), DstAddr: flow.MustParseAddr("10.128.0.9"),
		SrcPort: 40022, DstPort: 5432, Proto: 6, Direction: flow.DirectionEgress, Bytes: 2048, Packets: 12,
		SrcSubnet: "web-subnet", DstSubnet: "db-subnet", SrcVM: "web-1", DstVM: "db-1",
		Account: "acme-prod", Region: "europe-west1", VPC: "prod-vpc", InstanceID: "web-1",
		Labels: `{"reporter":"SRC","rtt_msec":"3","src_project":"acme-prod","src_zone":"europe-west1-b","src_region":"europe-west1","dest_project":"acme-prod","dest_zone":"europe-west1-c","dest_region":"europe-west1","src_vpc":"acme-prod/prod-vpc","dest_vpc":"acme-prod/prod-vpc","subnetwork_id":"1234567890","insert_id":"gen0001"}`}
	if rows[0] != want {
		t.Errorf("entry 1:\n got %+v\nwant %+v", rows[0], want)
	}
	r := rows[1]
	if r.Direction != flow.DirectionIngress || r.SrcVM != "" || r.DstVM != "web-1" || r.DstSubnet != "web-subnet" || r.Account != "acme-prod" ||
		r.Bytes != 640 || r.Packets != 4 || r.DstPort != 443 ||
		r.Labels != `{"reporter":"DEST","dest_project":"acme-prod","dest_zone":"europe-west1-b","dest_region":"europe-west1","src_continent":"Europe","src_country":"fra","src_city":"Paris","src_asn":"64500","dest_vpc":"acme-prod/prod-vpc","insert_id":"gen0002"}` {
		t.Errorf("entry 2: %+v", r)
	}
}

func TestNDJSON(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(dir, "flowlake-gcp-vpc-generated.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	rows, bads := parseBytes(t, data)
	if len(rows) != 3 || fmt.Sprint(bads) != "[3 5]" {
		t.Fatalf("%d rows, reports at %v; want 3 rows, reports at [3 5]", len(rows), bads)
	}
	check(t, rows)
	g := rows[2]
	if g.IPVersion != 6 || g.Direction != flow.DirectionIngress || g.Account != "acme-net" || g.Proto != 17 || g.Bytes != 100 {
		t.Errorf("entry 4: %+v", g)
	}
}

func TestArray(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(dir, "flowlake-gcp-vpc-generated-array.json"))
	if err != nil {
		t.Fatal(err)
	}
	rows, bads := parseBytes(t, data)
	if len(rows) != 2 || len(bads) != 0 {
		t.Fatalf("%d rows, reports %v", len(rows), bads)
	}
	check(t, rows)
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"flowlake-gcp-vpc-generated.ndjson", "flowlake-gcp-vpc-generated-array.json"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { parseBytes(t, data) })
}

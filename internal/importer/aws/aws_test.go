package aws

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv/recorder"
)

const dir = "../../../testdata/cloud/aws"

// parse runs the parser over a file and returns the rows and the reports.
func parse(t testing.TB, name string, opt Options, cw bool) ([]flow.Record, []recorder.Bad) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return parseBytes(t, data, opt, cw)
}

func parseBytes(t testing.TB, data []byte, opt Options, cw bool) ([]flow.Record, []recorder.Bad) {
	t.Helper()
	var rec recorder.Recorder
	s := rec.Sink(3) // several flushes even on small files
	p, err := NewParser(opt)
	if err != nil {
		t.Fatal(err)
	}
	if cw {
		err = p.ParseCloudWatch(bytes.NewReader(data), s)
	} else {
		err = p.ParseText(bytes.NewReader(data), s)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	return rec.Rows, rec.Bads
}

func fieldsOf(t *testing.T, name string) []string {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

func addr(s string) flow.Addr { return flow.MustParseAddr(s) }

const sec = int64(1e9)

func TestDefaultV2(t *testing.T) {
	rows, bads := parse(t, "awsdocs-default-v2-accept-reject-nodata-skipdata-icmp-ipv6.log", Options{Now: 7}, false)
	if len(bads) != 0 {
		t.Fatalf("reports: %v", bads)
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows, want 7", len(rows))
	}
	want := []flow.Record{
		{TimeReceived: 7, TimeStart: 1418530010 * sec, TimeEnd: 1418530070 * sec, SourceType: flow.SourceTypeAwsVpc, IPVersion: 4,
			SrcAddr: addr("172.31.16.139"), DstAddr: addr("172.31.16.21"), SrcPort: 20641, DstPort: 22, Proto: 6,
			Packets: 20, Bytes: 4249, Action: flow.ActionAllow, Account: "123456789010", InterfaceID: "eni-1235b8ca123456789"},
		{TimeReceived: 7, TimeStart: 1418530010 * sec, TimeEnd: 1418530070 * sec, SourceType: flow.SourceTypeAwsVpc, IPVersion: 4,
			SrcAddr: addr("172.31.9.69"), DstAddr: addr("172.31.9.12"), SrcPort: 49761, DstPort: 3389, Proto: 6,
			Packets: 20, Bytes: 4249, Action: flow.ActionDeny, Account: "123456789010", InterfaceID: "eni-1235b8ca123456789"},
		{TimeReceived: 7, TimeStart: 1431280876 * sec, TimeEnd: 1431280934 * sec, SourceType: flow.SourceTypeAwsVpc,
			Account: "123456789010", InterfaceID: "eni-1235b8ca123456789", Labels: `{"log_status":"NODATA"}`},
		{TimeReceived: 7, TimeStart: 1431280876 * sec, TimeEnd: 1431280934 * sec, SourceType: flow.SourceTypeAwsVpc,
			Account: "123456789010", InterfaceID: "eni-11111111aaaaaaaaa", Labels: `{"log_status":"SKIPDATA"}`},
		{TimeReceived: 7, TimeStart: 1432917027 * sec, TimeEnd: 1432917142 * sec, SourceType: flow.SourceTypeAwsVpc, IPVersion: 4,
			SrcAddr: addr("203.0.113.12"), DstAddr: addr("172.31.16.139"), Proto: 1,
			Packets: 4, Bytes: 336, Action: flow.ActionAllow, Account: "123456789010", InterfaceID: "eni-1235b8ca123456789"},
		{TimeReceived: 7, TimeStart: 1432917094 * sec, TimeEnd: 1432917142 * sec, SourceType: flow.SourceTypeAwsVpc, IPVersion: 4,
			SrcAddr: addr("172.31.16.139"), DstAddr: addr("203.0.113.12"), Proto: 1,
			Packets: 4, Bytes: 336, Action: flow.ActionDeny, Account: "123456789010", InterfaceID: "eni-1235b8ca123456789"},
		{TimeReceived: 7, TimeStart: 1477913708 * sec, TimeEnd: 1477913820 * sec, SourceType: flow.SourceTypeAwsVpc, IPVersion: 6,
			SrcAddr: addr("2001:db8:1234:a100:8d6e:3477:df66:f105"), DstAddr: addr("2001:db8:1234:a102:3304:8879:34cf:4071"),
			SrcPort: 34892, DstPort: 22, Proto: 6, Packets: 54, Bytes: 8855, Action: flow.ActionAllow,
			Account: "123456789010", InterfaceID: "eni-1235b8ca123456789"},
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i+1, rows[i], want[i])
		}
	}
}

func TestHeaderLine(t *testing.T) {
	rows, bads := parse(t, "otelcontrib-s3-default-with-header.log", Options{}, false)
	if len(bads) != 0 || len(rows) != 2 {
		t.Fatalf("%d rows, reports %v; want 2 rows", len(rows), bads)
	}
	// Last line has no trailing newline upstream.
	r := rows[1]
	if r.SrcAddr != addr("172.31.9.69") || r.DstPort != 3389 || r.Action != flow.ActionDeny || r.Bytes != 4249 || r.TimeEnd != 1418530070*sec {
		t.Errorf("row 2: %+v", r)
	}
}

func TestCustomV3TCPFlags(t *testing.T) {
	rows, bads := parse(t, "awsdocs-custom-v3-tcp-flag-sequence.log",
		Options{Fields: fieldsOf(t, "awsdocs-custom-v3-tcp-flag-sequence.format")}, false)
	if len(bads) != 0 || len(rows) != 8 {
		t.Fatalf("%d rows, reports %v; want 8 rows", len(rows), bads)
	}
	wantFlags := []uint16{2, 18, 2, 18, 1, 1, 3, 19}
	var flags []uint16
	var bytesSum, pkts uint64
	for _, r := range rows {
		flags = append(flags, r.TCPFlags)
		bytesSum += r.Bytes
		pkts += r.Packets
		if r.VPC != "vpc-abcdefab012345678" || r.InstanceID != "i-01234567890123456" || r.InterfaceID != "eni-1235b8ca123456789" ||
			r.Account != "123456789010" || r.IPVersion != 4 || r.Action != flow.ActionAllow || r.Proto != 6 {
			t.Errorf("row columns: %+v", r)
		}
		// No flow-direction field: the subnet cannot be placed on a side.
		if r.SrcSubnet != "" || r.DstSubnet != "" || r.Labels != `{"subnet_id":"subnet-aaaaaaaa012345678"}` {
			t.Errorf("subnet: %q %q %s", r.SrcSubnet, r.DstSubnet, r.Labels)
		}
	}
	if fmt.Sprint(flags) != fmt.Sprint(wantFlags) {
		t.Errorf("tcp flags %v, want %v", flags, wantFlags)
	}
	r := rows[0]
	if r.SrcAddr != addr("52.213.180.42") || r.DstAddr != addr("10.0.0.62") || r.SrcPort != 43416 || r.DstPort != 5001 ||
		r.Bytes != 568 || r.Packets != 8 || r.TimeStart != 1566848875*sec || r.TimeEnd != 1566848933*sec {
		t.Errorf("row 1: %+v", r)
	}
	// Line 8 has a double space between two fields.
	if rows[7].SrcPort != 5001 || rows[7].DstPort != 43638 || rows[7].Bytes != 967 {
		t.Errorf("row 8: %+v", rows[7])
	}
	if bytesSum != 23462480 || pkts != 17121 {
		t.Errorf("totals: %d bytes %d packets, want 23462480 and 17121", bytesSum, pkts)
	}
}

func TestCustomV5DirectionAndService(t *testing.T) {
	rows, bads := parse(t, "awsdocs-custom-v5-service-traffic-path-flow-direction.log",
		Options{Fields: fieldsOf(t, "awsdocs-custom-v5-service-traffic-path-flow-direction.format")}, false)
	if len(bads) != 0 || len(rows) != 2 {
		t.Fatalf("%d rows, reports %v", len(rows), bads)
	}
	in, out := rows[0], rows[1]
	want := flow.Record{TimeStart: 1616729292 * sec, TimeEnd: 1616729349 * sec, SourceType: flow.SourceTypeAwsVpc, IPVersion: 4,
		SrcAddr: addr("52.95.128.179"), DstAddr: addr("10.0.0.71"), SrcPort: 80, DstPort: 34210, Proto: 6, TCPFlags: 19,
		Packets: 14, Bytes: 15044, Direction: flow.DirectionIngress, Action: flow.ActionAllow,
		DstSubnet: "subnet-aaaaaaaa012345678", Account: "123456789012", Region: "ap-southeast-2", VPC: "vpc-abcdefab012345678",
		InterfaceID: "eni-1235b8ca123456789", InstanceID: "i-0c50d5961bcb2d47b",
		Labels: `{"az_id":"apse2-az3","pkt_src_aws_service":"S3"}`}
	if in != want {
		t.Errorf("ingress:\n got %+v\nwant %+v", in, want)
	}
	if out.Direction != flow.DirectionEgress || out.SrcSubnet != "subnet-aaaaaaaa012345678" || out.DstSubnet != "" ||
		out.Packets != 7 || out.Bytes != 471 || out.TCPFlags != 3 ||
		out.Labels != `{"az_id":"apse2-az3","pkt_dst_aws_service":"S3","traffic_path":"8"}` {
		t.Errorf("egress: %+v", out)
	}
}

func TestNATGatewayAndComments(t *testing.T) {
	rows, bads := parse(t, "awsdocs-custom-nat-gateway.log", Options{Fields: fieldsOf(t, "awsdocs-custom-nat-gateway.format")}, false)
	// The last two lines carry '#comment' text from the doc: reported, skipped.
	if len(rows) != 4 || len(bads) != 2 || bads[0].Pos != 5 || bads[1].Pos != 6 {
		t.Fatalf("%d rows, reports %v; want 4 rows and lines 5, 6 reported", len(rows), bads)
	}
	if rows[0].SrcAddr != addr("10.0.1.5") || rows[0].DstAddr != addr("10.0.0.220") || rows[0].Labels != `{"pkt_dstaddr":"203.0.113.5"}` {
		t.Errorf("row 1: %+v", rows[0])
	}
	if rows[1].Labels != "" || rows[1].InstanceID != "" || rows[1].InterfaceID != "eni-1235b8ca123456789" {
		t.Errorf("row 2: %+v", rows[1])
	}
	if rows[3].Labels != `{"pkt_srcaddr":"203.0.113.5"}` {
		t.Errorf("row 4 labels %s", rows[3].Labels)
	}
}

func TestTransitGatewayV3(t *testing.T) {
	rows, bads := parse(t, "awsdocs-custom-v3-transit-gateway.log", Options{Fields: fieldsOf(t, "awsdocs-custom-v3-transit-gateway.format")}, false)
	if len(bads) != 0 || len(rows) != 4 {
		t.Fatalf("%d rows, reports %v", len(rows), bads)
	}
	if rows[1].TCPFlags != 19 || rows[1].SrcPort != 80 || rows[1].InstanceID != "i-01234567890123456" {
		t.Errorf("row 2: %+v", rows[1])
	}
	if rows[2].InstanceID != "" || rows[2].InterfaceID != "eni-11111111111111111" ||
		rows[2].Labels != `{"subnet_id":"subnet-11111111aaaaaaaaa","pkt_srcaddr":"10.20.33.164"}` {
		t.Errorf("row 3: %+v", rows[2])
	}
	if rows[3].Labels != `{"subnet_id":"subnet-22222222bbbbbbbbb","pkt_dstaddr":"10.20.33.164"}` || rows[3].DstAddr != addr("10.40.2.31") {
		t.Errorf("row 4: %+v", rows[3])
	}
}

func TestTransitGatewayV6(t *testing.T) {
	rows, bads := parse(t, "otelcontrib-s3-transit-gateway-v6-with-header.log", Options{}, false)
	if len(bads) != 0 || len(rows) != 1 {
		t.Fatalf("%d rows, reports %v", len(rows), bads)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "otelcontrib-s3-transit-gateway-v6-with-header.log"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	names, vals := strings.Fields(lines[0]), strings.Fields(lines[1])
	v := map[string]string{}
	for i := range names {
		v[names[i]] = vals[i]
	}
	r := rows[0]
	if r.SrcAddr != addr(v["srcaddr"]) || r.DstAddr != addr(v["dstaddr"]) || r.Account != v["account-id"] ||
		r.SrcSubnet != v["tgw-src-subnet-id"] || r.DstSubnet != v["tgw-dst-subnet-id"] || r.Region != v["region"] {
		t.Errorf("row: %+v\nvalues %v", r, v)
	}
	if !strings.Contains(r.Labels, `"tgw_id":"`+v["tgw-id"]+`"`) || !strings.Contains(r.Labels, `"tgw_src_eni":"`+v["tgw-src-eni"]+`"`) {
		t.Errorf("labels %s", r.Labels)
	}
}

func TestECSV7(t *testing.T) {
	rows, bads := parse(t, "otelcontrib-s3-custom-v7-ecs-with-header.log", Options{}, false)
	if len(bads) != 0 || len(rows) != 1 {
		t.Fatalf("%d rows, reports %v", len(rows), bads)
	}
	for _, k := range []string{"ecs_cluster_name", "ecs_task_id", "ecs_service_name", "ecs_container_id"} {
		if !strings.Contains(rows[0].Labels, `"`+k+`":`) {
			t.Errorf("label %s missing: %s", k, rows[0].Labels)
		}
	}
}

func TestCloudWatch(t *testing.T) {
	rows, bads := parse(t, "otelcontrib-cwlogs-subscription-custom-4fields.json",
		Options{Fields: []string{"version", "interface-id", "srcaddr", "dstaddr"}}, true)
	if len(bads) != 0 || len(rows) != 2 {
		t.Fatalf("%d rows, reports %v", len(rows), bads)
	}
	if rows[0].Account != "123456789012" || rows[0].InterfaceID != "eni-1235b8ca123456789" ||
		rows[0].SrcAddr != addr("172.31.16.139") || rows[1].DstAddr != addr("172.31.9.12") {
		t.Errorf("rows %+v", rows)
	}
	// Without the field list the 4-field messages do not fit the default format.
	_, bads = parse(t, "otelcontrib-cwlogs-subscription-custom-4fields.json", Options{}, true)
	if len(bads) != 2 || bads[1].Pos != 2 {
		t.Errorf("reports %v", bads)
	}
}

func TestMalformedLines(t *testing.T) {
	in := "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 10 100 200 ACCEPT OK\n" +
		"2 1 eni-1 10.0.0.1 10.0.0.999 1 2 6 1 10 100 200 ACCEPT OK\n" + // bad address
		"2 1 eni-1 10.0.0.1 10.0.0.2 1 70000 6 1 10 100 200 ACCEPT OK\n" + // bad port
		"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 10 100 200 MAYBE OK\n" + // bad action
		"garbage\n" +
		"\n" +
		"2 1 eni-1 10.0.0.3 10.0.0.4 1 2 17 1 10 100 200 REJECT OK\r\n"
	rows, bads := parseBytes(t, []byte(in), Options{}, false)
	if len(rows) != 2 || rows[1].Proto != 17 || rows[1].SrcAddr != addr("10.0.0.3") {
		t.Fatalf("rows %+v", rows)
	}
	var pos []int64
	for _, b := range bads {
		pos = append(pos, b.Pos)
	}
	if fmt.Sprint(pos) != "[2 3 4 5]" {
		t.Errorf("reported lines %v, want [2 3 4 5] (%v)", pos, bads)
	}
}

func TestFromPath(t *testing.T) {
	a, r := FromPath("bucket/prefix/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/11/22/123456789012_vpcflowlogs_eu-west-1_fl-1_20261122T1200Z_ab.log.gz")
	if a != "123456789012" || r != "eu-west-1" {
		t.Errorf("got %q %q", a, r)
	}
	if a, r := FromPath("x/y.log"); a != "" || r != "" {
		t.Errorf("got %q %q", a, r)
	}
}

func FuzzParseText(f *testing.F) {
	for _, n := range []string{"awsdocs-default-v2-accept-reject-nodata-skipdata-icmp-ipv6.log", "otelcontrib-s3-transit-gateway-v6-with-header.log", "awsdocs-custom-nat-gateway.log"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, bads := parseBytes(t, data, Options{}, false)
		lines := bytes.Count(data, []byte("\n")) + 1
		if len(rows)+len(bads) > lines {
			t.Fatalf("%d rows + %d reports from %d lines", len(rows), len(bads), lines)
		}
	})
}

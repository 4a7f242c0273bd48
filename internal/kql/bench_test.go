package kql

import "testing"

var benchQueries = map[string]string{
	"simple": `flows | where dst_port == 443 and time_received > ago(1h) | take 100`,
	"peer": `let host = "10.1.1.8";
flows
| where time_received > ago(7d)
| where src_addr == host or dst_addr == host
| extend peer = iff(src_addr == host, dst_addr, src_addr)
| summarize bytes = sum(bytes), packets = sum(packets), flows = count() by peer
| sort by bytes desc`,
	"azure": `NTANetAnalytics
| where TimeGenerated > ago(7d)
| where SubType == "FlowLog" and FlowType == "ExternalPublic" and L4Protocol == "T"
| summarize TotalBytes = sum(BytesSrcToDest + BytesDestToSrc) by SrcIp, DestPort, FlowDirection
| top 5 by TotalBytes desc
| render columnchart`,
	"join": `NTANetAnalytics
| summarize Bytes = sum(BytesSrcToDest) by DestIp
| join kind=leftouter (NTAIpDetails | project Ip, Location, PublicIpDetails) on $left.DestIp == $right.Ip
| project DestIp, Bytes, Location, PublicIpDetails`,
}

// BenchmarkParse is the baseline: parsing alone.
func BenchmarkParse(b *testing.B) {
	for name, q := range benchQueries {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompile measures parse + compile to DuckDB SQL; the target is
// well under 1 ms per typical query.
func BenchmarkCompile(b *testing.B) {
	for name, q := range benchQueries {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(q, Options{Now: goldenNow}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package gcp

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
)

func genEntries(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"insertId":"id%d","jsonPayload":{"bytes_sent":"%d","packets_sent":"%d","connection":{"src_ip":"10.128.%d.%d","dest_ip":"10.132.%d.%d","src_port":%d,"dest_port":443,"protocol":6},"reporter":"SRC","rtt_msec":"%d","start_time":"2026-11-20T09:00:00.100000000Z","end_time":"2026-11-20T09:00:05.600000000Z","src_instance":{"project_id":"p","region":"europe-west1","zone":"europe-west1-b","vm_name":"vm-%d"},"src_vpc":{"project_id":"p","vpc_name":"v","subnetwork_name":"s%d"}},"logName":"projects/p/logs/compute.googleapis.com%%2Fvpc_flows","receiveTimestamp":"2026-11-20T09:00:30.000000000Z","resource":{"labels":{"project_id":"p"},"type":"gce_subnetwork"}}`+"\n",
			i, 100+i%9000, 1+i%50, i%250, i%249, i%13, i%251, 1024+i%60000, i%40, i%20, i%4)
	}
	return b.Bytes()
}

// BenchmarkParse: one op is one log entry (encoding/json: GCP has no
// throughput target yet).
func BenchmarkParse(b *testing.B) {
	const chunk = 20_000
	data := genEntries(chunk)
	s := sink.New(func(*flow.Batch) error { return nil }, func(pos int64, err error) { b.Fatal(pos, err) })
	p := NewParser(Options{})
	b.SetBytes(int64(len(data) / chunk))
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		if err := p.Parse(bytes.NewReader(data), s); err != nil {
			b.Fatal(err)
		}
		done += chunk
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "records/s")
}

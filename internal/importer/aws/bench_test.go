package aws

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
)

// genLines makes n default-format records with varied addresses, ports and
// counters, as a busy ENI produces.
func genLines(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		act := "ACCEPT"
		if i%7 == 0 {
			act = "REJECT"
		}
		fmt.Fprintf(&b, "2 123456789012 eni-0a1b2c3d4e5f%05d 10.%d.%d.%d 172.31.%d.%d %d %d 6 %d %d %d %d %s OK\n",
			i%50, i%200, (i/200)%250, i%250, (i/7)%250, i%249, 1024+i%60000, 443, 1+i%90, 60+i*13%90000, 1700000000+i/1000, 1700000060+i/1000, act)
	}
	return b.Bytes()
}

// BenchmarkParseDefaultV2: one op is one record; records/s is per core
// (the parser is single-threaded). Run with -benchtime=10000000x for the
// 10 M-record figure.
func BenchmarkParseDefaultV2(b *testing.B) {
	const chunk = 200_000
	data := genLines(chunk)
	ends := make([]int, 0, chunk) // ends[i] = offset just past line i
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	s := sink.New(func(*flow.Batch) error { return nil }, func(int64, error) { b.Fatal("malformed generated line") })
	b.SetBytes(int64(len(data) / chunk))
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		n := min(chunk, b.N-done)
		in := data[:ends[n-1]]
		p, _ := NewParser(Options{})
		if err := p.ParseText(bytes.NewReader(in), s); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	s.Flush()
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "records/s")
}

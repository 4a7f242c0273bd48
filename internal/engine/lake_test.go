package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/flowlake/flowlake/internal/atomicfile"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// The test lake is written with parquet-go in the physical layout agreed
// with internal/archive: Uint8/16/32 → INT32 with unsigned logical type,
// Uint64 and MAC → INT64 UINT64, Time → INT64 TIMESTAMP(NANOS, UTC),
// Addr → FIXED_LEN_BYTE_ARRAY(16), String and Enum (value name) → STRING,
// ZSTD, bloom filters on the address columns.

// lakeSchema is the Parquet schema of the canonical flow record.
func lakeSchema() *parquet.Schema {
	// One codec for all columns: it pools its encoders, and a fresh
	// encoder per column page costs more than the compression.
	codec := &zstd.Codec{}
	g := parquet.Group{}
	for _, c := range schema.Columns {
		var n parquet.Node
		switch c.Type {
		case schema.Uint8:
			n = parquet.Uint(8)
		case schema.Uint16:
			n = parquet.Uint(16)
		case schema.Uint32:
			n = parquet.Uint(32)
		case schema.Uint64, schema.MAC:
			n = parquet.Uint(64)
		case schema.Time:
			n = parquet.TimestampAdjusted(parquet.Nanosecond, true)
		case schema.Addr:
			n = parquet.Leaf(parquet.FixedLenByteArrayType(16))
		case schema.String, schema.Enum:
			n = parquet.String()
		default:
			panic(fmt.Sprintf("column %s: type %v", c.Name, c.Type))
		}
		g[c.Name] = parquet.Compressed(n, codec)
	}
	return parquet.NewSchema("flow", g)
}

// writeParquet writes recs to path (atomically, like the archive) in
// row groups of rowGroup rows.
func writeParquet(t testing.TB, path string, recs []flow.Record, rowGroup int) {
	t.Helper()
	sch := lakeSchema()
	leaf := map[string]int{}
	for i, p := range sch.Columns() {
		leaf[p[0]] = i
	}
	field := make([][]int, len(schema.Columns))
	rt := reflect.TypeFor[flow.Record]()
	for i, c := range schema.Columns {
		f, ok := rt.FieldByName(c.Go)
		if !ok {
			t.Fatalf("flow.Record has no field %s", c.Go)
		}
		field[i] = f.Index
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, sch,
		parquet.MaxRowsPerRowGroup(int64(rowGroup)),
		parquet.BloomFilters(
			parquet.SplitBlockFilter(10, "src_addr"),
			parquet.SplitBlockFilter(10, "dst_addr"),
		))
	rows := make([]parquet.Row, 0, 1024)
	flush := func() {
		if _, err := w.WriteRows(rows); err != nil {
			t.Fatal(err)
		}
		rows = rows[:0]
	}
	for i := range recs {
		rv := reflect.ValueOf(&recs[i]).Elem()
		row := make(parquet.Row, len(schema.Columns))
		for ci, c := range schema.Columns {
			col := leaf[c.Name]
			fv := rv.FieldByIndex(field[ci])
			var v parquet.Value
			switch c.Type {
			case schema.Uint8, schema.Uint16, schema.Uint32:
				v = parquet.Int32Value(int32(uint32(fv.Uint())))
			case schema.Uint64, schema.MAC:
				v = parquet.Int64Value(int64(fv.Uint()))
			case schema.Time:
				v = parquet.Int64Value(fv.Int())
			case schema.Addr:
				a := fv.Interface().(flow.Addr)
				v = parquet.FixedLenByteArrayValue(a[:])
			case schema.String:
				v = parquet.ByteArrayValue([]byte(fv.String()))
			case schema.Enum:
				v = parquet.ByteArrayValue([]byte(c.Values[fv.Uint()]))
			}
			row[col] = v.Level(0, 0, col)
		}
		rows = append(rows, row)
		if len(rows) == cap(rows) {
			flush()
		}
	}
	flush()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
}

// genFlows makes n flows received from start over span, with a few popular
// hosts and ports so that aggregations have something to find.
func genFlows(seed uint64, n int, start time.Time, span time.Duration) []flow.Record {
	return genFlowsHosts(seed, n, 200, start, span)
}

// genFlowsHosts is genFlows with nhosts distinct addresses.
func genFlowsHosts(seed uint64, n, nhosts int, start time.Time, span time.Duration) []flow.Record {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	hosts := make([]flow.Addr, nhosts)
	for i := range hosts {
		if i%10 == 9 {
			var a [16]byte
			a[0], a[1], a[13], a[14], a[15] = 0x20, 0x01, byte(i>>16), byte(i>>8), byte(i)
			hosts[i] = flow.Addr(a)
		} else {
			hosts[i] = flow.AddrFromUint32(0x0a000000 | uint32(i))
		}
	}
	ports := []uint16{443, 80, 53, 22, 8080, 3306}
	recs := make([]flow.Record, n)
	for i := range recs {
		tr := start.Add(time.Duration(r.Int64N(int64(span)))).UnixNano()
		// Zipf-like popularity: low indexes much more often.
		src := hosts[int(float64(len(hosts))*r.Float64()*r.Float64())]
		dst := hosts[r.IntN(len(hosts))]
		recs[i] = flow.Record{
			TimeReceived: tr,
			TimeStart:    tr - int64(r.IntN(60))*int64(time.Second),
			TimeEnd:      tr,
			SourceType:   uint8(1 + r.IntN(4)),
			ExporterAddr: flow.AddrFromUint32(0xc0a80001),
			ExporterName: "edge-1",
			SrcAddr:      src,
			DstAddr:      dst,
			SrcPort:      uint16(1024 + r.IntN(60000)),
			DstPort:      ports[r.IntN(len(ports))],
			Proto:        6,
			SrcMAC:       0x001122334455,
			Bytes:        uint64(40 + r.IntN(1_000_000)),
			Packets:      uint64(1 + r.IntN(1000)),
			SamplingRate: 1,
		}
		if src.Is4() {
			recs[i].IPVersion = 4
		} else {
			recs[i].IPVersion = 6
		}
	}
	return recs
}

// writeLake writes recs into dataDir/flows/date=.../hour=.../ partitions by
// time_received, filesPerHour files per hour, sorted by time then
// addresses like compacted files. It returns the file paths.
func writeLake(t testing.TB, dataDir string, recs []flow.Record, filesPerHour, rowGroup int) []string {
	t.Helper()
	byHour := map[int64][]flow.Record{}
	for _, r := range recs {
		h := r.TimeReceived / int64(time.Hour)
		byHour[h] = append(byHour[h], r)
	}
	var paths []string
	for h, rs := range byHour {
		sort.Slice(rs, func(i, j int) bool {
			a, b := &rs[i], &rs[j]
			if a.SrcAddr != b.SrcAddr {
				return string(a.SrcAddr[:]) < string(b.SrcAddr[:])
			}
			if a.DstAddr != b.DstAddr {
				return string(a.DstAddr[:]) < string(b.DstAddr[:])
			}
			return a.TimeReceived < b.TimeReceived
		})
		ht := time.Unix(0, h*int64(time.Hour)).UTC()
		dir := filepath.Join(dataDir, "flows", ht.Format("date=2006-01-02"), ht.Format("hour=15"))
		per := (len(rs) + filesPerHour - 1) / filesPerHour
		for i := 0; i < filesPerHour && i*per < len(rs); i++ {
			p := filepath.Join(dir, fmt.Sprintf("part-%03d.parquet", i))
			writeParquet(t, p, rs[i*per:min(len(rs), (i+1)*per)], rowGroup)
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return paths
}

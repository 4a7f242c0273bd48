package archive

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// sizeVariant is one way of writing a compacted file.
type sizeVariant struct {
	name  string
	level zstd.Level
	enc   func(schema.Column) encoding.Encoding
	rg    int      // rows per row group
	page  int      // page bytes
	order []string // sort key columns
	// within, when set, re-sorts each row group's rows (after order put
	// the file in order) by these columns.
	within []string
	// data, when set, rewrites the flows before writing: hypothetical
	// schema changes, measured to tell what they would be worth.
	data func(*flow.Batch) *flow.Batch
	// best lists columns compressed with SpeedBestCompression.
	best []string
	// codecs gives other columns' codecs (LZ4, Snappy, none): read speed.
	codecs map[string]compress.Codec
	// pair stores reverse flows in their flow's row (pairFlows), as
	// compaction does.
	pair bool
}

// startingWithin returns the flows of b whose time_start lies within span
// after from: a bench lake receives hours of flow time within minutes,
// so one of its files holds more of a pair's repeats than an hour's file of a
// real site would.
func startingWithin(b *flow.Batch, from int64, span time.Duration) *flow.Batch {
	var idx []int
	for i, t := range b.TimeStart {
		if t >= from && t-from < span.Nanoseconds() {
			idx = append(idx, i)
		}
	}
	out := new(flow.Batch)
	out.AppendRows(b, idx)
	return out
}

// sortByColumns returns the row indexes of b ordered by the columns keys
// (a generic, slower stand-in for sortedIndex, to try other keys).
func sortByColumns(b *flow.Batch, keys []string) []int {
	var cmps []func(i, j int) int
	for _, k := range keys {
		c := slices.IndexFunc(schema.Columns, func(col schema.Column) bool { return col.Name == k })
		switch s := b.Column(c).(type) {
		case []flow.Addr:
			cmps = append(cmps, func(i, j int) int { return bytes.Compare(s[i][:], s[j][:]) })
		case []int64:
			cmps = append(cmps, func(i, j int) int { return cmp.Compare(s[i], s[j]) })
		case []uint8:
			cmps = append(cmps, func(i, j int) int { return cmp.Compare(s[i], s[j]) })
		case []uint16:
			cmps = append(cmps, func(i, j int) int { return cmp.Compare(s[i], s[j]) })
		case []uint32:
			cmps = append(cmps, func(i, j int) int { return cmp.Compare(s[i], s[j]) })
		case []uint64:
			cmps = append(cmps, func(i, j int) int { return cmp.Compare(s[i], s[j]) })
		default:
			panic(k)
		}
	}
	idx := make([]int, b.Len())
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		for _, f := range cmps {
			if c := f(i, j); c != 0 {
				return c
			}
		}
		return 0
	})
	return idx
}

// bestFor returns a codec chooser giving the columns names
// SpeedBestCompression (nil when names is empty).
func bestFor(names []string, codecs map[string]compress.Codec) func(schema.Column) compress.Codec {
	if len(names) == 0 && len(codecs) == 0 {
		return nil
	}
	return func(c schema.Column) compress.Codec {
		if cc, ok := codecs[c.Name]; ok {
			return cc
		}
		if slices.Contains(names, c.Name) {
			return codec(zstd.SpeedBestCompression)
		}
		return nil
	}
}

// sortWithinGroups re-sorts each run of rg rows of perm by keys.
func sortWithinGroups(b *flow.Batch, perm []int, rg int, keys []string) []int {
	rank := sortByColumns(b, keys) // rank order of all rows by keys
	pos := make([]int, len(rank))
	for r, i := range rank {
		pos[i] = r
	}
	out := slices.Clone(perm)
	for lo := 0; lo < len(out); lo += rg {
		g := out[lo:min(lo+rg, len(out))]
		slices.SortFunc(g, func(i, j int) int { return cmp.Compare(pos[i], pos[j]) })
	}
	return out
}

// BenchmarkCompactedSize writes one compacted file's worth of flows
// (1 Mi by default, FLOWLAKE_SIZE_FLOWS overrides; 10 M flows over three
// hours' rate; FLOWLAKE_SIZE_FILE names a Parquet file whose flows to use
// instead, FLOWLAKE_SIZE_SPAN keeps those starting within that duration of
// the earliest) in several ways, one change at a time from the compaction
// settings in force before this benchmark existed, and reports bytes per
// flow and the write rate (sorting excluded). With -v it logs the largest
// columns of each variant.
func BenchmarkCompactedSize(b *testing.B) {
	n := 1 << 20
	if s := os.Getenv("FLOWLAKE_SIZE_FLOWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	start := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)
	batch := genBatch(1, start, n, 10e6/(3*3600))
	if p := os.Getenv("FLOWLAKE_SIZE_FILE"); p != "" {
		// Flows of a real lake file instead (one compacted file of a
		// bench lake: one bucket of one hour).
		// A glob names several (one of each bucket, say): the span then
		// starts at the latest of their first time_starts, so that every
		// file has flows in it (both directions of a connection).
		paths, err := filepath.Glob(p)
		if err != nil || len(paths) == 0 {
			b.Fatalf("FLOWLAKE_SIZE_FILE %q: no file (%v)", p, err)
		}
		batch = new(flow.Batch)
		var from int64
		for _, path := range paths {
			at := batch.Len()
			if err := readFile(path, batch); err != nil {
				b.Fatal(err)
			}
			from = max(from, slices.Min(batch.TimeStart[at:]))
		}
		if s := os.Getenv("FLOWLAKE_SIZE_SPAN"); s != "" {
			span, err := time.ParseDuration(s)
			if err != nil {
				b.Fatal(err)
			}
			if len(paths) == 1 {
				from = slices.Min(batch.TimeStart)
			}
			batch = startingWithin(batch, from, span)
		}
		n = batch.Len()
	}
	base := sizeVariant{"base", zstd.SpeedBetterCompression, flushEncoding, 128 << 10, 256 << 10, []string{"src_addr", "dst_addr", "time_received"}, nil, nil, nil, nil, false}
	with := func(name string, f func(v *sizeVariant)) sizeVariant {
		v := base
		v.name = name
		f(&v)
		return v
	}
	variants := []sizeVariant{base}
	changes := sizeChanges()
	for _, name := range sizeVariants() {
		variants = append(variants, with(name, func(v *sizeVariant) {
			for _, c := range strings.Split(name, "+") {
				f, ok := changes[c]
				if !ok {
					b.Fatalf("unknown change %q", c)
				}
				f(v)
			}
		}))
	}
	perms := map[string][]int{}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			data := batch
			if v.data != nil {
				data = v.data(batch)
			}
			var pairs *pairCols
			sch := buildSchema(v.enc, bestFor(v.best, v.codecs))
			if v.pair {
				data, pairs = pairFlows(data)
				sch = buildPairedSchema(v.enc, bestFor(v.best, v.codecs))
			}
			key := fmt.Sprint(v.order, v.within, v.rg)
			perm, ok := perms[key]
			if !ok || data.Len() != batch.Len() {
				// Sorted by the flows' real values, unless the rewrite
				// changed the rows themselves (biflows).
				sortBy := batch
				if data.Len() != batch.Len() {
					sortBy = data
				}
				perm = sortByColumns(sortBy, v.order)
				if v.within != nil {
					perm = sortWithinGroups(sortBy, perm, v.rg, v.within)
				}
				if sortBy == batch {
					perms[key] = perm
				} else {
					b.Logf("%d rows written for %d flows", data.Len(), batch.Len())
				}
			}
			sorting := sortingColumns(v.order)
			if v.within != nil {
				sorting = nil
			}
			opt := writeOptions{rowGroupRows: v.rg, level: v.level, sorting: sorting, schema: sch, pageBytes: v.page}
			var meta [][2]string
			if os.Getenv("FLOWLAKE_SIZE_OUT") != "" {
				// A file the archive opens, to time queries over it.
				meta = [][2]string{
					{metaMinTime, strconv.FormatInt(slices.Min(data.TimeReceived), 10)},
					{metaMaxTime, strconv.FormatInt(slices.Max(data.TimeReceived), 10)},
				}
				if pairs != nil {
					meta = append(meta, [2]string{metaFlows, strconv.Itoa(n)})
				}
			}
			var buf bytes.Buffer
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				buf.Reset()
				if err := newFileWriter(opt).write(&buf, data, pairs, perm, meta); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			if dir := os.Getenv("FLOWLAKE_SIZE_OUT"); dir != "" {
				// For timing queries over each variant's file.
				name := strings.NewReplacer("/", "_", ",", "_", "=", "-", "+", ".").Replace(v.name)
				if err := os.WriteFile(filepath.Join(dir, name+".parquet"), buf.Bytes(), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/float64(n), "bytes/flow")
			b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "flows/cpu-s")
			b.ReportMetric(0, "ns/op")
			if testing.Verbose() {
				logColumnSizes(b, buf.Bytes(), n)
			}
		})
	}
}

func sortingColumns(keys []string) []parquet.SortingColumn {
	var s []parquet.SortingColumn
	for _, k := range keys {
		s = append(s, parquet.Ascending(k))
	}
	return s
}

// logColumnSizes logs the compressed bytes per flow of the largest columns.
func logColumnSizes(b *testing.B, file []byte, n int) {
	pf, err := parquet.OpenFile(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		b.Fatal(err)
	}
	cols := pf.Metadata().RowGroups[0].Columns
	sizes := make([]int64, len(cols))
	for _, rg := range pf.Metadata().RowGroups {
		for c, cc := range rg.Columns {
			sizes[c] += cc.MetaData.TotalCompressedSize
		}
	}
	idx := make([]int, len(sizes))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return sizes[idx[i]] > sizes[idx[j]] })
	var sb bytes.Buffer
	var rest int64
	for k, c := range idx {
		if k < 14 {
			fmt.Fprintf(&sb, " %s=%.2f", cols[c].MetaData.PathInSchema[0], float64(sizes[c])/float64(n))
		} else {
			rest += sizes[c]
		}
	}
	fmt.Fprintf(&sb, " other%d=%.2f footer+=%.2f", len(idx)-14, float64(rest)/float64(n), float64(int64(len(file))-sum(sizes))/float64(n))
	b.Logf("bytes/flow by column:%s", sb.String())
}

func sum(s []int64) (t int64) {
	for _, v := range s {
		t += v
	}
	return t
}

// encWith returns enc with the columns of the types ts (or named names)
// encoded as e.
func encWith(enc func(schema.Column) encoding.Encoding, e encoding.Encoding, match func(schema.Column) bool) func(schema.Column) encoding.Encoding {
	return func(c schema.Column) encoding.Encoding {
		if match(c) {
			return e
		}
		return enc(c)
	}
}

func isType(ts ...schema.Type) func(schema.Column) bool {
	return func(c schema.Column) bool { return slices.Contains(ts, c.Type) }
}

func isNamed(names ...string) func(schema.Column) bool {
	return func(c schema.Column) bool { return slices.Contains(names, c.Name) }
}

// addData chains f after the variant's other data rewrites.
func (v *sizeVariant) addData(f func(*flow.Batch) *flow.Batch) {
	if prev := v.data; prev != nil {
		v.data = func(b *flow.Batch) *flow.Batch { return f(prev(b)) }
		return
	}
	v.data = f
}

// rowRewrite returns a data rewrite that copies a batch and calls f for
// each row i of the copy c (b is the batch copied).
func rowRewrite(f func(c, b *flow.Batch, i int)) func(*flow.Batch) *flow.Batch {
	return func(b *flow.Batch) *flow.Batch {
		c := new(flow.Batch)
		c.AppendBatch(b)
		for i := range c.Len() {
			f(c, b, i)
		}
		return c
	}
}

// sizeChanges are the changes measured against base, alone or combined
// (sizeVariants).
func sizeChanges() map[string]func(v *sizeVariant) {
	ints := isType(schema.Uint8, schema.Uint16, schema.Uint32)
	dict := func(m func(schema.Column) bool) func(v *sizeVariant) {
		return func(v *sizeVariant) { v.enc = encWith(v.enc, &parquet.RLEDictionary, m) }
	}
	bss := func(m func(schema.Column) bool) func(v *sizeVariant) {
		return func(v *sizeVariant) { v.enc = encWith(v.enc, &parquet.ByteStreamSplit, m) }
	}
	return map[string]func(v *sizeVariant){
		"zstd=best":    func(v *sizeVariant) { v.level = zstd.SpeedBestCompression },
		"zstd=default": func(v *sizeVariant) { v.level = zstd.SpeedDefault },
		"delta=counters": func(v *sizeVariant) {
			v.enc = encWith(v.enc, &parquet.DeltaBinaryPacked, isType(schema.Uint64))
		},
		"dict=small-ints":     dict(ints),
		"dict=addrs":          dict(isType(schema.Addr)),
		"dict=all-ints":       dict(isType(schema.Addr, schema.Uint8, schema.Uint16, schema.Uint32, schema.Uint64)),
		"dict=time_received":  dict(isNamed("time_received")),
		"dict=time_start,end": dict(isNamed("time_start", "time_end")),
		"dict=dst_addr":       dict(isNamed("dst_addr")),
		"bss=time_start,end":  bss(isNamed("time_start", "time_end")),
		"bss=counters":        bss(isType(schema.Uint64)),
		"bss=addrs":           bss(isType(schema.Addr)),
		// Hypothetical: time_end as ms before time_received, time_start as
		// ms before time_end (durations instead of instants).
		"what-if=start,end-as-ms-durations": func(v *sizeVariant) {
			v.addData(rowRewrite(func(c, b *flow.Batch, i int) {
				c.TimeStart[i] = b.TimeEnd[i] - b.TimeStart[i]
				c.TimeEnd[i] = b.TimeReceived[i] - b.TimeEnd[i]
			}))
		},
		// Hypothetical: time_start as ms before time_end (a duration),
		// time_end kept as an instant.
		"what-if=start-as-ms-duration": func(v *sizeVariant) {
			v.addData(rowRewrite(func(c, b *flow.Batch, i int) { c.TimeStart[i] = b.TimeEnd[i] - b.TimeStart[i] }))
		},
		"plain=time_start": func(v *sizeVariant) { v.enc = encWith(v.enc, nil, isNamed("time_start")) },
		"dict=time_start":  func(v *sizeVariant) { v.enc = encWith(v.enc, &parquet.RLEDictionary, isNamed("time_start")) },
		// Hypothetical: one record per connection (a biflow, RFC 5103), as
		// cloud flow logs are: each flow paired with the reverse one it
		// overlaps in time becomes its earlier-starting side with
		// rev_bytes/rev_packets from the other and the later time_end.
		// Bytes per flow stay divided by the unidirectional flows.
		"pairs":           func(v *sizeVariant) { v.pair = true },
		"what-if=biflows": func(v *sizeVariant) { v.addData(func(b *flow.Batch) *flow.Batch { return biflows(b, false) }) },
		// Hypothetical: biflows that keep all of the reverse side, so that
		// it can be restored exactly: its start, end and receive times as
		// ms from the kept side's (zigzag, in vxlan_vni, src_as and dst_as,
		// which flows of this corpus leave zero), its TCP flags in
		// post_nat_src_port and its ToS in nat_event.
		"what-if=biflows-lossless": func(v *sizeVariant) {
			v.addData(func(b *flow.Batch) *flow.Batch { return biflows(b, true) })
		},
		"plain=rev-sides": func(v *sizeVariant) {
			v.enc = encWith(v.enc, nil, isNamed("vxlan_vni", "src_as", "dst_as", "post_nat_src_port", "nat_event"))
		},
		"delta=rev-sides": func(v *sizeVariant) {
			v.enc = encWith(v.enc, &parquet.DeltaBinaryPacked, isNamed("vxlan_vni", "src_as", "dst_as"))
		},
		// Hypothetical: time_received at second resolution.
		"what-if=received-in-s": func(v *sizeVariant) {
			v.addData(rowRewrite(func(c, _ *flow.Batch, i int) {
				c.TimeReceived[i] -= c.TimeReceived[i] % int64(time.Second)
			}))
		},
		// Hypothetical: every flow's bytes, packets and duration scaled by
		// its own factor in [0.5, 1.5), for a corpus whose loops repeat
		// each connection's counters.
		"what-if=jittered-counters": func(v *sizeVariant) {
			rng := rand.New(rand.NewPCG(1, 2))
			v.addData(rowRewrite(func(c, _ *flow.Batch, i int) {
				f := 0.5 + rng.Float64()
				c.Bytes[i] = max(1, uint64(float64(c.Bytes[i])*f))
				c.Packets[i] = max(1, uint64(float64(c.Packets[i])*f))
				c.TimeStart[i] = c.TimeEnd[i] - int64(float64(c.TimeEnd[i]-c.TimeStart[i])*f)
			}))
		},
		"plain=ports":              func(v *sizeVariant) { v.enc = encWith(v.enc, nil, isNamed("src_port", "dst_port")) },
		"plain=time_received":      func(v *sizeVariant) { v.enc = encWith(v.enc, nil, isNamed("time_received")) },
		"rowgroup=16Ki":            func(v *sizeVariant) { v.rg = 16 << 10 },
		"rowgroup=32Ki":            func(v *sizeVariant) { v.rg = 32 << 10 },
		"rowgroup=64Ki":            func(v *sizeVariant) { v.rg = 64 << 10 },
		"lz4=counters":             func(v *sizeVariant) { v.codecs = codecsFor(&lz4.Codec{}, "bytes", "packets") },
		"snappy=counters":          func(v *sizeVariant) { v.codecs = codecsFor(&snappy.Codec{}, "bytes", "packets") },
		"none=counters":            func(v *sizeVariant) { v.codecs = codecsFor(&uncompressed.Codec{}, "bytes", "packets") },
		"dict=counters":            dict(isNamed("bytes", "packets")),
		"delta=bytes":              func(v *sizeVariant) { v.enc = encWith(v.enc, &parquet.DeltaBinaryPacked, isNamed("bytes")) },
		"rowgroup=128Ki":           func(v *sizeVariant) { v.rg = 128 << 10 },
		"rowgroup=256Ki":           func(v *sizeVariant) { v.rg = 256 << 10 },
		"zstd-best=time_start,end": func(v *sizeVariant) { v.best = []string{"time_start", "time_end"} },
		"zstd-best=time_start,end,bytes,dst_addr": func(v *sizeVariant) {
			v.best = []string{"time_start", "time_end", "bytes", "dst_addr"}
		},
		"zstd-best=times":           func(v *sizeVariant) { v.best = []string{"time_start", "time_end", "time_received"} },
		"within=time_start,src,dst": func(v *sizeVariant) { v.within = []string{"time_start", "src_addr", "dst_addr"} },
		"within=time_end,src,dst":   func(v *sizeVariant) { v.within = []string{"time_end", "src_addr", "dst_addr"} },
		"plain=time":                func(v *sizeVariant) { v.enc = encWith(v.enc, nil, isType(schema.Time)) },
		"rowgroup=1Mi":              func(v *sizeVariant) { v.rg = 1 << 20 },
		"page=1MiB":                 func(v *sizeVariant) { v.page = 1 << 20 },
		"within=time,src,dst":       func(v *sizeVariant) { v.within = []string{"time_received", "src_addr", "dst_addr"} },
		"order=time,src,dst":        func(v *sizeVariant) { v.order = []string{"time_received", "src_addr", "dst_addr"} },
		"order=src,dst,dst_port,time": func(v *sizeVariant) {
			v.order = []string{"src_addr", "dst_addr", "dst_port", "time_received"}
		},
		"order=src,dst,proto,dst_port,time": func(v *sizeVariant) {
			v.order = []string{"src_addr", "dst_addr", "proto", "dst_port", "time_received"}
		},
		"order=dst,src,time": func(v *sizeVariant) {
			v.order = []string{"dst_addr", "src_addr", "time_received"}
		},
		"order=dst_port,src,dst,time": func(v *sizeVariant) {
			v.order = []string{"dst_port", "src_addr", "dst_addr", "time_received"}
		},
	}
}

func codecsFor(c compress.Codec, names ...string) map[string]compress.Codec {
	m := map[string]compress.Codec{}
	for _, n := range names {
		m[n] = c
	}
	return m
}

// sizeVariants lists the variants measured: each a '+'-joined set of
// sizeChanges applied to base. FLOWLAKE_SIZE_VARIANTS (';'-separated)
// replaces the list.
func sizeVariants() []string {
	if s := os.Getenv("FLOWLAKE_SIZE_VARIANTS"); s != "" {
		return strings.Split(s, ";")
	}
	final := "within=time_end,src,dst+dict=addrs+page=1MiB+dict=small-ints"
	return []string{
		// One change at a time.
		"zstd=best", "zstd=default", "delta=counters", "plain=time",
		"dict=small-ints", "dict=addrs", "dict=dst_addr", "dict=time_received", "dict=time_start,end",
		"bss=time_start,end", "bss=counters", "bss=addrs",
		"page=1MiB", "rowgroup=1Mi",
		"order=src,dst,dst_port,time", "order=src,dst,proto,dst_port,time", "order=dst_port,src,dst,time",
		"order=time,src,dst", "within=time,src,dst",
		// Cumulative, towards the layout of compact.go.
		"within=time,src,dst+dict=addrs",
		"within=time,src,dst+dict=addrs+page=1MiB+dict=small-ints",
		"within=time,src,dst+dict=addrs+page=1MiB+dict=small-ints+plain=time_received",
		"within=time,src,dst+dict=addrs+page=1MiB+dict=small-ints+plain=time_received+zstd-best=time_start,end",
		"within=time,src,dst+dict=addrs+page=1MiB+dict=small-ints+plain=time_received+zstd=best",
		final,
		"within=time_start,src,dst+dict=addrs+page=1MiB+dict=small-ints+plain=time_received+zstd-best=times",
		final + "+zstd-best=times", final + "+zstd-best=time_start,end", final + "+plain=time_received",
		// What schema changes would be worth.
		"what-if=start,end-as-ms-durations", final + "+what-if=start,end-as-ms-durations",
	}
}

// biflows merges each flow of b with the reverse flow (addresses and ports
// swapped, same protocol) whose time span overlaps its own, for the
// what-if=biflows size variant; unpaired flows stay as they are. lossless
// keeps the reverse side's times, flags and ToS (what-if=biflows-lossless).
func biflows(b *flow.Batch, lossless bool) *flow.Batch {
	type key struct {
		a, z   flow.Addr
		ap, zp uint16
		proto  uint8
	}
	// canon orders a flow's endpoints, fwd tells which way the flow went.
	canon := func(i int) (key, bool) {
		k := key{b.SrcAddr[i], b.DstAddr[i], b.SrcPort[i], b.DstPort[i], b.Proto[i]}
		if c := bytes.Compare(k.a[:], k.z[:]); c > 0 || (c == 0 && k.ap > k.zp) {
			k.a, k.z, k.ap, k.zp = k.z, k.a, k.zp, k.ap
			return k, false
		}
		return k, true
	}
	groups := map[key][]int{}
	for i := range b.Len() {
		k, _ := canon(i)
		groups[k] = append(groups[k], i)
	}
	var keep []int
	revOf := map[int]int{} // kept flow -> its reverse
	for _, g := range groups {
		slices.SortFunc(g, func(i, j int) int { return cmp.Compare(b.TimeStart[i], b.TimeStart[j]) })
		used := make([]bool, len(g))
		for x, i := range g {
			if used[x] {
				continue
			}
			used[x] = true
			keep = append(keep, i)
			_, fi := canon(i)
			for y := x + 1; y < len(g); y++ {
				j := g[y]
				if _, fj := canon(j); used[y] || fj == fi {
					continue
				}
				if b.TimeStart[j] <= b.TimeEnd[i]+int64(time.Second) {
					revOf[i], used[y] = j, true
				}
				break
			}
		}
	}
	slices.Sort(keep) // arrival order
	out := new(flow.Batch)
	out.AppendRows(b, keep)
	for r, i := range keep {
		if j, ok := revOf[i]; ok {
			out.RevBytes[r] = b.Bytes[j]
			out.RevPackets[r] = b.Packets[j]
			if !lossless {
				out.TimeEnd[r] = max(b.TimeEnd[i], b.TimeEnd[j])
				continue
			}
			zigzag := func(d int64) uint32 {
				d /= int64(time.Millisecond)
				return uint32((d << 1) ^ (d >> 63))
			}
			out.VXLANVNI[r] = zigzag(b.TimeStart[j] - b.TimeStart[i])
			out.SrcAS[r] = zigzag(b.TimeEnd[j] - b.TimeEnd[i])
			out.DstAS[r] = zigzag(b.TimeReceived[j] - b.TimeReceived[i])
			out.PostNATSrcPort[r] = b.TCPFlags[j]
			out.NATEvent[r] = b.TOS[j]
		}
	}
	return out
}

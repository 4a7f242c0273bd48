//go:build unix

package enrich

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// Real country databases for the all/* cases, besides the MaxMind test
// database: the repository's copy of iptoasn's (5.2 MB), and the 7.8 MB
// geo-whois-asn-country database of the shared open data when present.
const (
	testdataCountryDB = "../../testdata/geo/iptoasn-country.mmdb"
	sharedCountryDB   = "/work/shared/data/open/geo/extracted/geo-whois-asn-country.mmdb"
)

// benchBatch is the batch size of the benchmarks, benchBatches how many
// different batches a round goes through: enough distinct addresses
// (~25 k uniform) that look-ups do not all stay in cache, as with real
// traffic over large tables.
const (
	benchBatch   = 1024
	benchBatches = 16
)

// benchData is the data set of the enrichment benchmarks: a networks file of
// 100 k prefixes, an inventory of 10 k addresses, exporters, and flows.
type benchData struct {
	netsPath, invPath string
	exporters         []ExporterConfig
	internal          []netip.Prefix
	invAddrs, public  []netip.Addr
}

func newBenchData(b testing.TB) *benchData {
	d := &benchData{}
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))

	var nets strings.Builder
	nets.WriteString("prefix,name,site,subnet\n")
	for i := range 100_000 {
		var p netip.Prefix
		switch i % 10 {
		case 0: // some IPv6
			p = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 48)
		default: // /24s in 10/8 and /26s in 172.16/12
			if i%2 == 0 {
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
			} else {
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16 + byte(i>>14)&15, byte(i >> 6), byte(i&3) << 6}), 26)
			}
		}
		p = p.Masked()
		d.internal = append(d.internal, p)
		fmt.Fprintf(&nets, "%s,net-%d,site-%d,subnet-%d\n", p, i, i%20, i)
	}
	d.netsPath = filepath.Join(dir, "networks.csv")
	writeFile(b, d.netsPath, nets.String())

	var inv strings.Builder
	inv.WriteString("addr,name,host\n")
	for i := range 10_000 {
		p := d.internal[rng.IntN(len(d.internal))]
		a := p.Addr().Next()
		d.invAddrs = append(d.invAddrs, a)
		fmt.Fprintf(&inv, "%s,vm-%d,esx-%d\n", a, i, i%50)
	}
	d.invPath = filepath.Join(dir, "inventory.csv")
	writeFile(b, d.invPath, inv.String())

	// Public addresses the databases know (MaxMind test data) and random ones.
	d.public = []netip.Addr{netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("2.125.160.216"), netip.MustParseAddr("1.128.0.1")}
	for range 1000 {
		d.public = append(d.public, netip.AddrFrom4([4]byte{byte(1 + rng.IntN(200)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
	}
	d.exporters = []ExporterConfig{{Addr: "192.0.2.1", Name: "fw1", Interfaces: map[uint32]string{3: "outside"}}, {Addr: "192.0.2.2", Name: "fw2"}}
	return d
}

// flows returns benchBatches batches of flows between the hosts of d: a
// third from inventory addresses, half to public addresses, the rest
// between internal networks. dist picks hosts: "uniform" gives every host
// the same chance (the worst case for caches), "zipf" gives them Zipf
// popularity as bench/cmd/gen does (clients s=1.05 v=20, servers s=1.15
// v=2), as in real traffic where a few servers and clients carry most
// flows.
func (d *benchData) flows(dist string) []flow.Batch {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(n int, s, v float64) func() int {
		if dist == "uniform" {
			return func() int { return rng.IntN(n) }
		}
		// Popularity must not follow the order of the lists (prefixes
		// in address order), so rank through a permutation.
		perm := rng.Perm(n)
		z := rand.NewZipf(rng, s, v, uint64(n-1))
		return func() int { return perm[z.Uint64()] }
	}
	pickInv := pick(len(d.invAddrs), 1.05, 20)
	pickCli := pick(len(d.internal), 1.05, 20)
	pickSrv := pick(len(d.internal), 1.15, 2)
	pickPub := pick(len(d.public), 1.15, 2)
	now := time.Now()
	out := make([]flow.Batch, benchBatches)
	for bi := range out {
		for i := range benchBatch {
			var src, dst netip.Addr
			if i%3 == 0 {
				src = d.invAddrs[pickInv()]
			} else {
				src = d.internal[pickCli()].Addr().Next()
			}
			if i%2 == 0 {
				dst = d.public[pickPub()]
			} else {
				dst = d.internal[pickSrv()].Addr().Next()
			}
			r := flowOf(src.String(), dst.String(), 6, uint16(32768+rng.IntN(20000)), []uint16{443, 80, 22, 53, 8443}[i%5], now)
			// Flows come in runs of 32 per exporter, as they arrive
			// packet by packet.
			r.ExporterAddr = flow.AddrFromNetip(netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + (i/32)%4)}))
			r.InIf, r.OutIf = uint32(1+rng.IntN(48)), uint32(1+rng.IntN(48))
			out[bi].Append(r)
		}
	}
	return out
}

// newBenchEnricher starts an enricher for cfg with the interface names the
// exporters of the benchmark flows would send.
func newBenchEnricher(b testing.TB, cfg Config) *Enricher {
	e, err := New(cfg, Dependencies{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	var ifs []flow.Interface
	for x := 1; x <= 4; x++ {
		for idx := uint32(1); idx <= 48; idx++ {
			ifs = append(ifs, flow.Interface{ExporterAddr: flow.AddrFromNetip(netip.AddrFrom4([4]byte{192, 0, 2, byte(x)})), Index: idx, Name: fmt.Sprintf("ge-0/0/%d", idx)})
		}
	}
	e.LearnInterfaces(ifs)
	return e
}

// benchEnrich measures enrich over the batches, reporting wall and CPU
// time per flow.
//
// At ingest a batch is enriched right after it is decoded, with its columns
// in cache; the look-up tables are what is cold. So every round works on
// one batch whose address columns are copied in from the next of the
// batches, as a decoder would write them: the columns stay warm and the
// addresses looked up change (the copy is measured too: an upper bound).
func benchEnrich(b *testing.B, batches []flow.Batch, enrich func(*flow.Batch)) {
	var work flow.Batch
	work.AppendBatch(&batches[0])
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		next := &batches[i%len(batches)]
		copy(work.SrcAddr, next.SrcAddr)
		copy(work.DstAddr, next.DstAddr)
		// Start each round from unenriched columns, as at ingest.
		clearEnrichment(&work)
		if enrich != nil {
			enrich(&work)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/flow")
	// The machine is shared: wall time includes time other processes held
	// the CPU. Process CPU time (user+sys, all threads, so GC included) is
	// the figure that does not.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*benchBatch), "cpu-ns/flow")
}

// benchCountryDBs are the country databases of the all/* cases that are
// present, by case name.
func benchCountryDBs() map[string]string {
	dbs := map[string]string{"test-mmdb": filepath.Join(mmdbDir, "GeoLite2-Country-Test.mmdb")}
	for name, p := range map[string]string{"testdata-country-db": testdataCountryDB, "shared-country-db": sharedCountryDB} {
		if _, err := os.Stat(p); err == nil {
			dbs[name] = p
		}
	}
	return dbs
}

// benchDBNames orders the all/* cases.
var benchDBNames = []string{"test-mmdb", "testdata-country-db", "shared-country-db"}

// BenchmarkEnrich enriches batches of 1024 flows with every source enabled:
// GeoIP country and ASN, a networks file of 100 k prefixes (generated here),
// an inventory of 10 k addresses, named exporters and interfaces. Host
// popularity is uniform (every look-up a likely cache miss) or Zipf (real
// traffic); the target (at most 150 ns per flow) is about all/*.
func BenchmarkEnrich(b *testing.B) {
	d := newBenchData(b)
	asnDB := filepath.Join(mmdbDir, "GeoLite2-ASN-Test.mmdb")
	type benchCase struct {
		name string
		cfg  Config
	}
	// all/* are the figures the target is about; the others, measured in
	// the same run, split the cost: the column reset alone (baseline), no
	// file source (classification, service, interfaces), one source each.
	cases := []benchCase{
		{"baseline-reset-only", Config{}},
		{"no-file-sources", Config{Exporters: d.exporters}},
		{"networks-only", Config{Networks: d.netsPath}},
		{"geo-only", Config{GeoIP: GeoIPConfig{Country: filepath.Join(mmdbDir, "GeoLite2-Country-Test.mmdb"), ASN: asnDB}}},
		{"inventory-only", Config{Inventory: d.invPath}},
	}
	dbs := benchCountryDBs()
	for _, name := range benchDBNames {
		if countryDB, ok := dbs[name]; ok {
			cases = append(cases, benchCase{"all/" + name, Config{
				GeoIP:     GeoIPConfig{Country: countryDB, ASN: asnDB},
				Networks:  d.netsPath,
				Inventory: d.invPath,
				Exporters: d.exporters,
			}})
		}
	}
	// uniform-1batch is the workload of the first version of this
	// benchmark (one batch of uniform hosts enriched over and over, so
	// its ~2 k addresses stay in cache): kept for comparison with the
	// figures measured then.
	for _, dist := range []string{"uniform", "zipf", "uniform-1batch"} {
		var batches []flow.Batch
		if dist == "uniform-1batch" {
			batches = d.flows("uniform")[:1]
		} else {
			batches = d.flows(dist)
		}
		for _, bc := range cases {
			if dist != "uniform" && !strings.HasPrefix(bc.name, "all/") {
				continue // the split is the same story
			}
			b.Run(dist+"/"+bc.name, func(b *testing.B) {
				e := newBenchEnricher(b, bc.cfg)
				defer e.Stop()
				enrich := e.Enrich
				if bc.name == "baseline-reset-only" {
					enrich = nil
				}
				benchEnrich(b, batches, enrich)
			})
		}
	}
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clearEnrichment zeroes the columns Enrich fills, so every round does the
// full work (Enrich keeps values already present).
func clearEnrichment(b *flow.Batch) {
	for _, col := range [][]string{b.SrcCountry, b.DstCountry, b.SrcASName, b.DstASName, b.SrcNet, b.DstNet, b.SrcSite, b.DstSite,
		b.SrcSubnet, b.DstSubnet, b.SrcVM, b.DstVM, b.SrcHost, b.DstHost, b.ExporterName, b.InIfName, b.OutIfName, b.Service} {
		clear(col)
	}
	clear(b.SrcAS)
	clear(b.DstAS)
	clear(b.FlowType)
}

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

// sharedCountryDB is the 7.8 MB country-only database of the shared open
// data; the benchmark uses it when present, the MaxMind test databases always.
const sharedCountryDB = "/work/shared/data/open/geo/extracted/geo-whois-asn-country.mmdb"

// BenchmarkEnrich enriches batches of 1024 flows with every source enabled:
// GeoIP country and ASN, a networks file of 100 k prefixes (generated here),
// an inventory of 10 k addresses, named exporters and interfaces.
func BenchmarkEnrich(b *testing.B) {
	dbs := map[string]string{"test-mmdb": filepath.Join(mmdbDir, "GeoLite2-Country-Test.mmdb")}
	if _, err := os.Stat(sharedCountryDB); err == nil {
		dbs["shared-country-db"] = sharedCountryDB
	}
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))

	var nets strings.Builder
	nets.WriteString("prefix,name,site,subnet\n")
	var internal []netip.Prefix
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
		internal = append(internal, p)
		fmt.Fprintf(&nets, "%s,net-%d,site-%d,subnet-%d\n", p, i, i%20, i)
	}
	netsPath := filepath.Join(dir, "networks.csv")
	writeFile(b, netsPath, nets.String())

	var inv strings.Builder
	inv.WriteString("addr,name,host\n")
	var invAddrs []netip.Addr
	for i := range 10_000 {
		p := internal[rng.IntN(len(internal))]
		a := p.Addr().Next()
		invAddrs = append(invAddrs, a)
		fmt.Fprintf(&inv, "%s,vm-%d,esx-%d\n", a, i, i%50)
	}
	invPath := filepath.Join(dir, "inventory.csv")
	writeFile(b, invPath, inv.String())

	// Public addresses the databases know (MaxMind test data) and random ones.
	public := []netip.Addr{netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("2.125.160.216"), netip.MustParseAddr("1.128.0.1")}
	for range 1000 {
		public = append(public, netip.AddrFrom4([4]byte{byte(1 + rng.IntN(200)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
	}

	const batch = 1024
	var flows flow.Batch
	now := time.Now()
	// Flows come in runs of 32 per exporter, as they arrive packet by packet.
	for i := range batch {
		var src, dst netip.Addr
		if i%3 == 0 {
			src = invAddrs[rng.IntN(len(invAddrs))]
		} else {
			p := internal[rng.IntN(len(internal))]
			src = p.Addr().Next()
		}
		if i%2 == 0 {
			dst = public[rng.IntN(len(public))]
		} else {
			dst = internal[rng.IntN(len(internal))].Addr().Next()
		}
		r := flowOf(src.String(), dst.String(), 6, uint16(32768+rng.IntN(20000)), []uint16{443, 80, 22, 53, 8443}[i%5], now)
		r.ExporterAddr = flow.AddrFromNetip(netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + (i/32)%4)}))
		r.InIf, r.OutIf = uint32(1+rng.IntN(48)), uint32(1+rng.IntN(48))
		flows.Append(r)
	}
	exporters := []ExporterConfig{{Addr: "192.0.2.1", Name: "fw1", Interfaces: map[uint32]string{3: "outside"}}, {Addr: "192.0.2.2", Name: "fw2"}}
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
		{"no-file-sources", Config{Exporters: exporters}},
		{"networks-only", Config{Networks: netsPath}},
		{"geo-only", Config{GeoIP: GeoIPConfig{Country: dbs["test-mmdb"], ASN: asnDB}}},
		{"inventory-only", Config{Inventory: invPath}},
	}
	for name, countryDB := range dbs {
		cases = append(cases, benchCase{"all/" + name, Config{
			GeoIP:     GeoIPConfig{Country: countryDB, ASN: asnDB},
			Networks:  netsPath,
			Inventory: invPath,
			Exporters: exporters,
		}})
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			cfg := bc.cfg
			cfg.Logger = quiet
			e, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			var ifs []flow.Interface
			for x := 1; x <= 4; x++ {
				for idx := uint32(1); idx <= 48; idx++ {
					ifs = append(ifs, flow.Interface{ExporterAddr: flow.AddrFromNetip(netip.AddrFrom4([4]byte{192, 0, 2, byte(x)})), Index: idx, Name: fmt.Sprintf("ge-0/0/%d", idx)})
				}
			}
			e.LearnInterfaces(ifs)
			work := flows
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				// Start each round from unenriched columns, as at ingest
				// (the copy is part of the measured time: an upper bound).
				clearEnrichment(&work)
				if bc.name != "baseline-reset-only" {
					e.Enrich(&work)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/flow")
			// The machine is shared: wall time includes time other
			// processes held the CPU. Process CPU time (user+sys, all
			// threads, so GC included) is the figure that does not.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*batch), "cpu-ns/flow")
		})
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

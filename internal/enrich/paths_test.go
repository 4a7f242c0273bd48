//go:build unix

package enrich

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/flowlake/flowlake/internal/enrich/classify"
	"github.com/flowlake/flowlake/internal/enrich/geo"
	"github.com/flowlake/flowlake/internal/enrich/inventory"
	"github.com/flowlake/flowlake/internal/enrich/networks"
	"github.com/flowlake/flowlake/internal/enrich/services"
	"github.com/flowlake/flowlake/internal/flow"
)

// enrichPerFlow is Enrich as it was first written: one loop over the flows,
// every look-up of a flow done in side before the next flow. Enrich must
// give the same columns; the benchmarks measure it as a baseline.
func (e *Enricher) enrichPerFlow(b *flow.Batch) {
	n := b.Len()
	country, asn, nets := e.country.Load(), e.asn.Load(), e.nets.Load()
	inv := e.inv.Snapshot()
	ifs := e.ifs.snapshot()
	var lastExp flow.Addr
	lastX := ifs.exporter(lastExp)
	for i := range n {
		exp := b.ExporterAddr[i]
		if exp != lastExp {
			lastExp, lastX = exp, ifs.exporter(exp)
		}
		if b.ExporterName[i] == "" {
			b.ExporterName[i] = lastX.name
		}
		if b.InIfName[i] == "" && b.InIf[i] != 0 {
			b.InIfName[i] = ifs.ifName(lastX, exp, b.InIf[i])
		}
		if b.OutIfName[i] == "" && b.OutIf[i] != 0 {
			b.OutIfName[i] = ifs.ifName(lastX, exp, b.OutIf[i])
		}
		t := b.TimeStart[i]
		if t == 0 {
			t = b.TimeReceived[i]
		}
		src := e.side(b.SrcAddr[i], t, country, asn, nets, inv,
			&b.SrcCountry[i], &b.SrcAS[i], &b.SrcASName[i], &b.SrcNet[i], &b.SrcSite[i], &b.SrcSubnet[i], &b.SrcVM[i], &b.SrcHost[i])
		dst := e.side(b.DstAddr[i], t, country, asn, nets, inv,
			&b.DstCountry[i], &b.DstAS[i], &b.DstASName[i], &b.DstNet[i], &b.DstSite[i], &b.DstSubnet[i], &b.DstVM[i], &b.DstHost[i])
		if b.FlowType[i] == flow.FlowTypeUnknown {
			b.FlowType[i] = classify.FlowType(src, dst)
		}
		if b.Service[i] == "" {
			b.Service[i] = services.Of(b.Proto[i], b.SrcPort[i], b.DstPort[i])
		}
	}
}

// side enriches one address of a flow and returns how classification sees
// it: search and fill in one step, for enrichPerFlow.
func (e *Enricher) side(a flow.Addr, t int64, country, asn *geo.DB, nets *networks.Table, inv inventory.Snapshot,
	ctry *string, as *uint32, asName, net, site, subnet, vm, host *string) classify.End {
	if !is4(&a) {
		return e.side6(a, t, country, asn, nets, inv, ctry, as, asName, net, site, subnet, vm, host)
	}
	// IPv4, the common case: every look-up takes the 4 bytes as they are.
	a4 := [4]byte(a[12:])
	end := classify.End{Class: classify.Class4(a4)}
	if end.Class == classify.Public {
		if country != nil {
			if g := country.Lookup4(a4); g != nil && g.Country != "" {
				*ctry = g.Country
			}
		}
		if asn != nil {
			if *as == 0 {
				if g := asn.Lookup4(a4); g != nil {
					*as, *asName = g.ASN, g.ASName
				}
			} else {
				*asName = asn.ASName(*as)
			}
		}
	}
	if nw := nets.Lookup4(a4); nw != nil {
		end.Known, end.Site = true, nw.Site
		*net, *site = nw.Name, nw.Site
		if *subnet == "" {
			*subnet = nw.Subnet
		}
	}
	if *vm == "" && inv.Len() > 0 {
		if v := inv.Lookup4(a4, t); v != nil {
			*vm, *host = v.Name, v.Host
		}
	}
	return end
}

// side6 is side for IPv6 (and absent) addresses.
func (e *Enricher) side6(a flow.Addr, t int64, country, asn *geo.DB, nets *networks.Table, inv inventory.Snapshot,
	ctry *string, as *uint32, asName, net, site, subnet, vm, host *string) classify.End {
	if a.IsZero() {
		return classify.End{}
	}
	ip := a.Netip()
	end := classify.End{Class: classify.FlowAddrClass(a)}
	if end.Class == classify.Public {
		if country != nil {
			if g := country.Lookup(ip); g != nil && g.Country != "" {
				*ctry = g.Country
			}
		}
		if asn != nil {
			if *as == 0 {
				if g := asn.Lookup(ip); g != nil {
					*as, *asName = g.ASN, g.ASName
				}
			} else {
				*asName = asn.ASName(*as)
			}
		}
	}
	if nw := nets.Lookup(ip); nw != nil {
		end.Known, end.Site = true, nw.Site
		*net, *site = nw.Name, nw.Site
		if *subnet == "" {
			*subnet = nw.Subnet
		}
	}
	if *vm == "" && inv.Len() > 0 {
		if v := inv.Lookup(a, t); v != nil {
			*vm, *host = v.Name, v.Host
		}
	}
	return end
}

// TestEnrichPathsAgree enriches the benchmark flows (100 k networks, 10 k
// inventory addresses, GeoIP, IPv4 and IPv6, uniform and Zipf hosts) two
// ways, batch after batch: per flow through side (the first
// implementation, with the same look-up tables) and a column at a time
// (Enrich), also with columns an input already filled. Both must give the
// same batch.
func TestEnrichPathsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the 100 k networks of the benchmark")
	}
	d := newBenchData(t)
	cfg := Config{
		GeoIP:     GeoIPConfig{Country: filepath.Join(mmdbDir, "GeoLite2-Country-Test.mmdb"), ASN: filepath.Join(mmdbDir, "GeoLite2-ASN-Test.mmdb")},
		Networks:  d.netsPath,
		Inventory: d.invPath,
		Exporters: d.exporters,
	}
	e := newBenchEnricher(t, cfg)
	defer e.Stop()
	for _, dist := range []string{"uniform", "zipf"} {
		batches := d.flows(dist)
		for bi := range batches {
			in := &batches[bi]
			clearEnrichment(in)
			switch bi % 4 {
			case 1:
				// Columns filled by the input are kept: a cloud log's VM
				// name, an exporter's AS number.
				for i := range in.Len() {
					if i%5 == 0 {
						in.SrcVM[i] = "from-input"
						in.DstAS[i] = 64500
					}
				}
			case 2:
				// Any column an input may have filled, alone, on either
				// end, with sources finding or not finding the address.
				for i := range in.Len() {
					switch i % 9 {
					case 0:
						in.SrcHost[i], in.DstHost[i] = "in-host", "in-host"
					case 1:
						in.SrcASName[i], in.DstASName[i] = "in-as", "in-as"
					case 2:
						in.SrcCountry[i], in.DstCountry[i] = "ZZ", "ZZ"
					case 3:
						in.SrcNet[i], in.DstNet[i] = "in-net", "in-net"
					case 4:
						in.SrcSite[i], in.DstSite[i] = "in-site", "in-site"
					case 5:
						in.SrcSubnet[i], in.DstSubnet[i] = "in-subnet", "in-subnet"
					case 6:
						in.SrcAS[i], in.DstAS[i] = 64501, 64501
					case 7:
						in.FlowType[i], in.Service[i] = flow.FlowTypeInternet, "in-svc"
					case 8:
						in.ExporterName[i], in.InIfName[i], in.OutIfName[i] = "in-exp", "in-if", "in-if"
					}
				}
			}
			var want, got flow.Batch
			want.AppendBatch(in)
			got.AppendBatch(in)
			e.enrichPerFlow(&want)
			e.Enrich(&got)
			for i := range want.Len() {
				var w, g flow.Record
				want.Row(i, &w)
				got.Row(i, &g)
				if !reflect.DeepEqual(w, g) {
					t.Fatalf("%s batch %d flow %d:\n got %+v\nwant %+v", dist, bi, i, g, w)
				}
			}
		}
	}
	// The look-ups found something: the comparison is not between empty
	// columns.
	var b flow.Batch
	b.AppendBatch(&d.flows("zipf")[0])
	clearEnrichment(&b)
	e.Enrich(&b)
	var nets, vms, countries, ases int
	for i := range b.Len() {
		if b.SrcNet[i] != "" {
			nets++
		}
		if b.SrcVM[i] != "" {
			vms++
		}
		if b.DstCountry[i] != "" {
			countries++
		}
		if b.DstAS[i] != 0 {
			ases++
		}
	}
	if nets == 0 || vms == 0 || countries == 0 || ases == 0 {
		t.Errorf("enrichment found too little: %d nets, %d VMs, %d countries, %d AS", nets, vms, countries, ases)
	}
}

// BenchmarkEnrichPaths measures, in the same run, the loop of the first
// implementation (per flow) and Enrich (a column at a time), both on the
// current look-up tables, with every source enabled.
func BenchmarkEnrichPaths(b *testing.B) {
	d := newBenchData(b)
	asnDB := filepath.Join(mmdbDir, "GeoLite2-ASN-Test.mmdb")
	dbs := benchCountryDBs()
	for _, dist := range []string{"uniform", "zipf"} {
		batches := d.flows(dist)
		for _, db := range benchDBNames {
			countryDB, ok := dbs[db]
			if !ok {
				continue
			}
			cfg := Config{GeoIP: GeoIPConfig{Country: countryDB, ASN: asnDB}, Networks: d.netsPath, Inventory: d.invPath, Exporters: d.exporters}
			e := newBenchEnricher(b, cfg)
			for _, path := range []string{"per-flow", "per-column"} {
				b.Run(dist+"/"+db+"/"+path, func(b *testing.B) {
					enrich := e.Enrich
					if path == "per-flow" {
						enrich = e.enrichPerFlow
					}
					benchEnrich(b, batches, enrich)
				})
			}
			e.Stop()
		}
	}
}

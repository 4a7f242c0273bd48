package enrich

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/atomicfile"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

const mmdbDir = "../../testdata/geo/test-mmdb"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	// Write then rename, as config management does, so a reader never sees
	// half a file.
	if err := atomicfile.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const netsYAML = `networks:
  - prefix: 10.0.0.0/8
    name: corp
    site: paris
  - prefix: 10.1.0.0/16
    name: dc-lyon
    site: lyon
    subnet: app
  - prefix: 2001:db8::/32
    name: corp6
    site: paris
`

func flowOf(src, dst string, proto uint8, sport, dport uint16, t time.Time) *flow.Record {
	return &flow.Record{
		TimeReceived: t.UnixNano(), TimeStart: t.UnixNano(),
		ExporterAddr: flow.MustParseAddr("192.0.2.1"), InIf: 3, OutIf: 7,
		SrcAddr: flow.MustParseAddr(src), DstAddr: flow.MustParseAddr(dst),
		Proto: proto, SrcPort: sport, DstPort: dport,
	}
}

func ftype(name string) uint8 { return flow.EnumValue(schema.FlowTypes, name) }

func TestEnrichAllFileSources(t *testing.T) {
	dir := t.TempDir()
	nets := filepath.Join(dir, "networks.yaml")
	writeFile(t, nets, netsYAML)
	inv := filepath.Join(dir, "inventory.csv")
	writeFile(t, inv, "addr,name,host\n10.1.0.5,web-1,esx-a\n")
	e, err := New(Config{
		GeoIP:     GeoIPConfig{Country: filepath.Join(mmdbDir, "GeoLite2-Country-Test.mmdb"), ASN: filepath.Join(mmdbDir, "GeoLite2-ASN-Test.mmdb")},
		Networks:  nets,
		Inventory: inv,
		Exporters: []ExporterConfig{{Addr: "192.0.2.1", Name: "edge-fw", Interfaces: map[uint32]string{3: "outside"}}},
	}, Dependencies{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	e.LearnInterfaces([]flow.Interface{
		{ExporterAddr: flow.MustParseAddr("192.0.2.1"), Index: 3, Name: "ge-0/0/3"}, // config wins
		{ExporterAddr: flow.MustParseAddr("192.0.2.1"), Index: 7, Name: "ge-0/0/7"},
	})
	now := time.Now()
	var b flow.Batch
	b.Append(flowOf("10.1.0.5", "81.2.69.142", 6, 51000, 443, now)) // to-internet
	b.Append(flowOf("1.128.0.1", "10.2.0.9", 17, 53, 40000, now))   // from-internet
	b.Append(flowOf("10.1.0.5", "10.2.0.9", 6, 40000, 22, now))     // inter-site
	b.Append(flowOf("10.2.0.1", "2001:db8::1", 6, 40000, 22, now))  // intra-network
	b.Append(flowOf("172.16.0.1", "10.2.0.9", 6, 40000, 80, now))   // unknown-private
	b.Append(flowOf("1.128.0.1", "81.2.69.142", 6, 40000, 80, now)) // internet
	b.Append(flowOf("10.1.0.5", "81.2.69.142", 6, 51000, 443, now))
	b.SrcAS[6] = 64500 // exporter-provided AS is kept
	b.DstAS[6] = 1221  // and named from the ASN database
	e.Enrich(&b)

	var r flow.Record
	b.Row(0, &r)
	if r.SrcNet != "dc-lyon" || r.SrcSite != "lyon" || r.SrcSubnet != "app" || r.SrcVM != "web-1" || r.SrcHost != "esx-a" ||
		r.DstCountry != "GB" || r.SrcCountry != "" || r.FlowType != ftype("to-internet") || r.Service != "https" ||
		r.ExporterName != "edge-fw" || r.InIfName != "outside" || r.OutIfName != "ge-0/0/7" {
		t.Errorf("flow 0: %+v", r)
	}
	b.Row(1, &r)
	if r.SrcAS != 1221 || r.SrcASName != "Telstra Pty Ltd" || r.DstNet != "corp" || r.FlowType != ftype("from-internet") || r.Service != "domain" {
		t.Errorf("flow 1: %+v", r)
	}
	for i, want := range []string{"to-internet", "from-internet", "inter-site", "intra-network", "unknown-private", "internet"} {
		if got := b.FlowType[i]; got != ftype(want) {
			t.Errorf("flow %d: flow_type %s, want %s", i, schema.FlowTypes[got], want)
		}
	}
	if b.DstNet[3] != "corp6" {
		t.Errorf("IPv6 network: %q", b.DstNet[3])
	}
	if b.SrcAS[6] != 64500 || b.SrcASName[6] != "" || b.DstASName[6] != "Telstra Pty Ltd" {
		t.Errorf("exporter AS: %d %q %q", b.SrcAS[6], b.SrcASName[6], b.DstASName[6])
	}

	tabs := e.Tables()
	if len(tabs.Networks) != 3 || tabs.Networks[1].Prefix != "10.1.0.0/16" || tabs.Networks[1].Subnet != "app" {
		t.Errorf("networks table %+v", tabs.Networks)
	}
	if len(tabs.Inventory) != 1 || tabs.Inventory[0].Addr != "10.1.0.5" || tabs.Inventory[0].Name != "web-1" || tabs.Inventory[0].ValidTo != 0 {
		t.Errorf("inventory table %+v", tabs.Inventory)
	}
	if len(tabs.Interfaces) != 2 || tabs.Interfaces[0].Name != "outside" || tabs.Interfaces[0].ExporterName != "edge-fw" || tabs.Interfaces[1].Source != "exporter" {
		t.Errorf("interfaces table %+v", tabs.Interfaces)
	}
}

// TestEnrichDoesNotAllocate checks the per-flow path reuses interned strings.
func TestEnrichDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	nets := filepath.Join(dir, "networks.csv")
	writeFile(t, nets, "prefix,name,site\n10.0.0.0/8,corp,paris\n")
	e, err := New(Config{
		GeoIP:    GeoIPConfig{Country: filepath.Join(mmdbDir, "GeoLite2-Country-Test.mmdb"), ASN: filepath.Join(mmdbDir, "GeoLite2-ASN-Test.mmdb")},
		Networks: nets,
	}, Dependencies{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	var b flow.Batch
	for range 64 {
		b.Append(flowOf("10.1.0.5", "81.2.69.142", 6, 51000, 443, time.Now()))
	}
	allocs := testing.AllocsPerRun(20, func() { e.Enrich(&b) })
	if allocs > 0 {
		t.Errorf("Enrich allocates %.1f times per batch of 64", allocs)
	}
}

// TestReloadWhileEnriching rewrites the networks and inventory files while
// several goroutines enrich: every flow gets the old or the new values,
// never nothing, and the new values arrive.
func TestReloadWhileEnriching(t *testing.T) {
	dir := t.TempDir()
	nets := filepath.Join(dir, "networks.csv")
	inv := filepath.Join(dir, "inventory.json")
	writeFile(t, nets, "prefix,name,site\n10.0.0.0/8,net-v0,site-v0\n")
	writeFile(t, inv, `[{"addr":"10.0.0.5","name":"vm-v0"}]`)
	e, err := New(Config{Networks: nets, Inventory: inv, ReloadInterval: 5 * time.Millisecond}, Dependencies{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()

	const versions = 5
	var stop atomic.Bool
	var wg sync.WaitGroup
	var seen sync.Map // net name -> true
	var flows, bad atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			var b flow.Batch
			for !stop.Load() {
				b.Truncate(0)
				for range 100 {
					b.Append(flowOf("10.0.0.5", "8.8.8.8", 6, 40000, 443, time.Now()))
				}
				e.Enrich(&b)
				for i := range b.Len() {
					flows.Add(1)
					n, vm := b.SrcNet[i], b.SrcVM[i]
					if !strings.HasPrefix(n, "net-v") || !strings.HasPrefix(vm, "vm-v") || b.SrcSite[i] != "site-v"+n[len("net-v"):] {
						bad.Add(1)
						if bad.Load() < 5 {
							t.Errorf("worker %d: flow with net %q site %q vm %q", w, n, b.SrcSite[i], vm)
						}
					}
					seen.Store(n, true)
					seen.Store(vm, true)
				}
			}
		})
	}
	for v := 1; v < versions; v++ {
		// Keep the size changing too so the change is seen even when the
		// file system's mtime granularity is coarse.
		writeFile(t, nets, fmt.Sprintf("prefix,name,site\n10.0.0.0/8,net-v%d,site-v%d\n%s", v, v, strings.Repeat("# pad\n", v)))
		writeFile(t, inv, fmt.Sprintf(`[{"addr":"10.0.0.5","name":"vm-v%d"}]%s`, v, strings.Repeat(" ", v)))
		want := fmt.Sprintf("net-v%d", v)
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, okNet := seen.Load(want)
			_, okVM := seen.Load(fmt.Sprintf("vm-v%d", v))
			if okNet && okVM {
				break
			}
			if time.Now().After(deadline) {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("reload to %s never seen", want)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 || flows.Load() == 0 {
		t.Fatalf("%d of %d flows lost their enrichment", bad.Load(), flows.Load())
	}
	// The inventory history kept every name the address had.
	names := map[string]bool{}
	for _, r := range e.Tables().Inventory {
		names[r.Name] = true
	}
	if len(names) != versions {
		t.Errorf("inventory history has %v, want %d names", names, versions)
	}
}

func TestBadInputKeepsPreviousVersion(t *testing.T) {
	dir := t.TempDir()
	nets := filepath.Join(dir, "networks.yaml")
	writeFile(t, nets, netsYAML)
	country := filepath.Join(dir, "country.mmdb")
	good, err := os.ReadFile(filepath.Join(mmdbDir, "GeoLite2-Country-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, country, string(good))
	e, err := New(Config{GeoIP: GeoIPConfig{Country: country}, Networks: nets}, Dependencies{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()

	writeFile(t, nets, netsYAML+"  - prefix: 10.300.0.0/16\n    name: broken\n")
	writeFile(t, country, "this is not a MaxMind database")
	err = e.Reload()
	if err == nil {
		t.Fatal("reload of broken files reported no error")
	}
	if !strings.Contains(err.Error(), nets+":12:") || !strings.Contains(err.Error(), country) {
		t.Errorf("error %q does not name the networks file and line 12 and the database", err)
	}
	var b flow.Batch
	b.Append(flowOf("10.1.0.5", "81.2.69.142", 6, 51000, 443, time.Now()))
	e.Enrich(&b)
	if b.SrcNet[0] != "dc-lyon" || b.DstCountry[0] != "GB" {
		t.Errorf("previous versions not kept: net %q country %q", b.SrcNet[0], b.DstCountry[0])
	}
	// A missing file is reported too, and the old version is still used.
	if err := os.Remove(nets); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(); err == nil || !strings.Contains(err.Error(), nets) {
		t.Errorf("missing file: %v", err)
	}
	// Fixing the file brings reloads back.
	writeFile(t, nets, "networks:\n  - prefix: 10.0.0.0/8\n    name: fixed\n")
	writeFile(t, country, string(good))
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	b.Truncate(0)
	b.Append(flowOf("10.1.0.5", "81.2.69.142", 6, 51000, 443, time.Now()))
	e.Enrich(&b)
	if b.SrcNet[0] != "fixed" {
		t.Errorf("fixed file not loaded: %q", b.SrcNet[0])
	}

	// At start there is no previous version: New refuses, naming the file.
	writeFile(t, nets, "prefix,name\nnope,x\n")
	csvNets := filepath.Join(dir, "n.csv")
	writeFile(t, csvNets, "prefix,name\n10.0.0.0/8,a\nnope,x\n")
	if _, err := New(Config{Networks: csvNets}, Dependencies{Logger: quiet}); err == nil || !strings.Contains(err.Error(), csvNets+":3:") {
		t.Errorf("New with a bad file: %v", err)
	}
}

func TestGeoHotReload(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "geo.mmdb")
	asn, _ := os.ReadFile(filepath.Join(mmdbDir, "GeoLite2-ASN-Test.mmdb"))
	cty, _ := os.ReadFile(filepath.Join(mmdbDir, "GeoLite2-City-Test.mmdb"))
	writeFile(t, db, string(asn))
	e, err := New(Config{GeoIP: GeoIPConfig{Country: db, ASN: db}}, Dependencies{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	var b flow.Batch
	b.Append(flowOf("1.128.0.1", "2.125.160.216", 6, 51000, 443, time.Now()))
	e.Enrich(&b)
	if b.SrcASName[0] != "Telstra Pty Ltd" || b.DstCountry[0] != "" {
		t.Fatalf("before: %q %q", b.SrcASName[0], b.DstCountry[0])
	}
	writeFile(t, db, string(cty))
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	b.Truncate(0)
	b.Append(flowOf("1.128.0.1", "2.125.160.216", 6, 51000, 443, time.Now()))
	e.Enrich(&b)
	if b.DstCountry[0] != "GB" || b.SrcASName[0] != "" {
		t.Errorf("after: %q %q", b.SrcASName[0], b.DstCountry[0])
	}
}

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SNMP.Version = "1"
	cfg.Exporters = []ExporterConfig{{Addr: "edge-fw"}}
	err := cfg.Validate()
	for _, want := range []string{`snmp.version: "1"`, `exporters[0].addr: "edge-fw"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// TestPublisher: the tables are on disk once Start returns, and Stop
// writes what enrichment learnt meanwhile.
func TestPublisher(t *testing.T) {
	dir := t.TempDir()
	nets := filepath.Join(dir, "networks.csv")
	writeFile(t, nets, "prefix,name,site\n10.0.0.0/8,corp,paris\n")
	e, err := New(Config{Networks: nets}, Dependencies{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tables")
	p := NewPublisher(e, out, quiet)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "networks.csv"))
	if err != nil || !strings.Contains(string(data), "10.0.0.0/8,corp,paris") {
		t.Fatalf("networks.csv after Start: %q, %v", data, err)
	}
	e.LearnInterfaces([]flow.Interface{{ExporterAddr: flow.MustParseAddr("192.0.2.1"), Index: 7, Name: "ge-0/0/7"}})
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(out, "interfaces.csv"))
	if !strings.Contains(string(data), "192.0.2.1,,7,ge-0/0/7") {
		t.Errorf("interfaces.csv after Stop: %q", data)
	}
}

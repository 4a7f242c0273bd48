// Package enrich fills the enrichment columns of flows at ingest: country and
// AS from GeoIP databases, network/site/subnet from a networks file, VM and
// host from an inventory (file, vCenter) as of flow time, exporter and
// interface names (config, exporter options data, SNMP), flow type and
// service. Each source lives in its own subpackage; Enricher composes them.
package enrich

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/enrich/classify"
	"github.com/flowlake/flowlake/internal/enrich/geo"
	"github.com/flowlake/flowlake/internal/enrich/inventory"
	"github.com/flowlake/flowlake/internal/enrich/networks"
	"github.com/flowlake/flowlake/internal/enrich/services"
	"github.com/flowlake/flowlake/internal/enrich/snmp"
	"github.com/flowlake/flowlake/internal/enrich/vcenter"
	"github.com/flowlake/flowlake/internal/flow"
)

var (
	reloads = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "flowlake_enrich_reloads_total",
		Help: "Reloads of enrichment sources, by source and result (ok, error).",
	}, []string{"source", "result"})
	flowsEnriched = promauto.NewCounter(prometheus.CounterOpts{
		Name: "flowlake_enrich_flows_total",
		Help: "Flows that went through enrichment.",
	})
)

// Enricher fills enrichment columns. It is safe for concurrent use: every
// source is an immutable snapshot behind an atomic pointer, replaced whole on
// reload, and each batch reads each pointer once, so every flow of a batch
// sees either the old or the new version of a source, never a mix.
type Enricher struct {
	log *slog.Logger

	country atomic.Pointer[geo.DB]
	asn     atomic.Pointer[geo.DB]
	nets    atomic.Pointer[networks.Table]
	inv     *inventory.Store
	ifs     *ifaceStore
	// comb answers nets and inv together for IPv4 (see combined); rebuilt
	// under combMu after either changes, used only while it is of the
	// current versions of both.
	comb   atomic.Pointer[combined]
	combMu sync.Mutex

	files []*watched
	// run runs the file reloader and the pollers from Start to Stop.
	run *component.Runner
}

// watched is a file source checked for changes.
type watched struct {
	name  string // source name for logs and metrics
	path  string
	load  func(path string) error
	mod   time.Time
	size  int64
	mu    sync.Mutex
	lastE string
}

// Dependencies are what an Enricher needs besides its Config.
type Dependencies struct {
	// Logger receives reload and poll reports (default slog.Default()).
	Logger *slog.Logger
}

// New loads every configured file source and prepares the pollers. A
// source that fails its first load is an error: the configuration is wrong
// and nothing good is in use yet. Later reload failures keep the previous
// version.
//
// The Enricher is a component: Start starts reloading the files and
// polling vCenter and SNMP (in the background: a slow vCenter does not hold
// up start-up), Stop stops them. Enrich works with or without them.
func New(cfg Config, deps Dependencies) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("enrich: %w", err)
	}
	e := &Enricher{log: deps.Logger, inv: inventory.NewStore(), ifs: newIfaceStore()}
	if e.log == nil {
		e.log = slog.Default()
	}
	e.run = component.NewRunner(e.log)
	if err := e.ifs.setConfig(cfg.Exporters); err != nil {
		return nil, err
	}
	if p := cfg.GeoIP.Country; p != "" {
		e.files = append(e.files, &watched{name: "geoip-country", path: p, load: func(p string) error {
			db, err := geo.Open(p)
			if err == nil {
				e.country.Store(db)
			}
			return err
		}})
	}
	if p := cfg.GeoIP.ASN; p != "" {
		e.files = append(e.files, &watched{name: "geoip-asn", path: p, load: func(p string) error {
			db, err := geo.Open(p)
			if err == nil {
				e.asn.Store(db)
			}
			return err
		}})
	}
	if p := cfg.Networks; p != "" {
		e.files = append(e.files, &watched{name: "networks", path: p, load: func(p string) error {
			t, err := networks.Load(p)
			if err == nil {
				e.nets.Store(t)
				e.rebuildCombined()
			}
			return err
		}})
	}
	if p := cfg.Inventory; p != "" {
		e.files = append(e.files, &watched{name: "inventory", path: p, load: func(p string) error {
			es, err := inventory.LoadFile(p)
			if err == nil {
				e.inv.Update("file", es, time.Now())
				e.rebuildCombined()
			}
			return err
		}})
	}
	for _, w := range e.files {
		if _, err := e.check(w, true); err != nil {
			return nil, err
		}
	}
	interval := cfg.ReloadInterval
	if interval == 0 {
		interval = DefaultConfig().ReloadInterval
	}
	if len(e.files) > 0 {
		e.run.Add("reload", component.Every(interval, func(context.Context) { _ = e.Reload() }))
	}
	if cfg.VCenter.URL != "" {
		vc, err := vcenter.New(cfg.VCenter, vcenter.Dependencies{Logger: e.log, Update: func(es []inventory.Entry, at time.Time) {
			e.inv.Update("vcenter", es, at)
			e.rebuildCombined()
		}})
		if err != nil {
			return nil, err
		}
		e.run.Add("vcenter", vc)
	}
	if len(cfg.SNMP.Exporters) > 0 {
		p, err := snmp.New(cfg.SNMP, snmp.Dependencies{Logger: e.log, Update: func(exp netip.Addr, sysName string, ifs []flow.Interface) {
			e.ifs.setSNMP(exp, sysName, ifs)
		}})
		if err != nil {
			return nil, err
		}
		e.run.Add("snmp", p)
	}
	return e, nil
}

// Start starts reloading files and polling.
func (e *Enricher) Start() error { return e.run.Start() }

// Stop stops reloading and polling; safe without Start.
func (e *Enricher) Stop() error { return e.run.Stop() }

// rebuildCombined builds the combined table of the current networks and
// inventory. Holding combMu while reading both and storing the result
// keeps a slower rebuild from replacing a newer one.
func (e *Enricher) rebuildCombined() {
	e.combMu.Lock()
	defer e.combMu.Unlock()
	e.comb.Store(newCombined(e.nets.Load(), e.inv.Snapshot()))
}

// Reload checks every file source now and reloads those that changed. It
// returns the errors of failed reloads (also logged and counted); the
// previous version of a failed source stays in use.
func (e *Enricher) Reload() error {
	var errs []error
	for _, w := range e.files {
		if _, err := e.check(w, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// check reloads w if its file changed since the last attempt (or if force).
func (e *Enricher) check(w *watched, force bool) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := os.Stat(w.path)
	if err != nil {
		err = fmt.Errorf("%s: %w", w.name, err)
		e.report(w, err)
		return false, err
	}
	if !force && st.ModTime().Equal(w.mod) && st.Size() == w.size {
		return false, nil
	}
	w.mod, w.size = st.ModTime(), st.Size()
	if err := w.load(w.path); err != nil {
		err = fmt.Errorf("%s: %w", w.name, err)
		e.report(w, err)
		return false, err
	}
	w.lastE = ""
	reloads.WithLabelValues(w.name, "ok").Inc()
	e.log.Info("enrichment source loaded", "source", w.name, "path", w.path)
	return true, nil
}

func (e *Enricher) report(w *watched, err error) {
	reloads.WithLabelValues(w.name, "error").Inc()
	// Log a persisting error once, not every poll.
	if err.Error() != w.lastE {
		e.log.Error("enrichment source not loaded; keeping the previous version", "source", w.name, "err", err)
		w.lastE = err.Error()
	}
}

// LearnInterfaces records interface names exporters sent (options data,
// sFlow). Configured and SNMP names take precedence.
func (e *Enricher) LearnInterfaces(ifs []flow.Interface) {
	e.ifs.learn(ifs)
}

// Enrich fills the enrichment columns of every flow of b in place. Columns an
// input already filled (cloud logs give VM and subnet names) are kept.
//
// It goes over the batch three times: once per address column, doing every
// look-up of that end (networks, inventory, GeoIP; for IPv4 networks and
// inventory in one look-up when both are loaded, see combined) and writing
// its columns, then once per flow for exporter, interfaces, flow type and
// service. Each look-up is a few dependent loads that mostly miss the cache
// with large tables; in a tight loop over one column the processor
// overlaps the misses of successive flows, where one long loop body per
// flow leaves it waiting on each in turn: with every source enabled this
// typically takes a third to a half of the time per flow of the per-flow
// loop (BenchmarkEnrichPaths).
func (e *Enricher) Enrich(b *flow.Batch) {
	n := b.Len()
	if n == 0 {
		return
	}
	src := sources{country: e.country.Load(), asn: e.asn.Load(), nets: e.nets.Load(), inv: e.inv.Snapshot()}
	src.withInv = src.inv.Len() > 0
	if c := e.comb.Load(); c != nil && c.nets == src.nets && c.inv.Same(src.inv) {
		src.comb = c
	}
	ifs := e.ifs.snapshot()

	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	se, de := sc.ends(n)
	ts, tr := b.TimeStart[:n], b.TimeReceived[:n]
	src.end(se, ts, tr, endCols{b.SrcAddr[:n], b.SrcCountry[:n], b.SrcAS[:n], b.SrcASName[:n], b.SrcNet[:n], b.SrcSite[:n], b.SrcSubnet[:n], b.SrcVM[:n], b.SrcHost[:n]})
	src.end(de, ts, tr, endCols{b.DstAddr[:n], b.DstCountry[:n], b.DstAS[:n], b.DstASName[:n], b.DstNet[:n], b.DstSite[:n], b.DstSubnet[:n], b.DstVM[:n], b.DstHost[:n]})

	var lastExp flow.Addr
	lastX := ifs.exporter(lastExp)
	expAddr, expName := b.ExporterAddr[:n], b.ExporterName[:n]
	inIf, outIf, inName, outName := b.InIf[:n], b.OutIf[:n], b.InIfName[:n], b.OutIfName[:n]
	ft, svc, proto, sp, dp := b.FlowType[:n], b.Service[:n], b.Proto[:n], b.SrcPort[:n], b.DstPort[:n]
	for i := range n {
		// Exporter and interfaces: batches mostly come from one exporter.
		if exp := &expAddr[i]; *exp != lastExp {
			lastExp, lastX = *exp, ifs.exporter(*exp)
		}
		if expName[i] == "" {
			expName[i] = lastX.name
		}
		if inName[i] == "" && inIf[i] != 0 {
			inName[i] = ifs.ifName(lastX, lastExp, inIf[i])
		}
		if outName[i] == "" && outIf[i] != 0 {
			outName[i] = ifs.ifName(lastX, lastExp, outIf[i])
		}
		if ft[i] == flow.FlowTypeUnknown {
			s, d := se[i], de[i]
			ft[i] = classify.FlowTypeCode(s.code, d.code, s.site == d.site)
		}
		if svc[i] == "" {
			svc[i] = services.Of(proto[i], sp[i], dp[i])
		}
	}
	flowsEnriched.Add(float64(n))
}

// sources are the enrichment sources as one batch sees them.
type sources struct {
	country, asn *geo.DB
	nets         *networks.Table
	inv          inventory.Snapshot
	withInv      bool
	comb         *combined // of nets and inv, or nil
}

// endCols are the columns of one end of the flows of a batch.
type endCols struct {
	addr                                []flow.Addr
	ctry                                []string
	as                                  []uint32
	asName, net, site, subnet, vm, host []string
}

// end is how classification sees one end of a flow: its class and whether
// a network holds it, and that network's site.
type end struct {
	site uint32 // networks.Names.SiteID, 0 when not known
	code classify.EndCode
}

// scratch holds the ends of the flows of one batch; pooled, as batches come
// one after another and the ends are only needed until the flow pass.
type scratch struct {
	buf []end
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) ends(n int) (src, dst []end) {
	if cap(sc.buf) < 2*n {
		sc.buf = make([]end, 2*n)
	}
	return sc.buf[:n], sc.buf[n : 2*n]
}

// end fills the columns c of one end of every flow and notes in ends how
// classification sees each. ts and tr are the flows' start and receive
// times: a VM gets its name as of the start (or, without one, receipt).
// The loop body is kept short for IPv4 (the common case, whose look-ups
// take the four bytes as they are); IPv6 goes through end6.
func (src *sources) end(ends []end, ts, tr []int64, c endCols) {
	addrs := c.addr
	ctry, as, asName, net, site, subnet, vm, host := c.ctry[:len(addrs)], c.as[:len(addrs)], c.asName[:len(addrs)], c.net[:len(addrs)], c.site[:len(addrs)], c.subnet[:len(addrs)], c.vm[:len(addrs)], c.host[:len(addrs)]
	ends = ends[:len(addrs)]
	ts, tr = ts[:len(addrs)], tr[:len(addrs)]
	nets, inv, withInv, comb := src.nets, src.inv, src.withInv, src.comb
	for i := range addrs {
		a := &addrs[i]
		if !is4(a) {
			ends[i] = src.end6(a, ts[i], tr[i], &ctry[i], &as[i], &asName[i], &net[i], &site[i], &subnet[i], &vm[i], &host[i])
			continue
		}
		a4 := [4]byte(a[12:])
		cl := classify.Class4(a4)
		ed := end{code: classify.EndCode(cl)}
		var j, k int32 // network and inventory positions
		if comb != nil {
			j, k = comb.find4(a4)
		} else {
			j, k = nets.Index4(a4), -1
			if withInv && vm[i] == "" {
				k = inv.Find4(a4)
			}
		}
		if j >= 0 {
			nw := nets.NamesAt(j)
			ed = end{code: ed.code | classify.KnownBit, site: nw.SiteID}
			net[i], site[i] = nw.Name, nw.Site
			if subnet[i] == "" {
				subnet[i] = nw.Subnet
			}
		}
		ends[i] = ed
		if k >= 0 && vm[i] == "" {
			t := ts[i]
			if t == 0 {
				t = tr[i]
			}
			if name, hst, ok := inv.Names4(k, t); ok {
				vm[i], host[i] = name, hst
			}
		}
		if cl == classify.Public {
			src.geo4(a4, &ctry[i], &as[i], &asName[i])
		}
	}
}

// geo4 fills the GeoIP columns of one end with the public IPv4 address a.
func (src *sources) geo4(a [4]byte, ctry *string, as *uint32, asName *string) {
	if country := src.country; country != nil {
		if j := country.Index4(a); j >= 0 {
			if g := country.At(j); g.Country != "" {
				*ctry = g.Country
			}
		}
	}
	if asn := src.asn; asn != nil {
		if *as == 0 {
			if j := asn.Index4(a); j >= 0 {
				g := asn.At(j)
				*as, *asName = g.ASN, g.ASName
			}
		} else {
			*asName = asn.ASName(*as)
		}
	}
}

// end6 is the body of end for an IPv6 (or absent) address.
func (src *sources) end6(a *flow.Addr, ts, tr int64, ctry *string, as *uint32, asName, net, site, subnet, vm, host *string) end {
	if a.IsZero() {
		return end{}
	}
	cl := classify.FlowAddrClass(*a)
	ed := end{code: classify.EndCode(cl)}
	if cl == classify.Public {
		ip := a.Netip()
		if country := src.country; country != nil {
			if g := country.Lookup(ip); g != nil && g.Country != "" {
				*ctry = g.Country
			}
		}
		if asn := src.asn; asn != nil {
			if *as == 0 {
				if g := asn.Lookup(ip); g != nil {
					*as, *asName = g.ASN, g.ASName
				}
			} else {
				*asName = asn.ASName(*as)
			}
		}
	}
	if j := src.nets.Index16(*a); j >= 0 {
		nw := src.nets.NamesAt(j)
		ed = end{code: ed.code | classify.KnownBit, site: nw.SiteID}
		*net, *site = nw.Name, nw.Site
		if *subnet == "" {
			*subnet = nw.Subnet
		}
	}
	if *vm == "" && src.withInv {
		t := ts
		if t == 0 {
			t = tr
		}
		if j := src.inv.Find16(*a); j >= 0 {
			if name, hst, ok := src.inv.Names4(j, t); ok {
				*vm, *host = name, hst
			}
		}
	}
	return ed
}

// is4 is flow.Addr.Is4 in two word compares.
func is4(a *flow.Addr) bool {
	return binary.LittleEndian.Uint64(a[:8]) == 0 && binary.LittleEndian.Uint32(a[8:12]) == 0xffff0000
}

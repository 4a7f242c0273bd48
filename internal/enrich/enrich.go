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

	files  []*watched
	snmp   *snmp.Poller
	vc     *vcenter.Poller
	cancel context.CancelFunc
	wg     sync.WaitGroup
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

// New loads every configured source and starts the reload and polling loops.
// A source that fails its first load is an error: the configuration is wrong
// and nothing good is in use yet. Later reload failures keep the previous
// version.
func New(cfg Config) (*Enricher, error) {
	e := &Enricher{log: cfg.Logger, inv: inventory.NewStore(), ifs: newIfaceStore()}
	if e.log == nil {
		e.log = slog.Default()
	}
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
			}
			return err
		}})
	}
	if p := cfg.Inventory; p != "" {
		e.files = append(e.files, &watched{name: "inventory", path: p, load: func(p string) error {
			es, err := inventory.LoadFile(p)
			if err == nil {
				e.inv.Update("file", es, time.Now())
			}
			return err
		}})
	}
	for _, w := range e.files {
		if _, err := e.check(w, true); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if cfg.VCenter.URL != "" {
		vc, err := vcenter.NewPoller(cfg.VCenter)
		if err != nil {
			cancel()
			return nil, err
		}
		e.vc = vc
		e.wg.Go(func() {
			vc.Run(ctx, func(es []inventory.Entry, at time.Time) { e.inv.Update("vcenter", es, at) }, e.log)
		})
	}
	if len(cfg.SNMP.Exporters) > 0 {
		p, err := snmp.NewPoller(cfg.SNMP)
		if err != nil {
			cancel()
			return nil, err
		}
		e.snmp = p
		e.wg.Go(func() {
			p.Run(ctx, func(exp netip.Addr, sysName string, ifs []flow.Interface) { e.ifs.setSNMP(exp, sysName, ifs) }, e.log)
		})
	}
	interval := cfg.ReloadInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	if len(e.files) > 0 {
		e.wg.Go(func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					e.Reload()
				}
			}
		})
	}
	return e, nil
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

// Close stops the reload and polling loops.
func (e *Enricher) Close() error {
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
	return nil
}

// LearnInterfaces records interface names exporters sent (options data,
// sFlow). Configured and SNMP names take precedence.
func (e *Enricher) LearnInterfaces(ifs []flow.Interface) {
	e.ifs.learn(ifs)
}

// Enrich fills the enrichment columns of every flow of b in place. Columns an
// input already filled (cloud logs give VM and subnet names) are kept.
//
// It works in two passes: the first only searches (networks, inventory,
// GeoIP; for IPv6 addresses networks only) and notes positions, the second
// reads what they point to and fills the columns. Each search is a few
// dependent loads that mostly miss the cache with large tables; in a tight
// loop of searches the processor overlaps the misses of successive flows,
// where one long loop body per flow leaves it waiting on each in turn
// (a sixth to a half less time per flow with every source enabled, see
// BenchmarkEnrichPaths).
func (e *Enricher) Enrich(b *flow.Batch) {
	n := b.Len()
	if n == 0 {
		return
	}
	country, asn, nets := e.country.Load(), e.asn.Load(), e.nets.Load()
	inv := e.inv.Snapshot()
	ifs := e.ifs.snapshot()

	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	src, dst := sc.hits(n)
	withInv := inv.Len() > 0
	sc.sink += search(src, b.SrcAddr[:n], b.SrcAS[:n], b.SrcVM[:n], country, asn, nets, inv, withInv)
	sc.sink += search(dst, b.DstAddr[:n], b.DstAS[:n], b.DstVM[:n], country, asn, nets, inv, withInv)

	var lastExp flow.Addr
	lastX := ifs.exporter(lastExp)
	for i := range n {
		// Exporter and interfaces: batches mostly come from one exporter.
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
		var s, d classify.End
		if h := &src[i]; h.v4 || h.v6 {
			s = fill(h, &b.SrcAddr[i], t, country, asn, nets, inv,
				&b.SrcCountry[i], &b.SrcAS[i], &b.SrcASName[i], &b.SrcNet[i], &b.SrcSite[i], &b.SrcSubnet[i], &b.SrcVM[i], &b.SrcHost[i])
		}
		if h := &dst[i]; h.v4 || h.v6 {
			d = fill(h, &b.DstAddr[i], t, country, asn, nets, inv,
				&b.DstCountry[i], &b.DstAS[i], &b.DstASName[i], &b.DstNet[i], &b.DstSite[i], &b.DstSubnet[i], &b.DstVM[i], &b.DstHost[i])
		}
		if b.FlowType[i] == flow.FlowTypeUnknown {
			b.FlowType[i] = classify.FlowType(s, d)
		}
		if b.Service[i] == "" {
			b.Service[i] = services.Of(b.Proto[i], b.SrcPort[i], b.DstPort[i])
		}
	}
	flowsEnriched.Add(float64(n))
}

// hit is what the search pass found for one address: positions for the
// sources' At methods, -1 for none.
type hit struct {
	net, inv, country, asn int32
	class                  classify.Class
	v4, v6                 bool // neither: absent address
}

// scratch holds the search results of one batch; pooled, as batches come
// one after another and the results are only needed while filling.
type scratch struct {
	buf  []hit
	sink int64 // see search
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) hits(n int) (src, dst []hit) {
	if cap(sc.buf) < 2*n {
		sc.buf = make([]hit, 2*n)
	}
	return sc.buf[:n], sc.buf[n : 2*n]
}

// search is the search pass over one address column. It reads the AS and VM
// columns only to skip searches whose result fill would not use. It also
// reads the network and inventory entries found, for fill to find them in
// cache (Go has no prefetch instruction): the sum it returns only keeps the
// compiler from dropping those reads.
func search(hits []hit, addrs []flow.Addr, as []uint32, vm []string, country, asn *geo.DB, nets *networks.Table, inv inventory.Snapshot, withInv bool) (sink int64) {
	for i := range hits {
		h := &hits[i]
		a := &addrs[i]
		if !is4(a) {
			// IPv6: only the networks search, the costly one (a walk
			// down bart's trie); fill does the rest.
			*h = hit{net: -1, inv: -1, country: -1, asn: -1}
			if !a.IsZero() {
				h.v6, h.class = true, classify.FlowAddrClass(*a)
				if h.net = nets.Index6(a.Netip()); h.net >= 0 {
					sink += int64(len(nets.NamesAt(h.net).Site))
				}
			}
			continue
		}
		a4 := [4]byte(a[12:])
		c := classify.Class4(a4)
		*h = hit{net: nets.Index4(a4), inv: -1, country: -1, asn: -1, class: c, v4: true}
		if h.net >= 0 {
			sink += int64(len(nets.NamesAt(h.net).Site))
		}
		if withInv && vm[i] == "" {
			if h.inv = inv.Find4(a4); h.inv >= 0 {
				sink += inv.Prefetch4(h.inv)
			}
		}
		if c == classify.Public {
			h.country = country.Index4(a4)
			if as[i] == 0 {
				h.asn = asn.Index4(a4)
			}
		}
	}
	return sink
}

// fill is the filling pass for one address, given what search found: it
// sets the columns of one end of a flow and returns how classification
// sees that end. IPv6 addresses, rarer, do their GeoIP and inventory
// look-ups here.
func fill(h *hit, a *flow.Addr, t int64, country, asn *geo.DB, nets *networks.Table, inv inventory.Snapshot,
	ctry *string, as *uint32, asName, net, site, subnet, vm, host *string) classify.End {
	end := classify.End{Class: h.class}
	if h.v6 {
		ip := a.Netip()
		if h.class == classify.Public {
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
	} else if h.class == classify.Public {
		if h.country >= 0 {
			if g := country.At(h.country); g.Country != "" {
				*ctry = g.Country
			}
		}
		if asn != nil {
			if *as == 0 {
				if h.asn >= 0 {
					g := asn.At(h.asn)
					*as, *asName = g.ASN, g.ASName
				}
			} else {
				*asName = asn.ASName(*as)
			}
		}
	}
	if h.net >= 0 {
		nw := nets.NamesAt(h.net)
		end.Known, end.Site = true, nw.Site
		*net, *site = nw.Name, nw.Site
		if *subnet == "" {
			*subnet = nw.Subnet
		}
	}
	if h.v6 {
		if *vm == "" && inv.Len() > 0 {
			if v := inv.Lookup(*a, t); v != nil {
				*vm, *host = v.Name, v.Host
			}
		}
	} else if h.inv >= 0 && *vm == "" {
		if name, hst, ok := inv.Names4(h.inv, t); ok {
			*vm, *host = name, hst
		}
	}
	return end
}

// is4 is flow.Addr.Is4 in two word compares.
func is4(a *flow.Addr) bool {
	return binary.LittleEndian.Uint64(a[:8]) == 0 && binary.LittleEndian.Uint32(a[8:12]) == 0xffff0000
}

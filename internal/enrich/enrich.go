// Package enrich fills the enrichment columns of flows at ingest: country and
// AS from GeoIP databases, network/site/subnet from a networks file, VM and
// host from an inventory (file, vCenter) as of flow time, exporter and
// interface names (config, exporter options data, SNMP), flow type and
// service. Each source lives in its own subpackage; Enricher composes them.
package enrich

import (
	"context"
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
func (e *Enricher) Enrich(b *flow.Batch) {
	n := b.Len()
	if n == 0 {
		return
	}
	country, asn, nets := e.country.Load(), e.asn.Load(), e.nets.Load()
	inv := e.inv.Snapshot()
	ifs := e.ifs.snapshot()

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
	flowsEnriched.Add(float64(n))
}

// side enriches one address of a flow and returns how classification sees it.
func (e *Enricher) side(a flow.Addr, t int64, country, asn *geo.DB, nets *networks.Table, inv inventory.Snapshot,
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

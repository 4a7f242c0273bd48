// Package serve assembles `flowlake serve`: listeners and decoders, the
// enrichment stage, the archive and outputs, and the HTTP server, wired in the
// one direction data flows (input -> decode -> enrich -> store/forward).
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/collect"
	"github.com/flowlake/flowlake/internal/config"
	"github.com/flowlake/flowlake/internal/enrich"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/jsonlines"
	"github.com/flowlake/flowlake/internal/netflow"
	"github.com/flowlake/flowlake/internal/query"
	"github.com/flowlake/flowlake/internal/server"
	"github.com/flowlake/flowlake/internal/sflow"
)

// Service is a running flowlake: create it with New, run it with Run.
type Service struct {
	cfg      config.Config
	log      *slog.Logger
	netflow  *netflow.Decoder
	sflow    *sflow.Decoder
	enricher *enrich.Enricher
	coll     *collect.Collector
	http     *server.Server
	counters *collect.Counters
	writers  []namedWriter
	closers  []func() error
	errs     *prometheus.CounterVec
	tplPath  string
	archive  *archive.Archive
	imports  []*importJob

	mu sync.Mutex // serialises writers between the collector and Close
}

type namedWriter struct {
	name string
	w    flow.Writer
}

// Options are the parts of a Service that are not configuration.
type Options struct {
	Logger *slog.Logger
	// Registerer and Gatherer default to Prometheus' default registry,
	// where every package registers its metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Stdout receives JSON lines when output.jsonl is "-".
	Stdout io.Writer
	// Writers are extra outputs besides the archive and JSON lines.
	Writers map[string]flow.Writer
	// Query, when set, serves POST /api/v1/query (the caller opens the
	// engine, which needs cgo's DuckDB).
	Query *query.Service
}

// New opens every listener and loads every source; errors here are
// configuration errors.
func New(cfg config.Config, opt Options) (s *Service, err error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Registerer == nil {
		opt.Registerer = prometheus.DefaultRegisterer
	}
	if opt.Gatherer == nil {
		opt.Gatherer = prometheus.DefaultGatherer
	}
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	s = &Service{cfg: cfg, log: opt.Logger, counters: &collect.Counters{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowlake_output_errors_total", Help: "Batches an output failed to write."}, []string{"output"})
	if err := opt.Registerer.Register(s.errs); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}

	ncfg := netflow.Config{SamplingOverrides: map[netip.Addr]uint32{}}
	for a, rate := range cfg.Collector.SamplingOverrides {
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("collector.sampling_overrides: %w", err)
		}
		ncfg.SamplingOverrides[addr] = rate
	}
	for _, f := range cfg.Collector.Fields {
		ncfg.Fields = append(ncfg.Fields, netflow.FieldMapping{Enterprise: f.Enterprise, ID: f.ID, Column: f.Column})
	}
	if s.netflow, err = netflow.New(ncfg); err != nil {
		return nil, fmt.Errorf("netflow: %w", err)
	}
	s.tplPath = filepath.Join(cfg.DataDir, "templates", "netflow.json")
	if err := collect.LoadFile(s.tplPath, s.netflow.LoadTemplates); err != nil {
		// Stale or damaged templates only delay decoding until exporters
		// resend them; not a reason to refuse to start.
		s.log.Warn("templates not restored", "err", err)
	}

	ecfg := cfg.Enrich
	ecfg.Logger = s.log
	if s.enricher, err = enrich.New(ecfg); err != nil {
		return nil, fmt.Errorf("enrich: %w", err)
	}
	s.closers = append(s.closers, s.enricher.Close)

	if out := cfg.Output.JSONLines; out != "" {
		var w io.Writer = opt.Stdout
		if out != "-" {
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				return nil, fmt.Errorf("output.jsonl: %w", err)
			}
			s.closers = append(s.closers, f.Close)
			w = f
		}
		j := jsonlines.New(w)
		s.writers = append(s.writers, namedWriter{"jsonl", j})
		s.closers = append([]func() error{j.Flush}, s.closers...)
	}
	if cfg.Archive.Enabled {
		a, err := archive.Open(cfg.DataDir, archive.Config{
			FlushInterval: cfg.Archive.FlushInterval, FlushRows: cfg.Archive.FlushRows, Buckets: cfg.Archive.Buckets,
			RetainAge: cfg.Archive.RetainAge, RetainBytes: cfg.Archive.RetainBytes,
			Registerer: opt.Registerer,
		})
		if err != nil {
			return nil, err
		}
		s.archive = a
		s.writers = append(s.writers, namedWriter{"archive", a})
		s.closers = append(s.closers, a.Close)
	}
	for name, w := range opt.Writers {
		s.writers = append(s.writers, namedWriter{name, w})
		if c, ok := w.(io.Closer); ok {
			s.closers = append(s.closers, c.Close)
		}
	}

	for i, ic := range cfg.Imports {
		job, err := s.newImport(i, ic)
		if err != nil {
			return nil, err
		}
		s.imports = append(s.imports, job)
	}
	if s.sflow, err = newSFlow(cfg); err != nil {
		return nil, fmt.Errorf("sflow: %w", err)
	}
	mux := &collect.Mux{NetFlow: s.netflow, SFlow: s.sflow}
	s.coll, err = collect.New(collect.Config{
		UDP: cfg.Collector.UDP, TCP: cfg.Collector.TCP,
		SocketsPerPort: cfg.Collector.SocketsPerPort, ReceiveBuffer: cfg.Collector.ReceiveBuffer,
		ReadBatch: cfg.Collector.ReadBatch, BatchRows: cfg.Collector.BatchRows, BatchDelay: cfg.Collector.BatchDelay,
		Decoder: mux, Handle: s.handle, Registerer: opt.Registerer, Logger: s.log,
	})
	if err != nil {
		return nil, err
	}
	if err := opt.Registerer.Register(collect.ExporterMetrics{Stats: s.exporterStats}); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := opt.Registerer.Register(s.counters); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if cfg.HTTP.Listen != "" {
		if s.http, err = server.New(cfg.HTTP.Listen, opt.Gatherer, s.log); err != nil {
			return nil, err
		}
		if opt.Query != nil {
			s.http.Mux.Handle("POST /api/v1/query", opt.Query.Handler())
		}
	}
	return s, nil
}

// Collector exposes the listeners' bound addresses (tests use port 0).
func (s *Service) Collector() *collect.Collector { return s.coll }

// HTTP is the HTTP server, nil when disabled; callers may add routes to its
// Mux before Run.
func (s *Service) HTTP() *server.Server { return s.http }

// handle is the one path every decoded batch takes: enrich, then every
// writer. It runs on the collector's handler goroutine.
func (s *Service) handle(d *flow.Decoded) {
	s.enricher.LearnInterfaces(d.Interfaces)
	s.counters.Add(d.Counters)
	if d.Flows.Len() == 0 {
		return
	}
	s.enricher.Enrich(&d.Flows)
	s.write(&d.Flows)
}

// write hands an enriched batch to every writer.
func (s *Service) write(b *flow.Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.writers {
		if err := w.w.WriteBatch(b); err != nil {
			// Outputs keep their own buffers and retries; a failure here
			// is counted and logged, and the collector keeps collecting.
			s.errs.WithLabelValues(w.name).Inc()
			s.log.Error("output", "output", w.name, "err", err)
		}
	}
}

func (s *Service) exporterStats() []collect.ExporterStat {
	var out []collect.ExporterStat
	for _, st := range s.netflow.Stats() {
		proto := map[uint16]string{5: "netflow5", 9: "netflow9", 10: "ipfix"}[st.Version]
		out = append(out, collect.ExporterStat{Exporter: st.Exporter, Protocol: proto, Domain: st.ObservationDomain,
			Packets: st.Packets, Records: st.Records, Errors: st.Errors, TemplateMisses: st.TemplateMisses, SequenceGaps: st.SequenceGaps})
	}
	return append(out, sflowStats(s.sflow)...)
}

// Run collects until ctx is done, then drains the collector, flushes the
// outputs and saves templates.
func (s *Service) Run(ctx context.Context) error {
	for _, a := range s.coll.UDPAddrs() {
		s.log.Info("listening", "proto", "udp", "addr", a.String())
	}
	for _, a := range s.coll.TCPAddrs() {
		s.log.Info("listening", "proto", "tcp (ipfix)", "addr", a.String())
	}
	s.writeTables()
	var wg sync.WaitGroup
	var httpErr error
	if s.http != nil {
		s.log.Info("http", "addr", s.http.Addr().String())
		wg.Add(1)
		go func() { defer wg.Done(); httpErr = s.http.Serve(ctx) }()
	}
	if s.archive != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.archive.Run(ctx) }()
	}
	for _, job := range s.imports {
		wg.Add(1)
		go func() { defer wg.Done(); s.runImport(ctx, job) }()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.saveTemplates()
				s.writeTables()
			}
		}
	}()
	err := s.coll.Run(ctx)
	wg.Wait()
	s.saveTemplates()
	s.writeTables()
	return errors.Join(err, httpErr, s.close())
}

// writeTables publishes the enrichment tables (networks, inventory
// history, interfaces) for queries to join; a minute late at most.
func (s *Service) writeTables() {
	if err := s.enricher.WriteTables(query.TablesDir(s.cfg.DataDir)); err != nil {
		s.log.Error("enrichment tables not written", "err", err)
	}
}

func (s *Service) saveTemplates() {
	if err := collect.SaveFile(s.tplPath, s.netflow.SaveTemplates); err != nil {
		s.log.Error("templates not saved", "err", err)
	}
}

func (s *Service) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	s.closers = nil
	if s.coll != nil {
		s.coll.Close()
	}
	return errors.Join(errs...)
}

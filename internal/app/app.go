// Package app assembles `flowlake serve` from the configuration: every
// long-running part is a component built from its own section of the
// configuration and its explicit dependencies, added to one runner in
// dependency order, started in that order and stopped in reverse. Data
// flows one way, input -> decode -> enrich -> store/forward, through the
// pipeline (pipeline.go); queries go from the HTTP server through the query
// service to the store's reader.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/collect"
	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/config"
	"github.com/flowlake/flowlake/internal/enrich"
	"github.com/flowlake/flowlake/internal/httpserver"
	"github.com/flowlake/flowlake/internal/importer"
	"github.com/flowlake/flowlake/internal/output"
	"github.com/flowlake/flowlake/internal/output/jsonl"
	"github.com/flowlake/flowlake/internal/query"
	"github.com/flowlake/flowlake/internal/store/lake"
)

// Dependencies are what an App needs besides its configuration.
type Dependencies struct {
	Logger *slog.Logger
	// Registerer and Gatherer default to Prometheus' default registry,
	// where every package registers its metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Stdout receives JSON lines when output.jsonl is "-".
	Stdout io.Writer
	// Outputs are outputs besides the configured ones (tests, embedders);
	// the App starts and stops them with the others.
	Outputs []output.Output
}

// importCheckpointRows is how many imported rows are made durable between
// saves of an import's progress (about 0.5 KB each in memory).
const importCheckpointRows = 256 << 10

// App is a configured flowlake: New builds every part, Start starts them
// (binding ports, taking the archive's lock), Stop stops them in reverse,
// Run does both around a context.
type App struct {
	run  *component.Runner
	coll *collect.Collector
	http *httpserver.Server
}

// New builds every component from cfg. Errors here are configuration
// errors (an enrichment file that does not load, a bad setting); nothing is
// bound or locked until Start.
func New(cfg config.Config, deps Dependencies) (*App, error) {
	// config.Load fills these; a configuration built in code may not.
	cfg.Imports = slices.Clone(cfg.Imports)
	for i := range cfg.Imports {
		cfg.Imports[i] = cfg.Imports[i].WithDefaults(i)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.DefaultRegisterer
	}
	if deps.Gatherer == nil {
		deps.Gatherer = prometheus.DefaultGatherer
	}
	if deps.Stdout == nil {
		deps.Stdout = os.Stdout
	}
	log := deps.Logger
	a := &App{run: component.NewRunner(log)}
	outMetrics, err := output.NewMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	p := &pipeline{log: log, counters: &collect.Counters{}, storeErrors: outMetrics.Errors.WithLabelValues("archive")}

	// The store first: everything after it writes into it.
	lakeDeps := lake.Dependencies{DataDir: cfg.DataDir, Registerer: deps.Registerer}
	if cfg.Archive.Enabled {
		w, err := lake.NewWriter(cfg.Archive, lakeDeps)
		if err != nil {
			return nil, err
		}
		p.store = w
		a.run.Add("store", w)
	}
	if path := cfg.Output.JSONL; path != "" {
		jc := jsonl.DefaultConfig()
		jc.Path = path
		o, err := jsonl.New(jc, jsonl.Dependencies{Stdout: deps.Stdout, Metrics: outMetrics, Logger: log})
		if err != nil {
			return nil, err
		}
		p.outputs = append(p.outputs, o)
	}
	p.outputs = append(p.outputs, deps.Outputs...)
	for _, o := range p.outputs {
		a.run.Add("output "+o.Name(), o)
	}

	if p.enricher, err = enrich.New(cfg.Enrich, enrich.Dependencies{Logger: log}); err != nil {
		return nil, err
	}
	a.run.Add("enrich", p.enricher)
	a.run.Add("enrichment tables", enrich.NewPublisher(p.enricher, lake.TablesDir(cfg.DataDir), log))

	dec, err := collect.NewDecoders(cfg.Collector)
	if err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	// Templates are restored before the collector receives and saved after
	// it stopped.
	a.run.Add("templates", collect.NewTemplateStore(filepath.Join(cfg.DataDir, "templates", "netflow.json"), dec.NetFlow, log))
	a.coll, err = collect.New(cfg.Collector, collect.Dependencies{
		Decoder: dec.Mux(), Handle: p.handle, Registerer: deps.Registerer, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	for _, c := range []prometheus.Collector{dec.Metrics(), p.counters} {
		if err := deps.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	a.run.Add("collector", a.coll)

	for i, ic := range cfg.Imports {
		w, err := importer.NewWatcher(ic, importer.WatchDependencies{
			DataDir: cfg.DataDir, Writer: importWriter{p}, CheckpointRows: importCheckpointRows, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("imports[%d]: %w", i, err)
		}
		a.run.Add("import "+ic.Name, w)
	}

	if cfg.HTTP.Listen != "" {
		r, err := lake.NewReader(lake.ReaderConfig{}, lakeDeps)
		if err != nil {
			return nil, err
		}
		a.run.Add("store reader", r)
		if a.http, err = httpserver.New(cfg.HTTP, httpserver.Dependencies{Gatherer: deps.Gatherer, Logger: log}); err != nil {
			return nil, err
		}
		qs := query.New(cfg.Query, query.Dependencies{Store: r})
		a.http.Handle("POST /api/v1/query", qs.Handler())
		a.run.Add("http", a.http)
	}
	return a, nil
}

// Start starts every component in dependency order; on failure those
// started are stopped again and the error names the component.
func (a *App) Start() error { return a.run.Start() }

// Stop stops every component in reverse order: the HTTP server and the
// inputs first, the outputs and the store last, after the last batch
// reached them.
func (a *App) Stop() error { return a.run.Stop() }

// Failed receives the first error of a component that failed after Start
// (component.Failer).
func (a *App) Failed() <-chan error { return a.run.Failed() }

// Run starts the App, runs until ctx is done or a component fails, and
// stops it.
func (a *App) Run(ctx context.Context) error { return a.run.Run(ctx) }

// Collector exposes the listeners' bound addresses once started (tests use
// port 0).
func (a *App) Collector() *collect.Collector { return a.coll }

// HTTP is the HTTP server, nil when disabled.
func (a *App) HTTP() *httpserver.Server { return a.http }

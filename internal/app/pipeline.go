package app

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/collect"
	"github.com/flowlake/flowlake/internal/enrich"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/output"
	"github.com/flowlake/flowlake/internal/store"
)

// pipeline is the one path every decoded or imported batch takes: enrich,
// then the store's writer, then every output. It runs on the collector's
// handler goroutine and on the importers' goroutines at once; each stage is
// safe for that. Nothing in it waits on a destination: the store encodes
// into memory and flushes in the background, outputs queue or drop.
type pipeline struct {
	log         *slog.Logger
	enricher    *enrich.Enricher
	counters    *collect.Counters
	store       store.Writer // nil: no archive
	outputs     []output.Output
	storeErrors prometheus.Counter
}

// handle takes one batch of the collector.
func (p *pipeline) handle(d *flow.Decoded) {
	p.enricher.LearnInterfaces(d.Interfaces)
	p.counters.Add(d.Counters)
	if d.Flows.Len() == 0 {
		return
	}
	p.enricher.Enrich(&d.Flows)
	p.write(&d.Flows)
}

// write hands an enriched batch to the store and every output.
func (p *pipeline) write(b *flow.Batch) {
	if p.store != nil {
		if err := p.store.WriteBatch(b); err != nil {
			// The store keeps its own buffers and counts its drops; a
			// refusal here (stopped) is counted and logged, and collection
			// goes on.
			p.storeErrors.Inc()
			p.log.Error("store", "err", err)
		}
	}
	for _, o := range p.outputs {
		o.Send(b)
	}
}

// importWriter feeds imported batches through enrichment to the store and
// outputs, like collected ones; Flush makes them durable in the store
// before the importer records its progress.
type importWriter struct{ p *pipeline }

func (w importWriter) WriteBatch(b *flow.Batch) error {
	w.p.enricher.Enrich(b)
	w.p.write(b)
	return nil
}

func (w importWriter) Flush() error {
	if w.p.store != nil {
		return w.p.store.Flush()
	}
	return nil
}

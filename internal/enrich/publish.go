package enrich

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowlake/flowlake/internal/component"
)

// publishInterval is how often the Publisher rewrites the tables: a
// query joining them sees what enrichment knew a minute ago at most.
const publishInterval = time.Minute

// Publisher writes the enrichment tables (networks, inventory history,
// interfaces) for queries to join: at Start, every minute, and at Stop. It
// is a component; add it after the Enricher it reads.
type Publisher struct {
	e    *Enricher
	dir  string
	log  *slog.Logger
	loop *component.Loop
}

// NewPublisher publishes e's tables as CSV files into dir (WriteTables).
func NewPublisher(e *Enricher, dir string, log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.Default()
	}
	p := &Publisher{e: e, dir: dir, log: log}
	p.loop = component.Every(publishInterval, func(context.Context) { p.publish() })
	return p
}

// Start publishes the tables and keeps them current. A failure to write
// them is logged, not fatal: queries then join an older version.
func (p *Publisher) Start() error {
	p.publish()
	return p.loop.Start()
}

// Stop publishes the tables a last time.
func (p *Publisher) Stop() error {
	err := p.loop.Stop()
	p.publish()
	return err
}

func (p *Publisher) publish() {
	if err := p.e.WriteTables(p.dir); err != nil {
		p.log.Error("enrichment tables not written", "err", err)
	}
}

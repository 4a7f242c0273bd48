package serve

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/flowlake/flowlake/internal/config"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer"
)

// importJob follows one directory of cloud flow logs into the same pipeline
// as collected flows.
type importJob struct {
	name     string
	dir      string
	interval time.Duration
	runner   *importer.Runner
}

func (s *Service) newImport(i int, ic config.Import) (*importJob, error) {
	name := ic.Name
	if name == "" {
		name = strconv.Itoa(i)
	}
	format := ic.Format
	if format == "" {
		format = importer.FormatAuto
	}
	if ic.Dir == "" {
		return nil, fmt.Errorf("imports[%d]: dir is required", i)
	}
	interval := ic.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	r, err := importer.New(importer.Options{
		Format: format, AWSFields: ic.AWSFields,
		// Each job keeps its own progress state.
		DataDir:        filepath.Join(s.cfg.DataDir, "import", "serve-"+name),
		Writer:         pipelineWriter{s},
		CheckpointRows: 256 << 10,
		Logger:         s.log.With("import", name),
	})
	if err != nil {
		return nil, fmt.Errorf("imports[%d]: %w", i, err)
	}
	return &importJob{name: name, dir: ic.Dir, interval: interval, runner: r}, nil
}

func (s *Service) runImport(ctx context.Context, job *importJob) {
	s.log.Info("importing", "import", job.name, "dir", job.dir, "interval", job.interval)
	if err := job.runner.Follow(ctx, job.dir, job.interval, time.Second); err != nil && ctx.Err() == nil {
		s.log.Error("import stopped", "import", job.name, "dir", job.dir, "err", err)
	}
}

// pipelineWriter feeds imported batches through enrichment to the writers,
// like collected ones; Flush makes them durable in the archive before the
// importer records its progress.
type pipelineWriter struct{ s *Service }

func (p pipelineWriter) WriteBatch(b *flow.Batch) error {
	p.s.enricher.Enrich(b)
	p.s.write(b)
	return nil
}

func (p pipelineWriter) Flush() error {
	if p.s.archive != nil {
		return p.s.archive.Flush()
	}
	return nil
}

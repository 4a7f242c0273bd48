package collect

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/netflow"
)

// templateSaveInterval is how often the NetFlow v9/IPFIX templates are
// saved while running (and once more at stop).
const templateSaveInterval = time.Minute

// TemplateStore keeps the NetFlow v9/IPFIX templates of a decoder across
// restarts, so that a restarted collector decodes at once instead of
// waiting for every exporter's next template refresh. It is a component:
// Start restores the saved templates (before the collector starts
// receiving: add it first), saves them every minute, and Stop saves them a
// last time (after the collector stopped: it is stopped later).
type TemplateStore struct {
	path string
	d    *netflow.Decoder
	log  *slog.Logger
	loop *component.Loop
}

// NewTemplateStore keeps d's templates in the file at path.
func NewTemplateStore(path string, d *netflow.Decoder, log *slog.Logger) *TemplateStore {
	if log == nil {
		log = slog.Default()
	}
	s := &TemplateStore{path: path, d: d, log: log}
	s.loop = component.Every(templateSaveInterval, func(context.Context) { s.save() })
	return s
}

// Start restores the templates and starts saving them.
func (s *TemplateStore) Start() error {
	if err := LoadFile(s.path, s.d.LoadTemplates); err != nil {
		// Stale or damaged templates only delay decoding until exporters
		// resend them; not a reason to refuse to start.
		s.log.Warn("templates not restored", "err", err)
	}
	return s.loop.Start()
}

// Stop saves the templates a last time.
func (s *TemplateStore) Stop() error {
	err := s.loop.Stop()
	s.save()
	return err
}

func (s *TemplateStore) save() {
	if err := SaveFile(s.path, s.d.SaveTemplates); err != nil {
		s.log.Error("templates not saved", "err", err)
	}
}

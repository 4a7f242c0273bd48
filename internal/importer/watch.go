package importer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/flow"
)

// WatchConfig is one directory of cloud flow logs that `flowlake serve`
// keeps importing (YAML: an entry of imports). The archive is single-writer,
// so `flowlake import` cannot write to it while serve runs; serve imports
// instead.
type WatchConfig struct {
	// Name identifies the import's progress state (default: its index in
	// the list).
	Name string `yaml:"name"`
	// Format is one of Formats, or empty (auto) to detect it per file.
	Format string `yaml:"format"`
	// Dir is watched recursively for new and grown files.
	Dir string `yaml:"dir"`
	// Interval is the polling interval.
	Interval time.Duration `yaml:"interval"`
	// AWSFields is the AWS field order for custom formats without header.
	AWSFields []string `yaml:"aws_fields"`
}

// defaultWatchInterval polls a watched directory every minute: flow log
// services deliver files every few minutes.
const defaultWatchInterval = time.Minute

// WithDefaults returns c with the defaults of the index-th entry filled
// in: the name (the index) and the polling interval.
func (c WatchConfig) WithDefaults(index int) WatchConfig {
	if c.Name == "" {
		c.Name = strconv.Itoa(index)
	}
	if c.Interval == 0 {
		c.Interval = defaultWatchInterval
	}
	return c
}

// Validate checks the entry; errors name the key.
func (c WatchConfig) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir: is required"))
	}
	if c.Format != FormatAuto && !isFormat(c.Format) {
		errs = append(errs, fmt.Errorf("format: %q: want one of %v or empty (detect)", c.Format, Formats))
	}
	if c.Interval < 0 {
		errs = append(errs, errors.New("interval: must not be negative"))
	}
	return errors.Join(errs...)
}

// WatchDependencies are what a Watcher needs besides its WatchConfig.
type WatchDependencies struct {
	// DataDir holds every watcher's progress, each under
	// DataDir/import/serve-<name>.
	DataDir string
	// Writer receives the rows; its Flush, if it has one, makes them
	// durable before progress is saved (the pipeline's).
	Writer flow.Writer
	// CheckpointRows is how many rows are written between saves of the
	// progress (Options.CheckpointRows).
	CheckpointRows int
	Logger         *slog.Logger
}

// settleTime leaves files modified more recently than this for the next
// round: they may be half written.
const settleTime = time.Second

// Watcher imports a directory's new and grown files, round after round,
// from Start until Stop. It is a component.
type Watcher struct {
	cfg  WatchConfig
	log  *slog.Logger
	r    *Runner
	loop *component.Loop
}

// NewWatcher loads the watcher's progress state; cfg must have its
// defaults (WithDefaults).
func NewWatcher(cfg WatchConfig, deps WatchDependencies) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	log := deps.Logger.With("import", cfg.Name)
	r, err := New(Options{
		Format: cfg.Format, AWSFields: cfg.AWSFields,
		// Each watcher keeps its own progress state.
		DataDir:        filepath.Join(deps.DataDir, "import", "serve-"+cfg.Name),
		Writer:         deps.Writer,
		CheckpointRows: deps.CheckpointRows,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	w := &Watcher{cfg: cfg, log: log, r: r}
	w.loop = component.NewLoop(w.run)
	return w, nil
}

// Start starts watching.
func (w *Watcher) Start() error { return w.loop.Start() }

// Stop stops watching; an import in progress stops after its current
// batch, its progress saved up to the last durable checkpoint.
func (w *Watcher) Stop() error { return w.loop.Stop() }

// run follows the directory. An error that ends the watch (the directory
// vanished, the state cannot be saved) is logged and the watcher stays
// stopped, as collection goes on.
func (w *Watcher) run(ctx context.Context) error {
	w.log.Info("importing", "dir", w.cfg.Dir, "interval", w.cfg.Interval)
	if err := w.r.Follow(ctx, w.cfg.Dir, w.cfg.Interval, settleTime); err != nil && ctx.Err() == nil {
		w.log.Error("import stopped", "dir", w.cfg.Dir, "err", err)
	}
	return nil
}

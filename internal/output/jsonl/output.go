package jsonl

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/output"
)

// Config configures the JSON lines output. Its YAML form is the scalar
// output.jsonl (the path), so the application fills Path from it.
type Config struct {
	// Path is the file rows are appended to; "-" is standard output.
	Path string
	// Queue bounds the batches waiting to be written.
	Queue output.QueueConfig
}

// DefaultConfig queues 16 batches: at the default batch size, 128 Ki
// flows, about a second of a busy collector, before it drops.
func DefaultConfig() Config {
	return Config{Queue: output.QueueConfig{Batches: 16}}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Path == "" {
		return errors.New("jsonl: no path")
	}
	return c.Queue.Validate()
}

// Dependencies are what an Output needs besides its Config.
type Dependencies struct {
	// Stdout receives the rows when Path is "-" (default os.Stdout).
	Stdout  io.Writer
	Metrics *output.Metrics
	Logger  *slog.Logger
}

// Output is the JSON lines driver: an output.Output.
type Output struct {
	cfg   Config
	deps  Dependencies
	file  *os.File // nil for stdout
	enc   *Encoder
	queue *output.Queue
}

var _ output.Output = (*Output)(nil)

// New checks cfg; the file is opened by Start.
func New(cfg Config, deps Dependencies) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Stdout == nil {
		deps.Stdout = os.Stdout
	}
	o := &Output{cfg: cfg, deps: deps}
	var err error
	o.queue, err = output.NewQueue(o.Name(), cfg.Queue, deps.Metrics, deps.Logger, o.deliver)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	return o, nil
}

// Name implements output.Output.
func (o *Output) Name() string { return "jsonl" }

// Start opens the file for appending and starts writing.
func (o *Output) Start() error {
	w := o.deps.Stdout
	if o.cfg.Path != "-" {
		f, err := os.OpenFile(o.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("output.jsonl: %w", err)
		}
		o.file, w = f, f
	}
	o.enc = NewEncoder(w)
	return o.queue.Start()
}

func (o *Output) deliver(b *flow.Batch) error { return o.enc.WriteBatch(b) }

// Send implements output.Output.
func (o *Output) Send(b *flow.Batch) { o.queue.Send(b) }

// Stop writes what is queued, flushes and closes the file.
func (o *Output) Stop() error {
	err := o.queue.Stop()
	if o.enc != nil {
		err = errors.Join(err, o.enc.Flush())
	}
	if o.file != nil {
		err = errors.Join(err, o.file.Close())
		o.file = nil
	}
	return err
}

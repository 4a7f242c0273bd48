package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Runner starts components in the order they were added (dependencies
// first) and stops them in reverse. It is itself a Component and a Failer,
// so a part made of several components (the archive's flusher and
// compactor, the enrichment pollers) runs them with a Runner of its own.
//
// The zero Runner is not usable; create one with NewRunner.
type Runner struct {
	log   *slog.Logger
	parts []part

	mu      sync.Mutex
	started int           // parts[:started] are running
	failed  chan error    // the first failure after Start; buffered
	quit    chan struct{} // closed by Stop: the watchers end
	watch   sync.WaitGroup
}

type part struct {
	name string
	c    Component
}

// NewRunner returns an empty Runner logging to log (nil: slog.Default()).
func NewRunner(log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	return &Runner{log: log, failed: make(chan error, 1)}
}

// Add appends c, named name in logs and errors, to the components to
// start. Components are started in the order added, so add each after
// what it depends on. Add must not be called after Start.
func (r *Runner) Add(name string, c Component) {
	r.parts = append(r.parts, part{name, c})
}

// Start starts every component in order. When one fails to start, those
// already started are stopped in reverse order, and the error names the
// component (with any stop errors joined).
func (r *Runner) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.quit != nil {
		return errors.New("component: runner started twice")
	}
	r.quit = make(chan struct{})
	for i, p := range r.parts {
		r.log.Debug("starting", "component", p.name)
		if err := p.c.Start(); err != nil {
			err = fmt.Errorf("start %s: %w", p.name, err)
			return errors.Join(err, r.stopLocked())
		}
		r.started = i + 1
		if f, ok := p.c.(Failer); ok {
			r.watch.Add(1)
			go r.watchFailer(p.name, f.Failed())
		}
	}
	return nil
}

// watchFailer turns a component's failure into the runner's.
func (r *Runner) watchFailer(name string, ch <-chan error) {
	defer r.watch.Done()
	select {
	case err, ok := <-ch:
		if !ok || err == nil {
			err = errors.New("stopped unexpectedly")
		}
		select {
		case r.failed <- fmt.Errorf("%s: %w", name, err):
		default: // a failure is already pending: the first one wins
		}
	case <-r.quit:
	}
}

// Failed implements Failer: it receives the first error a started
// component reported on its own Failed channel, prefixed with its name.
func (r *Runner) Failed() <-chan error { return r.failed }

// Stop stops the started components in reverse order and returns their
// errors joined, each prefixed with the component's name. Every component
// is stopped even when an earlier Stop failed. Stop is safe to call more
// than once and without a successful Start.
func (r *Runner) Stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopLocked()
}

func (r *Runner) stopLocked() error {
	if r.quit != nil {
		select {
		case <-r.quit:
		default:
			close(r.quit)
		}
	}
	var errs []error
	for ; r.started > 0; r.started-- {
		p := r.parts[r.started-1]
		r.log.Debug("stopping", "component", p.name)
		if err := p.c.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", p.name, err))
		}
	}
	r.watch.Wait()
	return errors.Join(errs...)
}

// Run starts every component, waits until ctx is done or a component
// fails, then stops them all. It returns the start error, or the failure
// joined with the stop errors; nil after a clean stop on ctx.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.Start(); err != nil {
		return err
	}
	var failure error
	select {
	case <-ctx.Done():
	case failure = <-r.failed:
		r.log.Error("stopping after a component failed", "err", failure)
	}
	return errors.Join(failure, r.Stop())
}

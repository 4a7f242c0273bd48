package archive

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/flowlake/flowlake/internal/component"
)

// Start runs the archive's background work until Stop: a flusher writing
// the buffered flows every FlushInterval (and as soon as FlushRows are
// buffered), and a compactor compacting and applying retention every
// maintenanceInterval. Without Start (the CLI, tests) WriteBatch flushes
// by itself when FlushRows are buffered, and nothing compacts.
//
// Flusher and compactor are components of a runner of the archive's own,
// stopped in reverse: the compactor first (a compaction in progress is
// abandoned; its sources stay), then the flusher, which flushes a last
// time.
func (a *Archive) Start() error {
	a.mu.Lock()
	if a.closed || a.bg != nil {
		a.mu.Unlock()
		return errors.New("archive: Start on a closed or started archive")
	}
	r := component.NewRunner(slog.Default())
	r.Add("flusher", component.NewLoop(a.flushLoop))
	r.Add("compactor", component.Every(a.maintenanceInterval(), a.maintain))
	a.bg = r
	a.mu.Unlock()
	a.running.Store(true)
	if err := r.Start(); err != nil {
		a.running.Store(false)
		return err
	}
	return nil
}

// Stop ends the background work after a last flush; the archive stays
// open (Close releases it).
func (a *Archive) Stop() error {
	a.mu.Lock()
	r := a.bg
	a.mu.Unlock()
	if r == nil {
		return nil
	}
	err := r.Stop()
	a.running.Store(false)
	return err
}

// flushLoop flushes every FlushInterval and when WriteBatch kicks it,
// until ctx is done; it then flushes a last time.
func (a *Archive) flushLoop(ctx context.Context) error {
	t := time.NewTicker(a.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := a.Flush(); err != nil {
				slog.Error("archive: final flush failed", "err", err)
			}
			return nil
		case <-t.C:
		case <-a.kick:
		}
		a.mu.Lock()
		wait := a.failing && time.Since(a.lastFail) < a.cfg.FlushInterval/2
		a.mu.Unlock()
		if !wait {
			// Errors are logged (once per streak) and counted by Flush.
			_ = a.Flush()
			// The next flush is due a full interval after this one: a
			// tick right after a flush kicked by FlushRows made a file of
			// a few flows per bucket.
			t.Reset(a.cfg.FlushInterval)
		}
	}
}

// maintenanceInterval is how often the compactor compacts and prunes.
func (a *Archive) maintenanceInterval() time.Duration {
	return max(6*a.cfg.FlushInterval, 30*time.Second)
}

// maintain compacts, applies retention and deletes the replaced files
// whose grace period is over.
func (a *Archive) maintain(ctx context.Context) {
	if _, err := a.Compact(ctx); err != nil && ctx.Err() == nil {
		slog.Error("archive: compaction failed", "err", err)
	}
	if _, err := a.Prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
		slog.Error("archive: retention failed", "err", err)
	}
	a.catMu.Lock()
	a.deleteDueLocked(time.Now())
	a.catMu.Unlock()
}

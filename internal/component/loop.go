package component

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Loop is a component that runs one function in a goroutine of its own
// from Start until Stop: the shape of pollers, savers and watchers. The
// function gets a context that Stop cancels, and Stop waits for it to
// return. A non-nil error returned before Stop is a failure (Failed); after
// Stop it is Stop's error unless it is the context's.
type Loop struct {
	fn func(ctx context.Context) error

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	failed chan error
}

// NewLoop returns a Loop running fn.
func NewLoop(fn func(ctx context.Context) error) *Loop {
	return &Loop{fn: fn, failed: make(chan error, 1)}
}

// Every returns a Loop calling tick every interval, the first time one
// interval after Start.
func Every(interval time.Duration, tick func(ctx context.Context)) *Loop {
	return NewLoop(func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				tick(ctx)
			}
		}
	})
}

// Start implements Component.
func (l *Loop) Start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return errors.New("component: loop started twice")
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		err := l.fn(ctx)
		if err != nil && ctx.Err() == nil {
			l.failed <- err
			return
		}
		if !errors.Is(err, context.Canceled) {
			l.err = err
		}
	}()
	return nil
}

// Stop implements Component; it is safe to call more than once and
// without Start.
func (l *Loop) Stop() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil {
		return nil
	}
	l.cancel()
	<-l.done
	return l.err
}

// Failed implements Failer.
func (l *Loop) Failed() <-chan error { return l.failed }

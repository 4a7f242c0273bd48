package component

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// journal records lifecycle calls in the order they happen.
type journal struct {
	mu  sync.Mutex
	log []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.log = append(j.log, s)
	j.mu.Unlock()
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.log)
}

type fake struct {
	name      string
	j         *journal
	startErr  error
	stopErr   error
	failed    chan error // nil: not a Failer's channel
	startedOK bool
}

func (f *fake) Start() error {
	f.j.add("start " + f.name)
	if f.startErr != nil {
		return f.startErr
	}
	f.startedOK = true
	return nil
}

func (f *fake) Stop() error {
	f.j.add("stop " + f.name)
	return f.stopErr
}

type failing struct {
	*fake
}

func (f failing) Failed() <-chan error { return f.failed }

func TestRunnerOrder(t *testing.T) {
	j := &journal{}
	r := NewRunner(quiet)
	for _, n := range []string{"store", "enrich", "collector", "http"} {
		r.Add(n, &fake{name: n, j: j})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	// Run has started everything once the fourth start is recorded.
	for len(j.get()) < 4 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("clean stop returned %v", err)
	}
	want := []string{"start store", "start enrich", "start collector", "start http",
		"stop http", "stop collector", "stop enrich", "stop store"}
	if got := j.get(); !slices.Equal(got, want) {
		t.Errorf("calls %v\nwant  %v", got, want)
	}
	if err := r.Stop(); err != nil || len(j.get()) != len(want) {
		t.Errorf("second Stop: %v, calls %v", err, j.get())
	}
}

func TestRunnerStartFailure(t *testing.T) {
	j := &journal{}
	r := NewRunner(quiet)
	boom := errors.New("address already in use")
	r.Add("a", &fake{name: "a", j: j})
	r.Add("b", &fake{name: "b", j: j, stopErr: errors.New("b would not stop")})
	r.Add("c", &fake{name: "c", j: j, startErr: boom})
	never := &fake{name: "d", j: j}
	r.Add("d", never)
	err := r.Run(context.Background())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "start c: address already in use") {
		t.Errorf("error %q does not name the component that failed", err)
	}
	if !strings.Contains(err.Error(), "stop b: b would not stop") {
		t.Errorf("error %q lacks the stop error of b", err)
	}
	// c never started, so it is not stopped; d is not started at all.
	want := []string{"start a", "start b", "start c", "stop b", "stop a"}
	if got := j.get(); !slices.Equal(got, want) {
		t.Errorf("calls %v\nwant  %v", got, want)
	}
	if never.startedOK {
		t.Error("a component after the failed one was started")
	}
}

func TestRunnerFailureStopsAll(t *testing.T) {
	j := &journal{}
	r := NewRunner(quiet)
	r.Add("store", &fake{name: "store", j: j})
	srv := failing{&fake{name: "http", j: j, failed: make(chan error, 1)}}
	r.Add("http", srv)
	r.Add("collector", &fake{name: "collector", j: j, stopErr: errors.New("drain failed")})
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	for len(j.get()) < 3 {
		time.Sleep(time.Millisecond)
	}
	died := errors.New("listener closed")
	srv.failed <- died
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after a component failed")
	}
	if !errors.Is(err, died) || !strings.Contains(err.Error(), "http: listener closed") {
		t.Errorf("error %q does not carry the failure", err)
	}
	if !strings.Contains(err.Error(), "stop collector: drain failed") {
		t.Errorf("error %q does not join the stop errors", err)
	}
	want := []string{"start store", "start http", "start collector", "stop collector", "stop http", "stop store"}
	if got := j.get(); !slices.Equal(got, want) {
		t.Errorf("calls %v\nwant  %v", got, want)
	}
}

// A Runner nests: its components' failures reach the outer runner, and
// stopping the outer one stops the inner ones in reverse.
func TestRunnerNested(t *testing.T) {
	j := &journal{}
	inner := NewRunner(quiet)
	inner.Add("poller", &fake{name: "poller", j: j})
	loopErr := errors.New("vcenter unreachable for good")
	var loopStopped bool
	inner.Add("loop", NewLoop(func(ctx context.Context) error {
		j.add("start loop")
		select {
		case <-time.After(20 * time.Millisecond):
			return loopErr
		case <-ctx.Done():
			loopStopped = true
			return ctx.Err()
		}
	}))
	outer := NewRunner(quiet)
	outer.Add("store", &fake{name: "store", j: j})
	outer.Add("enrich", inner)
	err := outer.Run(context.Background())
	if !errors.Is(err, loopErr) || !strings.Contains(err.Error(), "enrich: loop: vcenter unreachable") {
		t.Errorf("nested failure: %v", err)
	}
	got := j.get()
	if got[len(got)-2] != "stop poller" || got[len(got)-1] != "stop store" {
		t.Errorf("stop order %v", got)
	}
	if loopStopped {
		t.Error("the failed loop was cancelled instead of having failed")
	}
}

func TestLoopStop(t *testing.T) {
	ticks := make(chan struct{}, 100)
	l := Every(time.Millisecond, func(ctx context.Context) { ticks <- struct{}{} })
	if err := l.Stop(); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	<-ticks
	<-ticks
	if err := l.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	n := len(ticks)
	time.Sleep(20 * time.Millisecond)
	if len(ticks) != n {
		t.Error("ticks after Stop returned")
	}
	if err := l.Start(); err == nil {
		t.Error("a stopped loop started again")
	}
	select {
	case err := <-l.Failed():
		t.Errorf("clean stop reported a failure: %v", err)
	default:
	}
}

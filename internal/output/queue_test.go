package output

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/flowlake/flowlake/internal/flow"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func batchOf(n int, bytes uint64) *flow.Batch {
	b := new(flow.Batch)
	for range n {
		b.Append(&flow.Record{Bytes: bytes, Packets: 1})
	}
	return b
}

// TestQueueBlockedDestination: a destination that does not answer costs
// its own output every flow beyond the queue, counted, while Send keeps
// returning; what was queued is delivered once it answers, as copies of
// the batches taken when they were sent.
func TestQueueBlockedDestination(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var mu sync.Mutex
	var got []uint64 // bytes of each delivered flow
	q, err := NewQueue("blocked", QueueConfig{Batches: 3}, m, quiet, func(b *flow.Batch) error {
		<-release
		mu.Lock()
		got = append(got, b.Bytes...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	const sends, perBatch = 50, 10
	sent := make(chan struct{})
	go func() {
		b := new(flow.Batch)
		for i := range sends {
			b.Truncate(0)
			b.AppendBatch(batchOf(perBatch, uint64(i)))
			q.Send(b)
			// The caller reuses its batch at once, as the collector does.
			for j := range b.Bytes {
				b.Bytes[j] = 1 << 40
			}
		}
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(30 * time.Second):
		t.Fatal("Send blocked on a stuck destination")
	}
	// Slots come back only after delivery: exactly 3 batches were taken.
	if d := value(m.Dropped.WithLabelValues("blocked")); d != (sends-3)*perBatch {
		t.Errorf("dropped %v flows, want %d", d, (sends-3)*perBatch)
	}
	if d := value(m.Depth.WithLabelValues("blocked")); d < 2 || d > 3 {
		t.Errorf("queue depth %v with a stuck destination, want 2 or 3", d)
	}
	close(release)
	if err := q.Stop(); err != nil {
		t.Fatal(err)
	}
	if s := value(m.Sent.WithLabelValues("blocked")); s != 3*perBatch {
		t.Errorf("sent %v flows, want %d", s, 3*perBatch)
	}
	if len(got) != 3*perBatch {
		t.Fatalf("delivered %d flows, want %d", len(got), 3*perBatch)
	}
	for i, v := range got {
		if v != uint64(i/perBatch) {
			t.Fatalf("flow %d delivered with bytes %d, want %d (the batch as sent)", i, v, i/perBatch)
		}
	}
	// After Stop, Send drops and counts.
	q.Send(batchOf(5, 1))
	if d := value(m.Dropped.WithLabelValues("blocked")); d != (sends-3)*perBatch+5 {
		t.Errorf("dropped %v after Stop", d)
	}
}

func TestQueueErrorsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := NewMetrics(reg)
	// A second NewMetrics on the same registry shares the families.
	m2, err := NewMetrics(reg)
	if err != nil || m2.Errors != m.Errors {
		t.Fatalf("metrics not shared: %v", err)
	}
	q, _ := NewQueue("failing", QueueConfig{Batches: 4}, m, quiet, func(b *flow.Batch) error { return io.ErrClosedPipe })
	q.Start()
	for range 4 {
		q.Send(batchOf(2, 1))
		time.Sleep(time.Millisecond)
	}
	q.Stop()
	errs := value(m.Errors.WithLabelValues("failing"))
	dropped := value(m.Dropped.WithLabelValues("failing"))
	if errs+dropped/2 != 4 || errs == 0 {
		t.Errorf("%v batches failed and %v flows dropped of 4 batches", errs, dropped)
	}
	if s := value(m.Sent.WithLabelValues("failing")); s != 0 {
		t.Errorf("failed batches counted as sent: %v", s)
	}
}

func TestQueueConfig(t *testing.T) {
	if _, err := NewQueue("x", QueueConfig{}, &Metrics{}, nil, nil); err == nil {
		t.Error("a queue of no batches was accepted")
	}
}

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

package output

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/flow"
)

// Queue is the bounded hand-over between Send, on the collector's path,
// and a driver's own goroutine, which delivers batches one at a time. Send
// copies the batch into a free slot and returns; with every slot taken it
// drops the batch and counts its flows. So a slow or stuck destination
// costs its own output flows, never collection. Slots are reused: a
// copy costs no allocation once they have grown to the batch size.
type Queue struct {
	name    string
	deliver func(b *flow.Batch) error
	log     *slog.Logger

	mu     sync.RWMutex // Send holds it shared; Stop exclusively
	closed bool
	full   chan *flow.Batch // batches to deliver
	free   chan *flow.Batch // empty slots
	done   chan struct{}

	depth                 prometheus.Gauge
	sent, dropped, errors prometheus.Counter
	errLogged             bool
}

// QueueConfig sizes a Queue.
type QueueConfig struct {
	// Batches is how many batches may wait (at least 1). A batch holds up
	// to collector.batch_rows flows, about 0.5 KB each in memory.
	Batches int
}

// Validate checks the queue size.
func (c QueueConfig) Validate() error {
	if c.Batches < 1 {
		return errors.New("queue_batches: must be positive")
	}
	return nil
}

// NewQueue returns a queue delivering batches with deliver, which runs on
// the queue's goroutine and may block; an error it returns is counted and
// logged (once per failure streak), and the batch is not retried.
func NewQueue(name string, cfg QueueConfig, m *Metrics, log *slog.Logger, deliver func(b *flow.Batch) error) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("output: queue without metrics")
	}
	if log == nil {
		log = slog.Default()
	}
	q := &Queue{
		name: name, deliver: deliver, log: log,
		full: make(chan *flow.Batch, cfg.Batches), free: make(chan *flow.Batch, cfg.Batches),
		depth: m.Depth.WithLabelValues(name), sent: m.Sent.WithLabelValues(name),
		dropped: m.Dropped.WithLabelValues(name), errors: m.Errors.WithLabelValues(name),
	}
	for range cfg.Batches {
		q.free <- new(flow.Batch)
	}
	return q, nil
}

// Start launches the delivering goroutine.
func (q *Queue) Start() error {
	if q.done != nil {
		return fmt.Errorf("output %s: queue started twice", q.name)
	}
	q.done = make(chan struct{})
	go q.run()
	return nil
}

func (q *Queue) run() {
	defer close(q.done)
	for b := range q.full {
		q.depth.Set(float64(len(q.full)))
		n := b.Len()
		if err := q.deliver(b); err != nil {
			q.errors.Inc()
			if !q.errLogged {
				q.log.Error("output failed; dropping what it cannot deliver", "output", q.name, "err", err)
				q.errLogged = true
			}
		} else {
			q.sent.Add(float64(n))
			if q.errLogged {
				q.log.Info("output works again", "output", q.name)
				q.errLogged = false
			}
		}
		b.Truncate(0)
		q.free <- b
	}
}

// Send copies b into the queue, or drops it when the queue is full or
// stopped. It never blocks on delivery.
func (q *Queue) Send(b *flow.Batch) {
	n := b.Len()
	if n == 0 {
		return
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		q.dropped.Add(float64(n))
		return
	}
	var slot *flow.Batch
	select {
	case slot = <-q.free:
	default:
		q.dropped.Add(float64(n))
		return
	}
	slot.AppendBatch(b)
	// Never blocks: there are as many slots as places in full.
	q.full <- slot
	q.depth.Set(float64(len(q.full)))
}

// Stop delivers what is queued, then stops the goroutine. Batches sent
// after Stop are dropped and counted.
func (q *Queue) Stop() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	close(q.full)
	q.mu.Unlock()
	if q.done != nil {
		<-q.done
	}
	q.depth.Set(0)
	return nil
}

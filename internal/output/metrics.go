package output

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the counters every output reports, labelled by output name:
// one set of families shared by all drivers, so a dashboard shows every
// output the same way.
type Metrics struct {
	// Depth is the batches waiting in an output's queue.
	Depth *prometheus.GaugeVec
	// Sent counts flows an output delivered (wrote, acknowledged).
	Sent *prometheus.CounterVec
	// Dropped counts flows an output dropped because its queue was full
	// or it was stopped.
	Dropped *prometheus.CounterVec
	// Errors counts batches an output failed to deliver.
	Errors *prometheus.CounterVec
}

// NewMetrics registers the output metric families with reg (nil:
// prometheus.DefaultRegisterer); families already registered there are
// reused.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	m := &Metrics{
		Depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flowlake_output_queue_batches",
			Help: "Batches waiting in an output's queue."}, []string{"output"}),
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowlake_output_sent_flows_total",
			Help: "Flows an output delivered."}, []string{"output"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowlake_output_dropped_flows_total",
			Help: "Flows an output dropped because its queue was full."}, []string{"output"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowlake_output_errors_total",
			Help: "Batches an output failed to write."}, []string{"output"}),
	}
	var err error
	m.Depth, err = register(reg, m.Depth)
	if err == nil {
		m.Sent, err = register(reg, m.Sent)
	}
	if err == nil {
		m.Dropped, err = register(reg, m.Dropped)
	}
	if err == nil {
		m.Errors, err = register(reg, m.Errors)
	}
	return m, err
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

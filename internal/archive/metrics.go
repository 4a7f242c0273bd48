package archive

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the flowlake_archive_* series.
type metrics struct {
	flows       prometheus.Counter
	dropped     prometheus.Counter
	writeErrors prometheus.Counter
	corrupt     prometheus.Counter
	compactions prometheus.Counter
	pruned      prometheus.Counter
	buffered    prometheus.Gauge
	files       prometheus.Gauge
	bytes       prometheus.Gauge
	rows        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	counter := func(name, help string) prometheus.Counter {
		return register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "flowlake_archive_" + name, Help: help})).(prometheus.Counter)
	}
	gauge := func(name, help string) prometheus.Gauge {
		return register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowlake_archive_" + name, Help: help})).(prometheus.Gauge)
	}
	return &metrics{
		flows:       counter("written_flows_total", "Flows written to Parquet files."),
		dropped:     counter("dropped_flows_total", "Flows dropped because writing failed and the buffer was full (or at close)."),
		writeErrors: counter("write_errors_total", "Failed flushes and catalog writes."),
		corrupt:     counter("unreadable_files_total", "Parquet files found unreadable (corrupt, truncated) and skipped."),
		compactions: counter("compactions_total", "Compacted files written."),
		pruned:      counter("pruned_files_total", "Files removed by retention."),
		buffered:    gauge("buffered_flows", "Flows held in memory, not yet written."),
		files:       gauge("files", "Files in the catalog."),
		bytes:       gauge("bytes", "Bytes of the files in the catalog."),
		rows:        gauge("rows", "Flows in the catalog."),
	}
}

// register registers c, or returns the collector an earlier Archive
// registered under the same name so that several archives (tests, the CLI)
// share the series instead of panicking.
func register(reg prometheus.Registerer, c prometheus.Collector) prometheus.Collector {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector
		}
		// Registration can only fail for conflicting descriptors; keep the
		// collector working unregistered rather than failing the archive.
	}
	return c
}

func (m *metrics) setSize(c *Catalog) {
	var rows, bytes int64
	for _, f := range c.files {
		rows += f.Rows
		bytes += f.Bytes
	}
	m.files.Set(float64(len(c.files)))
	m.bytes.Set(float64(bytes))
	m.rows.Set(float64(rows))
}

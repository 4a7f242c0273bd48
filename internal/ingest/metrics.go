package ingest

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	records, flows, batches, decodeErrors  prometheus.Counter
	fetchErrors, commitErrors, ledgerSeeks prometheus.Counter
	insertErrors                           *prometheus.CounterVec
	decodeErrorLogged                      atomic.Bool
}

func newMetrics(reg prometheus.Registerer) *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "flowlake_ingest_" + name, Help: help})
	}
	m := &metrics{
		records:      c("records_total", "Kafka records consumed."),
		flows:        c("flows_total", "Flows written to ClickHouse."),
		batches:      c("batches_total", "Batches written to ClickHouse."),
		decodeErrors: c("decode_errors_total", "Kafka records that were not a valid flow message (dropped, counted, committed)."),
		fetchErrors:  c("fetch_errors_total", "Kafka fetch errors."),
		commitErrors: c("commit_errors_total", "Kafka offset commits that failed (the ClickHouse ledger covers them)."),
		ledgerSeeks:  c("ledger_seeks_total", "Partitions started after the ledger's offset because it was ahead of Kafka's committed offset."),
		insertErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowlake_ingest_write_errors_total",
			Help: "Failed attempts to write to ClickHouse, by step (insert, ledger, read ledger); each is retried."}, []string{"step"}),
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{m.records, m.flows, m.batches, m.decodeErrors, m.fetchErrors, m.commitErrors, m.ledgerSeeks, m.insertErrors} {
			reg.MustRegister(col)
		}
	}
	return m
}

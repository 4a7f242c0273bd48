package collect

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/flow"
)

// Counters keeps the latest interface counter sample of every exporter
// interface (sFlow counter samples) and exports them as Prometheus metrics,
// so that interface utilisation can be graphed next to flows.
type Counters struct {
	mu   sync.Mutex
	last map[ifKey]flow.IfCounters
	// Max bounds the interfaces kept (default 100000), so a flood of forged
	// samples cannot grow memory without bound.
	Max int
}

type ifKey struct {
	exporter flow.Addr
	domain   uint32
	ifIndex  uint32
}

// Add records samples, keeping the newest per interface.
func (c *Counters) Add(samples []flow.IfCounters) {
	if len(samples) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[ifKey]flow.IfCounters{}
	}
	limit := c.Max
	if limit <= 0 {
		limit = 100000
	}
	for _, s := range samples {
		k := ifKey{s.ExporterAddr, s.ObservationDomain, s.IfIndex}
		if old, ok := c.last[k]; ok && old.Time > s.Time {
			continue
		} else if !ok && len(c.last) >= limit {
			continue
		}
		c.last[k] = s
	}
}

// Snapshot returns the latest sample of every interface.
func (c *Counters) Snapshot() []flow.IfCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]flow.IfCounters, 0, len(c.last))
	for _, s := range c.last {
		out = append(out, s)
	}
	return out
}

var (
	ifLabels   = []string{"exporter", "domain", "ifindex"}
	ifInOctets = prometheus.NewDesc("flowlake_interface_in_octets_total", "Interface input octets, from the exporter's counter samples.", ifLabels, nil)
	ifOutOct   = prometheus.NewDesc("flowlake_interface_out_octets_total", "Interface output octets, from the exporter's counter samples.", ifLabels, nil)
	ifInErr    = prometheus.NewDesc("flowlake_interface_in_errors_total", "Interface input errors.", ifLabels, nil)
	ifOutErr   = prometheus.NewDesc("flowlake_interface_out_errors_total", "Interface output errors.", ifLabels, nil)
	ifInDisc   = prometheus.NewDesc("flowlake_interface_in_discards_total", "Interface input discards.", ifLabels, nil)
	ifOutDisc  = prometheus.NewDesc("flowlake_interface_out_discards_total", "Interface output discards.", ifLabels, nil)
	ifSpeed    = prometheus.NewDesc("flowlake_interface_speed_bits", "Interface speed in bits per second.", ifLabels, nil)
)

// Describe implements prometheus.Collector.
func (c *Counters) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ifInOctets, ifOutOct, ifInErr, ifOutErr, ifInDisc, ifOutDisc, ifSpeed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Counters) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.Snapshot() {
		l := []string{s.ExporterAddr.Netip().String(), strconv.FormatUint(uint64(s.ObservationDomain), 10), strconv.FormatUint(uint64(s.IfIndex), 10)}
		ch <- prometheus.MustNewConstMetric(ifInOctets, prometheus.CounterValue, float64(s.InOctets), l...)
		ch <- prometheus.MustNewConstMetric(ifOutOct, prometheus.CounterValue, float64(s.OutOctets), l...)
		ch <- prometheus.MustNewConstMetric(ifInErr, prometheus.CounterValue, float64(s.InErrors), l...)
		ch <- prometheus.MustNewConstMetric(ifOutErr, prometheus.CounterValue, float64(s.OutErrors), l...)
		ch <- prometheus.MustNewConstMetric(ifInDisc, prometheus.CounterValue, float64(s.InDiscards), l...)
		ch <- prometheus.MustNewConstMetric(ifOutDisc, prometheus.CounterValue, float64(s.OutDiscards), l...)
		ch <- prometheus.MustNewConstMetric(ifSpeed, prometheus.GaugeValue, float64(s.IfSpeed), l...)
	}
}

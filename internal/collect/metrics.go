package collect

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	c         *Collector
	datagrams prometheus.Counter
	bytes     prometheus.Counter
	errors    prometheus.Counter
	flows     prometheus.Counter
	batches   prometheus.Counter
	drops     *prometheus.Desc
	queue     *prometheus.Desc
}

func newMetrics(c *Collector) *metrics {
	return &metrics{
		c:         c,
		datagrams: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowlake_collector_datagrams_total", Help: "Datagrams (and IPFIX TCP messages) received."}),
		bytes:     prometheus.NewCounter(prometheus.CounterOpts{Name: "flowlake_collector_bytes_total", Help: "Bytes of datagrams received."}),
		errors:    prometheus.NewCounter(prometheus.CounterOpts{Name: "flowlake_collector_decode_errors_total", Help: "Datagrams rejected by their decoder (malformed, unknown protocol); per-exporter figures are in flowlake_exporter_*."}),
		flows:     prometheus.NewCounter(prometheus.CounterOpts{Name: "flowlake_collector_flows_total", Help: "Flows decoded and handed to enrichment and storage."}),
		batches:   prometheus.NewCounter(prometheus.CounterOpts{Name: "flowlake_collector_batches_total", Help: "Batches handed to enrichment and storage."}),
		drops:     prometheus.NewDesc("flowlake_collector_kernel_drops", "Datagrams the kernel dropped on the collector's UDP sockets because the receive buffer was full (from /proc/net/udp).", []string{"port"}, nil),
		queue:     prometheus.NewDesc("flowlake_collector_queue_length", "Batches waiting for enrichment and storage.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range []prometheus.Collector{m.datagrams, m.bytes, m.errors, m.flows, m.batches} {
		c.Describe(ch)
	}
	ch <- m.drops
	ch <- m.queue
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range []prometheus.Collector{m.datagrams, m.bytes, m.errors, m.flows, m.batches} {
		c.Collect(ch)
	}
	ch <- prometheus.MustNewConstMetric(m.queue, prometheus.GaugeValue, float64(len(m.c.batches)))
	ports := map[uint16]bool{}
	for _, ap := range m.c.UDPAddrs() {
		ports[ap.Port()] = true
	}
	drops, err := KernelDrops(ports)
	if err != nil {
		return
	}
	for port, n := range drops {
		ch <- prometheus.MustNewConstMetric(m.drops, prometheus.CounterValue, float64(n), strconv.Itoa(int(port)))
	}
}

// KernelDrops sums the kernel's drop counters of the UDP sockets bound to
// the given local ports, from /proc/net/udp and /proc/net/udp6.
func KernelDrops(ports map[uint16]bool) (map[uint16]uint64, error) {
	out := map[uint16]uint64{}
	var firstErr error
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		if err := readDrops(f, ports, out); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func readDrops(path string, ports map[uint16]bool, out map[uint16]uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan() // header
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 13 {
			continue
		}
		// local_address is HEXADDR:HEXPORT; drops is the last field.
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || !ports[uint16(p)] {
			continue
		}
		d, err := strconv.ParseUint(fields[len(fields)-1], 10, 64)
		if err != nil {
			return fmt.Errorf("%s: drops field %q", path, fields[len(fields)-1])
		}
		out[uint16(p)] += d
	}
	return s.Err()
}

// ExporterStat is one exporter's (and observation domain's) decoder counters,
// as the netflow and sflow decoders keep them.
type ExporterStat struct {
	Exporter       netip.Addr
	Protocol       string
	Domain         uint32
	Packets        uint64
	Records        uint64
	Errors         uint64
	TemplateMisses uint64
	SequenceGaps   uint64
}

// ExporterMetrics exports per-exporter decoder counters, read at scrape time
// from the decoders (which count without locks on the hot path).
type ExporterMetrics struct {
	// Stats returns the current counters.
	Stats func() []ExporterStat
}

var (
	exporterLabels = []string{"exporter", "protocol", "domain"}
	expPackets     = prometheus.NewDesc("flowlake_exporter_packets_total", "Datagrams decoded per exporter.", exporterLabels, nil)
	expRecords     = prometheus.NewDesc("flowlake_exporter_records_total", "Flow records decoded per exporter.", exporterLabels, nil)
	expErrors      = prometheus.NewDesc("flowlake_exporter_decode_errors_total", "Malformed datagrams or records per exporter.", exporterLabels, nil)
	expMisses      = prometheus.NewDesc("flowlake_exporter_template_misses_total", "Data sets received before their template.", exporterLabels, nil)
	expGaps        = prometheus.NewDesc("flowlake_exporter_sequence_gaps_total", "Records or packets lost according to the exporter's sequence numbers.", exporterLabels, nil)
)

// Describe implements prometheus.Collector.
func (e ExporterMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{expPackets, expRecords, expErrors, expMisses, expGaps} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (e ExporterMetrics) Collect(ch chan<- prometheus.Metric) {
	type key struct {
		a netip.Addr
		p string
		d uint32
	}
	sum := map[key]*ExporterStat{}
	for _, s := range e.Stats() {
		k := key{s.Exporter, s.Protocol, s.Domain}
		if t := sum[k]; t != nil {
			t.Packets += s.Packets
			t.Records += s.Records
			t.Errors += s.Errors
			t.TemplateMisses += s.TemplateMisses
			t.SequenceGaps += s.SequenceGaps
			continue
		}
		s := s
		sum[k] = &s
	}
	for k, s := range sum {
		l := []string{k.a.String(), k.p, strconv.FormatUint(uint64(k.d), 10)}
		ch <- prometheus.MustNewConstMetric(expPackets, prometheus.CounterValue, float64(s.Packets), l...)
		ch <- prometheus.MustNewConstMetric(expRecords, prometheus.CounterValue, float64(s.Records), l...)
		ch <- prometheus.MustNewConstMetric(expErrors, prometheus.CounterValue, float64(s.Errors), l...)
		ch <- prometheus.MustNewConstMetric(expMisses, prometheus.CounterValue, float64(s.TemplateMisses), l...)
		ch <- prometheus.MustNewConstMetric(expGaps, prometheus.CounterValue, float64(s.SequenceGaps), l...)
	}
}

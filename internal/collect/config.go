package collect

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/flowlake/flowlake/internal/netflow"
	"github.com/flowlake/flowlake/internal/sflow"
)

// Config configures the collector: its listeners, its batching, and the
// decoders' settings (YAML section collector).
type Config struct {
	// UDP lists host:port addresses; each accepts NetFlow v5/v9, IPFIX and
	// sFlow v5 alike (the protocol is told by the version field). ":0"
	// picks a free port.
	UDP []string `yaml:"udp"`
	// TCP lists host:port addresses for IPFIX over TCP (RFC 7011).
	TCP []string `yaml:"tcp"`
	// SocketsPerPort opens this many SO_REUSEPORT sockets per UDP address,
	// each with its own receive goroutine (0: the number of CPUs).
	SocketsPerPort int `yaml:"sockets_per_port"`
	// ReceiveBuffer is the socket receive buffer in bytes; the default
	// kernel buffer drops bursts.
	ReceiveBuffer int `yaml:"receive_buffer"`
	// ReadBatch is how many datagrams one recvmmsg call may return.
	ReadBatch int `yaml:"read_batch"`
	// BatchRows hands decoded flows to enrichment and storage once this many
	// have accumulated on a socket...
	BatchRows int `yaml:"batch_rows"`
	// ...or once this much time has passed since the first of them.
	BatchDelay time.Duration `yaml:"batch_delay"`
	// SamplingOverrides maps exporter (or sFlow agent) address to the
	// sampling rate to apply, winning over what the exporter announces.
	SamplingOverrides map[string]uint32 `yaml:"sampling_overrides"`
	// Fields maps extra NetFlow v9/IPFIX information elements to columns.
	Fields []netflow.FieldMapping `yaml:"fields"`
}

// DefaultConfig listens on the usual NetFlow, IPFIX and sFlow ports.
func DefaultConfig() Config {
	return Config{
		UDP:           []string{":2055", ":4739", ":6343"},
		TCP:           []string{":4739"},
		ReceiveBuffer: 8 << 20,
		ReadBatch:     64,
		BatchRows:     8192,
		BatchDelay:    500 * time.Millisecond,
	}
}

// Validate checks every setting; each error names its key.
func (c Config) Validate() error {
	var errs []error
	for i, a := range c.UDP {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("udp[%d]: %q: want host:port", i, a))
		}
	}
	for i, a := range c.TCP {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("tcp[%d]: %q: want host:port", i, a))
		}
	}
	if c.SocketsPerPort < 0 {
		errs = append(errs, errors.New("sockets_per_port: must not be negative (0: one per CPU)"))
	}
	for key, v := range map[string]int{"receive_buffer": c.ReceiveBuffer, "read_batch": c.ReadBatch, "batch_rows": c.BatchRows} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", key))
		}
	}
	if c.BatchDelay <= 0 {
		errs = append(errs, errors.New("batch_delay: must be positive"))
	}
	if _, err := c.samplingOverrides(); err != nil {
		errs = append(errs, err)
	}
	if _, err := netflow.New(netflow.Config{Fields: c.Fields}); err != nil {
		errs = append(errs, fmt.Errorf("fields: %w", err))
	}
	return errors.Join(errs...)
}

// samplingOverrides parses SamplingOverrides.
func (c Config) samplingOverrides() (map[netip.Addr]uint32, error) {
	out := make(map[netip.Addr]uint32, len(c.SamplingOverrides))
	for a, rate := range c.SamplingOverrides {
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("sampling_overrides: %q: not an IP address", a)
		}
		if rate == 0 {
			return nil, fmt.Errorf("sampling_overrides: %s: the rate must be positive", a)
		}
		out[addr] = rate
	}
	return out, nil
}

// Decoders are the protocol decoders a collector feeds, built from its
// configuration: the Mux dispatching to them, the NetFlow template state
// (TemplateStore) and the per-exporter metrics all read the same ones.
type Decoders struct {
	NetFlow *netflow.Decoder
	SFlow   *sflow.Decoder
}

// NewDecoders builds the decoders with cfg's sampling overrides and field
// mappings.
func NewDecoders(cfg Config) (*Decoders, error) {
	overrides, err := cfg.samplingOverrides()
	if err != nil {
		return nil, err
	}
	nf, err := netflow.New(netflow.Config{SamplingOverrides: overrides, Fields: cfg.Fields})
	if err != nil {
		return nil, fmt.Errorf("netflow: %w", err)
	}
	sf, err := sflow.New(sflow.Config{SamplingOverrides: overrides})
	if err != nil {
		return nil, fmt.Errorf("sflow: %w", err)
	}
	return &Decoders{NetFlow: nf, SFlow: sf}, nil
}

// Mux returns the decoder dispatching each datagram to its protocol's.
func (d *Decoders) Mux() *Mux { return &Mux{NetFlow: d.NetFlow, SFlow: d.SFlow} }

// Metrics returns the per-exporter decoder counters as Prometheus metrics.
func (d *Decoders) Metrics() ExporterMetrics { return ExporterMetrics{Stats: d.stats} }

func (d *Decoders) stats() []ExporterStat {
	var out []ExporterStat
	for _, st := range d.NetFlow.Stats() {
		proto := map[uint16]string{5: "netflow5", 9: "netflow9", 10: "ipfix"}[st.Version]
		out = append(out, ExporterStat{Exporter: st.Exporter, Protocol: proto, Domain: st.ObservationDomain,
			Packets: st.Packets, Records: st.Records, Errors: st.Errors, TemplateMisses: st.TemplateMisses, SequenceGaps: st.SequenceGaps})
	}
	for _, st := range d.SFlow.Stats() {
		out = append(out, ExporterStat{Exporter: st.Agent, Protocol: "sflow", Domain: st.SubAgentID,
			Packets: st.Packets, Records: st.Flows + st.Counters, Errors: st.Errors, SequenceGaps: st.SequenceGaps})
	}
	return out
}

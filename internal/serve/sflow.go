package serve

import (
	"fmt"
	"net/netip"

	"github.com/flowlake/flowlake/internal/collect"
	"github.com/flowlake/flowlake/internal/config"
	"github.com/flowlake/flowlake/internal/sflow"
)

// newSFlow builds the sFlow v5 decoder with the configured per-agent
// sampling overrides.
func newSFlow(cfg config.Config) (*sflow.Decoder, error) {
	sc := sflow.Config{SamplingOverrides: map[netip.Addr]uint32{}}
	for a, rate := range cfg.Collector.SamplingOverrides {
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("collector.sampling_overrides: %w", err)
		}
		sc.SamplingOverrides[addr] = rate
	}
	return sflow.New(sc)
}

func sflowStats(d *sflow.Decoder) []collect.ExporterStat {
	var out []collect.ExporterStat
	for _, st := range d.Stats() {
		out = append(out, collect.ExporterStat{Exporter: st.Agent, Protocol: "sflow", Domain: st.SubAgentID,
			Packets: st.Packets, Records: st.Flows + st.Counters, Errors: st.Errors, SequenceGaps: st.SequenceGaps})
	}
	return out
}

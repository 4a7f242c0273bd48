package serve

import (
	"github.com/flowlake/flowlake/internal/collect"
	"github.com/flowlake/flowlake/internal/config"
	"github.com/flowlake/flowlake/internal/flow"
)

// SFlowDecoder returns the sFlow v5 decoder; nil until internal/sflow lands,
// and sFlow datagrams are then counted as unknown.
func SFlowDecoder() flow.Decoder { return nil }

func sflowDecoder(config.Config) flow.Decoder { return SFlowDecoder() }

func sflowStats() []collect.ExporterStat { return nil }

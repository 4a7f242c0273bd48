package flow

import (
	"net/netip"
	"time"
)

// Decoded is what decoding datagrams yields: flows in columnar form, plus the
// rarer side records that are not flows but must not be dropped.
type Decoded struct {
	Flows      Batch
	Counters   []IfCounters
	Interfaces []Interface
}

// Reset empties d, keeping its capacity.
func (d *Decoded) Reset() {
	d.Flows.Truncate(0)
	d.Counters = d.Counters[:0]
	d.Interfaces = d.Interfaces[:0]
}

// Decoder turns one datagram received from exporter at time received into
// flows appended to out. A malformed datagram yields an error; flows decoded
// from it before the error stay in out only if the decoder documents so.
// Implementations are safe for concurrent use by several receive goroutines.
type Decoder interface {
	Decode(pkt []byte, exporter netip.AddrPort, received time.Time, out *Decoded) error
}

// IfCounters is one interface counter sample (sFlow generic and Ethernet
// interface counters), kept as its own record type next to flows.
type IfCounters struct {
	Time              int64 // Unix nanoseconds, UTC
	ExporterAddr      Addr
	ObservationDomain uint32 // sFlow sub-agent id
	SequenceNumber    uint32
	IfIndex           uint32
	IfType            uint32
	IfSpeed           uint64
	IfDirection       uint32 // 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out
	IfStatus          uint32 // bit 0 admin up, bit 1 oper up
	InOctets          uint64
	InUcastPkts       uint64
	InMulticastPkts   uint64
	InBroadcastPkts   uint64
	InDiscards        uint64
	InErrors          uint64
	InUnknownProtos   uint64
	OutOctets         uint64
	OutUcastPkts      uint64
	OutMulticastPkts  uint64
	OutBroadcastPkts  uint64
	OutDiscards       uint64
	OutErrors         uint64
	Promiscuous       uint32
}

// Interface describes an exporter's interface as the exporter itself told
// (NetFlow v9/IPFIX options data, sFlow) or as SNMP polling found it.
type Interface struct {
	ExporterAddr      Addr
	ObservationDomain uint32
	Index             uint32
	Name              string
	Description       string
	Alias             string
	Speed             uint64 // bits per second
}

// Writer consumes batches of flows: the archive, forwarders, JSON-lines
// output. WriteBatch must not keep b (or its slices) after it returns; the
// caller reuses it.
type Writer interface {
	WriteBatch(b *Batch) error
}

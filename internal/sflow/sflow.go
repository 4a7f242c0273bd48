// Package sflow decodes sFlow version 5 datagrams (sflow.org, "sFlow
// Version 5", 2004) into flowlake's canonical flow batch and interface
// counter records.
//
// Every flow sample (format 1) and expanded flow sample (format 3) becomes
// exactly one flow, so that counting flows counts sampled packets. Counter
// samples (2, 4) become one flow.IfCounters per generic interface counters
// record (the Ethernet counters record has no fields there yet), and port
// name records (1005, Open vSwitch) become flow.Interface names. Other
// sample types (discarded-packet events, vendor formats) and record types
// are skipped by their length. Decoding a well-formed datagram of a known
// agent allocates nothing (port names aside); the output grows amortised.
//
// Conventions where the specification or exporters leave room:
//   - packets = sampling rate and bytes = frame length * sampling rate: each
//     sample stands for rate packets of its size. The frame length is the
//     raw packet header record's (the whole frame as received, FCS
//     included, as the agent reports it), else the Ethernet frame record's,
//     else the sampled IPv4/IPv6 record's (IP length). A sampling rate of 0
//     is read as 1. Config.SamplingOverrides wins over the datagram.
//   - Addresses, ports and protocol come from the raw packet header when it
//     holds an IP header, else from the sampled IPv4/IPv6 record.
//   - VXLAN (UDP port 4789): when the inner frame holds an IP header, the
//     inner addresses, ports, protocol, TOS, TCP flags, ICMP type/code and
//     MACs are the flow's; the VLAN stays the outer frame's (the tag on
//     the sampled port). The VNI goes to vxlan_vni.
//   - VLAN: the outer 802.1Q/802.1ad tag of the sampled frame, else the
//     extended switch record's incoming VLAN.
//   - Interfaces: the ifIndex when the interface format is 0; 0 for
//     discarded packets (format 1), several outputs (format 2) and the
//     agent itself (0x3FFFFFFF).
//   - Direction: ingress when the data source is the input interface,
//     egress when it is the output interface, else unknown.
//   - Next hop: the extended router record's (IP next hop), else the
//     extended gateway record's (BGP next hop). src_as is the gateway
//     record's source AS; dst_as the last AS of the destination AS path,
//     or the router's own AS when the path is empty (a local destination).
//   - Sampled headers: Ethernet with up to 4 VLAN tags, MPLS label stacks
//     (the payload told by its IP version nibble), IPv4, IPv6 with its
//     extension headers, TCP, UDP and SCTP ports, TCP flags (with NS),
//     ICMP and ICMPv6 type and code. Later fragments carry no ports. A
//     header cut short yields what it holds; that is not an error.
//   - ICMP type and code go to their columns; ports stay 0.
//   - time_start and time_end are the time received: a sample is one
//     packet seen about when the datagram was sent.
//
// A malformed sample is dropped whole and the rest of the datagram still
// decoded; Decode then returns an error (wrapping ErrMalformed) naming the
// agent, sample, record and offset, and the agent's error count goes up
// once. Flows and counters of the well-formed samples stay in the output.
// Every count and length is checked against the bytes that hold it before
// it is used, so work is bounded by the datagram's size.
package sflow

import (
	"errors"
	"net/netip"
	"sort"
	"sync"
)

// Errors wrapped by Decode.
var (
	// ErrMalformed: the datagram is damaged or violates a limit.
	ErrMalformed = errors.New("malformed sflow datagram")
	// ErrUnsupportedVersion: the datagram is not sFlow version 5.
	ErrUnsupportedVersion = errors.New("unsupported sflow version")
)

// DefaultMaxAgents bounds the agent states kept when Config.MaxAgents is 0.
const DefaultMaxAgents = 16384

// Config tunes a Decoder; the zero value is usable.
type Config struct {
	// SamplingOverrides sets the sampling rate of an agent (by agent
	// address, else by the datagram's UDP source address), winning over the
	// rate in its samples.
	SamplingOverrides map[netip.Addr]uint32
	// MaxAgents bounds the (agent, sub-agent) states kept (default 16384),
	// so that spoofed agent addresses cannot grow memory without bound.
	// Datagrams of agents beyond it are counted under the zero Agent.
	MaxAgents int
}

// ExporterStats are the counters of one sFlow agent and sub-agent.
type ExporterStats struct {
	// Agent is the agent address in the datagram; the UDP source when the
	// address type is unknown (0) or the datagram is too damaged to tell,
	// with sub-agent 0 then; invalid for the overflow entry.
	Agent      netip.Addr
	SubAgentID uint32
	// Packets counts datagrams, including rejected ones.
	Packets uint64
	// Samples counts samples of every type, skipped ones included.
	Samples uint64
	// Records counts flow and counter records read, skipped ones included.
	Records uint64
	// Flows and Counters count the flows and interface counter records
	// produced.
	Flows    uint64
	Counters uint64
	// Errors counts datagrams with a malformed part.
	Errors uint64
	// SequenceGaps counts datagrams lost according to the datagram
	// sequence numbers.
	SequenceGaps uint64
}

// Decoder decodes sFlow v5. It is safe for concurrent use.
type Decoder struct {
	cfg      Config
	mu       sync.RWMutex
	agents   map[agentKey]*agent
	overflow agent
}

type agentKey struct {
	addr netip.Addr
	sub  uint32
}

// agent is the state of one (agent, sub-agent). Its mutex is held only to
// update counters once per datagram, not while decoding.
type agent struct {
	mu  sync.Mutex
	key agentKey
	ExporterStats
	seqValid bool
	nextSeq  uint32
}

// New validates cfg and returns a Decoder.
func New(cfg Config) (*Decoder, error) {
	if cfg.MaxAgents <= 0 {
		cfg.MaxAgents = DefaultMaxAgents
	}
	return &Decoder{cfg: cfg, agents: make(map[agentKey]*agent)}, nil
}

// agent returns the state of (addr, sub), creating it, or the overflow
// state when MaxAgents states exist.
func (d *Decoder) agent(addr netip.Addr, sub uint32) *agent {
	k := agentKey{addr.Unmap(), sub}
	d.mu.RLock()
	a := d.agents[k]
	d.mu.RUnlock()
	if a != nil {
		return a
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a = d.agents[k]; a != nil {
		return a
	}
	if len(d.agents) >= d.cfg.MaxAgents {
		return &d.overflow
	}
	a = &agent{key: k}
	a.Agent, a.SubAgentID = k.addr, sub
	d.agents[k] = a
	return a
}

// override returns the configured sampling rate of an agent, or 0.
func (d *Decoder) override(agentAddr, src netip.Addr) uint32 {
	if len(d.cfg.SamplingOverrides) == 0 {
		return 0
	}
	if r, ok := d.cfg.SamplingOverrides[agentAddr.Unmap()]; ok && agentAddr.IsValid() {
		return r
	}
	if r, ok := d.cfg.SamplingOverrides[agentAddr]; ok && agentAddr.IsValid() {
		return r
	}
	if r, ok := d.cfg.SamplingOverrides[src.Unmap()]; ok {
		return r
	}
	return d.cfg.SamplingOverrides[src]
}

// tally is what one datagram adds to its agent's counters.
type tally struct {
	samples, records, flows, counters uint64
	seq                               uint32
	seqKnown                          bool
	failed                            bool
}

func (a *agent) add(t *tally) {
	a.mu.Lock()
	a.Packets++
	a.Samples += t.samples
	a.Records += t.records
	a.Flows += t.flows
	a.Counters += t.counters
	if t.failed {
		a.Errors++
	}
	if t.seqKnown {
		// Jumps of 2^30 or more, and going backwards, are restarts or
		// reordering: tracking restarts instead of counting a huge gap.
		if a.seqValid {
			if diff := int32(t.seq - a.nextSeq); diff > 0 && diff < 1<<30 {
				a.SequenceGaps += uint64(diff)
			}
		}
		a.nextSeq = t.seq + 1
		a.seqValid = true
	}
	a.mu.Unlock()
}

// Stats returns the counters of every agent seen, sorted by agent address
// and sub-agent id; the overflow entry, if used, comes first.
func (d *Decoder) Stats() []ExporterStats {
	d.mu.RLock()
	as := make([]*agent, 0, len(d.agents)+1)
	for _, a := range d.agents {
		as = append(as, a)
	}
	d.mu.RUnlock()
	as = append(as, &d.overflow)
	out := make([]ExporterStats, 0, len(as))
	for _, a := range as {
		a.mu.Lock()
		s := a.ExporterStats
		a.mu.Unlock()
		if a == &d.overflow && s.Packets == 0 {
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Agent.Compare(out[j].Agent); c != 0 {
			return c < 0
		}
		return out[i].SubAgentID < out[j].SubAgentID
	})
	return out
}

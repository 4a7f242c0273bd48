package sflow

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

var be = binary.BigEndian

// Sample formats (enterprise 0).
const (
	fmtFlowSample            = 1
	fmtCounterSample         = 2
	fmtExpandedFlowSample    = 3
	fmtExpandedCounterSample = 4
)

// Flow record formats (enterprise 0).
const (
	recRawHeader   = 1
	recEthernet    = 2
	recIPv4        = 3
	recIPv6        = 4
	recExtSwitch   = 1001
	recExtRouter   = 1002
	recExtGateway  = 1003
	recGenericIf   = 1    // counter record
	recPortName    = 1005 // counter record (OpenFlow extension)
	localInterface = 0x3FFFFFFF
)

// Header protocols of the raw packet header record.
const (
	hdrEthernet = 1
	hdrIPv4     = 11
	hdrIPv6     = 12
)

// header is what samples need from the datagram header.
type header struct {
	exporter flow.Addr
	agent    netip.Addr
	sub      uint32
	received int64
	override uint32
}

// Decode decodes one sFlow v5 datagram; see flow.Decoder and the package
// documentation for what is kept when part of it is malformed.
func (d *Decoder) Decode(pkt []byte, exporter netip.AddrPort, received time.Time, out *flow.Decoded) error {
	if len(pkt) < 8 {
		return d.reject(exporter, fmt.Errorf("%w: datagram of %d bytes", ErrMalformed, len(pkt)))
	}
	if v := be.Uint32(pkt); v != 5 {
		return d.reject(exporter, fmt.Errorf("%w %d", ErrUnsupportedVersion, v))
	}
	h := header{received: received.UnixNano()}
	off := 8
	switch at := be.Uint32(pkt[4:]); at {
	case 1:
		if len(pkt) < 12 {
			return d.reject(exporter, fmt.Errorf("%w: IPv4 agent address truncated (%d bytes)", ErrMalformed, len(pkt)))
		}
		h.agent = netip.AddrFrom4([4]byte(pkt[8:12]))
		off += 4
	case 2:
		if len(pkt) < 24 {
			return d.reject(exporter, fmt.Errorf("%w: IPv6 agent address truncated (%d bytes)", ErrMalformed, len(pkt)))
		}
		h.agent = netip.AddrFrom16([16]byte(pkt[8:24]))
		off += 16
	case 0:
		// Unknown agent address: the UDP source stands for it.
	default:
		return d.reject(exporter, fmt.Errorf("%w: agent address type %d", ErrMalformed, at))
	}
	if len(pkt) < off+16 {
		return d.reject(exporter, fmt.Errorf("%w: header truncated (%d bytes)", ErrMalformed, len(pkt)))
	}
	agentAddr := h.agent
	if !agentAddr.IsValid() {
		agentAddr = exporter.Addr()
	}
	h.exporter = flow.AddrFromNetip(agentAddr.Unmap())
	h.sub = be.Uint32(pkt[off:])
	t := tally{seq: be.Uint32(pkt[off+4:]), seqKnown: true}
	// pkt[off+8:] is the agent's uptime, of no use for samples that carry
	// no time of their own.
	n := be.Uint32(pkt[off+12:])
	off += 16
	h.override = d.override(h.agent, exporter.Addr())
	a := d.agent(agentAddr, h.sub)

	err := d.samples(pkt, off, n, &h, &t, out)
	t.failed = err != nil
	a.add(&t)
	if err != nil {
		return fmt.Errorf("sflow agent %s sub-agent %d (from %s): %w", agentAddr, h.sub, exporter, err)
	}
	return nil
}

// reject counts a datagram whose agent could not be read against its UDP
// source.
func (d *Decoder) reject(exporter netip.AddrPort, err error) error {
	d.agent(exporter.Addr(), 0).add(&tally{failed: true})
	return fmt.Errorf("sflow from %s: %w", exporter, err)
}

// samples decodes the n samples starting at pkt[off:]. The sample framing
// is walked first, so that the batch is extended once for all flow
// samples; a sample whose content is malformed is dropped and the others
// kept. The first error is returned.
func (d *Decoder) samples(pkt []byte, off int, n uint32, h *header, t *tally, out *flow.Decoded) error {
	var firstErr error
	// Each sample takes at least 8 bytes: a count beyond that is damage,
	// caught before looping on it.
	if uint64(n) > uint64(len(pkt)-off)/8 {
		firstErr = fmt.Errorf("%w: %d samples cannot fit %d bytes", ErrMalformed, n, len(pkt)-off)
	}
	flows := 0
	end := off
	count := 0
	for ; uint32(count) < n && end+8 <= len(pkt); count++ {
		format := be.Uint32(pkt[end:])
		l := be.Uint32(pkt[end+4:])
		if uint64(l) > uint64(len(pkt)-end-8) {
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: sample %d (format %d:%d) at offset %d: length %d beyond datagram end (%d bytes left)",
					ErrMalformed, count, format>>12, format&0xfff, end, l, len(pkt)-end-8)
			}
			break
		}
		if format == fmtFlowSample || format == fmtExpandedFlowSample {
			flows++
		}
		end += 8 + int(l)
	}
	if firstErr == nil && uint32(count) < n {
		firstErr = fmt.Errorf("%w: header announces %d samples, datagram holds %d", ErrMalformed, n, count)
	}

	b := &out.Flows
	first := b.Extend(flows)
	row := first
	var s sample
	for i := 0; i < count; i++ {
		format := be.Uint32(pkt[off:])
		l := int(be.Uint32(pkt[off+4:]))
		body := pkt[off+8 : off+8+l]
		t.samples++
		var err error
		switch format {
		case fmtFlowSample, fmtExpandedFlowSample:
			s = sample{}
			err = s.decode(body, format == fmtExpandedFlowSample, t)
			if err == nil {
				s.write(b, row, h)
				row++
				t.flows++
			}
		case fmtCounterSample, fmtExpandedCounterSample:
			err = decodeCounters(body, format == fmtExpandedCounterSample, h, t, out)
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("sample %d (format %d) at offset %d: %w", i, format, off, err)
		}
		off += 8 + l
	}
	if row != first+flows {
		b.Truncate(row)
	}
	return firstErr
}

// recordIter walks the records of a sample body.
type recordIter struct {
	b   []byte
	n   uint32 // records announced
	i   uint32 // records read
	off int
}

func newRecordIter(b []byte, n uint32) (recordIter, error) {
	if uint64(n) > uint64(len(b))/8 {
		return recordIter{}, fmt.Errorf("%w: %d records cannot fit %d bytes", ErrMalformed, n, len(b))
	}
	return recordIter{b: b, n: n}, nil
}

// next returns the next record's format and data; ok is false after the
// last one or on error.
func (it *recordIter) next(t *tally) (format uint32, data []byte, ok bool, err error) {
	if it.i >= it.n {
		return 0, nil, false, nil
	}
	if it.off+8 > len(it.b) {
		return 0, nil, false, fmt.Errorf("%w: record %d at offset %d: truncated", ErrMalformed, it.i, it.off)
	}
	format = be.Uint32(it.b[it.off:])
	l := be.Uint32(it.b[it.off+4:])
	if uint64(l) > uint64(len(it.b)-it.off-8) {
		return 0, nil, false, fmt.Errorf("%w: record %d (format %d:%d) at offset %d: length %d beyond sample end",
			ErrMalformed, it.i, format>>12, format&0xfff, it.off, l)
	}
	data = it.b[it.off+8 : it.off+8+int(l)]
	it.off += 8 + int(l)
	it.i++
	t.records++
	return format, data, true, nil
}

// wrap adds the position of the record just read to err.
func (it *recordIter) wrap(format uint32, err error) error {
	return fmt.Errorf("record %d (format %d:%d): %w", it.i-1, format>>12, format&0xfff, err)
}

// readAddr reads an sFlow address (type, then 0, 4 or 16 bytes) and
// returns it and the bytes it took.
func readAddr(b []byte) (flow.Addr, int, error) {
	if len(b) < 4 {
		return flow.Addr{}, 0, fmt.Errorf("%w: address truncated", ErrMalformed)
	}
	switch t := be.Uint32(b); t {
	case 0:
		return flow.Addr{}, 4, nil
	case 1:
		if len(b) < 8 {
			return flow.Addr{}, 0, fmt.Errorf("%w: IPv4 address truncated", ErrMalformed)
		}
		return flow.AddrFrom4([4]byte(b[4:8])), 8, nil
	case 2:
		if len(b) < 20 {
			return flow.Addr{}, 0, fmt.Errorf("%w: IPv6 address truncated", ErrMalformed)
		}
		return flow.Addr(b[4:20]), 20, nil
	default:
		return flow.Addr{}, 0, fmt.Errorf("%w: address type %d", ErrMalformed, t)
	}
}

// decodeCounters appends the generic interface counters of a counter
// sample to out.Counters, and the port name (OpenFlow extension, 1005) to
// out.Interfaces. A malformed sample adds nothing.
func decodeCounters(b []byte, expanded bool, h *header, t *tally, out *flow.Decoded) error {
	nc, ni := len(out.Counters), len(out.Interfaces)
	err := counterRecords(b, expanded, h, t, out)
	if err != nil {
		out.Counters, out.Interfaces = out.Counters[:nc], out.Interfaces[:ni]
		return err
	}
	t.counters += uint64(len(out.Counters) - nc)
	return nil
}

func counterRecords(b []byte, expanded bool, h *header, t *tally, out *flow.Decoded) error {
	need := 12
	if expanded {
		need = 16
	}
	if len(b) < need {
		return fmt.Errorf("%w: counter sample of %d bytes", ErrMalformed, len(b))
	}
	seq := be.Uint32(b)
	index := be.Uint32(b[4:]) & 0xffffff
	if expanded {
		index = be.Uint32(b[8:])
	}
	it, err := newRecordIter(b[need:], be.Uint32(b[need-4:]))
	if err != nil {
		return err
	}
	for {
		format, r, ok, err := it.next(t)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch format {
		case recGenericIf:
			if len(r) < 88 {
				return it.wrap(format, fmt.Errorf("%w: generic interface counters of %d bytes", ErrMalformed, len(r)))
			}
			out.Counters = append(out.Counters, genericCounters(r, seq, h))
		case recPortName:
			if len(r) < 4 || uint64(be.Uint32(r)) > uint64(len(r)-4) {
				return it.wrap(format, fmt.Errorf("%w: port name does not fit %d bytes", ErrMalformed, len(r)))
			}
			out.Interfaces = append(out.Interfaces, flow.Interface{
				ExporterAddr: h.exporter, ObservationDomain: h.sub, Index: index,
				Name: string(r[4 : 4+be.Uint32(r)]),
			})
		}
	}
}

func genericCounters(r []byte, seq uint32, h *header) flow.IfCounters {
	return flow.IfCounters{
		Time:              h.received,
		ExporterAddr:      h.exporter,
		ObservationDomain: h.sub,
		SequenceNumber:    seq,
		IfIndex:           be.Uint32(r[0:]),
		IfType:            be.Uint32(r[4:]),
		IfSpeed:           be.Uint64(r[8:]),
		IfDirection:       be.Uint32(r[16:]),
		IfStatus:          be.Uint32(r[20:]),
		InOctets:          be.Uint64(r[24:]),
		InUcastPkts:       uint64(be.Uint32(r[32:])),
		InMulticastPkts:   uint64(be.Uint32(r[36:])),
		InBroadcastPkts:   uint64(be.Uint32(r[40:])),
		InDiscards:        uint64(be.Uint32(r[44:])),
		InErrors:          uint64(be.Uint32(r[48:])),
		InUnknownProtos:   uint64(be.Uint32(r[52:])),
		OutOctets:         be.Uint64(r[56:]),
		OutUcastPkts:      uint64(be.Uint32(r[64:])),
		OutMulticastPkts:  uint64(be.Uint32(r[68:])),
		OutBroadcastPkts:  uint64(be.Uint32(r[72:])),
		OutDiscards:       uint64(be.Uint32(r[76:])),
		OutErrors:         uint64(be.Uint32(r[80:])),
		Promiscuous:       be.Uint32(r[84:]),
	}
}

package sflow

import (
	"fmt"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

var (
	dirIngress = flow.EnumValue(schema.Directions, "ingress")
	dirEgress  = flow.EnumValue(schema.Directions, "egress")
)

// sample is one flow sample as its records describe it, gathered on the
// stack and written to the batch once the sample is known to be valid.
type sample struct {
	rate                 uint32
	sourceType           uint32 // data source type (0 = ifIndex)
	sourceIndex          uint32
	inIf, outIf          uint32
	hdr                  packet // from the raw packet header record
	rec                  packet // from the sampled IPv4/IPv6 record
	frameLen, ethLen     uint32
	ethSrc, ethDst       uint64
	hasEth               bool
	swVLAN               uint16
	nextHop, bgpNextHop  flow.Addr
	srcMask, dstMask     uint8
	srcAS, dstAS         uint32
	headerRec, ipRecSeen bool
}

// iface returns the ifIndex of a compact interface value (format in the
// top 2 bits), 0 unless it names one interface.
func iface(v uint32) uint32 {
	if v>>30 != 0 || v == localInterface {
		return 0
	}
	return v
}

// decode reads a flow sample (format 1) or an expanded flow sample (3).
func (s *sample) decode(b []byte, expanded bool, t *tally) error {
	var n uint32
	if expanded {
		if len(b) < 44 {
			return fmt.Errorf("%w: expanded flow sample of %d bytes", ErrMalformed, len(b))
		}
		s.sourceType = be.Uint32(b[4:])
		s.sourceIndex = be.Uint32(b[8:])
		s.rate = be.Uint32(b[12:])
		// Expanded interfaces hold the format in a word of its own and
		// use all 32 bits of the value (high ifIndex values are real).
		if v := be.Uint32(b[28:]); be.Uint32(b[24:]) == 0 && v != localInterface {
			s.inIf = v
		}
		if v := be.Uint32(b[36:]); be.Uint32(b[32:]) == 0 && v != localInterface {
			s.outIf = v
		}
		n = be.Uint32(b[40:])
		b = b[44:]
	} else {
		if len(b) < 32 {
			return fmt.Errorf("%w: flow sample of %d bytes", ErrMalformed, len(b))
		}
		src := be.Uint32(b[4:])
		s.sourceType, s.sourceIndex = src>>24, src&0xffffff
		s.rate = be.Uint32(b[8:])
		s.inIf = iface(be.Uint32(b[20:]))
		s.outIf = iface(be.Uint32(b[24:]))
		n = be.Uint32(b[28:])
		b = b[32:]
	}
	it, err := newRecordIter(b, n)
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
		if err := s.record(format, r); err != nil {
			return it.wrap(format, err)
		}
	}
}

// record reads one flow record; unknown formats are skipped.
func (s *sample) record(format uint32, r []byte) error {
	switch format {
	case recRawHeader:
		if len(r) < 16 {
			return fmt.Errorf("%w: raw packet header record of %d bytes", ErrMalformed, len(r))
		}
		proto := be.Uint32(r)
		hl := be.Uint32(r[12:])
		if uint64(hl) > uint64(len(r)-16) {
			return fmt.Errorf("%w: sampled header of %d bytes in a record of %d", ErrMalformed, hl, len(r))
		}
		if s.headerRec {
			return nil // a second header record adds nothing
		}
		s.headerRec = true
		s.frameLen = be.Uint32(r[4:])
		h := r[16 : 16+hl]
		switch proto {
		case hdrEthernet:
			s.hdr.ethernet(h, 0)
		case hdrIPv4:
			s.hdr.ipv4(h, 0)
		case hdrIPv6:
			s.hdr.ipv6(h, 0)
		}
	case recEthernet:
		if len(r) < 24 {
			return fmt.Errorf("%w: Ethernet frame record of %d bytes", ErrMalformed, len(r))
		}
		s.hasEth = true
		s.ethLen = be.Uint32(r)
		s.ethSrc = flow.MACFromBytes(r[4:10])
		s.ethDst = flow.MACFromBytes(r[12:18])
	case recIPv4:
		return s.ipData(r, 4)
	case recIPv6:
		return s.ipData(r, 16)
	case recExtSwitch:
		if len(r) < 16 {
			return fmt.Errorf("%w: extended switch record of %d bytes", ErrMalformed, len(r))
		}
		if v := be.Uint32(r); v < 4096 { // agents send 0xffffffff for none
			s.swVLAN = uint16(v)
		}
	case recExtRouter:
		nh, l, err := readAddr(r)
		if err != nil {
			return err
		}
		if len(r) < l+8 {
			return fmt.Errorf("%w: extended router record of %d bytes", ErrMalformed, len(r))
		}
		s.nextHop = nh
		s.srcMask = mask(be.Uint32(r[l:]))
		s.dstMask = mask(be.Uint32(r[l+4:]))
	case recExtGateway:
		return s.gateway(r)
	}
	return nil
}

// unspecified reports whether a is absent, 0.0.0.0 or ::.
func unspecified(a flow.Addr) bool {
	return a.IsZero() || a == flow.AddrFrom4([4]byte{})
}

func mask(v uint32) uint8 {
	if v > 128 {
		return 0
	}
	return uint8(v)
}

// gateway reads an extended gateway record (1003): BGP next hop, the
// router's AS, source AS, source peer AS, destination AS path,
// communities and local preference.
func (s *sample) gateway(r []byte) error {
	nh, off, err := readAddr(r)
	if err != nil {
		return err
	}
	if len(r) < off+16 {
		return fmt.Errorf("%w: extended gateway record of %d bytes", ErrMalformed, len(r))
	}
	ownAS := be.Uint32(r[off:])
	srcAS := be.Uint32(r[off+4:])
	segs := be.Uint32(r[off+12:])
	off += 16
	if uint64(segs) > uint64(len(r)-off)/8 {
		return fmt.Errorf("%w: %d AS path segments cannot fit %d bytes", ErrMalformed, segs, len(r)-off)
	}
	dstAS := ownAS
	for i := uint32(0); i < segs; i++ {
		if off+8 > len(r) {
			return fmt.Errorf("%w: AS path segment %d truncated", ErrMalformed, i)
		}
		cnt := be.Uint32(r[off+4:])
		off += 8
		if uint64(cnt) > uint64(len(r)-off)/4 {
			return fmt.Errorf("%w: AS path segment %d of %d ASes cannot fit %d bytes", ErrMalformed, i, cnt, len(r)-off)
		}
		if cnt > 0 {
			dstAS = be.Uint32(r[off+4*int(cnt-1):])
		}
		off += 4 * int(cnt)
	}
	// Communities and local preference follow; they have no column, but
	// their length is checked like the rest.
	if off+4 > len(r) {
		return fmt.Errorf("%w: extended gateway communities truncated", ErrMalformed)
	}
	comms := be.Uint32(r[off:])
	if uint64(comms) > uint64(len(r)-off-4)/4 {
		return fmt.Errorf("%w: %d communities cannot fit %d bytes", ErrMalformed, comms, len(r)-off-4)
	}
	s.bgpNextHop = nh
	s.srcAS = srcAS
	s.dstAS = dstAS
	return nil
}

// write fills row i of b with the sample.
func (s *sample) write(b *flow.Batch, i int, h *header) {
	rate := s.rate
	if h.override > 0 {
		rate = h.override
	}
	if rate == 0 {
		rate = 1
	}
	p := &s.hdr
	if p.ipVersion == 0 && s.rec.ipVersion != 0 {
		p = &s.rec
	}
	length := s.frameLen
	if length == 0 {
		length = s.ethLen
	}
	if length == 0 {
		length = s.rec.ipLen
	}
	b.TimeReceived[i] = h.received
	b.TimeStart[i] = h.received
	b.TimeEnd[i] = h.received
	b.SourceType[i] = flow.SourceTypeSflow
	b.ExporterAddr[i] = h.exporter
	b.ObservationDomain[i] = h.sub
	b.SamplingRate[i] = rate
	b.IPVersion[i] = p.ipVersion
	b.SrcAddr[i] = p.src
	b.DstAddr[i] = p.dst
	b.SrcPort[i] = p.srcPort
	b.DstPort[i] = p.dstPort
	b.Proto[i] = p.proto
	b.ICMPType[i] = p.icmpType
	b.ICMPCode[i] = p.icmpCode
	b.TCPFlags[i] = p.tcpFlags
	b.TOS[i] = p.tos
	vlan := s.hdr.vlan
	if vlan == 0 {
		vlan = s.swVLAN
	}
	b.VLAN[i] = vlan
	if s.hdr.vxlan {
		b.VXLANVNI[i] = s.hdr.vni
	}
	if s.hdr.hasMAC {
		b.SrcMAC[i], b.DstMAC[i] = s.hdr.srcMAC, s.hdr.dstMAC
	} else if s.hasEth {
		b.SrcMAC[i], b.DstMAC[i] = s.ethSrc, s.ethDst
	}
	b.InIf[i] = s.inIf
	b.OutIf[i] = s.outIf
	if s.sourceType == 0 && s.sourceIndex != 0 {
		switch s.sourceIndex {
		case s.inIf:
			b.Direction[i] = dirIngress
		case s.outIf:
			b.Direction[i] = dirEgress
		}
	}
	if !unspecified(s.nextHop) {
		b.NextHop[i] = s.nextHop
	} else if !unspecified(s.bgpNextHop) {
		b.NextHop[i] = s.bgpNextHop
	}
	b.SrcMask[i], b.DstMask[i] = s.srcMask, s.dstMask
	b.SrcAS[i], b.DstAS[i] = s.srcAS, s.dstAS
	b.Packets[i] = uint64(rate)
	b.Bytes[i] = uint64(length) * uint64(rate)
}

// ipData reads an IPv4 or IPv6 data record (formats 3 and 4): the same
// fields around two addresses of w bytes.
func (s *sample) ipData(r []byte, w int) error {
	version := uint8(4)
	if w == 16 {
		version = 6
	}
	if len(r) < 24+2*w {
		return fmt.Errorf("%w: IPv%d data record of %d bytes", ErrMalformed, version, len(r))
	}
	if s.ipRecSeen {
		return nil
	}
	s.ipRecSeen = true
	p := &s.rec
	p.ipLen = be.Uint32(r)
	p.proto = uint8(be.Uint32(r[4:]))
	p.ipVersion = version
	if w == 4 {
		p.src = flow.AddrFrom4([4]byte(r[8:12]))
		p.dst = flow.AddrFrom4([4]byte(r[12:16]))
	} else {
		p.src = flow.Addr(r[8:24])
		p.dst = flow.Addr(r[24:40])
	}
	rest := r[8+2*w:]
	p.ports(be.Uint32(rest), be.Uint32(rest[4:]))
	p.tcpFlags = uint16(be.Uint32(rest[8:]))
	p.tos = uint8(be.Uint32(rest[12:]))
	return nil
}

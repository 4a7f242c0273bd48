package netflow

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// recState holds what a record says that needs the whole record before it
// can be written: fallbacks, times, sampling.
type recState struct {
	bytesAlt, packetsAlt     uint64
	initOctets, initPackets  uint64
	bgpNextHop               flow.Addr
	first, last              uint32
	startNs, endNs           int64
	startDeltaUs, endDeltaUs uint64
	sysInitMs                uint64
	samplerID                uint64
	rate                     uint32
	sampInterval, sampSpace  uint32
	sampSize, sampPop        uint32
	inPhys, outPhys          uint32
	postSrcMAC, postDstMAC   uint64
	postVLAN                 uint16
	icmpType, icmpCode       uint8
	fwdStatus, endReason     uint8
	fwEvent                  uint8
	appID                    []byte
	appName                  []byte
	have                     uint32
}

const (
	hFirst = 1 << iota
	hLast
	hStart
	hEnd
	hStartDelta
	hEndDelta
	hSampler
	hICMP
	hFwd
	hEndReason
	hFWEvent
	hInitOctets
	hInitPackets
	hBytes
	hPackets
	hBytesAlt
	hPacketsAlt
)

// uintBE reads a big-endian unsigned integer of 1 to 8 bytes (reduced-size
// encoding); longer values keep their low 8 bytes.
func uintBE(v []byte) uint64 {
	switch len(v) {
	case 1:
		return uint64(v[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(v))
	case 4:
		return uint64(binary.BigEndian.Uint32(v))
	case 8:
		return binary.BigEndian.Uint64(v)
	}
	if len(v) > 8 {
		v = v[len(v)-8:]
	}
	var x uint64
	for _, c := range v {
		x = x<<8 | uint64(c)
	}
	return x
}

func macBE(v []byte) uint64 {
	if len(v) != 6 {
		return 0
	}
	return uint64(v[0])<<40 | uint64(v[1])<<32 | uint64(v[2])<<24 | uint64(v[3])<<16 | uint64(v[4])<<8 | uint64(v[5])
}

// ntpNs converts a 64-bit NTP timestamp to Unix nanoseconds.
func ntpNs(v uint64) int64 {
	const ntpToUnix = 2208988800
	sec := int64(v>>32) - ntpToUnix
	frac := (v & 0xFFFFFFFF) * 1e9 >> 32
	return sec*1e9 + int64(frac)
}

// decodeData decodes the records of one data set with template t into out,
// returning how many flows it added. On error the flows of the complete
// records before the damaged one stay in out.
func (d *Decoder) decodeData(dom *domain, t *template, data []byte, h *header, out *flow.Decoded) (int, error) {
	if t.recLen == 0 {
		// Only zero-length fields: records carry nothing and cannot be
		// counted; RFC 7011 forbids such templates.
		return 0, nil
	}
	b := &out.Flows
	if !t.variable {
		n := len(data) / t.recLen
		if n == 0 {
			return 0, nil
		}
		first := b.Extend(n)
		var mcols []any
		if t.mapped {
			mcols = columns(b, t)
		}
		for r := 0; r < n; r++ {
			off := r * t.recLen
			d.fill(dom, t, data[off:off+t.recLen], first+r, h, b, mcols)
		}
		return n, nil
	}
	n := 0
	for p := 0; len(data)-p >= t.recLen; {
		i := b.Extend(1)
		var mcols []any
		if t.mapped {
			mcols = columns(b, t)
		}
		used := d.fill(dom, t, data[p:], i, h, b, mcols)
		if used <= 0 {
			b.Truncate(i)
			if isPadding(data[p:]) {
				return n, nil
			}
			return n, fmt.Errorf("%w: template %d record %d at offset %d: variable-length field overruns the set", ErrMalformed, t.id, n, p)
		}
		p += used
		n++
	}
	return n, nil
}

func isPadding(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// columns fetches the configured columns' slices once per set.
func columns(b *flow.Batch, t *template) []any {
	c := make([]any, len(t.ops))
	for j, o := range t.ops {
		if o.kind == kMapped {
			c[j] = b.Column(int(o.col))
		}
	}
	return c
}

// fill decodes one record into row i. For variable-length templates it
// returns the bytes used, or -1 when a field overruns rec.
func (d *Decoder) fill(dom *domain, t *template, rec []byte, i int, h *header, b *flow.Batch, mcols []any) int {
	var rs recState
	p := 0
	for j := range t.ops {
		o := &t.ops[j]
		var v []byte
		if !t.variable {
			v = rec[o.off : int(o.off)+int(o.len)]
		} else {
			l := int(o.len)
			if o.len == varLen {
				if p >= len(rec) {
					return -1
				}
				l = int(rec[p])
				p++
				if l == 255 {
					if p+2 > len(rec) {
						return -1
					}
					l = int(binary.BigEndian.Uint16(rec[p:]))
					p += 2
				}
			}
			if p+l > len(rec) {
				return -1
			}
			v = rec[p : p+l]
			p += l
		}
		switch o.kind {
		case kSkip:
		case kBytes:
			b.Bytes[i] = uintBE(v)
			rs.have |= hBytes
		case kPackets:
			b.Packets[i] = uintBE(v)
			rs.have |= hPackets
		case kProto:
			b.Proto[i] = uint8(uintBE(v))
		case kTOS:
			b.TOS[i] = uint8(uintBE(v))
		case kTCPFlags:
			b.TCPFlags[i] = uint16(uintBE(v))
		case kSrcPort:
			b.SrcPort[i] = uint16(uintBE(v))
		case kDstPort:
			b.DstPort[i] = uint16(uintBE(v))
		case kSrcAddr:
			// Templates carrying IPv4 and IPv6 addresses leave one zero;
			// the first non-zero one is the flow's (outer) address.
			if a, ok := flow.AddrFromSlice(v); ok && b.SrcAddr[i].IsZero() && !allZero(v) {
				b.SrcAddr[i] = a
				b.IPVersion[i] = ipVersion(len(v))
			}
		case kDstAddr:
			if a, ok := flow.AddrFromSlice(v); ok && b.DstAddr[i].IsZero() && !allZero(v) {
				b.DstAddr[i] = a
				if b.IPVersion[i] == 0 {
					b.IPVersion[i] = ipVersion(len(v))
				}
			}
		case kSrcMask:
			b.SrcMask[i] = uint8(uintBE(v))
		case kDstMask:
			b.DstMask[i] = uint8(uintBE(v))
		case kInIf:
			b.InIf[i] = uint32(uintBE(v))
		case kOutIf:
			b.OutIf[i] = uint32(uintBE(v))
		case kNextHop:
			if a, ok := flow.AddrFromSlice(v); ok && !allZero(v) {
				b.NextHop[i] = a
			}
		case kBGPNextHop:
			if a, ok := flow.AddrFromSlice(v); ok && !allZero(v) {
				rs.bgpNextHop = a
			}
		case kSrcAS:
			b.SrcAS[i] = uint32(uintBE(v))
		case kDstAS:
			b.DstAS[i] = uint32(uintBE(v))
		case kFirstUptime:
			rs.first = uint32(uintBE(v))
			rs.have |= hFirst
		case kLastUptime:
			rs.last = uint32(uintBE(v))
			rs.have |= hLast
		case kBytesAlt:
			if rs.have&hBytesAlt == 0 {
				rs.bytesAlt = uintBE(v)
				rs.have |= hBytesAlt
			}
		case kPacketsAlt:
			if rs.have&hPacketsAlt == 0 {
				rs.packetsAlt = uintBE(v)
				rs.have |= hPacketsAlt
			}
		case kICMPTypeCode:
			x := uintBE(v)
			rs.icmpType, rs.icmpCode = uint8(x>>8), uint8(x)
			rs.have |= hICMP
		case kICMPType:
			rs.icmpType = uint8(uintBE(v))
			rs.have |= hICMP
		case kICMPCode:
			rs.icmpCode = uint8(uintBE(v))
			rs.have |= hICMP
		case kSamplingRate:
			if x := uintBE(v); x > 0 {
				rs.rate = uint32(x)
			}
		case kSamplerID:
			rs.samplerID = uintBE(v)
			rs.have |= hSampler
		case kSampInterval:
			rs.sampInterval = uint32(uintBE(v))
		case kSampSpace:
			rs.sampSpace = uint32(uintBE(v))
		case kSampSize:
			rs.sampSize = uint32(uintBE(v))
		case kSampPop:
			rs.sampPop = uint32(uintBE(v))
		case kSrcMAC:
			b.SrcMAC[i] = macBE(v)
		case kDstMAC:
			b.DstMAC[i] = macBE(v)
		case kPostSrcMAC:
			rs.postSrcMAC = macBE(v)
		case kPostDstMAC:
			rs.postDstMAC = macBE(v)
		case kVLAN:
			if b.VLAN[i] == 0 {
				b.VLAN[i] = uint16(uintBE(v))
			}
		case kPostVLAN:
			rs.postVLAN = uint16(uintBE(v))
		case kIPVersion:
			if x := uint8(uintBE(v)); x == 4 || x == 6 {
				b.IPVersion[i] = x
			}
		case kDirection:
			if len(v) > 0 {
				switch v[len(v)-1] {
				case 0:
					b.Direction[i] = flow.DirectionIngress
				case 1:
					b.Direction[i] = flow.DirectionEgress
				}
			}
		case kFwdStatus:
			if len(v) > 0 {
				rs.fwdStatus = v[len(v)-1]
				rs.have |= hFwd
			}
		case kAppID:
			rs.appID = v
		case kAppName:
			rs.appName = v
		case kEndReason:
			rs.endReason = uint8(uintBE(v))
			rs.have |= hEndReason
		case kStartSec:
			rs.startNs = int64(uintBE(v)) * 1e9
			rs.have |= hStart
		case kEndSec:
			rs.endNs = int64(uintBE(v)) * 1e9
			rs.have |= hEnd
		case kStartMs:
			rs.startNs = int64(uintBE(v)) * 1e6
			rs.have |= hStart
		case kEndMs:
			rs.endNs = int64(uintBE(v)) * 1e6
			rs.have |= hEnd
		case kStartNTP:
			if len(v) == 8 {
				rs.startNs = ntpNs(binary.BigEndian.Uint64(v))
				rs.have |= hStart
			}
		case kEndNTP:
			if len(v) == 8 {
				rs.endNs = ntpNs(binary.BigEndian.Uint64(v))
				rs.have |= hEnd
			}
		case kStartDeltaUs:
			rs.startDeltaUs = uintBE(v)
			rs.have |= hStartDelta
		case kEndDeltaUs:
			rs.endDeltaUs = uintBE(v)
			rs.have |= hEndDelta
		case kSysInit:
			rs.sysInitMs = uintBE(v)
		case kPostNATSrcAddr:
			if a, ok := flow.AddrFromSlice(v); ok {
				b.PostNATSrcAddr[i] = a
			}
		case kPostNATDstAddr:
			if a, ok := flow.AddrFromSlice(v); ok {
				b.PostNATDstAddr[i] = a
			}
		case kPostNATSrcPort:
			b.PostNATSrcPort[i] = uint16(uintBE(v))
		case kPostNATDstPort:
			b.PostNATDstPort[i] = uint16(uintBE(v))
		case kNATEvent:
			b.NATEvent[i] = uint8(uintBE(v))
		case kFWEvent:
			rs.fwEvent = uint8(uintBE(v))
			b.FWEvent[i] = rs.fwEvent
			rs.have |= hFWEvent
		case kInitOctets:
			rs.initOctets = uintBE(v)
			rs.have |= hInitOctets
		case kRespOctets:
			b.RevBytes[i] = uintBE(v)
		case kInitPackets:
			rs.initPackets = uintBE(v)
			rs.have |= hInitPackets
		case kRespPackets:
			b.RevPackets[i] = uintBE(v)
		case kInIfPhys:
			rs.inPhys = uint32(uintBE(v))
		case kOutIfPhys:
			rs.outPhys = uint32(uintBE(v))
		case kRevBytes:
			b.RevBytes[i] = uintBE(v)
		case kRevPackets:
			b.RevPackets[i] = uintBE(v)
		case kMapped:
			setMapped(mcols[j], o.typ, i, v)
		}
	}
	d.finish(dom, &rs, i, h, b)
	if t.variable {
		return p
	}
	return len(rec)
}

func ipVersion(n int) uint8 {
	if n == 4 {
		return 4
	}
	return 6
}

func allZero(v []byte) bool {
	for _, c := range v {
		if c != 0 {
			return false
		}
	}
	return true
}

// setMapped writes a configured column.
func setMapped(col any, typ schema.Type, i int, v []byte) {
	switch c := col.(type) {
	case []uint8:
		c[i] = uint8(uintBE(v))
	case []uint16:
		c[i] = uint16(uintBE(v))
	case []uint32:
		c[i] = uint32(uintBE(v))
	case []uint64:
		if typ == schema.MAC {
			c[i] = macBE(v)
		} else {
			c[i] = uintBE(v)
		}
	case []flow.Addr:
		if a, ok := flow.AddrFromSlice(v); ok {
			c[i] = a
		}
	case []string:
		c[i] = string(trimNUL(v))
	}
}

func trimNUL(v []byte) []byte {
	if k := bytes.IndexByte(v, 0); k >= 0 {
		return v[:k]
	}
	return v
}

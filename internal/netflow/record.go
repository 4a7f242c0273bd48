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

// finish writes what needs the whole record: header columns, fallbacks,
// times, ICMP, policy and sampling.
func (d *Decoder) finish(dom *domain, rs *recState, i int, h *header, b *flow.Batch) {
	b.TimeReceived[i] = h.received
	b.SourceType[i] = h.srcType
	b.ExporterAddr[i] = h.exporter
	b.ObservationDomain[i] = h.domainID

	if b.NextHop[i].IsZero() {
		b.NextHop[i] = rs.bgpNextHop
	}
	if b.InIf[i] == 0 {
		b.InIf[i] = rs.inPhys
	}
	if b.OutIf[i] == 0 {
		b.OutIf[i] = rs.outPhys
	}
	if b.SrcMAC[i] == 0 {
		b.SrcMAC[i] = rs.postSrcMAC
	}
	if b.DstMAC[i] == 0 {
		b.DstMAC[i] = rs.postDstMAC
	}
	if b.VLAN[i] == 0 {
		b.VLAN[i] = rs.postVLAN
	}
	// Counters: the delta count when the template has it (even when
	// zero: nothing new this interval), else totals, post counts, NSEL
	// initiator counts.
	if rs.have&hBytes == 0 {
		if rs.have&hBytesAlt != 0 {
			b.Bytes[i] = rs.bytesAlt
		} else {
			b.Bytes[i] = rs.initOctets
		}
	}
	if rs.have&hPackets == 0 {
		if rs.have&hPacketsAlt != 0 {
			b.Packets[i] = rs.packetsAlt
		} else {
			b.Packets[i] = rs.initPackets
		}
	}

	// Times.
	start, end := h.exportNs, h.exportNs
	sysInit := rs.sysInitMs
	if sysInit == 0 {
		sysInit = dom.sysInitMs
	}
	switch {
	case rs.have&hStart != 0:
		start = rs.startNs
	case rs.have&hFirst != 0:
		start = uptimeNs(h, sysInit, rs.first)
	case rs.have&hStartDelta != 0:
		start = h.exportNs - int64(rs.startDeltaUs)*1e3
	}
	switch {
	case rs.have&hEnd != 0:
		end = rs.endNs
	case rs.have&hLast != 0:
		end = uptimeNs(h, sysInit, rs.last)
	case rs.have&hEndDelta != 0:
		end = h.exportNs - int64(rs.endDeltaUs)*1e3
	}
	b.TimeStart[i], b.TimeEnd[i] = start, end

	// ICMP: exporters without ICMP elements put type*256+code in the
	// destination port.
	if rs.have&hICMP != 0 {
		b.ICMPType[i], b.ICMPCode[i] = rs.icmpType, rs.icmpCode
	} else if p := b.Proto[i]; p == 1 || p == 58 {
		b.ICMPType[i], b.ICMPCode[i] = uint8(b.DstPort[i]>>8), uint8(b.DstPort[i])
	}

	// Policy.
	if rs.have&hFWEvent != 0 {
		switch rs.fwEvent {
		case 1: // created
			b.Action[i], b.FlowState[i] = flow.ActionAllow, flow.FlowStateBegin
		case 2: // deleted
			b.Action[i], b.FlowState[i] = flow.ActionAllow, flow.FlowStateEnd
		case 3: // denied
			b.Action[i] = flow.ActionDeny
		case 5: // update
			b.Action[i], b.FlowState[i] = flow.ActionAllow, flow.FlowStateContinue
		}
	}
	if rs.have&hFwd != 0 {
		switch rs.fwdStatus >> 6 {
		case 1:
			if b.Action[i] == flow.ActionUnknown {
				b.Action[i] = flow.ActionAllow
			}
		case 2:
			b.Action[i] = flow.ActionDeny
		}
	}
	if rs.have&hEndReason != 0 {
		switch rs.endReason {
		case 1, 3, 4, 5:
			b.FlowState[i] = flow.FlowStateEnd
		case 2:
			b.FlowState[i] = flow.FlowStateContinue
		}
	}

	// Application.
	if rs.appName != nil {
		b.Application[i] = dom.intern(trimNUL(rs.appName))
	} else if rs.appID != nil {
		b.Application[i] = dom.appNames[string(rs.appID)]
	}

	// Sampling: configured override, then the record's own rate, then its
	// sampler's rate from options data, then the domain's.
	rate := h.override
	if rate == 0 {
		rate = samplingRate(rs.rate, rs.sampInterval, rs.sampSpace, rs.sampSize, rs.sampPop)
		if rate == 0 && rs.have&hSampler != 0 {
			rate = dom.samplers[rs.samplerID]
		}
		if rate == 0 {
			rate = dom.defaultRate
		}
		if rate == 0 {
			rate = 1
		}
	}
	b.SamplingRate[i] = rate
	if rate > 1 {
		r := uint64(rate)
		b.Bytes[i] *= r
		b.Packets[i] *= r
		b.RevBytes[i] *= r
		b.RevPackets[i] *= r
	}
}

// samplingRate derives a 1-in-N rate from what an exporter sent: a plain
// interval (IEs 34, 50), n-out-of-N random sampling (309 samplingSize, 310
// samplingPopulation), or count-based systematic sampling (305 packets
// selected, 306 packets skipped). 0 means unknown.
func samplingRate(rate, interval, space, size, pop uint32) uint32 {
	switch {
	case rate > 0:
		return rate
	case size > 0 && pop > 0:
		if r := pop / size; r > 0 {
			return r
		}
	case interval > 0 && space > 0:
		return uint32((uint64(interval) + uint64(space)) / uint64(interval))
	}
	return 0
}

// uptimeNs converts a sysUptime-relative time (ms) to Unix ns: against the
// header's uptime for v9 (signed 32-bit difference, so that the uptime
// wrap after 49.7 days and first-switched slightly after export both come
// out right), against systemInitTimeMilliseconds for IPFIX.
func uptimeNs(h *header, sysInitMs uint64, up uint32) int64 {
	if h.version == 10 {
		if sysInitMs == 0 {
			return h.exportNs
		}
		return (int64(sysInitMs) + int64(up)) * 1e6
	}
	return h.exportMs*1e6 - int64(int32(h.sysUptime-up))*1e6
}

// intern returns a string for b without allocating once b has been seen.
func (dom *domain) intern(b []byte) string {
	if s, ok := dom.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(dom.names) < maxAppNames {
		dom.names[s] = s
	}
	return s
}

// optRec is what one options data record says.
type optRec struct {
	samplerID  uint64
	hasSampler bool
	rate       uint32
	interval   uint32
	space      uint32
	size       uint32
	pop        uint32
	ifIndex    uint32
	hasIf      bool
	ifName     []byte
	ifDescr    []byte
	appID      []byte
	appName    []byte
	sysInitMs  uint64
}

// decodeOptions applies the records of an options data set to the domain
// tables (samplers, application names, system init time) and emits
// interface names. It returns the records read.
func (d *Decoder) decodeOptions(dom *domain, t *template, data []byte, h *header, out *flow.Decoded) (int, error) {
	if t.recLen == 0 {
		return 0, nil
	}
	n := 0
	for p := 0; len(data)-p >= t.recLen; n++ {
		var r optRec
		q := p
		for _, f := range t.fields {
			l := int(f.Len)
			if f.Len == varLen {
				if q >= len(data) {
					return n, fmt.Errorf("%w: options template %d record %d: truncated", ErrMalformed, t.id, n)
				}
				l = int(data[q])
				q++
				if l == 255 {
					if q+2 > len(data) {
						return n, fmt.Errorf("%w: options template %d record %d: truncated", ErrMalformed, t.id, n)
					}
					l = int(binary.BigEndian.Uint16(data[q:]))
					q += 2
				}
			}
			if q+l > len(data) {
				if isPadding(data[p:]) {
					return n, nil
				}
				return n, fmt.Errorf("%w: options template %d record %d: field overruns set", ErrMalformed, t.id, n)
			}
			v := data[q : q+l]
			q += l
			if f.Ent == v9ScopeEnt {
				if f.ID == v9ScopeInterface {
					r.ifIndex, r.hasIf = uint32(uintBE(v)), true
				}
				continue
			}
			if f.Ent != 0 {
				continue
			}
			switch f.ID {
			case 10:
				r.ifIndex, r.hasIf = uint32(uintBE(v)), true
			case 34, 50:
				r.rate = uint32(uintBE(v))
			case 48, 302:
				r.samplerID, r.hasSampler = uintBE(v), true
			case 305:
				r.interval = uint32(uintBE(v))
			case 306:
				r.space = uint32(uintBE(v))
			case 309:
				r.size = uint32(uintBE(v))
			case 310:
				r.pop = uint32(uintBE(v))
			case 82:
				r.ifName = v
			case 83:
				r.ifDescr = v
			case 95:
				r.appID = v
			case 96:
				r.appName = v
			case 160:
				r.sysInitMs = uintBE(v)
			}
		}
		if q == p {
			break
		}
		p = q
		d.applyOptions(dom, &r, h, out)
	}
	return n, nil
}

func (d *Decoder) applyOptions(dom *domain, r *optRec, h *header, out *flow.Decoded) {
	if rate := samplingRate(r.rate, r.interval, r.space, r.size, r.pop); rate > 0 {
		if r.hasSampler {
			if _, ok := dom.samplers[r.samplerID]; ok || len(dom.samplers) < maxSamplers {
				dom.samplers[r.samplerID] = rate
			}
		} else {
			dom.defaultRate = rate
		}
	}
	if r.hasIf && (len(r.ifName) > 0 || len(r.ifDescr) > 0) {
		out.Interfaces = append(out.Interfaces, flow.Interface{
			ExporterAddr: h.exporter, ObservationDomain: h.domainID, Index: r.ifIndex,
			Name: string(trimNUL(r.ifName)), Description: string(trimNUL(r.ifDescr)),
		})
	}
	if len(r.appID) > 0 && len(r.appName) > 0 {
		k := string(r.appID)
		if _, ok := dom.appNames[k]; ok || len(dom.appNames) < maxAppNames {
			dom.appNames[k] = string(trimNUL(r.appName))
		}
	}
	if r.sysInitMs > 0 {
		dom.sysInitMs = r.sysInitMs
	}
}

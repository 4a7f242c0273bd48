package netflow

import (
	"github.com/flowlake/flowlake/internal/flow"
)

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

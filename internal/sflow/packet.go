package sflow

import "github.com/flowlake/flowlake/internal/flow"

// packet is what the headers of a sampled packet tell. Sampled headers are
// cut at an arbitrary length (128 bytes is common), so parsing stops
// quietly wherever the bytes run out: a short header is not malformed.
type packet struct {
	ipVersion        uint8
	proto            uint8
	tos              uint8
	icmpType         uint8
	icmpCode         uint8
	hasMAC           bool
	vxlan            bool
	tcpFlags         uint16
	vlan             uint16
	srcPort, dstPort uint16
	vni              uint32
	ipLen            uint32
	srcMAC, dstMAC   uint64
	src, dst         flow.Addr
}

const (
	vxlanPort     = 4789
	maxVLANTags   = 4
	maxMPLSLabels = 8
	maxIPv6Exts   = 8
)

func (p *packet) ports(src, dst uint32) {
	p.srcPort, p.dstPort = uint16(src), uint16(dst)
}

// ethernet parses an Ethernet II frame: MACs, the outer VLAN tag of up to
// maxVLANTags (802.1Q, 802.1ad, old QinQ 0x9100), MPLS labels, then IP.
// depth is 1 inside a VXLAN tunnel, where the VLAN is left as it is.
func (p *packet) ethernet(b []byte, depth int) {
	if len(b) < 14 {
		return
	}
	p.dstMAC = flow.MACFromBytes(b[0:6])
	p.srcMAC = flow.MACFromBytes(b[6:12])
	p.hasMAC = true
	et := be.Uint16(b[12:])
	b = b[14:]
	for i := 0; i < maxVLANTags && (et == 0x8100 || et == 0x88a8 || et == 0x9100); i++ {
		if len(b) < 4 {
			return
		}
		if i == 0 && depth == 0 {
			p.vlan = be.Uint16(b) & 0x0fff
		}
		et = be.Uint16(b[2:])
		b = b[4:]
	}
	if et == 0x8847 || et == 0x8848 {
		// MPLS: skip the label stack, then guess the payload from the
		// IP version nibble (there is no next-protocol field).
		for i := 0; ; i++ {
			if i == maxMPLSLabels || len(b) < 4 {
				return
			}
			bottom := b[2]&1 != 0
			b = b[4:]
			if bottom {
				break
			}
		}
		if len(b) == 0 {
			return
		}
		switch b[0] >> 4 {
		case 4:
			et = 0x0800
		case 6:
			et = 0x86dd
		default:
			return
		}
	}
	switch et {
	case 0x0800:
		p.ipv4(b, depth)
	case 0x86dd:
		p.ipv6(b, depth)
	}
}

func (p *packet) ipv4(b []byte, depth int) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return
	}
	p.ipVersion = 4
	p.tos = b[1]
	p.ipLen = uint32(be.Uint16(b[2:]))
	p.proto = b[9]
	p.src = flow.AddrFrom4([4]byte(b[12:16]))
	p.dst = flow.AddrFrom4([4]byte(b[16:20]))
	if be.Uint16(b[6:])&0x1fff != 0 || ihl > len(b) {
		return // a later fragment carries no transport header
	}
	p.transport(b[ihl:], depth)
}

func (p *packet) ipv6(b []byte, depth int) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return
	}
	p.ipVersion = 6
	p.tos = uint8(be.Uint16(b) >> 4)
	p.ipLen = uint32(be.Uint16(b[4:])) + 40
	p.src = flow.Addr(b[8:24])
	p.dst = flow.Addr(b[24:40])
	nh := b[6]
	b = b[40:]
	for i := 0; i < maxIPv6Exts; i++ {
		p.proto = nh
		var l int
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 8 {
				return
			}
			l = (int(b[1]) + 1) * 8
		case 44: // fragment
			if len(b) < 8 {
				return
			}
			if be.Uint16(b[2:])&0xfff8 != 0 {
				p.proto = b[0]
				return // a later fragment carries no transport header
			}
			l = 8
		case 51: // authentication header
			if len(b) < 8 {
				return
			}
			l = (int(b[1]) + 2) * 4
		default:
			p.transport(b, depth)
			return
		}
		nh = b[0]
		if l > len(b) {
			p.proto = nh
			return
		}
		b = b[l:]
	}
	p.proto = nh
}

// transport parses the TCP, UDP, SCTP or ICMP header after IP, and a
// VXLAN-encapsulated frame after UDP.
func (p *packet) transport(b []byte, depth int) {
	switch p.proto {
	case 6: // TCP
		if len(b) >= 4 {
			p.srcPort, p.dstPort = be.Uint16(b), be.Uint16(b[2:])
		}
		if len(b) >= 14 {
			p.tcpFlags = uint16(b[12]&0x01)<<8 | uint16(b[13])
		}
	case 17: // UDP
		if len(b) < 4 {
			return
		}
		p.srcPort, p.dstPort = be.Uint16(b), be.Uint16(b[2:])
		if p.dstPort == vxlanPort && depth == 0 && len(b) >= 16 && b[8]&0x08 != 0 {
			p.vxlan = true
			p.vni = be.Uint32(b[12:]) >> 8
			var inner packet
			inner.ethernet(b[16:], 1)
			if inner.ipVersion != 0 {
				// The tunnelled packet is the flow; the outer frame's VLAN
				// is the tag seen on the sampled port.
				inner.vlan, inner.vxlan, inner.vni = p.vlan, true, p.vni
				*p = inner
			}
		}
	case 132: // SCTP
		if len(b) >= 4 {
			p.srcPort, p.dstPort = be.Uint16(b), be.Uint16(b[2:])
		}
	case 1, 58: // ICMP, ICMPv6
		if len(b) >= 2 {
			p.icmpType, p.icmpCode = b[0], b[1]
		}
	}
}

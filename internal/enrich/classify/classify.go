// Package classify gives a flow its flow_type, in the spirit of Azure Traffic
// Analytics' FlowType and vRNI's flow tags: where the two ends are relative
// to the networks the operator declared.
package classify

import (
	"net/netip"

	"github.com/flowlake/flowlake/internal/flow"
)

// Class is the kind of one address.
type Class uint8

// Address classes.
const (
	// Other covers unspecified, multicast and broadcast addresses.
	Other Class = iota
	// Private is RFC 1918, RFC 6598 (CGNAT), loopback, link-local, ULA.
	Private
	// Public is any other global unicast address.
	Public
)

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// AddrClass classifies ip (IPv4-mapped addresses count as IPv4).
func AddrClass(ip netip.Addr) Class {
	ip = ip.Unmap()
	if ip.Is4() {
		if b := ip.As4(); b[0] == 0 || b[0] >= 240 {
			// 0/8 "this network", 240/4 reserved and broadcast.
			return Other
		}
	}
	switch {
	case ip.IsPrivate(), ip.IsLoopback(), ip.IsLinkLocalUnicast(), cgnat.Contains(ip):
		return Private
	case ip.IsGlobalUnicast():
		return Public
	}
	return Other
}

// End is one end of a flow as the networks file sees it.
type End struct {
	Known bool   // inside a declared network
	Site  string // the network's site
	Class Class
}

// FlowType returns the flow_type enum value (schema.FlowTypes) of a flow
// between src and dst:
//   - both ends in declared networks: intra-network when their sites are the
//     same (or neither has a site), else inter-site;
//   - one end declared, the other a public address outside them: to-internet
//     or from-internet;
//   - both public and undeclared: internet (transit seen by the exporter);
//   - any undeclared private end otherwise: unknown-private (a network
//     missing from the networks file);
//   - anything else (unspecified, multicast): unknown.
func FlowType(src, dst End) uint8 {
	switch {
	case src.Known && dst.Known:
		if src.Site == dst.Site {
			return flow.FlowTypeIntraNetwork
		}
		return flow.FlowTypeInterSite
	case src.Known && !dst.Known && dst.Class == Public:
		return flow.FlowTypeToInternet
	case dst.Known && !src.Known && src.Class == Public:
		return flow.FlowTypeFromInternet
	case !src.Known && !dst.Known && src.Class == Public && dst.Class == Public:
		return flow.FlowTypeInternet
	case (!src.Known && src.Class == Private) || (!dst.Known && dst.Class == Private):
		return flow.FlowTypeUnknownPrivate
	}
	return flow.FlowTypeUnknown
}

// FlowAddrClass is AddrClass for a flow column address, with IPv4 (the
// common case) decided on the bytes without building a netip.Addr.
func FlowAddrClass(a flow.Addr) Class {
	if !a.Is4() {
		// IPv6 outside ::/8 and fc00::/6 is global unicast (ULA fc00::/7,
		// link-local fe80::/10 and multicast ff00::/8 are all in the
		// latter; loopback and unspecified in the former).
		switch b0 := a[0]; {
		case b0 != 0 && b0 < 0xfc:
			return Public
		case b0 == 0xfc || b0 == 0xfd:
			return Private
		}
		return AddrClass(a.Netip())
	}
	b0, b1 := a[12], a[13]
	switch {
	case b0 == 10, b0 == 127,
		b0 == 172 && b1&0xf0 == 16,
		b0 == 192 && b1 == 168,
		b0 == 169 && b1 == 254,
		b0 == 100 && b1&0xc0 == 64:
		return Private
	case b0 == 0, b0 >= 224:
		// 0/8 "this network", 224/4 multicast, 240/4 reserved and broadcast.
		return Other
	}
	return Public
}

// class4Rows and class4Row give Class4 its answer in two loads from tables
// that stay in L1 cache: the row of the first octet, indexed by the second.
// Random flow addresses make FlowAddrClass's branches mispredict often.
var (
	class4Rows [][256]Class
	class4Row  [256]uint8
)

func init() {
	rows := map[[256]Class]uint8{}
	for b0 := range 256 {
		var row [256]Class
		for b1 := range 256 {
			row[b1] = FlowAddrClass(flow.AddrFrom4([4]byte{byte(b0), byte(b1)}))
		}
		r, ok := rows[row]
		if !ok {
			r = uint8(len(class4Rows))
			rows[row] = r
			class4Rows = append(class4Rows, row)
		}
		class4Row[b0] = r
	}
}

// Class4 is FlowAddrClass for the IPv4 address a.
func Class4(a [4]byte) Class {
	return class4Rows[class4Row[a[0]]][a[1]]
}

// EndCode packs what FlowType needs of one end besides its site: the Class
// in bits 0-1 and Known in bit 2. The flow path compares sites by number
// (see networks.Names.SiteID) and classifies with one table load instead of
// FlowType's branches, which mispredict on random traffic.
type EndCode uint8

// KnownBit is the Known flag of an EndCode.
const KnownBit EndCode = 1 << 2

// Code returns the EndCode of a class, known or not.
func Code(c Class, known bool) EndCode {
	if known {
		return EndCode(c) | KnownBit
	}
	return EndCode(c)
}

// flowTypes is FlowType by src code | dst code<<3 | same site<<6.
var flowTypes [128]uint8

func init() {
	for i := range flowTypes {
		src, dst, same := EndCode(i&7), EndCode(i>>3&7), i>>6 == 1
		s := End{Known: src&KnownBit != 0, Class: Class(src & 3), Site: "a"}
		d := End{Known: dst&KnownBit != 0, Class: Class(dst & 3), Site: "b"}
		if same {
			d.Site = s.Site
		}
		flowTypes[i] = FlowType(s, d)
	}
}

// FlowTypeCode is FlowType for two ends given by their codes, sameSite
// telling whether their sites are equal (it only matters when both are
// known).
func FlowTypeCode(src, dst EndCode, sameSite bool) uint8 {
	i := uint(src&7) | uint(dst&7)<<3
	if sameSite {
		i |= 1 << 6
	}
	return flowTypes[i]
}

package kql

import (
	"net/netip"
	"strings"

	"github.com/flowlake/flowlake/internal/flow"
)

var ipFuncs = []string{"ipv4_is_private", "ipv4_is_in_range", "ipv4_is_in_any_range", "ipv4_is_match", "ipv6_is_in_range", "ip_in_range", "ipv6_is_match"}

// prefixRange is the first and last 16-byte address of a prefix.
func prefixRange(p netip.Prefix) (lo, hi flow.Addr) {
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	a := flow.AddrFromNetip(p.Masked().Addr())
	lo, hi = a, a
	for i := bits; i < 128; i++ {
		hi[i/8] |= 0x80 >> (i % 8)
	}
	return lo, hi
}

// parseRange accepts "a.b.c.d/n", "a.b.c.d", IPv6 forms likewise.
func parseRange(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return p, err
		}
		return p, nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var privateV4 = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

func (c *compiler) ipFunc(x *Call, sc *scope) (cexpr, error) {
	v4 := strings.HasPrefix(x.Name, "ipv4_")
	minArgs, maxArgs := 2, 2
	switch x.Name {
	case "ipv4_is_private":
		minArgs, maxArgs = 1, 1
	case "ipv4_is_in_any_range":
		maxArgs = -1
	case "ipv4_is_match", "ipv6_is_match":
		maxArgs = 3
	}
	a, err := c.args(x, sc, minArgs, maxArgs)
	if err != nil {
		return cexpr{}, err
	}
	var prefixes []netip.Prefix
	if x.Name == "ipv4_is_private" {
		prefixes = privateV4
	}
	match := x.Name == "ipv4_is_match" || x.Name == "ipv6_is_match"
	for i := 1; i < len(a); i++ {
		if match && i == 2 {
			break // the prefix length, read below
		}
		if a[i].k == nil || a[i].k.Kind != LitString {
			return cexpr{}, errAt(x.Args[i].exprPos(), "%s() needs a constant address range string such as \"10.0.0.0/8\"", x.Name)
		}
		p, perr := parseRange(a[i].k.Str)
		if perr != nil {
			return cexpr{}, errAt(x.Args[i].exprPos(), "'%s' is not an address range", a[i].k.Str)
		}
		if v4 && !p.Addr().Is4() {
			return cexpr{}, errAt(x.Args[i].exprPos(), "'%s' is not an IPv4 range", a[i].k.Str)
		}
		if match && len(a) == 3 {
			if a[2].k == nil || a[2].k.Kind != LitLong || a[2].k.Int < 0 || int(a[2].k.Int) > p.Addr().BitLen() {
				return cexpr{}, errAt(x.Args[2].exprPos(), "%s() needs a constant prefix length", x.Name)
			}
			p = netip.PrefixFrom(p.Addr(), int(a[2].k.Int))
		}
		prefixes = append(prefixes, p)
	}
	addr := a[0]
	if addr.t == TString && addr.k != nil && addr.k.Kind == LitString {
		// all constant: answer now
		ip, perr := netip.ParseAddr(addr.k.Str)
		if perr != nil {
			return cexpr{}, errAt(x.Args[0].exprPos(), "'%s' is not an IP address", addr.k.Str)
		}
		in := false
		for _, p := range prefixes {
			lo, hi := prefixRange(p)
			fa := flow.AddrFromNetip(ip)
			in = in || (string(fa[:]) >= string(lo[:]) && string(fa[:]) <= string(hi[:]))
		}
		return c.lit(&Literal{Pos: x.Pos, Kind: LitBool, Bool: in})
	}
	if addr.t != TIP {
		return cexpr{}, errAt(x.Args[0].exprPos(), "%s() needs an address column or a constant address, found %s", x.Name, addr.t)
	}
	terms := make([]string, len(prefixes))
	for i, p := range prefixes {
		lo, hi := prefixRange(p)
		terms[i] = "(" + addr.sql + " BETWEEN " + c.d.Addr(lo) + " AND " + c.d.Addr(hi) + ")"
	}
	s := terms[0]
	if len(terms) > 1 {
		s = "(" + strings.Join(terms, " OR ") + ")"
	}
	return merge(TBool, s, addr), nil
}

// Package flow holds the canonical flow record in memory: the row type
// Record and the columnar Batch that every input fills and every store and
// output consumes. Both are generated from package schema (go generate).
package flow

//go:generate go run ./gen record_gen.go

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Addr is an IPv4 or IPv6 address in 16 bytes, IPv4 mapped into IPv6
// (::ffff:a.b.c.d). A fixed array rather than netip.Addr keeps batches free
// of pointers and makes equality and sorting plain byte comparisons.
type Addr [16]byte

// AddrFrom4 returns the IPv4 address b as an Addr.
func AddrFrom4(b [4]byte) Addr {
	return Addr{10: 0xff, 11: 0xff, 12: b[0], 13: b[1], 14: b[2], 15: b[3]}
}

// AddrFromUint32 returns the IPv4 address held big-endian in v.
func AddrFromUint32(v uint32) Addr {
	var a Addr
	a[10], a[11] = 0xff, 0xff
	binary.BigEndian.PutUint32(a[12:], v)
	return a
}

// AddrFromSlice returns the 4- or 16-byte address in b, and false for any
// other length.
func AddrFromSlice(b []byte) (Addr, bool) {
	switch len(b) {
	case 4:
		return AddrFrom4([4]byte(b)), true
	case 16:
		return Addr(b), true
	}
	return Addr{}, false
}

// AddrFromNetip converts a netip.Addr (zone dropped).
func AddrFromNetip(a netip.Addr) Addr {
	if !a.IsValid() {
		return Addr{}
	}
	return Addr(a.As16())
}

// ParseAddr parses a textual IPv4 or IPv6 address.
func ParseAddr(s string) (Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Addr{}, err
	}
	return AddrFromNetip(a), nil
}

// MustParseAddr is ParseAddr for constants in tests and tables; it panics on error.
func MustParseAddr(s string) Addr {
	a, err := ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// IsZero reports whether a is absent (all zero bytes).
func (a Addr) IsZero() bool { return a == Addr{} }

// Is4 reports whether a is an IPv4-mapped address.
func (a Addr) Is4() bool {
	return a[10] == 0xff && a[11] == 0xff && [10]byte(a[:10]) == [10]byte{}
}

// Netip returns a as a netip.Addr, unmapping IPv4.
func (a Addr) Netip() netip.Addr {
	if a.IsZero() {
		return netip.Addr{}
	}
	return netip.AddrFrom16(a).Unmap()
}

// String returns the usual textual form ("" for the zero Addr).
func (a Addr) String() string {
	if a.IsZero() {
		return ""
	}
	return a.Netip().String()
}

// AppendText appends the textual form of a to dst.
func (a Addr) AppendText(dst []byte) []byte {
	if a.IsZero() {
		return dst
	}
	return a.Netip().AppendTo(dst)
}

// MACFromBytes packs a 6-byte hardware address into the low 48 bits of a uint64.
func MACFromBytes(b []byte) uint64 {
	if len(b) < 6 {
		return 0
	}
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

// AppendMAC appends m in the colon-separated hex form.
func AppendMAC(dst []byte, m uint64) []byte {
	const hexd = "0123456789abcdef"
	for i := 5; i >= 0; i-- {
		v := byte(m >> (8 * i))
		dst = append(dst, hexd[v>>4], hexd[v&0xf])
		if i > 0 {
			dst = append(dst, ':')
		}
	}
	return dst
}

// MACString returns m in the colon-separated hex form.
func MACString(m uint64) string { return string(AppendMAC(nil, m)) }

// EnumValue returns the index of name in an enum column's values, or 0
// (unknown) when it is not one of them.
func EnumValue(values []string, name string) uint8 {
	for i, v := range values {
		if v == name {
			return uint8(i)
		}
	}
	return 0
}

func enumName(values []string, v uint8) string {
	if int(v) < len(values) {
		return values[v]
	}
	return values[0]
}

func appendTimeJSON(dst []byte, ns int64) []byte {
	dst = append(dst, '"')
	dst = time.Unix(0, ns).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	return append(dst, '"')
}

// Time converts a column value (Unix nanoseconds) to time.Time in UTC.
func Time(ns int64) time.Time { return time.Unix(0, ns).UTC() }

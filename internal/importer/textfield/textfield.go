// Package textfield parses numbers, addresses and repeated strings out of
// byte slices without allocating, for the line- and tuple-oriented cloud flow
// log parsers whose per-record cost must stay allocation-free.
package textfield

import (
	"bytes"
	"errors"
	"net/netip"
	"unsafe"

	"github.com/flowlake/flowlake/internal/flow"
)

// ErrSyntax reports a field that is not a valid number or address.
var ErrSyntax = errors.New("invalid syntax")

// ErrRange reports a number too large for its column.
var ErrRange = errors.New("value out of range")

// Uint parses an unsigned decimal number no larger than max.
func Uint(b []byte, max uint64) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, ErrSyntax
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, ErrSyntax
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, ErrRange
		}
		v = v*10 + d
	}
	if v > max {
		return 0, ErrRange
	}
	return v, nil
}

// Addr parses an IPv4 or IPv6 address. IPv4 takes a hand-written path
// because it is by far the common case in flow logs.
func Addr(b []byte) (flow.Addr, error) {
	if len(b) > 15 || bytes.IndexByte(b, ':') >= 0 {
		return addr6(b)
	}
	var a4 [4]byte
	n, oct, digits := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			// Leading zeros are refused (as net/netip does): "010" could
			// be read as octal elsewhere.
			if digits == 1 && oct == 0 {
				return flow.Addr{}, ErrSyntax
			}
			oct = oct*10 + int(c-'0')
			digits++
			if oct > 255 || digits > 3 {
				return flow.Addr{}, ErrSyntax
			}
		case c == '.':
			if digits == 0 || n == 3 {
				return flow.Addr{}, ErrSyntax
			}
			a4[n] = byte(oct)
			n, oct, digits = n+1, 0, 0
		default:
			return flow.Addr{}, ErrSyntax
		}
	}
	if n != 3 || digits == 0 {
		return flow.Addr{}, ErrSyntax
	}
	a4[3] = byte(oct)
	return flow.AddrFrom4(a4), nil
}

func addr6(b []byte) (flow.Addr, error) {
	for _, c := range b {
		// netip keeps a zone string; refuse zones so that the unsafe view
		// below is never retained.
		if c == '%' {
			return flow.Addr{}, ErrSyntax
		}
	}
	if len(b) == 0 {
		return flow.Addr{}, ErrSyntax
	}
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil {
		return flow.Addr{}, ErrSyntax
	}
	return flow.AddrFromNetip(a), nil
}

// Interner returns one shared string per distinct byte sequence so that
// columns such as account or interface id, which repeat across millions of
// records, cost one allocation per distinct value. It stops growing at a
// bound so that a file full of unique values cannot exhaust memory.
type Interner struct {
	m   map[string]string
	max int
}

// NewInterner returns an Interner holding at most max distinct values.
func NewInterner(max int) *Interner {
	return &Interner{m: make(map[string]string), max: max}
}

// String returns b as a string, shared with earlier calls for the same bytes.
func (in *Interner) String(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in.m) < in.max {
		in.m[s] = s
	}
	return s
}

// Labels builds the JSON object of the labels column ({"key":"value",...})
// in a reusable buffer.
type Labels struct {
	buf []byte
}

// Reset empties the object.
func (l *Labels) Reset() { l.buf = l.buf[:0] }

// Add appends one key/value pair; empty values are left out.
func (l *Labels) Add(key string, value []byte) {
	if len(value) == 0 {
		return
	}
	if len(l.buf) == 0 {
		l.buf = append(l.buf, '{')
	} else {
		l.buf = append(l.buf, ',')
	}
	l.buf = AppendJSONString(l.buf, key)
	l.buf = append(l.buf, ':')
	l.buf = AppendJSONString(l.buf, value)
}

// Len reports the number of bytes written so far (0 when no label was added).
func (l *Labels) Len() int { return len(l.buf) }

// String returns the finished object, or "" when no label was added.
func (l *Labels) String() string {
	if len(l.buf) == 0 {
		return ""
	}
	return string(append(l.buf, '}'))
}

// AppendJSONString appends s as a JSON string literal.
func AppendJSONString[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// Bytes returns the finished object in the internal buffer (valid until the
// next call), or nil when no label was added.
func (l *Labels) Bytes() []byte {
	if len(l.buf) == 0 {
		return nil
	}
	out := append(l.buf, '}')
	l.buf = out[:len(out)-1]
	return out
}

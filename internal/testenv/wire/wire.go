// Package wire builds big-endian wire bytes for tests that write packets
// by hand (NetFlow, IPFIX and sFlow builders).
package wire

import "encoding/binary"

// BE16 is v in 2 big-endian bytes.
func BE16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// BE32 is v in 4 big-endian bytes.
func BE32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// BE64 is v in 8 big-endian bytes.
func BE64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// Cat concatenates parts into a new slice.
func Cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

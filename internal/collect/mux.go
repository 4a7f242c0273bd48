package collect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// ErrUnknownProtocol marks a datagram that is neither NetFlow/IPFIX nor sFlow.
var ErrUnknownProtocol = errors.New("not NetFlow v5/v9, IPFIX or sFlow v5")

// Mux is a flow.Decoder that sends each datagram to the decoder of its
// protocol, told by the version field, so that any port accepts any protocol.
type Mux struct {
	// NetFlow decodes NetFlow v5, v9 and IPFIX (version 5, 9, 10 in the
	// first two bytes).
	NetFlow flow.Decoder
	// SFlow decodes sFlow v5 (version 5 in the first four bytes); nil
	// rejects sFlow datagrams as unknown.
	SFlow flow.Decoder
}

// Protocol names what a datagram holds, from its first bytes only.
func Protocol(pkt []byte) string {
	if len(pkt) < 4 {
		return ""
	}
	if binary.BigEndian.Uint32(pkt) == 5 {
		return "sflow"
	}
	switch binary.BigEndian.Uint16(pkt) {
	case 5:
		return "netflow5"
	case 9:
		return "netflow9"
	case 10:
		return "ipfix"
	}
	return ""
}

// Decode implements flow.Decoder.
func (m *Mux) Decode(pkt []byte, exporter netip.AddrPort, received time.Time, out *flow.Decoded) error {
	var d flow.Decoder
	switch Protocol(pkt) {
	case "sflow":
		d = m.SFlow
	case "netflow5", "netflow9", "ipfix":
		d = m.NetFlow
	}
	if d == nil {
		v := pkt
		if len(v) > 4 {
			v = v[:4]
		}
		return fmt.Errorf("exporter %s: %w (starts %x)", exporter, ErrUnknownProtocol, v)
	}
	return d.Decode(pkt, exporter, received, out)
}

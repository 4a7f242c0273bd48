// Package pcapfile reads UDP datagrams out of classic pcap captures, which is
// all flowlake needs from a capture: exporters' payloads with their source
// address and capture time, for `flowlake decode`, tests and benchmarks.
package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"
)

// Datagram is one UDP payload found in a capture.
type Datagram struct {
	Time    time.Time
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Payload []byte
}

// Link types handled.
const (
	linkNull     = 0   // BSD loopback
	linkEthernet = 1   // Ethernet II, with optional 802.1Q tags
	linkRaw      = 101 // raw IP
	linkLinuxSLL = 113 // Linux cooked capture
	linkRawIP    = 12  // raw IP (OpenBSD value)
	linkIPv4     = 228
	linkIPv6     = 229
)

// Reader reads a pcap stream packet by packet.
type Reader struct {
	r        *bufio.Reader
	order    binary.ByteOrder
	nano     bool
	linkType uint32
	hdr      [16]byte
	buf      []byte
}

// NewReader reads the pcap global header from r.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var gh [24]byte
	if _, err := io.ReadFull(br, gh[:]); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	p := &Reader{r: br}
	switch binary.LittleEndian.Uint32(gh[:4]) {
	case 0xa1b2c3d4:
		p.order = binary.LittleEndian
	case 0xa1b23c4d:
		p.order, p.nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		p.order = binary.BigEndian
	case 0x4d3cb2a1:
		p.order, p.nano = binary.BigEndian, true
	default:
		return nil, errors.New("not a pcap file (pcapng is not supported: convert with editcap -F pcap)")
	}
	p.linkType = p.order.Uint32(gh[20:24]) & 0x0fffffff
	return p, nil
}

// Next returns the next UDP datagram, skipping packets that are not UDP over
// IPv4/IPv6 (and IP fragments after the first). It returns io.EOF at the end.
// The payload is valid until the following call.
func (p *Reader) Next() (Datagram, error) {
	for {
		if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Datagram{}, fmt.Errorf("pcap record header: %w", err)
			}
			return Datagram{}, err
		}
		sec := p.order.Uint32(p.hdr[0:4])
		frac := p.order.Uint32(p.hdr[4:8])
		incl := p.order.Uint32(p.hdr[8:12])
		if incl > 1<<20 {
			return Datagram{}, fmt.Errorf("pcap record of %d bytes: corrupt capture", incl)
		}
		if cap(p.buf) < int(incl) {
			p.buf = make([]byte, incl)
		}
		data := p.buf[:incl]
		if _, err := io.ReadFull(p.r, data); err != nil {
			return Datagram{}, fmt.Errorf("pcap record body: %w", err)
		}
		ns := int64(frac) * 1000
		if p.nano {
			ns = int64(frac)
		}
		d, ok := p.udp(data)
		if !ok {
			continue
		}
		d.Time = time.Unix(int64(sec), ns).UTC()
		return d, nil
	}
}

func (p *Reader) udp(b []byte) (Datagram, bool) {
	var etype uint16
	switch p.linkType {
	case linkEthernet:
		if len(b) < 14 {
			return Datagram{}, false
		}
		etype = binary.BigEndian.Uint16(b[12:14])
		b = b[14:]
		for (etype == 0x8100 || etype == 0x88a8) && len(b) >= 4 {
			etype = binary.BigEndian.Uint16(b[2:4])
			b = b[4:]
		}
	case linkLinuxSLL:
		if len(b) < 16 {
			return Datagram{}, false
		}
		etype = binary.BigEndian.Uint16(b[14:16])
		b = b[16:]
	case linkNull:
		if len(b) < 4 {
			return Datagram{}, false
		}
		b = b[4:]
	case linkRaw, linkRawIP, linkIPv4, linkIPv6:
	default:
		return Datagram{}, false
	}
	if etype == 0 && len(b) > 0 {
		switch b[0] >> 4 {
		case 4:
			etype = 0x0800
		case 6:
			etype = 0x86dd
		}
	}
	var src, dst netip.Addr
	switch etype {
	case 0x0800:
		if len(b) < 20 {
			return Datagram{}, false
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:4]))
		if ihl < 20 || len(b) < ihl || b[9] != 17 {
			return Datagram{}, false
		}
		if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 { // not the first fragment
			return Datagram{}, false
		}
		if total >= ihl && total < len(b) {
			b = b[:total]
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		b = b[ihl:]
	case 0x86dd:
		if len(b) < 40 || b[6] != 17 {
			return Datagram{}, false
		}
		plen := int(binary.BigEndian.Uint16(b[4:6]))
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		b = b[40:]
		if plen < len(b) {
			b = b[:plen]
		}
	default:
		return Datagram{}, false
	}
	if len(b) < 8 {
		return Datagram{}, false
	}
	sport := binary.BigEndian.Uint16(b[0:2])
	dport := binary.BigEndian.Uint16(b[2:4])
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	payload := b[8:]
	if ulen >= 8 && ulen-8 < len(payload) {
		payload = payload[:ulen-8]
	}
	return Datagram{
		Src:     netip.AddrPortFrom(src, sport),
		Dst:     netip.AddrPortFrom(dst, dport),
		Payload: payload,
	}, true
}

// ReadFile returns every UDP datagram in the capture at path, with payloads
// copied.
func ReadFile(path string) ([]Datagram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Datagram
	for {
		d, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", path, err)
		}
		d.Payload = append([]byte(nil), d.Payload...)
		out = append(out, d)
	}
}

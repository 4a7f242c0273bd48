package netflow

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

const (
	v5HeaderLen    = 24
	v5RecordLen    = 48
	v5MaxRecords   = 30
	v9HeaderLen    = 20
	ipfixHeaderLen = 16
)

func (d *Decoder) decodeV5(pkt []byte, exporter netip.AddrPort, received time.Time, out *flow.Decoded) error {
	addr := exporter.Addr()
	if len(pkt) < v5HeaderLen {
		d.countError(addr, 5, 0)
		return fmt.Errorf("netflow v5 from %s: %w: header truncated (%d bytes)", exporter, ErrMalformed, len(pkt))
	}
	be := binary.BigEndian
	count := int(be.Uint16(pkt[2:]))
	engine := uint32(pkt[20])<<8 | uint32(pkt[21])
	dom, err := d.domain(addr, 5, engine)
	if err != nil {
		return fmt.Errorf("netflow v5 from %s: %w", exporter, err)
	}
	dom.mu.Lock()
	defer dom.mu.Unlock()
	dom.packets++
	if count == 0 || count > v5MaxRecords || len(pkt) < v5HeaderLen+count*v5RecordLen {
		dom.errors++
		return fmt.Errorf("netflow v5 from %s: %w: count %d does not fit %d bytes", exporter, ErrMalformed, count, len(pkt))
	}
	uptime := be.Uint32(pkt[4:])
	exportMs := int64(be.Uint32(pkt[8:]))*1000 + int64(be.Uint32(pkt[12:]))/1e6
	seq := be.Uint32(pkt[16:])
	dom.sequence(seq, uint32(count), true)
	rate := uint32(be.Uint16(pkt[22:]) & 0x3FFF)
	if o := d.override(addr); o > 0 {
		rate = o
	}
	if rate == 0 {
		rate = 1
	}
	h := header{version: 5, exportMs: exportMs, exportNs: exportMs * 1e6, sysUptime: uptime}
	exp := flow.AddrFromNetip(addr)
	recv := received.UnixNano()
	b := &out.Flows
	first := b.Extend(count)
	for r := 0; r < count; r++ {
		rec := pkt[v5HeaderLen+r*v5RecordLen : v5HeaderLen+(r+1)*v5RecordLen]
		i := first + r
		b.TimeReceived[i] = recv
		b.SourceType[i] = flow.SourceTypeNetflow5
		b.ExporterAddr[i] = exp
		b.SamplingRate[i] = rate
		b.IPVersion[i] = 4
		b.SrcAddr[i] = flow.AddrFrom4([4]byte(rec[0:4]))
		b.DstAddr[i] = flow.AddrFrom4([4]byte(rec[4:8]))
		if nh := [4]byte(rec[8:12]); nh != [4]byte{} {
			b.NextHop[i] = flow.AddrFrom4(nh)
		}
		b.InIf[i] = uint32(be.Uint16(rec[12:]))
		b.OutIf[i] = uint32(be.Uint16(rec[14:]))
		b.Packets[i] = uint64(be.Uint32(rec[16:])) * uint64(rate)
		b.Bytes[i] = uint64(be.Uint32(rec[20:])) * uint64(rate)
		b.TimeStart[i] = uptimeNs(&h, 0, be.Uint32(rec[24:]))
		b.TimeEnd[i] = uptimeNs(&h, 0, be.Uint32(rec[28:]))
		b.SrcPort[i] = be.Uint16(rec[32:])
		b.DstPort[i] = be.Uint16(rec[34:])
		b.TCPFlags[i] = uint16(rec[37])
		b.Proto[i] = rec[38]
		b.TOS[i] = rec[39]
		b.SrcAS[i] = uint32(be.Uint16(rec[40:]))
		b.DstAS[i] = uint32(be.Uint16(rec[42:]))
		b.SrcMask[i] = rec[44]
		b.DstMask[i] = rec[45]
		if p := rec[38]; p == 1 {
			b.ICMPType[i], b.ICMPCode[i] = uint8(b.DstPort[i]>>8), uint8(b.DstPort[i])
		}
	}
	dom.records += uint64(count)
	return nil
}

func (d *Decoder) decodeV9(pkt []byte, exporter netip.AddrPort, received time.Time, out *flow.Decoded) error {
	addr := exporter.Addr()
	if len(pkt) < v9HeaderLen {
		d.countError(addr, 9, 0)
		return fmt.Errorf("netflow v9 from %s: %w: header truncated (%d bytes)", exporter, ErrMalformed, len(pkt))
	}
	be := binary.BigEndian
	srcID := be.Uint32(pkt[16:])
	dom, err := d.domain(addr, 9, srcID)
	if err != nil {
		return fmt.Errorf("netflow v9 from %s: %w", exporter, err)
	}
	exportMs := int64(be.Uint32(pkt[8:])) * 1000
	h := header{
		version: 9, domainID: srcID, exportMs: exportMs, exportNs: exportMs * 1e6,
		sysUptime: be.Uint32(pkt[4:]), received: received.UnixNano(),
		exporter: flow.AddrFromNetip(addr), override: d.override(addr), srcType: flow.SourceTypeNetflow9,
	}
	dom.mu.Lock()
	defer dom.mu.Unlock()
	dom.packets++
	dom.sequence(be.Uint32(pkt[12:]), 1, true)
	n, err := d.sets(dom, pkt[v9HeaderLen:], &h, out)
	if count := int(be.Uint16(pkt[2:])); err == nil && count < n.sets {
		// Every flowset holds at least one record, so a header count
		// below the number of flowsets means the datagram was spliced or
		// damaged (and tshark, which reads count records, sees less).
		err = fmt.Errorf("%w: header count %d but %d flowsets", ErrMalformed, count, n.sets)
	}
	if err != nil {
		dom.errors++
		return fmt.Errorf("netflow v9 from %s source id %d: %w", exporter, srcID, err)
	}
	return nil
}

// decodeIPFIX decodes the IPFIX message at the start of pkt and returns its
// length.
func (d *Decoder) decodeIPFIX(pkt []byte, exporter netip.AddrPort, received time.Time, out *flow.Decoded) (int, error) {
	addr := exporter.Addr()
	if len(pkt) < ipfixHeaderLen || pkt[0] != 0 || pkt[1] != 10 {
		d.countError(addr, 10, 0)
		return 0, fmt.Errorf("ipfix from %s: %w: %d bytes without a message header", exporter, ErrMalformed, len(pkt))
	}
	be := binary.BigEndian
	odid := be.Uint32(pkt[12:])
	dom, err := d.domain(addr, 10, odid)
	if err != nil {
		return 0, fmt.Errorf("ipfix from %s: %w", exporter, err)
	}
	exportMs := int64(be.Uint32(pkt[4:])) * 1000
	h := header{
		version: 10, domainID: odid, exportMs: exportMs, exportNs: exportMs * 1e6,
		received: received.UnixNano(), exporter: flow.AddrFromNetip(addr),
		override: d.override(addr), srcType: flow.SourceTypeIpfix,
	}
	dom.mu.Lock()
	defer dom.mu.Unlock()
	dom.packets++
	length := int(be.Uint16(pkt[2:]))
	if length < ipfixHeaderLen || length > len(pkt) {
		dom.errors++
		return 0, fmt.Errorf("ipfix from %s domain %d: %w: message length %d, datagram %d bytes", exporter, odid, ErrMalformed, length, len(pkt))
	}
	seq := be.Uint32(pkt[8:])
	n, err := d.sets(dom, pkt[ipfixHeaderLen:length], &h, out)
	// The sequence number counts data records sent before this message;
	// when some sets could not be counted (no template yet) the next
	// expected value is unknown.
	dom.sequence(seq, uint32(n.records), n.complete && err == nil)
	if err != nil {
		dom.errors++
		return 0, fmt.Errorf("ipfix from %s domain %d: %w", exporter, odid, err)
	}
	return length, nil
}

type setCount struct {
	records  int
	sets     int
	complete bool
}

// sets walks the sets (flowsets) of a v9 or IPFIX message.
func (d *Decoder) sets(dom *domain, b []byte, h *header, out *flow.Decoded) (setCount, error) {
	be := binary.BigEndian
	cnt := setCount{complete: true}
	ipfix := h.version == 10
	for off := 0; off < len(b); {
		rest := len(b) - off
		if rest < 4 {
			if !ipfix && isPadding(b[off:]) {
				break
			}
			return cnt, fmt.Errorf("%w: %d trailing bytes at offset %d", ErrMalformed, rest, off)
		}
		id := be.Uint16(b[off:])
		l := int(be.Uint16(b[off+2:]))
		if l < 4 || l > rest {
			if !ipfix && isPadding(b[off:]) {
				// Some v9 exporters pad the datagram with zeros.
				break
			}
			return cnt, fmt.Errorf("%w: set %d at offset %d has length %d (%d bytes left)", ErrMalformed, id, off, l, rest)
		}
		body := b[off+4 : off+l]
		cnt.sets++
		var err error
		switch {
		case (ipfix && id == 2) || (!ipfix && id == 0):
			err = d.templateSet(dom, body, h, false, out)
		case (ipfix && id == 3) || (!ipfix && id == 1):
			err = d.templateSet(dom, body, h, true, out)
		case id >= 256:
			t := dom.templates[id]
			if t == nil {
				dom.misses++
				cnt.complete = false
				d.hold(dom, id, body, h)
				break
			}
			var n int
			n, err = d.dataSet(dom, t, body, h, out)
			cnt.records += n
		}
		if err != nil {
			return cnt, fmt.Errorf("set %d at offset %d: %w", id, off+h.headerLen(), err)
		}
		off += l
	}
	return cnt, nil
}

func (h *header) headerLen() int {
	if h.version == 10 {
		return ipfixHeaderLen
	}
	return v9HeaderLen
}

// dataSet decodes a data set whose template is known.
func (d *Decoder) dataSet(dom *domain, t *template, body []byte, h *header, out *flow.Decoded) (int, error) {
	if t.options {
		n, err := d.decodeOptions(dom, t, body, h, out)
		if err != nil {
			return n, fmt.Errorf("options template %d: %w", t.id, err)
		}
		return n, nil
	}
	n, err := d.decodeData(dom, t, body, h, out)
	dom.records += uint64(n)
	if err != nil {
		return n, fmt.Errorf("template %d: %w", t.id, err)
	}
	return n, nil
}

// hold keeps a data set whose template is unknown, dropping the oldest
// held sets beyond the per-domain bounds; a set that would exceed the
// decoder-wide budget is not held.
func (d *Decoder) hold(dom *domain, id uint16, body []byte, h *header) {
	cfg := &d.cfg
	if len(body) > cfg.MaxPendingBytes {
		return
	}
	for len(dom.pending) > 0 && (len(dom.pending) >= cfg.MaxPendingSets || dom.pendingLen+len(body) > cfg.MaxPendingBytes) {
		d.drop(dom, 0)
	}
	if d.pendingTotal.Add(int64(len(body))) > int64(cfg.MaxPendingBytesTotal) {
		d.pendingTotal.Add(-int64(len(body)))
		return
	}
	dom.pending = append(dom.pending, pendingSet{id: id, data: append([]byte(nil), body...), h: *h})
	dom.pendingLen += len(body)
}

// drop forgets held set i.
func (d *Decoder) drop(dom *domain, i int) {
	n := len(dom.pending[i].data)
	dom.pendingLen -= n
	d.pendingTotal.Add(-int64(n))
	dom.pending = append(dom.pending[:i], dom.pending[i+1:]...)
	dom.pending[len(dom.pending):cap(dom.pending)][0] = pendingSet{}
}

// release decodes the held sets of template t.
func (d *Decoder) release(dom *domain, t *template, out *flow.Decoded) error {
	var firstErr error
	for i := 0; i < len(dom.pending); {
		p := dom.pending[i]
		if p.id != t.id {
			i++
			continue
		}
		d.drop(dom, i)
		if _, err := d.dataSet(dom, t, p.data, &p.h, out); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("held set %d: %w", p.id, err)
		}
	}
	return firstErr
}

// templateSet reads a (options) template set, defining, redefining or
// withdrawing templates.
func (d *Decoder) templateSet(dom *domain, b []byte, h *header, options bool, out *flow.Decoded) error {
	be := binary.BigEndian
	ipfix := h.version == 10
	var scratch [64]tfield
	for off := 0; ; {
		if len(b)-off < 4 {
			return nil // padding
		}
		id := be.Uint16(b[off:])
		if isPadding(b[off:]) {
			return nil
		}
		var nFields, nScopes int
		p := off + 4
		switch {
		case !options:
			nFields = int(be.Uint16(b[off+2:]))
		case ipfix:
			nFields = int(be.Uint16(b[off+2:]))
			if nFields > 0 {
				if off+6 > len(b) {
					return fmt.Errorf("%w: options template %d truncated at offset %d", ErrMalformed, id, off)
				}
				nScopes = int(be.Uint16(b[off+4:]))
				p += 2
				if nScopes == 0 || nScopes > nFields {
					return fmt.Errorf("%w: options template %d: %d scope fields of %d", ErrMalformed, id, nScopes, nFields)
				}
			}
		default: // v9 options template: byte lengths of scopes and options
			if off+6 > len(b) {
				return fmt.Errorf("%w: options template %d truncated at offset %d", ErrMalformed, id, off)
			}
			scopeLen := int(be.Uint16(b[off+2:]))
			optLen := int(be.Uint16(b[off+4:]))
			p += 2
			if scopeLen%4 != 0 || optLen%4 != 0 {
				return fmt.Errorf("%w: options template %d: scope length %d, option length %d", ErrMalformed, id, scopeLen, optLen)
			}
			nScopes, nFields = scopeLen/4, (scopeLen+optLen)/4
		}
		if ipfix && nFields == 0 {
			// Withdrawal (RFC 7011 8.1): of one template, or of all of
			// this kind when the id is the set id.
			if id == 2 || id == 3 {
				for tid, t := range dom.templates {
					if t.options == options {
						d.withdraw(dom, tid)
					}
				}
			} else {
				d.withdraw(dom, id)
			}
			off = p
			continue
		}
		if id < 256 {
			return fmt.Errorf("%w: template id %d at offset %d", ErrMalformed, id, off)
		}
		if nFields > d.cfg.MaxFieldsPerTemplate {
			return fmt.Errorf("%w: template %d has %d fields (limit %d)", ErrMalformed, id, nFields, d.cfg.MaxFieldsPerTemplate)
		}
		if nFields*4 > len(b)-p {
			return fmt.Errorf("%w: template %d: %d fields do not fit in %d bytes", ErrMalformed, id, nFields, len(b)-p)
		}
		fields, used, err := parseFields(scratch[:0], b[p:], nFields, ipfix)
		if err != nil {
			return fmt.Errorf("template %d: %w", id, err)
		}
		if !ipfix && options {
			for i := 0; i < nScopes; i++ {
				fields[i].Ent = v9ScopeEnt
			}
		}
		off = p + used
		if old := dom.templates[id]; old != nil && old.options == options && old.scopes == nScopes && old.sameFields(fields) {
			continue
		}
		t, err := d.compile(h.version, id, options, nScopes, append([]tfield(nil), fields...))
		if err != nil {
			return err
		}
		if err := d.store(dom, t); err != nil {
			return err
		}
		if len(dom.pending) > 0 {
			if err := d.release(dom, t, out); err != nil {
				return err
			}
		}
	}
}

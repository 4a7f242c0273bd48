package netflow

import (
	"encoding/binary"
	"fmt"

	"github.com/flowlake/flowlake/internal/flow/schema"
)

// varLen marks a variable-length field (IPFIX length 65535).
const varLen = 0xFFFF

// v9ScopeEnt marks NetFlow v9 options scope fields, whose type numbers
// (1 system, 2 interface, ...) are not information elements.
const v9ScopeEnt = 0xFFFFFFFF

// penReverse is the RFC 5103 reverse information element enterprise number.
const penReverse = 29305

// v9 scope types.
const v9ScopeInterface = 2

// tfield is one template field as the exporter defined it.
type tfield struct {
	Ent uint32
	ID  uint16
	Len uint16
}

// template is a compiled template or options template.
type template struct {
	id      uint16
	options bool
	scopes  int
	fields  []tfield
	// ops are the field operations of a data template: for a fixed-length
	// template only the fields that fill something (with their offset), for
	// a variable-length one every field in order.
	ops      []op
	recLen   int // record length when fixed, minimum length when variable
	variable bool
	mapped   bool // some op writes a configured column
}

// op is one compiled field operation.
type op struct {
	off  uint16
	len  uint16
	kind kind
	col  uint8
	typ  schema.Type
}

type kind uint8

const (
	kSkip kind = iota
	kBytes
	kPackets
	kProto
	kTOS
	kTCPFlags
	kSrcPort
	kDstPort
	kSrcAddr
	kDstAddr
	kSrcMask
	kDstMask
	kInIf
	kOutIf
	kNextHop
	kBGPNextHop
	kSrcAS
	kDstAS
	kFirstUptime
	kLastUptime
	kBytesAlt
	kPacketsAlt
	kICMPTypeCode
	kICMPType
	kICMPCode
	kSamplingRate
	kSamplerID
	kSampInterval
	kSampSpace
	kSampSize
	kSampPop
	kSrcMAC
	kDstMAC
	kPostSrcMAC
	kPostDstMAC
	kVLAN
	kPostVLAN
	kIPVersion
	kDirection
	kFwdStatus
	kAppID
	kAppName
	kEndReason
	kStartSec
	kEndSec
	kStartMs
	kEndMs
	kStartNTP
	kEndNTP
	kStartDeltaUs
	kEndDeltaUs
	kSysInit
	kPostNATSrcAddr
	kPostNATDstAddr
	kPostNATSrcPort
	kPostNATDstPort
	kNATEvent
	kFWEvent
	kInitOctets
	kRespOctets
	kInitPackets
	kRespPackets
	kInIfPhys
	kOutIfPhys
	kRevBytes
	kRevPackets
	kMapped
)

// ieKinds gives the built-in meaning of IANA information elements (and of
// NetFlow v9 field types, which share the numbers below 128 and most above).
var ieKinds = map[uint16]kind{
	1: kBytes, 2: kPackets, 4: kProto, 5: kTOS, 6: kTCPFlags, 7: kSrcPort,
	8: kSrcAddr, 9: kSrcMask, 10: kInIf, 11: kDstPort, 12: kDstAddr, 13: kDstMask,
	14: kOutIf, 15: kNextHop, 16: kSrcAS, 17: kDstAS, 18: kBGPNextHop,
	21: kLastUptime, 22: kFirstUptime, 23: kBytesAlt, 24: kPacketsAlt,
	27: kSrcAddr, 28: kDstAddr, 29: kSrcMask, 30: kDstMask, 32: kICMPTypeCode,
	34: kSamplingRate, 48: kSamplerID, 50: kSamplingRate,
	56: kSrcMAC, 57: kPostDstMAC, 58: kVLAN, 59: kPostVLAN, 60: kIPVersion,
	61: kDirection, 62: kNextHop, 63: kBGPNextHop, 80: kDstMAC, 81: kPostSrcMAC,
	85: kBytesAlt, 86: kPacketsAlt, 89: kFwdStatus, 95: kAppID, 96: kAppName,
	136: kEndReason, 139: kICMPTypeCode,
	150: kStartSec, 151: kEndSec, 152: kStartMs, 153: kEndMs,
	154: kStartNTP, 155: kEndNTP, 156: kStartNTP, 157: kEndNTP,
	158: kStartDeltaUs, 159: kEndDeltaUs, 160: kSysInit,
	176: kICMPType, 177: kICMPCode, 178: kICMPType, 179: kICMPCode,
	225: kPostNATSrcAddr, 226: kPostNATDstAddr, 227: kPostNATSrcPort, 228: kPostNATDstPort,
	230: kNATEvent, 231: kInitOctets, 232: kRespOctets, 233: kFWEvent,
	243: kVLAN, 252: kInIfPhys, 253: kOutIfPhys, 254: kPostVLAN,
	281: kPostNATSrcAddr, 282: kPostNATDstAddr,
	298: kInitPackets, 299: kRespPackets, 302: kSamplerID,
	305: kSampInterval, 306: kSampSpace, 309: kSampSize, 310: kSampPop,
}

// v9Kinds are Cisco NSEL field types of NetFlow v9 above the IANA range.
var v9Kinds = map[uint16]kind{
	40001: kPostNATSrcAddr, 40002: kPostNATDstAddr, 40003: kPostNATSrcPort,
	40004: kPostNATDstPort, 40005: kFWEvent,
}

// fieldKind returns the operation for a field.
func (d *Decoder) fieldKind(version uint16, f tfield) (kind, mapping) {
	if m, ok := d.mapped[ieKey{f.Ent, f.ID}]; ok {
		return kMapped, m
	}
	switch f.Ent {
	case 0:
		if k, ok := ieKinds[f.ID]; ok {
			return k, mapping{}
		}
		if version == 9 {
			return v9Kinds[f.ID], mapping{}
		}
	case penReverse:
		switch f.ID {
		case 1, 85:
			return kRevBytes, mapping{}
		case 2, 86:
			return kRevPackets, mapping{}
		}
	}
	return kSkip, mapping{}
}

// compile builds a template from its fields.
func (d *Decoder) compile(version, id uint16, options bool, scopes int, fields []tfield) (*template, error) {
	if len(fields) > d.cfg.MaxFieldsPerTemplate {
		return nil, fmt.Errorf("%w: template %d has %d fields (limit %d)", ErrMalformed, id, len(fields), d.cfg.MaxFieldsPerTemplate)
	}
	t := &template{id: id, options: options, scopes: scopes, fields: fields}
	for _, f := range fields {
		if f.Len == varLen {
			t.variable = true
			t.recLen++
		} else {
			t.recLen += int(f.Len)
		}
	}
	if options {
		return t, nil
	}
	off := 0
	seen := make(map[tfield]bool, len(fields))
	for _, f := range fields {
		k, m := d.fieldKind(version, f)
		// A repeated element (inner headers of tunnelled traffic, e.g.
		// SRv6) does not override the first, outer one.
		key := tfield{Ent: f.Ent, ID: f.ID}
		if seen[key] {
			k = kSkip
		}
		seen[key] = true
		if k != kSkip || t.variable {
			o := op{off: uint16(off), len: f.Len, kind: k}
			if k == kMapped {
				o.col, o.typ = uint8(m.col), m.typ
				t.mapped = true
			}
			t.ops = append(t.ops, o)
		}
		if f.Len != varLen {
			off += int(f.Len)
		}
	}
	return t, nil
}

// sameFields reports whether t was defined by exactly the raw field
// specifiers in raw (IPFIX or v9 encoding), so that periodic template
// refreshes cost no allocation.
func (t *template) sameFields(fields []tfield) bool {
	if len(t.fields) != len(fields) {
		return false
	}
	for i := range fields {
		if t.fields[i] != fields[i] {
			return false
		}
	}
	return true
}

// parseFields reads n field specifiers from b into dst (reused), in IPFIX
// encoding (enterprise bit) when ipfix is true. It returns the bytes used.
func parseFields(dst []tfield, b []byte, n int, ipfix bool) ([]tfield, int, error) {
	p := 0
	for i := 0; i < n; i++ {
		if p+4 > len(b) {
			return dst, p, fmt.Errorf("%w: field %d of %d truncated at offset %d", ErrMalformed, i, n, p)
		}
		id := binary.BigEndian.Uint16(b[p:])
		l := binary.BigEndian.Uint16(b[p+2:])
		p += 4
		var ent uint32
		if ipfix && id&0x8000 != 0 {
			if p+4 > len(b) {
				return dst, p, fmt.Errorf("%w: enterprise field %d truncated at offset %d", ErrMalformed, i, p)
			}
			id &= 0x7FFF
			ent = binary.BigEndian.Uint32(b[p:])
			p += 4
		}
		dst = append(dst, tfield{Ent: ent, ID: id, Len: l})
	}
	return dst, p, nil
}

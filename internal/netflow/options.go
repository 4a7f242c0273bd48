package netflow

import (
	"encoding/binary"
	"fmt"

	"github.com/flowlake/flowlake/internal/flow"
)

// optRec is what one options data record says.
type optRec struct {
	samplerID  uint64
	hasSampler bool
	rate       uint32
	interval   uint32
	space      uint32
	size       uint32
	pop        uint32
	ifIndex    uint32
	hasIf      bool
	ifName     []byte
	ifDescr    []byte
	appID      []byte
	appName    []byte
	sysInitMs  uint64
}

// decodeOptions applies the records of an options data set to the domain
// tables (samplers, application names, system init time) and emits
// interface names. It returns the records read.
func (d *Decoder) decodeOptions(dom *domain, t *template, data []byte, h *header, out *flow.Decoded) (int, error) {
	if t.recLen == 0 {
		return 0, nil
	}
	n := 0
	for p := 0; len(data)-p >= t.recLen; n++ {
		var r optRec
		q := p
		for _, f := range t.fields {
			l := int(f.Len)
			if f.Len == varLen {
				if q >= len(data) {
					return n, fmt.Errorf("%w: options template %d record %d: truncated", ErrMalformed, t.id, n)
				}
				l = int(data[q])
				q++
				if l == 255 {
					if q+2 > len(data) {
						return n, fmt.Errorf("%w: options template %d record %d: truncated", ErrMalformed, t.id, n)
					}
					l = int(binary.BigEndian.Uint16(data[q:]))
					q += 2
				}
			}
			if q+l > len(data) {
				if isPadding(data[p:]) {
					return n, nil
				}
				return n, fmt.Errorf("%w: options template %d record %d: field overruns set", ErrMalformed, t.id, n)
			}
			v := data[q : q+l]
			q += l
			if f.Ent == v9ScopeEnt {
				if f.ID == v9ScopeInterface {
					r.ifIndex, r.hasIf = uint32(uintBE(v)), true
				}
				continue
			}
			if f.Ent != 0 {
				continue
			}
			switch f.ID {
			case 10:
				r.ifIndex, r.hasIf = uint32(uintBE(v)), true
			case 34, 50:
				r.rate = uint32(uintBE(v))
			case 48, 302:
				r.samplerID, r.hasSampler = uintBE(v), true
			case 305:
				r.interval = uint32(uintBE(v))
			case 306:
				r.space = uint32(uintBE(v))
			case 309:
				r.size = uint32(uintBE(v))
			case 310:
				r.pop = uint32(uintBE(v))
			case 82:
				r.ifName = v
			case 83:
				r.ifDescr = v
			case 95:
				r.appID = v
			case 96:
				r.appName = v
			case 160:
				r.sysInitMs = uintBE(v)
			}
		}
		if q == p {
			break
		}
		p = q
		d.applyOptions(dom, &r, h, out)
	}
	return n, nil
}

func (d *Decoder) applyOptions(dom *domain, r *optRec, h *header, out *flow.Decoded) {
	if rate := samplingRate(r.rate, r.interval, r.space, r.size, r.pop); rate > 0 {
		if r.hasSampler {
			if _, ok := dom.samplers[r.samplerID]; ok || len(dom.samplers) < maxSamplers {
				dom.samplers[r.samplerID] = rate
			}
		} else {
			dom.defaultRate = rate
		}
	}
	if r.hasIf && (len(r.ifName) > 0 || len(r.ifDescr) > 0) {
		out.Interfaces = append(out.Interfaces, flow.Interface{
			ExporterAddr: h.exporter, ObservationDomain: h.domainID, Index: r.ifIndex,
			Name: string(trimNUL(r.ifName)), Description: string(trimNUL(r.ifDescr)),
		})
	}
	if len(r.appID) > 0 && len(r.appName) > 0 {
		k := string(r.appID)
		if _, ok := dom.appNames[k]; ok || len(dom.appNames) < maxAppNames {
			dom.appNames[k] = string(trimNUL(r.appName))
		}
	}
	if r.sysInitMs > 0 {
		dom.sysInitMs = r.sysInitMs
	}
}

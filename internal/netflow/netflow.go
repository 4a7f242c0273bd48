// Package netflow decodes NetFlow v5, NetFlow v9 and IPFIX datagrams into
// flowlake's canonical flow batch. NetFlow v9 and IPFIX share one template
// engine: templates are compiled once into flat lists of field operations
// so that decoding a data record is a loop over a slice with no maps,
// interfaces or allocations.
//
// Flows fully decoded from a datagram before a malformed part was found stay
// in the output batch: a damaged trailing set does not lose the flows that
// preceded it. The error tells which exporter, set, template and offset.
//
// Decisions where exporters or RFCs leave room:
//   - A repeated information element in one template (inner headers of
//     tunnelled traffic) does not override the first, outer one; of an IPv4
//     and an IPv6 address field the non-zero one is used.
//   - Byte and packet counts come from the delta counters (1, 2) when the
//     template has them, even when zero; else totals (85, 86), post counts
//     (23, 24), NSEL initiator counts (231, 298). Responder counts (232,
//     299) and RFC 5103 reverse counters go to rev_bytes/rev_packets.
//   - Sampling rate: configured override, else the record's own fields,
//     else its sampler/selector id in the options tables, else the
//     domain's sampler-less options rate, else 1. Counters are multiplied.
//   - Times missing from a record, and IPFIX uptime-relative times with no
//     systemInitTimeMilliseconds known, are the message's export time.
//   - ICMP flows keep the ports as sent; without ICMP elements the type and
//     code are read from the destination port (type*256+code).
//   - A v9 header count smaller than the number of flowsets is an error
//     (the datagram was spliced or damaged), after decoding what it holds.
//   - Data sets arriving before their template are held per domain
//     (bounded by Config) and decoded into the output of the datagram that
//     brings the template, with their own header's times.
package netflow

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// Errors wrapped by Decode.
var (
	// ErrUnsupportedVersion: the datagram is not NetFlow v5, v9 or IPFIX.
	ErrUnsupportedVersion = errors.New("unsupported flow export version")
	// ErrMalformed: the datagram is damaged or violates a limit.
	ErrMalformed = errors.New("malformed flow export")
)

// Defaults applied to zero Config fields.
const (
	DefaultMaxPendingSets        = 32
	DefaultMaxPendingBytes       = 64 << 10
	DefaultMaxPendingBytesTotal  = 16 << 20
	DefaultMaxTemplatesPerDomain = 1024
	DefaultMaxFieldsPerTemplate  = 512
	DefaultMaxDomains            = 16384
	DefaultMaxTemplateFields     = 1 << 22
	maxAppNames                  = 16384
	maxSamplers                  = 4096
)

// FieldMapping maps an information element (enterprise number, element id)
// to a schema column by name. A mapping overrides the built-in meaning of
// the element. Numeric, address and MAC columns are supported; string
// columns are too, at the cost of one allocation per flow.
type FieldMapping struct {
	Enterprise uint32 `yaml:"enterprise"`
	ID         uint16 `yaml:"id"`
	Column     string `yaml:"column"`
}

// Config tunes a Decoder; the zero value is usable.
type Config struct {
	// Fields maps extra (enterprise, IE) pairs to columns.
	Fields []FieldMapping
	// SamplingOverrides sets the sampling rate of an exporter, winning over
	// whatever the exporter announces.
	SamplingOverrides map[netip.Addr]uint32
	// MaxPendingSets bounds the data sets held per observation domain while
	// their template is unknown (default 32).
	MaxPendingSets int
	// MaxPendingBytes bounds the bytes of those held sets (default 64 KiB).
	MaxPendingBytes int
	// MaxPendingBytesTotal bounds held bytes over all domains (16 MiB).
	MaxPendingBytesTotal int
	// MaxTemplatesPerDomain bounds templates and options templates per
	// observation domain (default 1024).
	MaxTemplatesPerDomain int
	// MaxFieldsPerTemplate bounds the fields of one template (default 512).
	MaxFieldsPerTemplate int
	// MaxDomains bounds the (exporter, version, domain) states kept
	// (default 16384), so spoofed sources cannot grow memory without bound.
	MaxDomains int
	// MaxTemplateFields bounds the fields of all templates of all domains
	// together (default 4M, about 100 MB), the memory budget of templates.
	MaxTemplateFields int
}

// ExporterStats are the counters of one exporter observation domain.
type ExporterStats struct {
	Exporter          netip.Addr
	Version           uint16
	ObservationDomain uint32
	Packets           uint64
	Records           uint64
	Errors            uint64
	// TemplateMisses counts data sets that arrived without their template.
	TemplateMisses uint64
	// SequenceGaps counts records (v5, IPFIX) or packets (v9) lost
	// according to the exporter's sequence numbers.
	SequenceGaps uint64
	// Templates is the number of templates and options templates known.
	Templates int
}

// Decoder decodes NetFlow v5, v9 and IPFIX. It is safe for concurrent use.
type Decoder struct {
	cfg     Config
	mapped  map[ieKey]mapping
	mu      sync.RWMutex
	domains map[domainKey]*domain
	// fields counts the fields of all stored templates.
	fields atomic.Int64
	// pendingTotal counts the bytes of all held data sets.
	pendingTotal atomic.Int64
}

type ieKey struct {
	ent uint32
	id  uint16
}

type mapping struct {
	col int
	typ schema.Type
}

type domainKey struct {
	addr    netip.Addr
	version uint16
	id      uint32
}

// domain is the state of one exporter observation domain (v9 source id,
// IPFIX observation domain, v5 engine). Its mutex is held while one
// datagram of the domain is decoded.
type domain struct {
	mu        sync.Mutex
	key       domainKey
	templates map[uint16]*template
	// samplers maps sampler/selector ids to rates, from options data.
	samplers    map[uint64]uint32
	defaultRate uint32 // from options data naming no sampler
	sysInitMs   uint64 // IPFIX systemInitTimeMilliseconds from options data
	appNames    map[string]string
	names       map[string]string // interned application names from data records
	pending     []pendingSet
	pendingLen  int

	packets, records, errors, misses, gaps uint64
	seqValid                               bool
	nextSeq                                uint32
}

type pendingSet struct {
	id   uint16
	data []byte
	h    header
}

// New validates cfg and returns a Decoder.
func New(cfg Config) (*Decoder, error) {
	if cfg.MaxPendingSets <= 0 {
		cfg.MaxPendingSets = DefaultMaxPendingSets
	}
	if cfg.MaxPendingBytes <= 0 {
		cfg.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if cfg.MaxPendingBytesTotal <= 0 {
		cfg.MaxPendingBytesTotal = DefaultMaxPendingBytesTotal
	}
	if cfg.MaxTemplatesPerDomain <= 0 {
		cfg.MaxTemplatesPerDomain = DefaultMaxTemplatesPerDomain
	}
	if cfg.MaxFieldsPerTemplate <= 0 {
		cfg.MaxFieldsPerTemplate = DefaultMaxFieldsPerTemplate
	}
	if cfg.MaxDomains <= 0 {
		cfg.MaxDomains = DefaultMaxDomains
	}
	if cfg.MaxTemplateFields <= 0 {
		cfg.MaxTemplateFields = DefaultMaxTemplateFields
	}
	d := &Decoder{cfg: cfg, domains: make(map[domainKey]*domain), mapped: make(map[ieKey]mapping)}
	for _, m := range cfg.Fields {
		col := -1
		var typ schema.Type
		for i, c := range schema.Columns {
			if c.Name == m.Column {
				col, typ = i, c.Type
				break
			}
		}
		if col < 0 {
			return nil, fmt.Errorf("netflow field mapping (%d, %d): unknown column %q", m.Enterprise, m.ID, m.Column)
		}
		switch typ {
		case schema.Uint8, schema.Uint16, schema.Uint32, schema.Uint64, schema.Addr, schema.MAC, schema.String:
		default:
			return nil, fmt.Errorf("netflow field mapping (%d, %d): column %q has unsupported type %s", m.Enterprise, m.ID, m.Column, typ)
		}
		d.mapped[ieKey{m.Enterprise, m.ID}] = mapping{col, typ}
	}
	return d, nil
}

// header is what records of one datagram need from its header.
type header struct {
	version   uint16
	domainID  uint32
	exportNs  int64 // export time, Unix ns
	exportMs  int64
	sysUptime uint32 // v9: ms since boot at export
	received  int64
	exporter  flow.Addr
	override  uint32
	srcType   uint8
}

// Decode decodes one datagram; see flow.Decoder.
func (d *Decoder) Decode(pkt []byte, exporter netip.AddrPort, received time.Time, out *flow.Decoded) error {
	if len(pkt) < 2 {
		d.countError(exporter.Addr(), 0, 0)
		return fmt.Errorf("exporter %s: %w: datagram of %d bytes", exporter, ErrMalformed, len(pkt))
	}
	version := uint16(pkt[0])<<8 | uint16(pkt[1])
	var err error
	switch version {
	case 5:
		err = d.decodeV5(pkt, exporter, received, out)
	case 9:
		err = d.decodeV9(pkt, exporter, received, out)
	case 10:
		// Several messages back to back (an IPFIX file, a chunk of an
		// IPFIX-over-TCP stream) are decoded in turn.
		for len(pkt) > 0 {
			var n int
			n, err = d.decodeIPFIX(pkt, exporter, received, out)
			if err != nil {
				break
			}
			pkt = pkt[n:]
		}
	default:
		d.countError(exporter.Addr(), 0, 0)
		return fmt.Errorf("exporter %s: %w %d", exporter, ErrUnsupportedVersion, version)
	}
	return err
}

// countError counts an error for a datagram whose domain is unknown.
func (d *Decoder) countError(addr netip.Addr, version uint16, id uint32) {
	dom, err := d.domain(addr, version, id)
	if err != nil {
		return
	}
	dom.mu.Lock()
	dom.packets++
	dom.errors++
	dom.mu.Unlock()
}

// domain returns the state of an observation domain, creating it.
func (d *Decoder) domain(addr netip.Addr, version uint16, id uint32) (*domain, error) {
	k := domainKey{addr.Unmap(), version, id}
	d.mu.RLock()
	dom := d.domains[k]
	d.mu.RUnlock()
	if dom != nil {
		return dom, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if dom = d.domains[k]; dom != nil {
		return dom, nil
	}
	if len(d.domains) >= d.cfg.MaxDomains {
		return nil, fmt.Errorf("%w: more than %d exporter observation domains", ErrMalformed, d.cfg.MaxDomains)
	}
	dom = newDomain(k)
	d.domains[k] = dom
	return dom, nil
}

func newDomain(k domainKey) *domain {
	return &domain{key: k, templates: make(map[uint16]*template), samplers: make(map[uint64]uint32), appNames: make(map[string]string), names: make(map[string]string)}
}

func (d *Decoder) override(addr netip.Addr) uint32 {
	if len(d.cfg.SamplingOverrides) == 0 {
		return 0
	}
	if r, ok := d.cfg.SamplingOverrides[addr]; ok {
		return r
	}
	return d.cfg.SamplingOverrides[addr.Unmap()]
}

// Stats returns the counters of every exporter observation domain seen,
// sorted by exporter, version and domain.
func (d *Decoder) Stats() []ExporterStats {
	d.mu.RLock()
	doms := make([]*domain, 0, len(d.domains))
	for _, dom := range d.domains {
		doms = append(doms, dom)
	}
	d.mu.RUnlock()
	out := make([]ExporterStats, 0, len(doms))
	for _, dom := range doms {
		dom.mu.Lock()
		out = append(out, ExporterStats{
			Exporter: dom.key.addr, Version: dom.key.version, ObservationDomain: dom.key.id,
			Packets: dom.packets, Records: dom.records, Errors: dom.errors,
			TemplateMisses: dom.misses, SequenceGaps: dom.gaps, Templates: len(dom.templates),
		})
		dom.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if c := a.Exporter.Compare(b.Exporter); c != 0 {
			return c < 0
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.ObservationDomain < b.ObservationDomain
	})
	return out
}

// store sets template t in dom, within the per-domain template limit and
// the global field budget. dom.mu is held.
func (d *Decoder) store(dom *domain, t *template) error {
	old, exists := dom.templates[t.id]
	if !exists && len(dom.templates) >= d.cfg.MaxTemplatesPerDomain {
		return fmt.Errorf("%w: template %d: more than %d templates in domain", ErrMalformed, t.id, d.cfg.MaxTemplatesPerDomain)
	}
	delta := int64(len(t.fields))
	if exists {
		delta -= int64(len(old.fields))
	}
	if d.fields.Add(delta) > int64(d.cfg.MaxTemplateFields) {
		d.fields.Add(-delta)
		return fmt.Errorf("%w: template %d: template memory budget of %d fields exhausted", ErrMalformed, t.id, d.cfg.MaxTemplateFields)
	}
	dom.templates[t.id] = t
	return nil
}

// withdraw removes template id from dom. dom.mu is held.
func (d *Decoder) withdraw(dom *domain, id uint16) {
	if t, ok := dom.templates[id]; ok {
		d.fields.Add(-int64(len(t.fields)))
		delete(dom.templates, id)
	}
}

// sequence records a sequence number and counts what was skipped. expected
// next is seq+advance. Jumps of more than 2^30 (restarts, reordering) reset
// tracking instead of counting a huge gap.
func (dom *domain) sequence(seq, advance uint32, valid bool) {
	if dom.seqValid {
		if diff := int32(seq - dom.nextSeq); diff > 0 && diff < 1<<30 {
			dom.gaps += uint64(diff)
		}
	}
	dom.nextSeq = seq + advance
	dom.seqValid = valid
}

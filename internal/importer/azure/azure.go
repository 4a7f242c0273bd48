// Package azure parses Azure Network Watcher flow logs: VNet flow logs
// (records[].flowRecords.flows[].flowGroups[].flowTuples) and NSG flow logs
// version 1 and 2 (records[].properties.flows[].flows[].flowTuples), either
// as the PT1H.json blob ({"records":[...]}) or one record object per line.
//
// The envelope is walked with jsonparser (no reflection, no copies) and the
// comma-separated tuples are cut by hand: the per-tuple path allocates
// nothing beyond the first occurrence of each string value.
package azure

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/buger/jsonparser"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
	"github.com/flowlake/flowlake/internal/importer/textfield"
)

// Kind selects the log flavour.
type Kind uint8

const (
	// VNet is a VNet flow log (flowLogVersion 2..4; 13-field tuples).
	VNet Kind = iota
	// NSG is an NSG flow log (properties.Version 1: 8-field tuples; 2: 13).
	NSG
)

// Options tune a parse.
type Options struct {
	// Now is the time_received of every record (Unix ns).
	Now int64
}

// Parser turns flow log documents into rows; not safe for concurrent use.
type Parser struct {
	kind   Kind
	opt    Options
	intern *textfield.Interner
	labels textfield.Labels
	tok    [16][]byte
	tuple  int64 // tuples seen in the current document (for error positions)
	s      *sink.Sink
	err    error // sink failure, stops the walk
	// Context of the record/group being walked.
	rec recordCtx
}

type recordCtx struct {
	mac                           uint64
	account, vnet, subnet, nic    string
	region, rule, acl, nsg, group string
	version                       int64
}

// NewParser returns a parser for one log kind.
func NewParser(kind Kind, opt Options) *Parser {
	return &Parser{kind: kind, opt: opt, intern: textfield.NewInterner(1 << 16)}
}

// Parse reads one document: either {"records":[...]} or one record object
// per line (NDJSON). Malformed tuples are reported with their tuple number
// (1-based, in document order) and skipped; a malformed record is reported
// with the number of the tuple that would have come next.
func (p *Parser) Parse(doc []byte, s *sink.Sink) error {
	p.s, p.err, p.tuple = s, nil, 0
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 {
		return nil
	}
	if recs, t, _, err := jsonparser.Get(trimmed, "records"); err == nil && t == jsonparser.Array {
		_, aerr := jsonparser.ArrayEach(recs, func(v []byte, t jsonparser.ValueType, _ int, _ error) {
			if p.err == nil {
				p.record(v, t)
			}
		})
		if p.err != nil {
			return p.err
		}
		if aerr != nil {
			s.Bad(p.tuple+1, fmt.Errorf("records array: %w", aerr))
		}
		return nil
	}
	// One record per line.
	for len(trimmed) > 0 && p.err == nil {
		line := trimmed
		if i := bytes.IndexByte(trimmed, '\n'); i >= 0 {
			line, trimmed = trimmed[:i], trimmed[i+1:]
		} else {
			trimmed = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		p.record(line, jsonparser.Object)
	}
	return p.err
}

func (p *Parser) record(v []byte, t jsonparser.ValueType) {
	if t != jsonparser.Object {
		p.s.Bad(p.tuple+1, errors.New("record is not a JSON object"))
		return
	}
	p.rec = recordCtx{}
	if mac, err := jsonparser.GetString(v, "macAddress"); err == nil {
		p.rec.mac = parseMAC(mac)
	}
	switch p.kind {
	case VNet:
		p.rec.version, _ = jsonparser.GetInt(v, "flowLogVersion")
		if target, err := jsonparser.GetString(v, "targetResourceID"); err == nil {
			p.resource(target)
		}
		if fl, err := jsonparser.GetString(v, "flowLogResourceID"); err == nil {
			p.rec.region = regionFromWatcher(fl)
		}
		flows, vt, _, err := jsonparser.Get(v, "flowRecords", "flows")
		if err != nil || vt != jsonparser.Array {
			p.s.Bad(p.tuple+1, errors.New("VNet record without flowRecords.flows array"))
			return
		}
		p.each(flows, func(f []byte) {
			p.rec.acl, _ = jsonparser.GetString(f, "aclID")
			p.rec.acl = p.intern.String([]byte(p.rec.acl))
			groups, _, _, err := jsonparser.Get(f, "flowGroups")
			if err != nil {
				p.s.Bad(p.tuple+1, errors.New("flow without flowGroups"))
				return
			}
			p.each(groups, func(g []byte) {
				rule, _, _, _ := jsonparser.Get(g, "rule")
				p.rec.rule = p.intern.String(rule)
				p.tuples(g)
			})
		})
	case NSG:
		if id, err := jsonparser.GetString(v, "resourceId"); err == nil {
			p.resource(id)
		}
		p.rec.version, _ = jsonparser.GetInt(v, "properties", "Version")
		flows, vt, _, err := jsonparser.Get(v, "properties", "flows")
		if err != nil || vt != jsonparser.Array {
			p.s.Bad(p.tuple+1, errors.New("NSG record without properties.flows array"))
			return
		}
		p.each(flows, func(f []byte) {
			rule, _, _, _ := jsonparser.Get(f, "rule")
			p.rec.rule = p.intern.String(rule)
			inner, _, _, err := jsonparser.Get(f, "flows")
			if err != nil {
				p.s.Bad(p.tuple+1, errors.New("rule without flows"))
				return
			}
			p.each(inner, func(g []byte) {
				if mac, err := jsonparser.GetString(g, "mac"); err == nil {
					p.rec.mac = parseMAC(mac)
				}
				p.tuples(g)
			})
		})
	}
}

// each calls fn for every object of a JSON array.
func (p *Parser) each(arr []byte, fn func([]byte)) {
	_, err := jsonparser.ArrayEach(arr, func(v []byte, t jsonparser.ValueType, _ int, _ error) {
		if p.err != nil {
			return
		}
		if t != jsonparser.Object {
			p.s.Bad(p.tuple+1, fmt.Errorf("expected an object, found %s", t))
			return
		}
		fn(v)
	})
	if err != nil && p.err == nil {
		p.s.Bad(p.tuple+1, fmt.Errorf("malformed array: %w", err))
	}
}

func (p *Parser) tuples(g []byte) {
	arr, _, _, err := jsonparser.Get(g, "flowTuples")
	if err != nil {
		p.s.Bad(p.tuple+1, errors.New("flow group without flowTuples"))
		return
	}
	_, err = jsonparser.ArrayEach(arr, func(v []byte, t jsonparser.ValueType, _ int, _ error) {
		if p.err != nil {
			return
		}
		p.tuple++
		if t != jsonparser.String {
			p.s.Bad(p.tuple, errors.New("tuple is not a string"))
			return
		}
		_, p.err = p.s.Add(p.tuple, func(b *flow.Batch, i int) error {
			if err := p.fill(b, i, v); err != nil {
				return fmt.Errorf("tuple %q: %w", v, err)
			}
			return nil
		})
	})
	if err != nil && p.err == nil {
		p.s.Bad(p.tuple+1, fmt.Errorf("flowTuples: %w", err))
	}
}

func (p *Parser) split(v []byte) int {
	n := 0
	for {
		j := bytes.IndexByte(v, ',')
		if n == len(p.tok) {
			return -1
		}
		if j < 0 {
			p.tok[n] = v
			return n + 1
		}
		p.tok[n] = v[:j]
		n++
		v = v[j+1:]
	}
}

func (p *Parser) fill(b *flow.Batch, i int, v []byte) error {
	n := p.split(v)
	var err error
	switch p.kind {
	case VNet:
		if n != 13 {
			return fmt.Errorf("%d fields, VNet tuples have 13", n)
		}
		b.SourceType[i] = flow.SourceTypeAzureVnet
	case NSG:
		if n != 8 && n != 13 {
			return fmt.Errorf("%d fields, NSG tuples have 8 (v1) or 13 (v2)", n)
		}
		b.SourceType[i] = flow.SourceTypeAzureNsg
	}
	tk := p.tok[:n]
	ts, err := textfield.Uint(tk[0], 1<<50)
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	if p.kind == VNet {
		b.TimeStart[i] = int64(ts) * int64(time.Millisecond)
	} else {
		b.TimeStart[i] = int64(ts) * int64(time.Second)
	}
	b.TimeEnd[i] = b.TimeStart[i]
	b.TimeReceived[i] = p.opt.Now
	if b.SrcAddr[i], err = textfield.Addr(tk[1]); err != nil {
		return fmt.Errorf("source address: %w", err)
	}
	if b.DstAddr[i], err = textfield.Addr(tk[2]); err != nil {
		return fmt.Errorf("destination address: %w", err)
	}
	if b.SrcAddr[i].Is4() {
		b.IPVersion[i] = 4
	} else {
		b.IPVersion[i] = 6
	}
	sp, err := textfield.Uint(tk[3], 65535)
	if err != nil {
		return fmt.Errorf("source port: %w", err)
	}
	dp, err := textfield.Uint(tk[4], 65535)
	if err != nil {
		return fmt.Errorf("destination port: %w", err)
	}
	b.SrcPort[i], b.DstPort[i] = uint16(sp), uint16(dp)
	switch string(tk[5]) {
	case "T":
		b.Proto[i] = 6
	case "U":
		b.Proto[i] = 17
	default:
		pr, err := textfield.Uint(tk[5], 255)
		if err != nil {
			return fmt.Errorf("protocol: %w", err)
		}
		b.Proto[i] = uint8(pr)
	}
	switch string(tk[6]) {
	case "I":
		b.Direction[i] = flow.DirectionIngress
		b.DstMAC[i] = p.rec.mac
		b.DstSubnet[i] = p.rec.subnet
	case "O":
		b.Direction[i] = flow.DirectionEgress
		b.SrcMAC[i] = p.rec.mac
		b.SrcSubnet[i] = p.rec.subnet
	default:
		return errors.New("direction is neither I nor O")
	}
	var state []byte
	counters := 9
	if p.kind == VNet {
		state = tk[7]
		b.Action[i] = flow.ActionAllow
	} else {
		switch string(tk[7]) {
		case "A":
			b.Action[i] = flow.ActionAllow
		case "D":
			b.Action[i] = flow.ActionDeny
		default:
			return errors.New("decision is neither A nor D")
		}
		if n == 13 {
			state = tk[8]
		}
	}
	switch string(state) {
	case "":
	case "B":
		b.FlowState[i] = flow.FlowStateBegin
	case "C":
		b.FlowState[i] = flow.FlowStateContinue
	case "E":
		b.FlowState[i] = flow.FlowStateEnd
	case "D":
		if p.kind != VNet {
			return errors.New("flow state D in an NSG tuple")
		}
		b.Action[i] = flow.ActionDeny
	default:
		return fmt.Errorf("flow state %q", state)
	}
	p.labels.Reset()
	if p.kind == VNet {
		if len(tk[8]) == 0 {
			return errors.New("empty encryption field")
		}
		p.labels.Add("encryption", tk[8])
	}
	if n == 13 {
		var c [4]uint64
		for k := range c {
			f := tk[counters+k]
			if len(f) == 0 {
				continue // NSG v2 'B' tuples leave the counters empty
			}
			if c[k], err = textfield.Uint(f, 1<<63); err != nil {
				return fmt.Errorf("counter %d: %w", k+1, err)
			}
		}
		b.Packets[i], b.Bytes[i], b.RevPackets[i], b.RevBytes[i] = c[0], c[1], c[2], c[3]
	}
	b.Rule[i] = p.rec.rule
	b.Account[i] = p.rec.account
	b.VPC[i] = p.rec.vnet
	b.InterfaceID[i] = p.rec.nic
	b.Region[i] = p.rec.region
	p.labelsCtx()
	if p.labels.Len() > 0 {
		b.Labels[i] = p.intern.String(p.labels.Bytes())
	}
	return nil
}

func (p *Parser) labelsCtx() {
	if p.rec.acl != "" {
		p.labels.Add("acl_id", []byte(p.rec.acl))
	}
	if p.rec.nsg != "" {
		p.labels.Add("nsg", []byte(p.rec.nsg))
	}
	if p.rec.group != "" {
		p.labels.Add("resource_group", []byte(p.rec.group))
	}
}

// resource takes subscription, resource group, VNet, subnet, NIC and NSG
// names out of an ARM resource id. Azure writes these ids in upper case in
// some fields and mixed case in others; the values keep their case.
func (p *Parser) resource(id string) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for k := 0; k+1 < len(parts); k += 2 {
		val := parts[k+1]
		switch strings.ToLower(parts[k]) {
		case "subscriptions":
			p.rec.account = p.intern.String([]byte(val))
		case "resourcegroups":
			p.rec.group = p.intern.String([]byte(val))
		case "virtualnetworks":
			p.rec.vnet = p.intern.String([]byte(val))
		case "subnets":
			p.rec.subnet = p.intern.String([]byte(val))
		case "networkinterfaces":
			p.rec.nic = p.intern.String([]byte(val))
		case "networksecuritygroups":
			p.rec.nsg = p.intern.String([]byte(val))
		}
	}
}

// regionFromWatcher reads the region from the default Network Watcher name
// (NetworkWatcher_<region>) inside a flow log resource id.
func regionFromWatcher(id string) string {
	u := strings.ToUpper(id)
	const key = "/NETWORKWATCHERS/NETWORKWATCHER_"
	i := strings.Index(u, key)
	if i < 0 {
		return ""
	}
	rest := id[i+len(key):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return strings.ToLower(rest)
}

// parseMAC reads a MAC written as 12 hex digits, with or without separators.
func parseMAC(s string) uint64 {
	var v uint64
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ':' || c == '-':
			continue
		default:
			return 0
		}
		v = v<<4 | uint64(d)
		n++
	}
	if n != 12 {
		return 0
	}
	return v
}

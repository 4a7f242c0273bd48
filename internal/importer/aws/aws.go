// Package aws parses Amazon VPC (and Transit Gateway) flow logs: the
// space-separated text of the default format (version 2) and of custom
// formats (versions 3 to 8) as delivered to S3 (first line = field names) or
// described with an explicit field list, and CloudWatch Logs subscription
// payloads that carry such lines.
package aws

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
	"github.com/flowlake/flowlake/internal/importer/textfield"
)

// DefaultFields is the field order of the default (version 2) format.
var DefaultFields = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr",
	"srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status"}

type fieldID uint8

const (
	fLabel fieldID = iota // not a column: goes to labels
	fIgnore
	fAccount
	fInterface
	fSrcAddr
	fDstAddr
	fSrcPort
	fDstPort
	fProto
	fPackets
	fBytes
	fStart
	fEnd
	fAction
	fLogStatus
	fVPC
	fSubnet
	fInstance
	fTCPFlags
	fType
	fPktSrcAddr
	fPktDstAddr
	fRegion
	fDirection
	fTGWSrcSubnet
	fTGWDstSubnet
)

// known maps every documented field (v2..v8) that has a column of its own.
// The other documented fields (az-id, sublocation-*, pkt-*-aws-service,
// traffic-path, tgw-*, packets-lost-*, ecs-*, reject-reason) and unknown
// names go to labels under their name with '-' replaced by '_'.
var known = map[string]fieldID{
	"version": fIgnore, "account-id": fAccount, "interface-id": fInterface,
	"srcaddr": fSrcAddr, "dstaddr": fDstAddr, "srcport": fSrcPort, "dstport": fDstPort,
	"protocol": fProto, "packets": fPackets, "bytes": fBytes, "start": fStart, "end": fEnd,
	"action": fAction, "log-status": fLogStatus, "vpc-id": fVPC, "subnet-id": fSubnet,
	"instance-id": fInstance, "tcp-flags": fTCPFlags, "type": fType,
	"pkt-srcaddr": fPktSrcAddr, "pkt-dstaddr": fPktDstAddr, "region": fRegion,
	"flow-direction": fDirection, "tgw-src-subnet-id": fTGWSrcSubnet, "tgw-dst-subnet-id": fTGWDstSubnet,
}

// documented lists the field names of versions 2 to 8, used to recognise a
// header line.
var documented = map[string]bool{
	"az-id": true, "sublocation-type": true, "sublocation-id": true,
	"pkt-src-aws-service": true, "pkt-dst-aws-service": true, "traffic-path": true,
	"resource-type": true, "tgw-id": true, "tgw-attachment-id": true,
	"tgw-src-vpc-account-id": true, "tgw-dst-vpc-account-id": true, "tgw-src-vpc-id": true,
	"tgw-dst-vpc-id": true, "tgw-src-eni": true, "tgw-dst-eni": true, "tgw-src-az-id": true,
	"tgw-dst-az-id": true, "tgw-pair-attachment-id": true, "packets-lost-no-route": true,
	"packets-lost-blackhole": true, "packets-lost-mtu-exceeded": true,
	"packets-lost-ttl-expired": true, "ecs-cluster-arn": true, "ecs-cluster-name": true,
	"ecs-container-instance-arn": true, "ecs-container-instance-id": true,
	"ecs-container-id": true, "ecs-second-container-id": true, "ecs-service-name": true,
	"ecs-task-definition-arn": true, "ecs-task-arn": true, "ecs-task-id": true,
	"reject-reason": true,
}

// IsFieldName reports whether name is a documented VPC/TGW flow log field.
func IsFieldName(name string) bool {
	_, ok := known[name]
	return ok || documented[name]
}

const maxFields = 64

// Options tune a parse.
type Options struct {
	// Fields is the field order (from --fields); nil means "from the header
	// line if there is one, else the default format".
	Fields []string
	// Account and Region fill those columns when the records do not carry
	// them (taken from the S3 key or the CloudWatch envelope).
	Account, Region string
	// Now is the time_received of every record (Unix ns).
	Now int64
}

// Parser turns flow log lines into rows. It keeps interned strings across
// files; it is not safe for concurrent use.
type Parser struct {
	opt    Options
	ids    []fieldID
	names  []string
	intern *textfield.Interner
	labels textfield.Labels
	tok    [maxFields][]byte
}

// NewParser returns a parser. Options.Fields may be set later by a header.
func NewParser(opt Options) (*Parser, error) {
	p := &Parser{opt: opt, intern: textfield.NewInterner(1 << 16)}
	if opt.Fields != nil {
		if err := p.setFields(opt.Fields); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Parser) setFields(names []string) error {
	if len(names) == 0 || len(names) > maxFields {
		return fmt.Errorf("aws field list: %d fields (1..%d allowed)", len(names), maxFields)
	}
	p.ids = p.ids[:0]
	p.names = p.names[:0]
	for _, n := range names {
		id, ok := known[n]
		if !ok {
			id = fLabel
		}
		p.ids = append(p.ids, id)
		p.names = append(p.names, strings.ReplaceAll(n, "-", "_"))
	}
	return nil
}

// split cuts line at runs of spaces/tabs into p.tok; it returns the count or
// -1 when there are more than maxFields.
func (p *Parser) split(line []byte) int {
	n := 0
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			break
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if n == maxFields {
			return -1
		}
		p.tok[n] = line[i:j]
		n++
		i = j
	}
	return n
}

func (p *Parser) isHeader(n int) bool {
	if n == 0 {
		return false
	}
	for _, t := range p.tok[:n] {
		if !IsFieldName(string(t)) {
			return false
		}
	}
	return true
}

// ParseText reads newline-separated records from r. A first line made only
// of field names is taken as the header. Malformed lines are reported to s
// with their line number and skipped.
func (p *Parser) ParseText(r io.Reader, s *sink.Sink) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var lineNo int64
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			lineNo++
			s.Bad(lineNo, errors.New("line longer than 256 KiB"))
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			continue
		}
		if len(line) > 0 {
			lineNo++
			if perr := p.line(line, lineNo, s); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
	}
}

// line handles one line; it returns an error only when the sink fails.
func (p *Parser) line(line []byte, lineNo int64, s *sink.Sink) error {
	line = bytes.TrimRight(line, "\r\n")
	n := p.split(line)
	if n == 0 {
		return nil
	}
	if n < 0 {
		s.Bad(lineNo, fmt.Errorf("more than %d fields", maxFields))
		return nil
	}
	if p.ids == nil {
		if p.isHeader(n) {
			names := make([]string, n)
			for i := range n {
				names[i] = string(p.tok[i])
			}
			return p.setFields(names)
		}
		_ = p.setFields(DefaultFields)
	} else if lineNo == 1 && p.isHeader(n) {
		return nil // header repeated although --fields was given
	}
	if n != len(p.ids) {
		s.Bad(lineNo, fmt.Errorf("%d fields, format has %d", n, len(p.ids)))
		return nil
	}
	_, err := s.Add(lineNo, func(b *flow.Batch, i int) error { return p.record(b, i, n) })
	return err
}

// pktAddr keeps the packet-level address field (pkt-srcaddr,
// pkt-dstaddr; raw, nil when absent) as the label named label when it
// differs from addr, the flow's.
func (p *Parser) pktAddr(field, label string, raw []byte, addr flow.Addr) error {
	if raw == nil {
		return nil
	}
	a, err := textfield.Addr(raw)
	if err != nil {
		return fmt.Errorf("%s %q: %w", field, raw, err)
	}
	if a != addr {
		p.labels.Add(label, raw)
	}
	return nil
}

func isDash(b []byte) bool { return len(b) == 1 && b[0] == '-' }

func (p *Parser) record(b *flow.Batch, i, n int) error {
	b.SourceType[i] = flow.SourceTypeAwsVpc
	b.TimeReceived[i] = p.opt.Now
	p.labels.Reset()
	var subnet []byte
	var pktSrc, pktDst []byte
	for k := range n {
		t := p.tok[k]
		id := p.ids[k]
		if isDash(t) {
			continue // AWS writes '-' for "not applicable"
		}
		var err error
		switch id {
		case fIgnore:
		case fLabel:
			p.labels.Add(p.names[k], t)
		case fAccount:
			b.Account[i] = p.intern.String(t)
		case fInterface:
			b.InterfaceID[i] = p.intern.String(t)
		case fSrcAddr:
			b.SrcAddr[i], err = textfield.Addr(t)
		case fDstAddr:
			b.DstAddr[i], err = textfield.Addr(t)
		case fPktSrcAddr:
			pktSrc = t
		case fPktDstAddr:
			pktDst = t
		case fSrcPort:
			var v uint64
			v, err = textfield.Uint(t, 65535)
			b.SrcPort[i] = uint16(v)
		case fDstPort:
			var v uint64
			v, err = textfield.Uint(t, 65535)
			b.DstPort[i] = uint16(v)
		case fProto:
			var v uint64
			v, err = textfield.Uint(t, 255)
			b.Proto[i] = uint8(v)
		case fPackets:
			b.Packets[i], err = textfield.Uint(t, 1<<63)
		case fBytes:
			b.Bytes[i], err = textfield.Uint(t, 1<<63)
		case fStart:
			var v uint64
			v, err = textfield.Uint(t, 1<<33)
			b.TimeStart[i] = int64(v) * 1e9
		case fEnd:
			var v uint64
			v, err = textfield.Uint(t, 1<<33)
			b.TimeEnd[i] = int64(v) * 1e9
		case fAction:
			switch string(t) {
			case "ACCEPT":
				b.Action[i] = flow.ActionAllow
			case "REJECT":
				b.Action[i] = flow.ActionDeny
			default:
				err = errors.New("action is neither ACCEPT nor REJECT")
			}
		case fLogStatus:
			// OK is the normal case; NODATA/SKIPDATA rows are kept (they
			// mark gaps) and labelled.
			if string(t) != "OK" {
				p.labels.Add("log_status", t)
			}
		case fVPC:
			b.VPC[i] = p.intern.String(t)
		case fSubnet:
			subnet = t
		case fInstance:
			b.InstanceID[i] = p.intern.String(t)
		case fTCPFlags:
			var v uint64
			v, err = textfield.Uint(t, 65535)
			b.TCPFlags[i] = uint16(v)
		case fType:
			switch string(t) {
			case "IPv4":
				b.IPVersion[i] = 4
			case "IPv6":
				b.IPVersion[i] = 6
			default:
				p.labels.Add("type", t)
			}
		case fRegion:
			b.Region[i] = p.intern.String(t)
		case fDirection:
			switch string(t) {
			case "ingress":
				b.Direction[i] = flow.DirectionIngress
			case "egress":
				b.Direction[i] = flow.DirectionEgress
			default:
				err = errors.New("flow-direction is neither ingress nor egress")
			}
		case fTGWSrcSubnet:
			b.SrcSubnet[i] = p.intern.String(t)
		case fTGWDstSubnet:
			b.DstSubnet[i] = p.intern.String(t)
		}
		if err != nil {
			return fmt.Errorf("field %d (%s) %q: %w", k+1, p.names[k], t, err)
		}
	}
	// The subnet is that of the logged interface: the source side of an
	// egress flow, the destination of an ingress one; unknown otherwise.
	if subnet != nil {
		switch b.Direction[i] {
		case flow.DirectionEgress:
			b.SrcSubnet[i] = p.intern.String(subnet)
		case flow.DirectionIngress:
			b.DstSubnet[i] = p.intern.String(subnet)
		default:
			p.labels.Add("subnet_id", subnet)
		}
	}
	// pkt-srcaddr/pkt-dstaddr differ from srcaddr/dstaddr only behind NAT
	// gateways and similar middle boxes: keep them when they add something.
	if err := p.pktAddr("pkt-srcaddr", "pkt_srcaddr", pktSrc, b.SrcAddr[i]); err != nil {
		return err
	}
	if err := p.pktAddr("pkt-dstaddr", "pkt_dstaddr", pktDst, b.DstAddr[i]); err != nil {
		return err
	}
	if b.IPVersion[i] == 0 && !b.SrcAddr[i].IsZero() {
		if b.SrcAddr[i].Is4() {
			b.IPVersion[i] = 4
		} else {
			b.IPVersion[i] = 6
		}
	}
	if b.Account[i] == "" {
		b.Account[i] = p.opt.Account
	}
	if b.Region[i] == "" {
		b.Region[i] = p.opt.Region
	}
	if p.labels.Len() > 0 {
		b.Labels[i] = p.labels.String()
	}
	return nil
}

// s3Key matches the documented S3 layout
// AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<file>.
var s3Key = regexp.MustCompile(`AWSLogs/(?:aws-account-id=)?(\d{12})/vpcflowlogs/(?:aws-region=)?([a-z0-9-]+)/`)

// FromPath returns the account and region encoded in an S3-layout path, or
// empty strings.
func FromPath(path string) (account, region string) {
	m := s3Key.FindStringSubmatch(strings.ReplaceAll(path, "\\", "/"))
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// cwEnvelope is a CloudWatch Logs subscription payload (after gunzip).
type cwEnvelope struct {
	MessageType string `json:"messageType"`
	Owner       string `json:"owner"`
	LogGroup    string `json:"logGroup"`
	LogStream   string `json:"logStream"`
	LogEvents   []struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"logEvents"`
}

// ParseCloudWatch reads one or more concatenated CloudWatch Logs
// subscription payloads and parses each log event's message as a flow log
// line (with Options.Fields, default format otherwise). Malformed events are
// reported with their event number (1-based, across the stream).
func (p *Parser) ParseCloudWatch(r io.Reader, s *sink.Sink) error {
	dec := json.NewDecoder(r)
	var ev int64
	saved := p.opt.Account
	defer func() { p.opt.Account = saved }()
	for {
		var env cwEnvelope
		if err := dec.Decode(&env); err == io.EOF {
			return nil
		} else if err != nil {
			s.Bad(ev+1, fmt.Errorf("cloudwatch payload: %w", err))
			return nil // the decoder cannot resynchronise
		}
		if env.MessageType == "CONTROL_MESSAGE" {
			continue
		}
		if saved == "" {
			p.opt.Account = env.Owner
		}
		for _, e := range env.LogEvents {
			ev++
			if err := p.line([]byte(e.Message), ev, s); err != nil {
				return err
			}
		}
	}
}

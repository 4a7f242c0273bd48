// Package gcp parses Google Cloud VPC Flow Logs as exported from Cloud
// Logging: LogEntry objects (jsonPayload = the flow record), one per line
// (sinks to Cloud Storage, `gcloud logging read --format=json` piped through
// jq -c) or as one JSON array (`gcloud logging read --format=json`).
package gcp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
	"github.com/flowlake/flowlake/internal/importer/textfield"
)

// Options tune a parse.
type Options struct {
	// Now is the time_received of records without a receiveTimestamp (Unix ns).
	Now int64
}

type instance struct {
	ProjectID            string `json:"project_id"`
	Region               string `json:"region"`
	Zone                 string `json:"zone"`
	VMName               string `json:"vm_name"`
	ManagedInstanceGroup *struct {
		Name   string `json:"name"`
		Region string `json:"region"`
		Zone   string `json:"zone"`
	} `json:"managed_instance_group"`
}

type vpc struct {
	ProjectID      string `json:"project_id"`
	VPCName        string `json:"vpc_name"`
	SubnetworkName string `json:"subnetwork_name"`
}

type location struct {
	Continent string `json:"continent"`
	Country   string `json:"country"`
	Region    string `json:"region"`
	City      string `json:"city"`
	ASN       int64  `json:"asn"`
}

// int64s are JSON strings in LogEntry exports (proto3 JSON mapping) but
// numbers in some re-encodings: accept both.
type flexInt struct {
	v   uint64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if string(b) == "null" || len(b) == 0 {
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("integer %q: %w", b, err)
	}
	f.v, f.set = v, true
	return nil
}

type payload struct {
	Connection *struct {
		SrcIP    string `json:"src_ip"`
		DestIP   string `json:"dest_ip"`
		SrcPort  int64  `json:"src_port"`
		DestPort int64  `json:"dest_port"`
		Protocol int64  `json:"protocol"`
	} `json:"connection"`
	Reporter     string    `json:"reporter"`
	BytesSent    flexInt   `json:"bytes_sent"`
	PacketsSent  flexInt   `json:"packets_sent"`
	StartTime    string    `json:"start_time"`
	EndTime      string    `json:"end_time"`
	RTTMsec      flexInt   `json:"rtt_msec"`
	SrcInstance  *instance `json:"src_instance"`
	DestInstance *instance `json:"dest_instance"`
	SrcVPC       *vpc      `json:"src_vpc"`
	DestVPC      *vpc      `json:"dest_vpc"`
	SrcLocation  *location `json:"src_location"`
	DestLocation *location `json:"dest_location"`
}

type logEntry struct {
	InsertID         string   `json:"insertId"`
	LogName          string   `json:"logName"`
	ReceiveTimestamp string   `json:"receiveTimestamp"`
	Timestamp        string   `json:"timestamp"`
	JSONPayload      *payload `json:"jsonPayload"`
	Resource         struct {
		Type   string            `json:"type"`
		Labels map[string]string `json:"labels"`
	} `json:"resource"`
}

// Parser reads VPC flow log entries; not safe for concurrent use.
type Parser struct {
	opt    Options
	labels textfield.Labels
}

// NewParser returns a parser.
func NewParser(opt Options) *Parser { return &Parser{opt: opt} }

// Parse reads entries from r (NDJSON or one JSON array). Malformed entries
// are reported with their entry number (1-based) and skipped.
func (p *Parser) Parse(r io.Reader, s *sink.Sink) error {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := peekNonSpace(br)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	if first == '[' {
		return p.parseArray(br, s)
	}
	var n int64
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			n++
			var e logEntry
			if uerr := json.Unmarshal(line, &e); uerr != nil {
				s.Bad(n, fmt.Errorf("log entry: %w", uerr))
			} else if ferr := p.entry(&e, n, s); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
		default:
			return b[0], nil
		}
	}
}

func (p *Parser) parseArray(r io.Reader, s *sink.Sink) error {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil {
		return err
	}
	var n int64
	for dec.More() {
		n++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			s.Bad(n, fmt.Errorf("log entry array: %w", err))
			return nil // a syntax error ends the array for good
		}
		var e logEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			s.Bad(n, fmt.Errorf("log entry: %w", err))
			continue
		}
		if err := p.entry(&e, n, s); err != nil {
			return err
		}
	}
	return nil
}

func parseTime(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return t.UnixNano(), nil
}

// entry maps one LogEntry; it returns an error only when the sink fails.
func (p *Parser) entry(e *logEntry, n int64, s *sink.Sink) error {
	if e.JSONPayload == nil || e.JSONPayload.Connection == nil {
		if e.LogName != "" && !strings.Contains(e.LogName, "vpc_flows") {
			s.Bad(n, fmt.Errorf("not a VPC flow log entry (logName %s)", e.LogName))
		} else {
			s.Bad(n, errors.New("entry without jsonPayload.connection"))
		}
		return nil
	}
	_, err := s.Add(n, func(b *flow.Batch, i int) error { return p.fill(b, i, e) })
	return err
}

func (p *Parser) fill(b *flow.Batch, i int, e *logEntry) error {
	j := e.JSONPayload
	c := j.Connection
	var err error
	b.SourceType[i] = flow.SourceTypeGcpVpc
	if b.SrcAddr[i], err = flow.ParseAddr(c.SrcIP); err != nil {
		return fmt.Errorf("src_ip: %w", err)
	}
	if b.DstAddr[i], err = flow.ParseAddr(c.DestIP); err != nil {
		return fmt.Errorf("dest_ip: %w", err)
	}
	if b.SrcAddr[i].Is4() {
		b.IPVersion[i] = 4
	} else {
		b.IPVersion[i] = 6
	}
	if c.SrcPort < 0 || c.SrcPort > 65535 || c.DestPort < 0 || c.DestPort > 65535 {
		return fmt.Errorf("port out of range (%d, %d)", c.SrcPort, c.DestPort)
	}
	if c.Protocol < 0 || c.Protocol > 255 {
		return fmt.Errorf("protocol %d out of range", c.Protocol)
	}
	b.SrcPort[i], b.DstPort[i], b.Proto[i] = uint16(c.SrcPort), uint16(c.DestPort), uint8(c.Protocol)
	b.Bytes[i], b.Packets[i] = j.BytesSent.v, j.PacketsSent.v
	if b.TimeStart[i], err = parseTime(j.StartTime); err != nil {
		return fmt.Errorf("start_time: %w", err)
	}
	if b.TimeEnd[i], err = parseTime(j.EndTime); err != nil {
		return fmt.Errorf("end_time: %w", err)
	}
	if b.TimeReceived[i], err = parseTime(e.ReceiveTimestamp); err != nil {
		return fmt.Errorf("receiveTimestamp: %w", err)
	}
	if b.TimeReceived[i] == 0 {
		b.TimeReceived[i] = p.opt.Now
	}
	// The reporter is the VM (or gateway) that logged the flow; its side
	// gives the direction and the account/region/VPC columns.
	var own *instance
	var ownVPC *vpc
	switch j.Reporter {
	case "SRC", "SRC_GATEWAY":
		b.Direction[i] = flow.DirectionEgress
		own, ownVPC = j.SrcInstance, j.SrcVPC
	case "DEST", "DEST_GATEWAY":
		b.Direction[i] = flow.DirectionIngress
		own, ownVPC = j.DestInstance, j.DestVPC
	case "":
	default:
		return fmt.Errorf("unknown reporter %q", j.Reporter)
	}
	if j.SrcInstance != nil {
		b.SrcVM[i] = j.SrcInstance.VMName
	}
	if j.DestInstance != nil {
		b.DstVM[i] = j.DestInstance.VMName
	}
	if j.SrcVPC != nil {
		b.SrcSubnet[i] = j.SrcVPC.SubnetworkName
	}
	if j.DestVPC != nil {
		b.DstSubnet[i] = j.DestVPC.SubnetworkName
	}
	if own != nil {
		b.Account[i] = own.ProjectID
		b.Region[i] = own.Region
		b.InstanceID[i] = own.VMName
	}
	if ownVPC != nil {
		b.VPC[i] = ownVPC.VPCName
		if b.Account[i] == "" {
			b.Account[i] = ownVPC.ProjectID
		}
	}
	if b.Account[i] == "" {
		b.Account[i] = e.Resource.Labels["project_id"]
	}
	p.labels.Reset()
	p.labels.Add("reporter", []byte(j.Reporter))
	if j.RTTMsec.set {
		p.labels.Add("rtt_msec", strconv.AppendUint(nil, j.RTTMsec.v, 10))
	}
	p.addInstance("src", j.SrcInstance)
	p.addInstance("dest", j.DestInstance)
	p.addLocation("src", j.SrcLocation)
	p.addLocation("dest", j.DestLocation)
	if j.SrcVPC != nil && j.SrcVPC.ProjectID != "" {
		p.labels.Add("src_vpc", []byte(j.SrcVPC.ProjectID+"/"+j.SrcVPC.VPCName))
	}
	if j.DestVPC != nil && j.DestVPC.ProjectID != "" {
		p.labels.Add("dest_vpc", []byte(j.DestVPC.ProjectID+"/"+j.DestVPC.VPCName))
	}
	if id := e.Resource.Labels["subnetwork_id"]; id != "" {
		p.labels.Add("subnetwork_id", []byte(id))
	}
	p.labels.Add("insert_id", []byte(e.InsertID))
	b.Labels[i] = p.labels.String()
	return nil
}

func (p *Parser) addInstance(side string, in *instance) {
	if in == nil {
		return
	}
	p.labels.Add(side+"_project", []byte(in.ProjectID))
	p.labels.Add(side+"_zone", []byte(in.Zone))
	p.labels.Add(side+"_region", []byte(in.Region))
	if in.ManagedInstanceGroup != nil {
		p.labels.Add(side+"_mig", []byte(in.ManagedInstanceGroup.Name))
	}
}

func (p *Parser) addLocation(side string, l *location) {
	if l == nil {
		return
	}
	p.labels.Add(side+"_continent", []byte(l.Continent))
	p.labels.Add(side+"_country", []byte(l.Country))
	p.labels.Add(side+"_location_region", []byte(l.Region))
	p.labels.Add(side+"_city", []byte(l.City))
	if l.ASN != 0 {
		p.labels.Add(side+"_asn", strconv.AppendInt(nil, l.ASN, 10))
	}
}

package kql

import (
	"strings"

	"github.com/flowlake/flowlake/internal/flow/schema"
)

// builtinTables are the tables every query can use; Options.Tables may add
// more or replace them.
var builtinTables = map[string]func(c *compiler) *rel{
	"flows":           func(c *compiler) *rel { return c.scan("flows", FlowsTable()) },
	"NTANetAnalytics": ntaNetAnalytics,
	"NTAIpDetails":    ntaIPDetails,
	"AzureNetworkAnalytics_CL": func(c *compiler) *rel {
		return c.mappedTable(legacyColumns)
	},
}

// TypeOf is the KQL type of a schema column as the engine's flows view
// holds it: times are TIMESTAMP, addresses 16-byte BLOBs, enums their
// names, MACs and counters unsigned integers.
func TypeOf(t schema.Type) Type {
	switch t {
	case schema.Time:
		return TDatetime
	case schema.Addr:
		return TIP
	case schema.String, schema.Enum:
		return TString
	}
	return TLong
}

// FlowsTable is the flows table: every column of the canonical schema,
// windowed on time_received.
func FlowsTable() Table {
	t := Table{Relation: "flows", TimeColumn: "time_received", Columns: make([]Column, len(schema.Columns))}
	for i, c := range schema.Columns {
		t.Columns[i] = Column{Name: c.Name, Type: TypeOf(c.Type)}
	}
	return t
}

// flowsScan is the flows stage a compatibility table is built on; an
// Options.Tables entry named flows replaces the default.
func (c *compiler) flowsScan() *rel {
	if r, ok := c.tableRels["flows"]; ok {
		return r
	}
	tb, ok := c.opts.Tables["flows"]
	if !ok {
		tb = FlowsTable()
	}
	r := c.scan("flows", tb)
	c.tableRels["flows"] = r
	return r
}

type mapped struct {
	name string
	t    Type
	sql  string // expression over flows columns, with {col} placeholders
}

// ntaColumns maps the Azure Traffic Analytics NTANetAnalytics columns onto
// flows. Values follow Azure's vocabulary (FlowDirection Inbound/Outbound,
// FlowStatus Allowed/Denied, L4Protocol T/U) so Azure queries run unchanged.
// Columns we hold no data for are empty strings.
var ntaColumns = []mapped{
	{"TimeGenerated", TDatetime, "{time_received}"},
	{"FlowStartTime", TDatetime, "{time_start}"},
	{"FlowEndTime", TDatetime, "{time_end}"},
	{"FlowType", TString, "CASE {flow_type} WHEN 'intra-network' THEN 'IntraVNet' WHEN 'inter-site' THEN 'InterVNet' " +
		"WHEN 'to-internet' THEN 'ExternalPublic' WHEN 'from-internet' THEN 'ExternalPublic' WHEN 'internet' THEN 'ExternalPublic' " +
		"WHEN 'unknown-private' THEN 'UnknownPrivate' ELSE 'Unknown' END"},
	{"SubType", TString, "'FlowLog'"},
	{"SrcIp", TIP, "{src_addr}"},
	{"DestIp", TIP, "{dst_addr}"},
	{"SrcPort", TLong, "{src_port}"},
	{"DestPort", TLong, "{dst_port}"},
	// Azure knows only TCP and UDP; other protocols show their number.
	{"L4Protocol", TString, "CASE {proto} WHEN 6 THEN 'T' WHEN 17 THEN 'U' ELSE @tostring({proto}) END"},
	{"L7Protocol", TString, "CASE WHEN {application} <> '' THEN {application} ELSE {service} END"},
	{"FlowDirection", TString, "CASE {direction} WHEN 'ingress' THEN 'Inbound' WHEN 'egress' THEN 'Outbound' ELSE '' END"},
	{"FlowStatus", TString, "CASE {action} WHEN 'allow' THEN 'Allowed' WHEN 'deny' THEN 'Denied' ELSE '' END"},
	{"AclRule", TString, "{rule}"},
	{"BytesSrcToDest", TLong, "{bytes}"},
	{"BytesDestToSrc", TLong, "{rev_bytes}"},
	{"PacketsSrcToDest", TLong, "{packets}"},
	{"PacketsDestToSrc", TLong, "{rev_packets}"},
	{"SrcSubnet", TString, "{src_subnet}"},
	{"DestSubnet", TString, "{dst_subnet}"},
	{"SrcVm", TString, "{src_vm}"},
	{"DestVm", TString, "{dst_vm}"},
	// region/account belong to the reporting interface: the source of an
	// egress flow, the destination of an ingress one.
	{"SrcRegion", TString, "CASE {direction} WHEN 'egress' THEN {region} ELSE '' END"},
	{"DestRegion", TString, "CASE {direction} WHEN 'ingress' THEN {region} ELSE '' END"},
	{"SrcSubscription", TString, "CASE {direction} WHEN 'egress' THEN {account} ELSE '' END"},
	{"DestSubscription", TString, "CASE {direction} WHEN 'ingress' THEN {account} ELSE '' END"},
	{"SrcLoadBalancer", TString, "''"},
	{"DestLoadBalancer", TString, "''"},
	// the country of the public end of the flow
	{"Country", TString, "CASE {flow_type} WHEN 'from-internet' THEN {src_country} WHEN 'to-internet' THEN {dst_country} " +
		"ELSE CASE WHEN {dst_country} <> '' THEN {dst_country} ELSE {src_country} END END"},
	{"SrcCountry", TString, "{src_country}"},
	{"DestCountry", TString, "{dst_country}"},
	// one flow per row: the Azure per-record flow counters are 0 or 1
	{"AllowedInFlows", TLong, "CASE WHEN {action} = 'allow' AND {direction} = 'ingress' THEN 1 ELSE 0 END"},
	{"AllowedOutFlows", TLong, "CASE WHEN {action} = 'allow' AND {direction} = 'egress' THEN 1 ELSE 0 END"},
	{"DeniedInFlows", TLong, "CASE WHEN {action} = 'deny' AND {direction} = 'ingress' THEN 1 ELSE 0 END"},
	{"DeniedOutFlows", TLong, "CASE WHEN {action} = 'deny' AND {direction} = 'egress' THEN 1 ELSE 0 END"},
	{"CompletedFlows", TLong, "CASE WHEN {flow_state} = 'end' THEN 1 ELSE 0 END"},
	{"FlowCount", TLong, "1"},
	// Azure fills interface_id with the NIC's MAC address
	{"MacAddress", TString, "{interface_id}"},
}

// expand fills the {column} placeholders with quoted names and @tostring
// with the dialect's conversion.
func (c *compiler) expand(tmpl string) string {
	var b strings.Builder
	for {
		i := strings.IndexAny(tmpl, "{@")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		if tmpl[i] == '@' {
			// @tostring(X)
			rest := tmpl[i+len("@tostring("):]
			j := strings.Index(rest, ")")
			s, _ := c.d.Func("tostring", c.expand(rest[:j]))
			b.WriteString(s)
			tmpl = rest[j+1:]
			continue
		}
		j := strings.Index(tmpl[i:], "}")
		b.WriteString(c.d.QuoteIdent(tmpl[i+1 : i+j]))
		tmpl = tmpl[i+j+1:]
	}
}

// legacyColumns maps the columns of Traffic Analytics' older table,
// AzureNetworkAnalytics_CL, that most published queries use: single-letter
// codes (FlowDirection_s I/O, FlowStatus_s A/D) and counters seen from the
// interface that logged the flow (Inbound = towards it). Numbers are longs
// where Azure has doubles (_d), which compare the same.
var legacyColumns = []mapped{
	{"TimeGenerated", TDatetime, "{time_received}"},
	{"FlowStartTime_t", TDatetime, "{time_start}"},
	{"FlowEndTime_t", TDatetime, "{time_end}"},
	{"SubType_s", TString, "'FlowLog'"},
	{"FlowType_s", TString, ntaSQL("FlowType")},
	{"SrcIP_s", TIP, "{src_addr}"},
	{"DestIP_s", TIP, "{dst_addr}"},
	{"DestPort_d", TLong, "{dst_port}"},
	{"L4Protocol_s", TString, ntaSQL("L4Protocol")},
	{"L7Protocol_s", TString, ntaSQL("L7Protocol")},
	{"FlowDirection_s", TString, "CASE {direction} WHEN 'ingress' THEN 'I' WHEN 'egress' THEN 'O' ELSE '' END"},
	{"FlowStatus_s", TString, "CASE {action} WHEN 'allow' THEN 'A' WHEN 'deny' THEN 'D' ELSE '' END"},
	{"NSGRule_s", TString, "{rule}"},
	{"VM1_s", TString, "{src_vm}"},
	{"VM2_s", TString, "{dst_vm}"},
	{"Subnet1_s", TString, "{src_subnet}"},
	{"Subnet2_s", TString, "{dst_subnet}"},
	{"Country_s", TString, ntaSQL("Country")},
	{"InboundBytes_d", TLong, "CASE WHEN {direction} = 'egress' THEN {rev_bytes} ELSE {bytes} END"},
	{"OutboundBytes_d", TLong, "CASE WHEN {direction} = 'egress' THEN {bytes} ELSE {rev_bytes} END"},
	{"InboundPackets_d", TLong, "CASE WHEN {direction} = 'egress' THEN {rev_packets} ELSE {packets} END"},
	{"OutboundPackets_d", TLong, "CASE WHEN {direction} = 'egress' THEN {packets} ELSE {rev_packets} END"},
	{"AllowedInFlows_d", TLong, ntaSQL("AllowedInFlows")},
	{"AllowedOutFlows_d", TLong, ntaSQL("AllowedOutFlows")},
	{"DeniedInFlows_d", TLong, ntaSQL("DeniedInFlows")},
	{"DeniedOutFlows_d", TLong, ntaSQL("DeniedOutFlows")},
	{"FlowCount_d", TLong, "1"},
}

// ntaSQL is the expression of an NTANetAnalytics column, shared with the
// legacy table.
func ntaSQL(name string) string {
	for _, m := range ntaColumns {
		if m.name == name {
			return m.sql
		}
	}
	panic("kql: no NTANetAnalytics column " + name)
}

func ntaNetAnalytics(c *compiler) *rel { return c.mappedTable(ntaColumns) }

// mappedTable is a stage that renames and translates flows columns.
func (c *compiler) mappedTable(columns []mapped) *rel {
	src := c.flowsScan()
	cols := make([]col, len(columns))
	parts := make([]string, len(columns))
	for i, m := range columns {
		cols[i] = col{name: m.name, t: m.t}
		parts[i] = c.expand(m.sql) + " AS " + c.d.QuoteIdent(m.name)
	}
	return c.stage("SELECT "+strings.Join(parts, ", ")+" FROM "+c.from(src, src.name), cols, nil)
}

// ntaIPDetails lists the public addresses seen in flows with their
// enrichment (AS organisation and country), as Azure's NTAIpDetails does.
func ntaIPDetails(c *compiler) *rel {
	src := c.flowsScan()
	q := c.d.QuoteIdent
	side := func(p, alias string) string {
		return "SELECT " + q(p+"_addr") + " AS " + q("Ip") + ", " + q(p+"_as_name") + " AS " + q("PublicIpDetails") + ", " +
			q(p+"_country") + " AS " + q("Location") + ", " + q("time_received") + " AS " + q("TimeGenerated") +
			" FROM " + c.from(src, alias) + " WHERE " + q(p+"_country") + " <> '' OR " + q(p+"_as_name") + " <> ''"
	}
	sel := "SELECT " + q("Ip") + ", 'ExternalPublic' AS " + q("FlowType") + ", " + q("PublicIpDetails") + ", " + q("Location") +
		", max(_ips." + q("TimeGenerated") + ") AS " + q("TimeGenerated") + " FROM (" + side("src", "_s") + " UNION ALL " + side("dst", "_d") +
		") AS _ips GROUP BY " + q("Ip") + ", " + q("PublicIpDetails") + ", " + q("Location")
	return c.stage(sel, []col{{name: "Ip", t: TIP}, {name: "FlowType", t: TString}, {name: "PublicIpDetails", t: TString},
		{name: "Location", t: TString}, {name: "TimeGenerated", t: TDatetime}}, nil)
}

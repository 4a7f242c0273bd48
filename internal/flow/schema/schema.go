// Package schema is the one definition of flowlake's canonical flow record:
// every column, its type and meaning, and which inputs fill it. Decoders,
// importers, the archive, the query language and exports are all derived from
// this table (the Go record and batch types in package flow are generated from
// it), and so are the Parquet layout, the SQL views' types, the ClickHouse
// table, the Kafka protobuf, rollups and the UI's dimensions: adding a column
// is a change to this file plus `go generate ./...`.
//go:generate go run ./genproto ../../../proto/flowlake/v1/flow.proto

package schema

// Type is the storage type of a column.
type Type uint8

// Column types. Widths are chosen for size on disk and speed in memory: the
// archive maps each onto the narrowest Parquet physical type.
const (
	Uint8 Type = iota + 1
	Uint16
	Uint32
	Uint64
	// Time is a UTC instant held as Unix nanoseconds (int64).
	Time
	// Addr is an IPv4 or IPv6 address held as 16 bytes, IPv4 mapped into
	// IPv6 (::ffff:a.b.c.d); the zero value means "absent".
	Addr
	// MAC is a 48-bit hardware address held in the low bits of a uint64.
	MAC
	// String is free text (names, cloud identifiers); low cardinality is
	// expected, so stores dictionary-encode it.
	String
	// Enum is a small closed set of names held as a uint8 index into
	// Column.Values; index 0 is always the "unknown" value.
	Enum
)

// GoType is the Go type used to hold a value of t in memory.
func (t Type) GoType() string {
	switch t {
	case Uint8, Enum:
		return "uint8"
	case Uint16:
		return "uint16"
	case Uint32:
		return "uint32"
	case Uint64:
		return "uint64"
	case Time:
		return "int64"
	case Addr:
		return "Addr"
	case MAC:
		return "uint64"
	case String:
		return "string"
	}
	return ""
}

func (t Type) String() string {
	return [...]string{"", "uint8", "uint16", "uint32", "uint64", "time", "addr", "mac", "string", "enum"}[t]
}

// Input names the producers of flows, as they appear in the source_type
// column.
const (
	NetFlow5  = "netflow5"
	NetFlow9  = "netflow9"
	IPFIX     = "ipfix"
	SFlow     = "sflow"
	AzureVNet = "azure_vnet"
	AzureNSG  = "azure_nsg"
	AWSVPC    = "aws_vpc"
	GCPVPC    = "gcp_vpc"
	VRNI      = "vrni"
	Enrich    = "enrich" // filled by the enrichment stage, not by an input
)

var (
	packetInputs = []string{NetFlow5, NetFlow9, IPFIX, SFlow}
	cloudInputs  = []string{AzureVNet, AzureNSG, AWSVPC, GCPVPC, VRNI}
	allInputs    = append(append([]string{}, packetInputs...), cloudInputs...)
	templated    = []string{NetFlow9, IPFIX}
)

// Column describes one column of the canonical flow record.
type Column struct {
	// Name is the query-facing name (snake_case), used in Parquet, SQL and KQL.
	Name string
	// Go is the exported Go field name in flow.Record and flow.Batch.
	Go   string
	Type Type
	// Values lists the names of an Enum column; Values[0] means unknown.
	Values []string
	Doc    string
	// Inputs lists the producers that fill the column (see the Input names).
	Inputs []string

	// What the backends need beyond Type (see backends.go, ui.go,
	// clickhouse.go, proto.go).

	// Proto is the column's field number in the Kafka protobuf (flow.proto).
	// It is fixed forever: a removed column's number goes to
	// ReservedProto, never to another column.
	Proto int
	// Role says how rollups and charts treat the column: a dimension
	// (grouped on), a metric (summed) or a time axis.
	Role Role
	// Rollup marks the dimensions kept by the default rollups (low
	// cardinality: no addresses or ports).
	Rollup bool
	// Label and Unit are what the UI shows.
	Label string
	Unit  string
	// Kind is how the UI shows and offers the column; zero means the
	// default for its Type and Role (see UIKind).
	Kind Kind
	// CHOrder is the column's position in ClickHouse's sort key (1 first,
	// 0 not in it).
	CHOrder int
	// HighCard marks String columns whose values are mostly distinct
	// (identifiers, JSON): ClickHouse stores them as plain String, not
	// LowCardinality.
	HighCard bool
}

// Enum value sets shared by code that needs to name them.
var (
	SourceTypes = []string{"unknown", NetFlow5, NetFlow9, IPFIX, SFlow, AzureVNet, AzureNSG, AWSVPC, GCPVPC, VRNI}
	Directions  = []string{"unknown", "ingress", "egress"}
	Actions     = []string{"unknown", "allow", "deny"}
	FlowStates  = []string{"unknown", "begin", "continue", "end"}
	FlowTypes   = []string{"unknown", "intra-network", "inter-site", "to-internet", "from-internet", "internet", "unknown-private"}
)

// Columns is the canonical flow schema, in storage order.
var Columns = []Column{
	// time
	{Name: "time_received", Go: "TimeReceived", Proto: 1, Label: "Received", Role: Timestamp, CHOrder: 1, Type: Time, Inputs: allInputs,
		Doc: "When flowlake received the flow (collector clock, or the log's own timestamp for imports)."},
	{Name: "time_start", Go: "TimeStart", Proto: 2, Label: "Start", Role: Timestamp, Type: Time, Inputs: allInputs,
		Doc: "First packet of the flow, UTC, as reported by the exporter; equal to time_received for sFlow samples."},
	{Name: "time_end", Go: "TimeEnd", Proto: 3, Label: "End", Role: Timestamp, Type: Time, Inputs: allInputs,
		Doc: "Last packet of the flow, UTC."},

	// origin
	{Name: "source_type", Go: "SourceType", Proto: 4, Label: "Source type", Rollup: true, Type: Enum, Values: SourceTypes, Inputs: allInputs,
		Doc: "Protocol or log format the flow came from."},
	{Name: "exporter_addr", Go: "ExporterAddr", Proto: 5, Label: "Exporter", Rollup: true, CHOrder: 2, Type: Addr, Inputs: packetInputs,
		Doc: "Address of the exporting device (UDP source, or the sFlow agent address)."},
	{Name: "exporter_name", Go: "ExporterName", Proto: 6, Label: "Exporter name", Rollup: true, Type: String, Inputs: []string{Enrich},
		Doc: "Name of the exporting device, from configuration or SNMP."},
	{Name: "observation_domain", Go: "ObservationDomain", Proto: 7, Label: "Observation domain", Type: Uint32, Inputs: []string{NetFlow9, IPFIX, SFlow},
		Doc: "NetFlow v9 source id, IPFIX observation domain id, or sFlow sub-agent id."},
	{Name: "sampling_rate", Go: "SamplingRate", Proto: 8, Label: "Sampling rate", Type: Uint32, Inputs: packetInputs,
		Doc: "1-in-N packet sampling rate applied by the exporter (1 when unsampled or unknown); bytes and packets are already multiplied by it."},

	// key
	{Name: "ip_version", Go: "IPVersion", Proto: 9, Label: "IP version", Type: Uint8, Inputs: allInputs,
		Doc: "4 or 6 (0 when the flow carries no IP header)."},
	{Name: "src_addr", Go: "SrcAddr", Proto: 10, Label: "Source address", CHOrder: 4, Type: Addr, Inputs: allInputs, Doc: "Source IP address."},
	{Name: "dst_addr", Go: "DstAddr", Proto: 11, Label: "Destination address", CHOrder: 3, Type: Addr, Inputs: allInputs, Doc: "Destination IP address."},
	{Name: "src_port", Go: "SrcPort", Proto: 12, Label: "Source port", Kind: Port, Type: Uint16, Inputs: allInputs, Doc: "Source transport port."},
	{Name: "dst_port", Go: "DstPort", Proto: 13, Label: "Destination port", Kind: Port, Type: Uint16, Inputs: allInputs, Doc: "Destination transport port."},
	{Name: "proto", Go: "Proto", Proto: 14, Label: "Protocol", Rollup: true, Type: Uint8, Inputs: allInputs, Doc: "IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)."},
	{Name: "icmp_type", Go: "ICMPType", Proto: 15, Label: "ICMP type", Type: Uint8, Inputs: packetInputs, Doc: "ICMP or ICMPv6 type."},
	{Name: "icmp_code", Go: "ICMPCode", Proto: 16, Label: "ICMP code", Type: Uint8, Inputs: packetInputs, Doc: "ICMP or ICMPv6 code."},
	{Name: "tcp_flags", Go: "TCPFlags", Proto: 17, Label: "TCP flags", Type: Uint16, Inputs: append([]string{AWSVPC}, packetInputs...),
		Doc: "Union of TCP flags seen in the flow."},
	{Name: "tos", Go: "TOS", Proto: 18, Label: "ToS", Type: Uint8, Inputs: packetInputs, Doc: "IP type of service / traffic class byte."},
	{Name: "vlan", Go: "VLAN", Proto: 19, Label: "VLAN", Type: Uint16, Inputs: packetInputs, Doc: "802.1Q VLAN id (outer tag for QinQ)."},
	{Name: "vxlan_vni", Go: "VXLANVNI", Proto: 20, Label: "VXLAN VNI", Type: Uint32, Inputs: []string{SFlow}, Doc: "VXLAN network identifier of a VXLAN-encapsulated sampled packet; the flow columns describe the inner packet when the sampled header reaches its IP header."},
	{Name: "src_mac", Go: "SrcMAC", Proto: 21, Label: "Source MAC", Type: MAC, Inputs: packetInputs, Doc: "Source MAC address."},
	{Name: "dst_mac", Go: "DstMAC", Proto: 22, Label: "Destination MAC", Type: MAC, Inputs: packetInputs, Doc: "Destination MAC address."},

	// routing
	{Name: "in_if", Go: "InIf", Proto: 23, Label: "Input interface", Type: Uint32, Inputs: packetInputs, Doc: "Input interface index (SNMP ifIndex)."},
	{Name: "out_if", Go: "OutIf", Proto: 24, Label: "Output interface", Type: Uint32, Inputs: packetInputs, Doc: "Output interface index (SNMP ifIndex)."},
	{Name: "next_hop", Go: "NextHop", Proto: 25, Label: "Next hop", Type: Addr, Inputs: packetInputs, Doc: "IP next hop (or BGP next hop when the exporter sends only that)."},
	{Name: "src_as", Go: "SrcAS", Proto: 26, Label: "Source AS", Rollup: true, Type: Uint32, Inputs: packetInputs, Doc: "Source autonomous system, from the exporter's routing table."},
	{Name: "dst_as", Go: "DstAS", Proto: 27, Label: "Destination AS", Rollup: true, Type: Uint32, Inputs: packetInputs, Doc: "Destination autonomous system, from the exporter's routing table."},
	{Name: "src_mask", Go: "SrcMask", Proto: 28, Label: "Source mask", Type: Uint8, Inputs: packetInputs, Doc: "Source prefix length."},
	{Name: "dst_mask", Go: "DstMask", Proto: 29, Label: "Destination mask", Type: Uint8, Inputs: packetInputs, Doc: "Destination prefix length."},

	// NAT and firewall events
	{Name: "post_nat_src_addr", Go: "PostNATSrcAddr", Proto: 30, Label: "Post-NAT source address", Type: Addr, Inputs: append([]string{AWSVPC}, templated...),
		Doc: "Source address after NAT (AWS: pkt-srcaddr)."},
	{Name: "post_nat_dst_addr", Go: "PostNATDstAddr", Proto: 31, Label: "Post-NAT destination address", Type: Addr, Inputs: append([]string{AWSVPC}, templated...),
		Doc: "Destination address after NAT (AWS: pkt-dstaddr)."},
	{Name: "post_nat_src_port", Go: "PostNATSrcPort", Proto: 32, Label: "Post-NAT source port", Kind: Port, Type: Uint16, Inputs: templated, Doc: "Source port after NAT."},
	{Name: "post_nat_dst_port", Go: "PostNATDstPort", Proto: 33, Label: "Post-NAT destination port", Kind: Port, Type: Uint16, Inputs: templated, Doc: "Destination port after NAT."},
	{Name: "nat_event", Go: "NATEvent", Proto: 34, Label: "NAT event", Type: Uint8, Inputs: templated, Doc: "NAT event code (IANA natEvent, IE 230; NEL)."},
	{Name: "fw_event", Go: "FWEvent", Proto: 35, Label: "Firewall event", Type: Uint8, Inputs: templated, Doc: "Firewall event code (Cisco NSEL IE 233 / IANA firewallEvent)."},

	// policy
	{Name: "direction", Go: "Direction", Proto: 36, Label: "Direction", Rollup: true, Type: Enum, Values: Directions, Inputs: allInputs,
		Doc: "Whether the flow was observed entering or leaving the interface/VM that reported it."},
	{Name: "action", Go: "Action", Proto: 37, Label: "Action", Rollup: true, Type: Enum, Values: Actions, Inputs: append([]string{NetFlow9, IPFIX}, cloudInputs...),
		Doc: "Whether policy allowed or denied the flow."},
	{Name: "flow_state", Go: "FlowState", Proto: 38, Label: "Flow state", Type: Enum, Values: FlowStates, Inputs: append([]string{NetFlow9, IPFIX}, cloudInputs...),
		Doc: "Life-cycle point of the record: begin, continue (interim) or end."},

	// counters
	{Name: "bytes", Go: "Bytes", Proto: 39, Label: "Bytes", Role: Metric, Unit: "bytes", Type: Uint64, Inputs: allInputs, Doc: "Bytes in the flow's direction, sampling-corrected."},
	{Name: "packets", Go: "Packets", Proto: 40, Label: "Packets", Role: Metric, Unit: "packets", Type: Uint64, Inputs: allInputs, Doc: "Packets in the flow's direction, sampling-corrected."},
	{Name: "rev_bytes", Go: "RevBytes", Proto: 41, Label: "Reverse bytes", Role: Metric, Unit: "bytes", Type: Uint64, Inputs: append([]string{IPFIX}, cloudInputs...),
		Doc: "Bytes in the reverse direction (RFC 5103 biflows, cloud logs reporting both directions)."},
	{Name: "rev_packets", Go: "RevPackets", Proto: 42, Label: "Reverse packets", Role: Metric, Unit: "packets", Type: Uint64, Inputs: append([]string{IPFIX}, cloudInputs...),
		Doc: "Packets in the reverse direction."},

	// application
	{Name: "application", Go: "Application", Proto: 43, Label: "Application", Rollup: true, Type: String, Inputs: append([]string{NetFlow9, IPFIX}, cloudInputs...),
		Doc: "Layer-7 application as named by the exporter (NBAR, App-ID, nDPI) or the cloud log."},

	// enrichment (values as they were at flow time)
	{Name: "src_country", Go: "SrcCountry", Proto: 44, Label: "Source country", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "ISO 3166 country of the source address."},
	{Name: "dst_country", Go: "DstCountry", Proto: 45, Label: "Destination country", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "ISO 3166 country of the destination address."},
	{Name: "src_as_name", Go: "SrcASName", Proto: 46, Label: "Source AS name", Type: String, Inputs: []string{Enrich}, Doc: "Organisation of the source AS (from the ASN database)."},
	{Name: "dst_as_name", Go: "DstASName", Proto: 47, Label: "Destination AS name", Type: String, Inputs: []string{Enrich}, Doc: "Organisation of the destination AS."},
	{Name: "src_net", Go: "SrcNet", Proto: 48, Label: "Source network", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "Name of the network (longest matching prefix) holding the source."},
	{Name: "dst_net", Go: "DstNet", Proto: 49, Label: "Destination network", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "Name of the network holding the destination."},
	{Name: "src_site", Go: "SrcSite", Proto: 50, Label: "Source site", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "Site of the source network."},
	{Name: "dst_site", Go: "DstSite", Proto: 51, Label: "Destination site", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "Site of the destination network."},
	{Name: "src_subnet", Go: "SrcSubnet", Proto: 52, Label: "Source subnet", Type: String, Inputs: append([]string{Enrich}, cloudInputs...), Doc: "Subnet (name or cloud id) of the source."},
	{Name: "dst_subnet", Go: "DstSubnet", Proto: 53, Label: "Destination subnet", Type: String, Inputs: append([]string{Enrich}, cloudInputs...), Doc: "Subnet (name or cloud id) of the destination."},
	{Name: "src_vm", Go: "SrcVM", Proto: 54, Label: "Source VM", Type: String, Inputs: append([]string{Enrich}, cloudInputs...), Doc: "VM or instance name of the source."},
	{Name: "dst_vm", Go: "DstVM", Proto: 55, Label: "Destination VM", Type: String, Inputs: append([]string{Enrich}, cloudInputs...), Doc: "VM or instance name of the destination."},
	{Name: "src_host", Go: "SrcHost", Proto: 56, Label: "Source host", Type: String, Inputs: []string{Enrich}, Doc: "Hypervisor host of the source VM."},
	{Name: "dst_host", Go: "DstHost", Proto: 57, Label: "Destination host", Type: String, Inputs: []string{Enrich}, Doc: "Hypervisor host of the destination VM."},
	{Name: "in_if_name", Go: "InIfName", Proto: 58, Label: "Input interface name", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "Name of the input interface."},
	{Name: "out_if_name", Go: "OutIfName", Proto: 59, Label: "Output interface name", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "Name of the output interface."},
	{Name: "flow_type", Go: "FlowType", Proto: 60, Label: "Flow type", Rollup: true, Type: Enum, Values: FlowTypes, Inputs: []string{Enrich},
		Doc: "Classification of the flow by where its ends are (networks file and address classes)."},
	{Name: "service", Go: "Service", Proto: 61, Label: "Service", Rollup: true, Type: String, Inputs: []string{Enrich}, Doc: "IANA service name of the server port (https, dns, ...)."},

	// cloud context
	{Name: "account", Go: "Account", Proto: 62, Label: "Account", Rollup: true, Type: String, Inputs: cloudInputs, Doc: "Cloud account or subscription id."},
	{Name: "region", Go: "Region", Proto: 63, Label: "Region", Rollup: true, Type: String, Inputs: cloudInputs, Doc: "Cloud region."},
	{Name: "vpc", Go: "VPC", Proto: 64, Label: "VPC", Rollup: true, Type: String, Inputs: cloudInputs, Doc: "VPC or VNet id of the reporting interface."},
	{Name: "interface_id", Go: "InterfaceID", Proto: 65, Label: "Interface id", HighCard: true, Type: String, Inputs: cloudInputs, Doc: "Cloud network interface (NIC/ENI) id, or MAC for Azure."},
	{Name: "instance_id", Go: "InstanceID", Proto: 66, Label: "Instance id", HighCard: true, Type: String, Inputs: cloudInputs, Doc: "Cloud instance or VM resource id."},
	{Name: "rule", Go: "Rule", Proto: 67, Label: "Rule", Type: String, Inputs: cloudInputs, Doc: "Firewall / security group / NSG rule that decided the flow."},
	{Name: "labels", Go: "Labels", Proto: 68, Label: "Labels", HighCard: true, Type: String, Inputs: cloudInputs,
		Doc: "Other source fields as a JSON object of strings, for what has no column of its own."},
}

// ByName returns the column named name and whether it exists.
func ByName(name string) (Column, bool) {
	for _, c := range Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Package schema is the one definition of flowlake's canonical flow record:
// every column, its type and meaning, and which inputs fill it. Decoders,
// importers, the archive, the query language and exports are all derived from
// this table (the Go record and batch types in package flow are generated from
// it), so adding a column is a change to this file plus `go generate`.
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
	{Name: "time_received", Go: "TimeReceived", Type: Time, Inputs: allInputs,
		Doc: "When flowlake received the flow (collector clock, or the log's own timestamp for imports)."},
	{Name: "time_start", Go: "TimeStart", Type: Time, Inputs: allInputs,
		Doc: "First packet of the flow, UTC, as reported by the exporter; equal to time_received for sFlow samples."},
	{Name: "time_end", Go: "TimeEnd", Type: Time, Inputs: allInputs,
		Doc: "Last packet of the flow, UTC."},

	// origin
	{Name: "source_type", Go: "SourceType", Type: Enum, Values: SourceTypes, Inputs: allInputs,
		Doc: "Protocol or log format the flow came from."},
	{Name: "exporter_addr", Go: "ExporterAddr", Type: Addr, Inputs: packetInputs,
		Doc: "Address of the exporting device (UDP source, or the sFlow agent address)."},
	{Name: "exporter_name", Go: "ExporterName", Type: String, Inputs: []string{Enrich},
		Doc: "Name of the exporting device, from configuration or SNMP."},
	{Name: "observation_domain", Go: "ObservationDomain", Type: Uint32, Inputs: []string{NetFlow9, IPFIX, SFlow},
		Doc: "NetFlow v9 source id, IPFIX observation domain id, or sFlow sub-agent id."},
	{Name: "sampling_rate", Go: "SamplingRate", Type: Uint32, Inputs: packetInputs,
		Doc: "1-in-N packet sampling rate applied by the exporter (1 when unsampled or unknown); bytes and packets are already multiplied by it."},

	// key
	{Name: "ip_version", Go: "IPVersion", Type: Uint8, Inputs: allInputs,
		Doc: "4 or 6 (0 when the flow carries no IP header)."},
	{Name: "src_addr", Go: "SrcAddr", Type: Addr, Inputs: allInputs, Doc: "Source IP address."},
	{Name: "dst_addr", Go: "DstAddr", Type: Addr, Inputs: allInputs, Doc: "Destination IP address."},
	{Name: "src_port", Go: "SrcPort", Type: Uint16, Inputs: allInputs, Doc: "Source transport port."},
	{Name: "dst_port", Go: "DstPort", Type: Uint16, Inputs: allInputs, Doc: "Destination transport port."},
	{Name: "proto", Go: "Proto", Type: Uint8, Inputs: allInputs, Doc: "IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)."},
	{Name: "icmp_type", Go: "ICMPType", Type: Uint8, Inputs: packetInputs, Doc: "ICMP or ICMPv6 type."},
	{Name: "icmp_code", Go: "ICMPCode", Type: Uint8, Inputs: packetInputs, Doc: "ICMP or ICMPv6 code."},
	{Name: "tcp_flags", Go: "TCPFlags", Type: Uint16, Inputs: append([]string{AWSVPC}, packetInputs...),
		Doc: "Union of TCP flags seen in the flow."},
	{Name: "tos", Go: "TOS", Type: Uint8, Inputs: packetInputs, Doc: "IP type of service / traffic class byte."},
	{Name: "vlan", Go: "VLAN", Type: Uint16, Inputs: packetInputs, Doc: "802.1Q VLAN id (outer tag for QinQ)."},
	{Name: "vxlan_vni", Go: "VXLANVNI", Type: Uint32, Inputs: []string{SFlow}, Doc: "VXLAN network identifier of a VXLAN-encapsulated sampled packet; the flow columns describe the inner packet when the sampled header reaches its IP header."},
	{Name: "src_mac", Go: "SrcMAC", Type: MAC, Inputs: packetInputs, Doc: "Source MAC address."},
	{Name: "dst_mac", Go: "DstMAC", Type: MAC, Inputs: packetInputs, Doc: "Destination MAC address."},

	// routing
	{Name: "in_if", Go: "InIf", Type: Uint32, Inputs: packetInputs, Doc: "Input interface index (SNMP ifIndex)."},
	{Name: "out_if", Go: "OutIf", Type: Uint32, Inputs: packetInputs, Doc: "Output interface index (SNMP ifIndex)."},
	{Name: "next_hop", Go: "NextHop", Type: Addr, Inputs: packetInputs, Doc: "IP next hop (or BGP next hop when the exporter sends only that)."},
	{Name: "src_as", Go: "SrcAS", Type: Uint32, Inputs: packetInputs, Doc: "Source autonomous system, from the exporter's routing table."},
	{Name: "dst_as", Go: "DstAS", Type: Uint32, Inputs: packetInputs, Doc: "Destination autonomous system, from the exporter's routing table."},
	{Name: "src_mask", Go: "SrcMask", Type: Uint8, Inputs: packetInputs, Doc: "Source prefix length."},
	{Name: "dst_mask", Go: "DstMask", Type: Uint8, Inputs: packetInputs, Doc: "Destination prefix length."},

	// NAT and firewall events
	{Name: "post_nat_src_addr", Go: "PostNATSrcAddr", Type: Addr, Inputs: append([]string{AWSVPC}, templated...),
		Doc: "Source address after NAT (AWS: pkt-srcaddr)."},
	{Name: "post_nat_dst_addr", Go: "PostNATDstAddr", Type: Addr, Inputs: append([]string{AWSVPC}, templated...),
		Doc: "Destination address after NAT (AWS: pkt-dstaddr)."},
	{Name: "post_nat_src_port", Go: "PostNATSrcPort", Type: Uint16, Inputs: templated, Doc: "Source port after NAT."},
	{Name: "post_nat_dst_port", Go: "PostNATDstPort", Type: Uint16, Inputs: templated, Doc: "Destination port after NAT."},
	{Name: "nat_event", Go: "NATEvent", Type: Uint8, Inputs: templated, Doc: "NAT event code (IANA natEvent, IE 230; NEL)."},
	{Name: "fw_event", Go: "FWEvent", Type: Uint8, Inputs: templated, Doc: "Firewall event code (Cisco NSEL IE 233 / IANA firewallEvent)."},

	// policy
	{Name: "direction", Go: "Direction", Type: Enum, Values: Directions, Inputs: allInputs,
		Doc: "Whether the flow was observed entering or leaving the interface/VM that reported it."},
	{Name: "action", Go: "Action", Type: Enum, Values: Actions, Inputs: append([]string{NetFlow9, IPFIX}, cloudInputs...),
		Doc: "Whether policy allowed or denied the flow."},
	{Name: "flow_state", Go: "FlowState", Type: Enum, Values: FlowStates, Inputs: append([]string{NetFlow9, IPFIX}, cloudInputs...),
		Doc: "Life-cycle point of the record: begin, continue (interim) or end."},

	// counters
	{Name: "bytes", Go: "Bytes", Type: Uint64, Inputs: allInputs, Doc: "Bytes in the flow's direction, sampling-corrected."},
	{Name: "packets", Go: "Packets", Type: Uint64, Inputs: allInputs, Doc: "Packets in the flow's direction, sampling-corrected."},
	{Name: "rev_bytes", Go: "RevBytes", Type: Uint64, Inputs: append([]string{IPFIX}, cloudInputs...),
		Doc: "Bytes in the reverse direction (RFC 5103 biflows, cloud logs reporting both directions)."},
	{Name: "rev_packets", Go: "RevPackets", Type: Uint64, Inputs: append([]string{IPFIX}, cloudInputs...),
		Doc: "Packets in the reverse direction."},

	// application
	{Name: "application", Go: "Application", Type: String, Inputs: append([]string{NetFlow9, IPFIX}, cloudInputs...),
		Doc: "Layer-7 application as named by the exporter (NBAR, App-ID, nDPI) or the cloud log."},

	// enrichment (values as they were at flow time)
	{Name: "src_country", Go: "SrcCountry", Type: String, Inputs: []string{Enrich}, Doc: "ISO 3166 country of the source address."},
	{Name: "dst_country", Go: "DstCountry", Type: String, Inputs: []string{Enrich}, Doc: "ISO 3166 country of the destination address."},
	{Name: "src_as_name", Go: "SrcASName", Type: String, Inputs: []string{Enrich}, Doc: "Organisation of the source AS (from the ASN database)."},
	{Name: "dst_as_name", Go: "DstASName", Type: String, Inputs: []string{Enrich}, Doc: "Organisation of the destination AS."},
	{Name: "src_net", Go: "SrcNet", Type: String, Inputs: []string{Enrich}, Doc: "Name of the network (longest matching prefix) holding the source."},
	{Name: "dst_net", Go: "DstNet", Type: String, Inputs: []string{Enrich}, Doc: "Name of the network holding the destination."},
	{Name: "src_site", Go: "SrcSite", Type: String, Inputs: []string{Enrich}, Doc: "Site of the source network."},
	{Name: "dst_site", Go: "DstSite", Type: String, Inputs: []string{Enrich}, Doc: "Site of the destination network."},
	{Name: "src_subnet", Go: "SrcSubnet", Type: String, Inputs: append([]string{Enrich}, cloudInputs...), Doc: "Subnet (name or cloud id) of the source."},
	{Name: "dst_subnet", Go: "DstSubnet", Type: String, Inputs: append([]string{Enrich}, cloudInputs...), Doc: "Subnet (name or cloud id) of the destination."},
	{Name: "src_vm", Go: "SrcVM", Type: String, Inputs: append([]string{Enrich}, cloudInputs...), Doc: "VM or instance name of the source."},
	{Name: "dst_vm", Go: "DstVM", Type: String, Inputs: append([]string{Enrich}, cloudInputs...), Doc: "VM or instance name of the destination."},
	{Name: "src_host", Go: "SrcHost", Type: String, Inputs: []string{Enrich}, Doc: "Hypervisor host of the source VM."},
	{Name: "dst_host", Go: "DstHost", Type: String, Inputs: []string{Enrich}, Doc: "Hypervisor host of the destination VM."},
	{Name: "in_if_name", Go: "InIfName", Type: String, Inputs: []string{Enrich}, Doc: "Name of the input interface."},
	{Name: "out_if_name", Go: "OutIfName", Type: String, Inputs: []string{Enrich}, Doc: "Name of the output interface."},
	{Name: "flow_type", Go: "FlowType", Type: Enum, Values: FlowTypes, Inputs: []string{Enrich},
		Doc: "Classification of the flow by where its ends are (networks file and address classes)."},
	{Name: "service", Go: "Service", Type: String, Inputs: []string{Enrich}, Doc: "IANA service name of the server port (https, dns, ...)."},

	// cloud context
	{Name: "account", Go: "Account", Type: String, Inputs: cloudInputs, Doc: "Cloud account or subscription id."},
	{Name: "region", Go: "Region", Type: String, Inputs: cloudInputs, Doc: "Cloud region."},
	{Name: "vpc", Go: "VPC", Type: String, Inputs: cloudInputs, Doc: "VPC or VNet id of the reporting interface."},
	{Name: "interface_id", Go: "InterfaceID", Type: String, Inputs: cloudInputs, Doc: "Cloud network interface (NIC/ENI) id, or MAC for Azure."},
	{Name: "instance_id", Go: "InstanceID", Type: String, Inputs: cloudInputs, Doc: "Cloud instance or VM resource id."},
	{Name: "rule", Go: "Rule", Type: String, Inputs: cloudInputs, Doc: "Firewall / security group / NSG rule that decided the flow."},
	{Name: "labels", Go: "Labels", Type: String, Inputs: cloudInputs,
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

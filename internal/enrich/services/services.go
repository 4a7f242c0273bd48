// Package services names the service of a flow from its ports and protocol.
//
// services.txt is generated from Debian's netbase /etc/services (itself the
// well-known subset of the IANA "Service Name and Transport Protocol Port
// Number Registry", https://www.iana.org/assignments/service-names-port-numbers),
// keeping ports below 49152:
//
//	awk '!/^#/ && NF>=2 {split($2,a,"/"); if (a[1]+0 < 49152) print a[1]"/"a[2]" "$1}' /etc/services > services.txt
package services

import (
	_ "embed"
	"strconv"
	"strings"
)

//go:embed services.txt
var table string

// IANA protocol numbers the table distinguishes.
const (
	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132
)

// byPort holds names per protocol index (0 tcp, 1 udp, 2 sctp), indexed by
// port: an array index is the cheapest look-up on the per-flow path.
var byPort [3][]string

// named has a bit set for every port byPort names, per protocol index: 8 KB
// that stay in cache, where byPort is 1 MB per protocol and a flow's
// random client port would cost a cache miss to find no name.
var named [3][1 << 10]uint64

func isNamed(idx int, port uint16) bool { return named[idx][port>>6]&(1<<(port&63)) != 0 }

func init() {
	for i := range byPort {
		byPort[i] = make([]string, 65536)
	}
	for line := range strings.Lines(table) {
		portProto, name, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		p, proto, ok := strings.Cut(portProto, "/")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			continue
		}
		idx := protoIndex(proto)
		if idx < 0 || byPort[idx][port] != "" {
			continue
		}
		byPort[idx][port] = name
		named[idx][port>>6] |= 1 << (port & 63)
	}
}

func protoIndex(name string) int {
	switch name {
	case "tcp":
		return 0
	case "udp":
		return 1
	case "sctp":
		return 2
	}
	return -1
}

func indexOf(proto uint8) int {
	switch proto {
	case protoTCP:
		return 0
	case protoUDP:
		return 1
	case protoSCTP:
		return 2
	}
	return -1
}

// Name returns the service name registered for port over IANA protocol
// number proto, or "" when none is.
func Name(proto uint8, port uint16) string {
	idx := indexOf(proto)
	if idx < 0 {
		return ""
	}
	return byPort[idx][port]
}

// Of returns the service of a flow: the name of its destination port when it
// has one, else the name of its source port (a reply flow from the server),
// preferring the lower port when both are named, since clients pick their
// ports high.
func Of(proto uint8, srcPort, dstPort uint16) string {
	idx := indexOf(proto)
	if idx < 0 {
		return ""
	}
	names := byPort[idx]
	var d, s string
	if isNamed(idx, dstPort) {
		d = names[dstPort]
	}
	if isNamed(idx, srcPort) {
		s = names[srcPort]
	}
	switch {
	case d != "" && s != "":
		if srcPort < dstPort {
			return s
		}
		return d
	case d != "":
		return d
	default:
		return s
	}
}

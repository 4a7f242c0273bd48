package archive

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// Compacted files store most connections' two directions in one row: a
// flow and, in the pair_* columns, the reverse flow it was paired with (the
// reverse of an A->B flow is a B->A flow of the same protocol and ports,
// overlapping it in time). The reverse flow is a flow of its own, restored
// exactly: every column of it is either one of the row's (shared columns,
// equal in both flows), the row's mirror column (src_addr is the row's
// dst_addr, in_if its out_if, ...), or stored in a pair_* column (its
// counters, times, TCP flags and ToS). Two flows that differ in anything
// else (NAT addresses, next hop, VLAN, ...) are not paired.
//
// Why: a connection's two flows repeat its addresses, ports and, within
// milliseconds, its times; Parquet compresses each column alone and cannot
// see that one row's dst_addr is the next one's src_addr. Paired, the site
// corpus' flows took 9.6 bytes a flow instead of 15.3
// (BenchmarkCompactedSize, what-if=biflows-lossless).
//
// Readers see unidirectional flows only: readFile restores the reverse
// flows, and the query engine's flows view reads each compacted file twice,
// once for its rows and once for their reverse flows (PairedColumnSQL).
const (
	colPaired        = "paired"           // BOOLEAN: the row carries a reverse flow
	colPairBytes     = "pair_bytes"       // its bytes
	colPairPackets   = "pair_packets"     // its packets
	colPairStart     = "pair_start_ms"    // its time_start - the row's, ms
	colPairEnd       = "pair_end_ms"      // its time_end - the row's, ms
	colPairReceived  = "pair_received_ms" // its time_received - the row's, ms
	colPairTCPFlags  = "pair_tcp_flags"   // its tcp_flags
	colPairTOS       = "pair_tos"         // its tos
	colPairDirection = "pair_direction"   // its direction (some exporters mark a connection's replies egress)
	metaFlows        = "flowlake.flows"   // flows a file holds, reverse flows included
	pairSlack        = int64(time.Second) // how far apart two flows' spans may be and still pair
	maxPairDeltaMs   = int64(time.Hour / time.Millisecond)
	pairColumnsCount = 9
)

// pairColumnNames lists the pair columns in file order, after the schema's.
var pairColumnNames = [pairColumnsCount]string{colPaired, colPairBytes, colPairPackets, colPairStart, colPairEnd, colPairReceived, colPairTCPFlags, colPairTOS, colPairDirection}

// mirror[c] is the column of a flow whose value its reverse flow has in
// column c: the dst_ column for a src_ one and back, out_if for in_if,
// c itself for the others.
var mirror = mirrorColumns()

func mirrorColumns() []int {
	idx := map[string]int{}
	for i, c := range schema.Columns {
		idx[c.Name] = i
	}
	m := make([]int, len(schema.Columns))
	for i := range m {
		m[i] = i
	}
	swap := func(a, b string) {
		i, ok1 := idx[a]
		j, ok2 := idx[b]
		if ok1 && ok2 {
			m[i], m[j] = j, i
		}
	}
	for _, c := range schema.Columns {
		if rest, ok := strings.CutPrefix(c.Name, "src_"); ok {
			swap(c.Name, "dst_"+rest)
		}
	}
	swap("in_if", "out_if")
	swap("in_if_name", "out_if_name")
	return m
}

// perDirection marks the columns a reverse flow keeps in pair_* columns.
var perDirection = func() []bool {
	d := make([]bool, flow.NumColumns)
	for _, c := range []int{flow.ColBytes, flow.ColPackets, flow.ColTimeReceived, flow.ColTimeStart, flow.ColTimeEnd, flow.ColTCPFlags, flow.ColTOS, flow.ColDirection} {
		d[c] = true
	}
	return d
}()

// reverseFlowType is the flow_type of the reverse of a flow of type t.
func reverseFlowType(t uint8) uint8 {
	switch t {
	case flow.FlowTypeToInternet:
		return flow.FlowTypeFromInternet
	case flow.FlowTypeFromInternet:
		return flow.FlowTypeToInternet
	}
	return t
}

// pairCols holds the pair columns of a batch of rows.
type pairCols struct {
	paired           []bool
	bytes, packets   []uint64
	start, end, recv []int32
	tcpFlags         []uint16
	tos, direction   []uint8
}

func (p *pairCols) extend(n int) {
	p.paired = append(p.paired, make([]bool, n)...)
	p.bytes = append(p.bytes, make([]uint64, n)...)
	p.packets = append(p.packets, make([]uint64, n)...)
	p.start = append(p.start, make([]int32, n)...)
	p.end = append(p.end, make([]int32, n)...)
	p.recv = append(p.recv, make([]int32, n)...)
	p.tcpFlags = append(p.tcpFlags, make([]uint16, n)...)
	p.tos = append(p.tos, make([]uint8, n)...)
	p.direction = append(p.direction, make([]uint8, n)...)
}

// pairKey identifies a connection whichever way a flow of it goes, and
// (fwd) one of its directions: from lo to hi.
type pairKey struct {
	lo, hi   flow.Addr
	loP, hiP uint16
	proto    uint8
	fwd      bool
}

func keyOf(b *flow.Batch, i int) (k pairKey, fwd bool) {
	k = pairKey{lo: b.SrcAddr[i], hi: b.DstAddr[i], loP: b.SrcPort[i], hiP: b.DstPort[i], proto: b.Proto[i]}
	if c := bytes.Compare(k.lo[:], k.hi[:]); c > 0 || (c == 0 && k.loP > k.hiP) {
		k.lo, k.hi, k.loP, k.hiP = k.hi, k.lo, k.hiP, k.loP
		return k, false
	}
	return k, true
}

// pairChecks returns a test per column (per-direction ones aside) of
// whether row j of b is, in that column, the reverse of row i.
func pairChecks(b *flow.Batch) []func(i, j int) bool {
	var checks []func(i, j int) bool
	for c := range schema.Columns {
		if perDirection[c] || c == flow.ColSrcAddr || c == flow.ColDstAddr || c == flow.ColSrcPort || c == flow.ColDstPort || c == flow.ColProto {
			continue // per direction, or part of the key
		}
		if c == flow.ColFlowType {
			s := b.FlowType
			checks = append(checks, func(i, j int) bool { return s[j] == reverseFlowType(s[i]) })
			continue
		}
		checks = append(checks, mirrorCheck(b.Column(c), b.Column(mirror[c])))
	}
	return checks
}

func mirrorCheck(col, mir any) func(i, j int) bool {
	switch s := col.(type) {
	case []uint8:
		return eqCheck(s, mir.([]uint8))
	case []uint16:
		return eqCheck(s, mir.([]uint16))
	case []uint32:
		return eqCheck(s, mir.([]uint32))
	case []uint64:
		return eqCheck(s, mir.([]uint64))
	case []int64:
		return eqCheck(s, mir.([]int64))
	case []flow.Addr:
		return eqCheck(s, mir.([]flow.Addr))
	case []string:
		return eqCheck(s, mir.([]string))
	}
	panic(fmt.Sprintf("archive: pair check: unexpected column type %T", col))
}

// eqCheck: row j's value in the column is row i's in its mirror.
func eqCheck[T comparable](col, mir []T) func(i, j int) bool {
	return func(i, j int) bool { return col[j] == mir[i] }
}

// msDelta is the difference of two stored times in ms, and whether it
// fits a pair column.
func msDelta(of, from int64) (int32, bool) {
	d := toMillis(of) - toMillis(from)
	return int32(d), d >= -maxPairDeltaMs && d <= maxPairDeltaMs
}

// pairFlows returns the rows a compacted file of b's flows holds: each
// flow whose reverse is in b (see the package's pair columns) becomes one
// row with it, the one that started first keeping the row (when both
// started together, as softflowd reports them, the one from the higher
// port: the client's, usually; clusterCut relies on it); the other flows
// stay rows of their own. The rows keep b's order of their flows.
func pairFlows(b *flow.Batch) (*flow.Batch, *pairCols) {
	n := b.Len()
	checks := pairChecks(b)
	matches := func(i, j int) bool {
		if b.TimeStart[j] > b.TimeEnd[i]+pairSlack || b.TimeStart[i] > b.TimeEnd[j]+pairSlack ||
			hourOf(b.TimeReceived[i]) != hourOf(b.TimeReceived[j]) {
			return false
		}
		for _, c := range checks {
			if !c(i, j) {
				return false
			}
		}
		_, ok1 := msDelta(b.TimeStart[j], b.TimeStart[i])
		_, ok2 := msDelta(b.TimeEnd[j], b.TimeEnd[i])
		_, ok3 := msDelta(b.TimeReceived[j], b.TimeReceived[i])
		return ok1 && ok2 && ok3
	}
	// open holds, per connection, the chain (through next) of its flows
	// still without a reverse.
	open := make(map[pairKey]int32, n/2)
	next := make([]int32, n)
	mate := make([]int32, n) // the reverse flow of a kept row; -1: none
	drop := make([]bool, n)  // a reverse flow, stored in its mate's row
	for i := range n {
		mate[i] = -1
		k, fwd := keyOf(b, i)
		k.fwd = !fwd // the chain of the other direction
		head, ok := open[k]
		prev := int32(-1)
		for j := head; ok && j >= 0; j = next[j] {
			if !matches(int(j), i) {
				prev = j
				continue
			}
			if prev < 0 {
				open[k] = next[j]
			} else {
				next[prev] = next[j]
			}
			keep, rev := int(j), i
			if b.TimeStart[i] < b.TimeStart[j] || (b.TimeStart[i] == b.TimeStart[j] && b.SrcPort[i] > b.SrcPort[j]) {
				keep, rev = i, int(j)
			}
			mate[keep], drop[rev] = int32(rev), true
			break
		}
		if drop[i] || mate[i] >= 0 {
			continue
		}
		k.fwd = fwd
		if h, ok := open[k]; ok {
			next[i] = h
		} else {
			next[i] = -1
		}
		open[k] = int32(i)
	}
	rows := make([]int, 0, n)
	for i := range n {
		if !drop[i] {
			rows = append(rows, i)
		}
	}
	rec := new(flow.Batch)
	rec.AppendRows(b, rows)
	p := new(pairCols)
	p.extend(len(rows))
	for r, i := range rows {
		j := int(mate[i])
		if j < 0 {
			continue
		}
		p.paired[r] = true
		p.bytes[r], p.packets[r] = b.Bytes[j], b.Packets[j]
		p.start[r], _ = msDelta(b.TimeStart[j], b.TimeStart[i])
		p.end[r], _ = msDelta(b.TimeEnd[j], b.TimeEnd[i])
		p.recv[r], _ = msDelta(b.TimeReceived[j], b.TimeReceived[i])
		p.tcpFlags[r], p.tos[r], p.direction[r] = b.TCPFlags[j], b.TOS[j], b.Direction[j]
	}
	return rec, p
}

// unpairFlows restores the reverse flows of the rows [at, at+n) of b, whose
// pair columns are p, into b's rows from at+n on (which must exist), in
// row order. It returns how many it restored.
func unpairFlows(b *flow.Batch, at, n int, p *pairCols) int {
	var rows []int
	for r, ok := range p.paired[:n] {
		if ok {
			rows = append(rows, at+r)
		}
	}
	out := at + n
	for c := range schema.Columns {
		copyMirror(b.Column(c), b.Column(mirror[c]), rows, out)
	}
	k := 0
	for r, ok := range p.paired[:n] {
		if !ok {
			continue
		}
		i, o := at+r, out+k
		b.FlowType[o] = reverseFlowType(b.FlowType[i])
		b.Bytes[o], b.Packets[o] = p.bytes[r], p.packets[r]
		b.TimeStart[o] = (toMillis(b.TimeStart[i]) + int64(p.start[r])) * 1e6
		b.TimeEnd[o] = (toMillis(b.TimeEnd[i]) + int64(p.end[r])) * 1e6
		b.TimeReceived[o] = (toMillis(b.TimeReceived[i]) + int64(p.recv[r])) * 1e6
		b.TCPFlags[o], b.TOS[o], b.Direction[o] = p.tcpFlags[r], p.tos[r], p.direction[r]
		k++
	}
	return k
}

// copyMirror sets dst[out+k] = src[rows[k]] (dst and src: columns of one
// batch, of one type).
func copyMirror(dst, src any, rows []int, out int) {
	switch d := dst.(type) {
	case []uint8:
		copyRows(d, src.([]uint8), rows, out)
	case []uint16:
		copyRows(d, src.([]uint16), rows, out)
	case []uint32:
		copyRows(d, src.([]uint32), rows, out)
	case []uint64:
		copyRows(d, src.([]uint64), rows, out)
	case []int64:
		copyRows(d, src.([]int64), rows, out)
	case []flow.Addr:
		copyRows(d, src.([]flow.Addr), rows, out)
	case []string:
		copyRows(d, src.([]string), rows, out)
	default:
		panic(fmt.Sprintf("archive: unpair: unexpected column type %T", dst))
	}
}

func copyRows[T any](dst, src []T, rows []int, out int) {
	for k, r := range rows {
		dst[out+k] = src[r]
	}
}

// pairColumns is how many pair columns a file of rows with pair columns p
// (nil: none) has.
func pairColumns(p *pairCols) int {
	if p == nil {
		return 0
	}
	return pairColumnsCount
}

// pairNodes are the Parquet nodes of the pair columns (pairColumnNames
// order).
func pairNodes() []parquet.Node {
	dict := func(n parquet.Node) parquet.Node { return parquet.Encoded(n, &parquet.RLEDictionary) }
	return []parquet.Node{
		parquet.Leaf(parquet.BooleanType),
		// As bytes (compactEncoding): summed by the same queries.
		parquet.Encoded(parquet.Uint(64), &parquet.DeltaBinaryPacked),
		parquet.Uint(64),
		// Deltas of a few ms, mostly: dictionary indexes measured smaller
		// than PLAIN or DELTA (what-if=biflows-lossless).
		dict(parquet.Int(32)), dict(parquet.Int(32)), dict(parquet.Int(32)),
		dict(parquet.Uint(16)), dict(parquet.Uint(8)),
		dict(parquet.String()), // as direction (an enum, by name)
	}
}

// pairValues returns the values of pair column k for the rows perm (nil:
// [lo, hi)) in vals.
func pairValues(vals []parquet.Value, p *pairCols, k int, perm []int, lo, hi int) []parquet.Value {
	if perm != nil {
		lo, hi = 0, len(perm)
	}
	vals = vals[:hi-lo]
	for i := range vals {
		r := lo + i
		if perm != nil {
			r = perm[i]
		}
		switch k {
		case 0:
			vals[i] = parquet.BooleanValue(p.paired[r])
		case 1:
			vals[i] = parquet.Int64Value(int64(p.bytes[r]))
		case 2:
			vals[i] = parquet.Int64Value(int64(p.packets[r]))
		case 3:
			vals[i] = parquet.Int32Value(p.start[r])
		case 4:
			vals[i] = parquet.Int32Value(p.end[r])
		case 5:
			vals[i] = parquet.Int32Value(p.recv[r])
		case 6:
			vals[i] = parquet.Int32Value(int32(p.tcpFlags[r]))
		case 7:
			vals[i] = parquet.Int32Value(int32(p.tos[r]))
		case 8:
			name := schema.Directions[0]
			if int(p.direction[r]) < len(schema.Directions) {
				name = schema.Directions[p.direction[r]]
			}
			vals[i] = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(name), len(name)))
		}
	}
	return vals
}

// setPairValue stores value v of pair column k in row r of p.
func setPairValue(p *pairCols, k, r int, v parquet.Value) {
	switch k {
	case 0:
		p.paired[r] = v.Boolean()
	case 1:
		p.bytes[r] = v.Uint64()
	case 2:
		p.packets[r] = v.Uint64()
	case 3:
		p.start[r] = v.Int32()
	case 4:
		p.end[r] = v.Int32()
	case 5:
		p.recv[r] = v.Int32()
	case 6:
		p.tcpFlags[r] = uint16(v.Uint32())
	case 7:
		p.tos[r] = uint8(v.Uint32())
	case 8:
		p.direction[r] = flow.EnumValue(schema.Directions, string(v.ByteArray()))
	}
}

// PairedColumnSQL returns the SQL expression, over a compacted file's
// columns, of column c of the reverse flow a row carries (rows where
// PairedSQL holds), and the file column it reads (the others it reads, if
// any, are pair columns).
func PairedColumnSQL(c int) (expr, col string) {
	name := schema.Columns[c].Name
	ms := func(delta string) (string, string) {
		return fmt.Sprintf("(%s + to_milliseconds(%s))", `"`+name+`"`, delta), name
	}
	switch c {
	case flow.ColBytes:
		return colPairBytes, colPairBytes
	case flow.ColPackets:
		return colPairPackets, colPairPackets
	case flow.ColTCPFlags:
		return colPairTCPFlags, colPairTCPFlags
	case flow.ColTOS:
		return colPairTOS, colPairTOS
	case flow.ColDirection:
		return colPairDirection, colPairDirection
	case flow.ColTimeStart:
		return ms(colPairStart)
	case flow.ColTimeEnd:
		return ms(colPairEnd)
	case flow.ColTimeReceived:
		return ms(colPairReceived)
	case flow.ColFlowType:
		to, from := schema.FlowTypes[flow.FlowTypeToInternet], schema.FlowTypes[flow.FlowTypeFromInternet]
		return fmt.Sprintf("(CASE flow_type WHEN '%s' THEN '%s' WHEN '%s' THEN '%s' ELSE flow_type END)", to, from, from, to), name
	}
	m := schema.Columns[mirror[c]].Name
	return `"` + m + `"`, m
}

// PairedSQL is the condition, over a compacted file's columns, of rows
// carrying a reverse flow.
const PairedSQL = colPaired

// Paired reports whether files of schema key (FileInfo.Schema) carry
// reverse flows in pair columns.
func Paired(key string) bool { return key == compactSchemaKey }

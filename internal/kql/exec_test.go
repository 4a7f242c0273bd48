package kql

import (
	"database/sql"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// These tests run compiled SQL on an in-memory DuckDB table laid out as the
// engine's flows view (TIMESTAMP times, 16-byte BLOB addresses, VARCHAR
// enums, unsigned counters) and check the answers against the same rows
// evaluated in Go.

type testFlow struct {
	recv, start, end   time.Time
	src, dst           flow.Addr
	sport, dport       uint16
	proto              uint8
	bytes, pkts, rev   uint64
	direction, action  string
	flowType, exporter string
	srcCountry         string
	dstCountry         string
	srcASName          string
	service            string
}

var execBase = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func genFlows() []testFlow {
	r := rand.New(rand.NewPCG(1, 2))
	hosts := []string{"10.1.1.8", "10.1.1.9", "10.1.2.20", "10.2.0.5", "10.2.7.7", "192.168.1.10",
		"8.8.8.8", "1.1.1.1", "2001:db8::1", "2001:db8:0:0:1::2", "fe80::1:0:0:0"}
	ports := []uint16{443, 80, 53, 22, 8443}
	var out []testFlow
	for i := range 400 {
		src := flow.MustParseAddr(hosts[r.IntN(len(hosts))])
		dst := flow.MustParseAddr(hosts[r.IntN(len(hosts))])
		recv := execBase.Add(time.Duration(r.IntN(3*24*3600)) * time.Second)
		f := testFlow{
			recv: recv, start: recv.Add(-time.Duration(r.IntN(600)) * time.Second), end: recv,
			src: src, dst: dst, sport: uint16(30000 + r.IntN(30000)), dport: ports[r.IntN(len(ports))],
			proto: []uint8{6, 17, 1}[r.IntN(3)], bytes: uint64(40 + r.IntN(100000)), pkts: uint64(1 + r.IntN(100)),
			rev:       uint64(r.IntN(5000)),
			direction: []string{"ingress", "egress", "unknown"}[r.IntN(3)],
			action:    []string{"allow", "deny"}[r.IntN(2)],
			flowType:  []string{"to-internet", "from-internet", "intra-network", "unknown"}[r.IntN(4)],
			exporter:  fmt.Sprintf("edge-%d", i%3),
			service:   []string{"https", "http", "domain", ""}[r.IntN(4)],
		}
		if !src.Netip().IsPrivate() && src.Is4() {
			f.srcCountry, f.srcASName = "US", "Example AS"
		}
		if !dst.Netip().IsPrivate() && dst.Is4() {
			f.dstCountry = "US"
		}
		out = append(out, f)
	}
	// a row whose exporter name is an injection attempt
	out[7].exporter = `x'; DROP TABLE flows; -- "quoted" \back`
	// the zero address (absent)
	out[8].dst = flow.Addr{}
	return out
}

// emptyFlows opens an in-memory DuckDB with an empty flows table typed as
// the engine's flows view is (schema.Type.DuckDB).
func emptyFlows(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	var defs []string
	for _, c := range schema.Columns {
		defs = append(defs, c.Name+" "+c.Type.DuckDB())
	}
	if _, err := db.Exec("CREATE TABLE flows (" + strings.Join(defs, ", ") + ")"); err != nil {
		t.Fatal(err)
	}
	return db
}

func openDuck(t testing.TB, rows []testFlow) *sql.DB {
	t.Helper()
	db := emptyFlows(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO flows (time_received, time_start, time_end, src_addr, dst_addr, src_port, dst_port, proto,
		bytes, packets, rev_bytes, rev_packets, direction, action, flow_type, exporter_name, src_country, dst_country,
		src_as_name, dst_as_name, service, application) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, '', ?, '')`)
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	for _, f := range rows {
		_, err := ins.Exec(f.recv, f.start, f.end, f.src[:], f.dst[:], f.sport, f.dport, f.proto, f.bytes, f.pkts, f.rev,
			f.direction, f.action, f.flowType, f.exporter, f.srcCountry, f.dstCountry, f.srcASName, f.service)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return db
}

// run compiles q, executes it and returns the rows rendered as strings.
func run(t *testing.T, db *sql.DB, q string, opts Options) ([]Column, [][]string) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = execBase.Add(72 * time.Hour)
	}
	c, err := Compile(q, opts)
	if err != nil {
		t.Fatalf("compile %q: %v", q, err)
	}
	rows, err := db.Query(c.SQL)
	if err != nil {
		t.Fatalf("run %q: %v\n%s", q, err, c.SQL)
	}
	defer rows.Close()
	names, _ := rows.Columns()
	if len(names) != len(c.Columns) {
		t.Fatalf("SQL returns %d columns, compiler announced %d", len(names), len(c.Columns))
	}
	for i := range names {
		if names[i] != c.Columns[i].Name {
			t.Fatalf("column %d is %q, compiler announced %q", i, names[i], c.Columns[i].Name)
		}
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = render(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("run %q: %v", q, err)
	}
	return c.Columns, out
}

func render(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case *big.Int:
		return v.String()
	case []any:
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = render(x)
		}
		sort.Strings(s)
		return "[" + strings.Join(s, ",") + "]"
	case float64:
		return fmt.Sprintf("%.6g", v)
	}
	return fmt.Sprint(v)
}

// table renders expected rows the way run does, sorted unless ordered.
func sortedRows(rows [][]string) [][]string {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "\x00") < strings.Join(rows[j], "\x00") })
	return rows
}

func equalRows(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d\ngot  %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Fatalf("%s: row %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func inPrefix(a flow.Addr, p string) bool {
	return a.Is4() && netip.MustParsePrefix(p).Contains(a.Netip())
}

func TestExecPeerTotals(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	host := flow.MustParseAddr("10.1.1.8")
	type tot struct{ bytes, pkts, n uint64 }
	want := map[flow.Addr]*tot{}
	for _, f := range rows {
		if f.src != host && f.dst != host {
			continue
		}
		peer := f.src
		if f.src == host {
			peer = f.dst
		}
		if want[peer] == nil {
			want[peer] = &tot{}
		}
		want[peer].bytes += f.bytes
		want[peer].pkts += f.pkts
		want[peer].n++
	}
	var exp [][]string
	for p, v := range want {
		exp = append(exp, []string{p.String(), fmt.Sprint(v.bytes), fmt.Sprint(v.pkts), fmt.Sprint(v.n)})
	}
	sort.Slice(exp, func(i, j int) bool { return want[addrOf(exp[i][0])].bytes > want[addrOf(exp[j][0])].bytes })
	_, got := run(t, db, `let host = "10.1.1.8";
		flows
		| where src_addr == host or dst_addr == host
		| extend peer = iff(src_addr == host, dst_addr, src_addr)
		| summarize bytes = sum(bytes), packets = sum(packets), flows = count() by peer
		| sort by bytes desc`, Options{})
	equalRows(t, "peer totals", got, exp)
}

func addrOf(s string) flow.Addr {
	if s == "" {
		return flow.Addr{}
	}
	return flow.MustParseAddr(s)
}

func TestExecDailyByProtoPort(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	type key struct {
		day   time.Time
		proto uint8
		port  uint16
	}
	want := map[key]uint64{}
	for _, f := range rows {
		want[key{f.recv.Truncate(24 * time.Hour), f.proto, f.dport}] += f.bytes
	}
	var exp [][]string
	for k, v := range want {
		exp = append(exp, []string{k.day.Format(time.RFC3339), fmt.Sprint(k.proto), fmt.Sprint(k.port), fmt.Sprint(v)})
	}
	cols, got := run(t, db, `flows
		| summarize bytes = sum(bytes) by day = bin(time_received, 1d), proto, dst_port
		| render columnchart with (kind=stacked)`, Options{})
	if cols[0].Type != TDatetime || cols[3].Type != TLong {
		t.Errorf("column types %v", cols)
	}
	equalRows(t, "daily", sortedRows(got), sortedRows(exp))
}

func TestExecLoadBySourceTop(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	sum := map[flow.Addr]uint64{}
	for _, f := range rows {
		sum[f.src] += f.bytes
	}
	type kv struct {
		a flow.Addr
		b uint64
	}
	var all []kv
	for a, b := range sum {
		all = append(all, kv{a, b})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].b > all[j].b })
	var exp [][]string
	for _, e := range all[:3] {
		exp = append(exp, []string{e.a.String(), fmt.Sprint(e.b)})
	}
	_, got := run(t, db, "flows | summarize total = sum(bytes) by src_addr | top 3 by total", Options{})
	equalRows(t, "top sources", got, exp)
}

func TestExecBetweenPrefixes(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	want := map[string][2]uint64{}
	for _, f := range rows {
		var label string
		switch {
		case inPrefix(f.src, "10.1.0.0/16") && inPrefix(f.dst, "10.2.0.0/16"):
			label = "A->B"
		case inPrefix(f.src, "10.2.0.0/16") && inPrefix(f.dst, "10.1.0.0/16"):
			label = "B->A"
		default:
			continue
		}
		w := want[label]
		w[0] += f.bytes
		w[1]++
		want[label] = w
	}
	var exp [][]string
	for k, v := range want {
		exp = append(exp, []string{k, fmt.Sprint(v[0]), fmt.Sprint(v[1])})
	}
	_, got := run(t, db, `flows
		| where (ipv4_is_in_range(src_addr, "10.1.0.0/16") and ipv4_is_in_range(dst_addr, "10.2.0.0/16"))
		     or (ipv4_is_in_range(src_addr, "10.2.0.0/16") and ipv4_is_in_range(dst_addr, "10.1.0.0/16"))
		| extend label = case(ipv4_is_in_range(src_addr, "10.1.0.0/16"), "A->B", "B->A")
		| summarize bytes = sum(bytes), flows = count() by label
		| order by label asc`, Options{})
	if len(exp) != 2 {
		t.Fatalf("test data should hold both directions, has %v", exp)
	}
	equalRows(t, "prefixes", got, sortedRows(exp))
}

func TestExecAddressFormatting(t *testing.T) {
	rows := genFlows()
	addrs := []string{"::1", "2001:db8::1", "fe80::1:0:0:0", "1:0:0:2::3", "2001:db8:0:0:1::2", "1:2:3:4:5:6:7:8",
		"::ffff:0:1", "::", "10.0.0.1", "255.255.255.255", "0.0.0.0", "1::", "0:1:0:0:0:1:0:0", "abcd:ef01::"}
	for i, a := range addrs {
		rows[i].src = flow.AddrFromNetip(netip.MustParseAddr(a))
	}
	db := openDuck(t, rows)
	// columns named like the formatter's lambda parameters must not confuse it
	_, got := run(t, db, `flows | extend h = "hh", g = "gg"
		| project src_addr, s = tostring(src_addr), t = strcat('<', src_addr, '>'), h, g`, Options{})
	for i, a := range addrs {
		want := rows[i].src.String() // the zero address is absent: ""
		if got[i][0] != want || got[i][1] != want || got[i][2] != "<"+want+">" || got[i][3] != "hh" || got[i][4] != "gg" {
			t.Errorf("%s formats as %v, want %q", a, got[i], want)
		}
	}
	// equality and in() against literals of both families
	_, got = run(t, db, `flows | where src_addr == "2001:db8::1" or src_addr in ("10.0.0.1", "::1") | summarize n = count()`, Options{})
	n := 0
	for _, f := range rows {
		if f.src.String() == "2001:db8::1" || f.src.String() == "10.0.0.1" || f.src.String() == "::1" {
			n++
		}
	}
	equalRows(t, "address equality", got, [][]string{{fmt.Sprint(n)}})
}

func TestExecTimeWindowAndMaxRows(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	from, to := execBase.Add(20*time.Hour), execBase.Add(40*time.Hour)
	n := 0
	for _, f := range rows {
		if !f.recv.Before(from) && f.recv.Before(to) {
			n++
		}
	}
	_, got := run(t, db, "flows | count", Options{From: from, To: to})
	equalRows(t, "window", got, [][]string{{fmt.Sprint(n)}})
	_, got = run(t, db, "NTANetAnalytics | summarize n = count()", Options{From: from, To: to})
	equalRows(t, "window through NTANetAnalytics", got, [][]string{{fmt.Sprint(n)}})
	_, got = run(t, db, "flows | project bytes", Options{MaxRows: 5})
	if len(got) != 5 {
		t.Errorf("MaxRows 5 returned %d rows", len(got))
	}
	// ago() relative to the fixed now: the last 24 hours
	now := execBase.Add(72 * time.Hour)
	n = 0
	for _, f := range rows {
		if f.recv.After(now.Add(-24 * time.Hour)) {
			n++
		}
	}
	_, got = run(t, db, "flows | where time_received > ago(1d) | count", Options{Now: now})
	equalRows(t, "ago", got, [][]string{{fmt.Sprint(n)}})
}

func TestExecAzureCompat(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	want := map[flow.Addr]uint64{}
	for _, f := range rows {
		if f.proto == 6 && f.direction == "egress" && f.action == "allow" && (f.flowType == "to-internet" || f.flowType == "from-internet") {
			want[f.dst] += f.bytes + f.rev
		}
	}
	var exp [][]string
	for a, b := range want {
		exp = append(exp, []string{a.String(), fmt.Sprint(b)})
	}
	_, got := run(t, db, `NTANetAnalytics
		| where SubType == "FlowLog" and FlowType == "ExternalPublic" and L4Protocol == "T"
		| where FlowDirection == "Outbound" and FlowStatus == "Allowed"
		| summarize TotalBytes = sum(BytesSrcToDest + BytesDestToSrc) by DestIp`, Options{})
	equalRows(t, "NTANetAnalytics", sortedRows(got), sortedRows(exp))

	deniedIn := 0
	for _, f := range rows {
		if f.action == "deny" && f.direction == "ingress" {
			deniedIn++
		}
	}
	_, got = run(t, db, `NTANetAnalytics | where FlowDirection == "Inbound" and DeniedInFlows > 0 | summarize n = sum(DeniedInFlows)`, Options{})
	equalRows(t, "DeniedInFlows", got, [][]string{{fmt.Sprint(deniedIn)}})

	// NTAIpDetails: public addresses with their enrichment
	loc := map[flow.Addr]string{}
	for _, f := range rows {
		if f.srcCountry != "" {
			loc[f.src] = f.srcCountry + "/" + f.srcASName
		}
		if f.dstCountry != "" {
			loc[f.dst] = f.dstCountry + "/"
		}
	}
	_, got = run(t, db, "NTAIpDetails | summarize by Ip | order by Ip asc", Options{})
	var ips []string
	for a := range loc {
		ips = append(ips, a.String())
	}
	sort.Strings(ips)
	var exp2 [][]string
	for _, ip := range ips {
		exp2 = append(exp2, []string{ip})
	}
	equalRows(t, "NTAIpDetails", sortedRows(got), exp2)
}

func TestExecJoinUnionLet(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	// bytes sent and received per 10.1.1.x host, joined
	sent, recv := map[flow.Addr]uint64{}, map[flow.Addr]uint64{}
	for _, f := range rows {
		if inPrefix(f.src, "10.1.1.0/24") {
			sent[f.src] += f.bytes
		}
		if inPrefix(f.dst, "10.1.1.0/24") {
			recv[f.dst] += f.bytes
		}
	}
	var exp [][]string
	for a, s := range sent {
		r, ok := recv[a]
		rs := "NULL"
		if ok {
			rs = fmt.Sprint(r)
		}
		exp = append(exp, []string{a.String(), fmt.Sprint(s), rs})
	}
	_, got := run(t, db, `let received = flows | where ipv4_is_in_range(dst_addr, "10.1.1.0/24") | summarize rx = sum(bytes) by host = dst_addr;
		flows
		| where ipv4_is_in_range(src_addr, "10.1.1.0/24")
		| summarize tx = sum(bytes) by host = src_addr
		| join kind=leftouter (received) on host
		| project host, tx, rx`, Options{})
	equalRows(t, "join", sortedRows(got), sortedRows(exp))

	nTCP, nUDP := 0, 0
	for _, f := range rows {
		switch f.proto {
		case 6:
			nTCP++
		case 17:
			nUDP++
		}
	}
	_, got = run(t, db, `let tcp = flows | where proto == 6 | project src_addr, kind = "tcp";
		let udp = flows | where proto == 17 | project src_addr, kind = "udp";
		union tcp, udp | summarize n = count() by kind | order by kind asc`, Options{})
	equalRows(t, "union", got, [][]string{{"tcp", fmt.Sprint(nTCP)}, {"udp", fmt.Sprint(nUDP)}})
}

func TestExecInjectionIsData(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	evil := rows[7].exporter
	lit := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(evil) + "'"
	_, got := run(t, db, "flows | where exporter_name == "+lit+" | project exporter_name", Options{})
	equalRows(t, "injection literal", got, [][]string{{evil}})
	_, got = run(t, db, "flows | where exporter_name contains \"DROP TABLE\" | count", Options{})
	equalRows(t, "injection contains", got, [][]string{{"1"}})
	// a column named like SQL keeps its name and its value
	cols, got := run(t, db, "flows | take 1 | project ['a\"; DROP TABLE flows; --'] = 1", Options{})
	if cols[0].Name != `a"; DROP TABLE flows; --` || got[0][0] != "1" {
		t.Errorf("quoted column: %v %v", cols, got)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM flows").Scan(&n); err != nil || n != len(rows) {
		t.Fatalf("flows table damaged: %d rows, %v", n, err)
	}
}

func TestExecOrderAndCallerTables(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	// order set by sort survives project and take
	byDst := map[uint16]uint64{}
	for _, f := range rows {
		byDst[f.dport] += f.bytes
	}
	var ports []uint16
	for p := range byDst {
		ports = append(ports, p)
	}
	sort.Slice(ports, func(i, j int) bool { return byDst[ports[i]] > byDst[ports[j]] })
	var exp [][]string
	for _, p := range ports[:3] {
		exp = append(exp, []string{fmt.Sprint(p), fmt.Sprint(byDst[p] / 1000)})
	}
	_, got := run(t, db, `flows | summarize b = sum(bytes) by dst_port | sort by b desc
		| project dst_port, kb = b / 1000, b | take 3 | project-away b`, Options{})
	equalRows(t, "sorted", got, exp)

	// a caller-provided enrichment table, joined on the exporter name
	if _, err := db.Exec(`CREATE TABLE exporters_tbl (name VARCHAR, site VARCHAR);
		INSERT INTO exporters_tbl VALUES ('edge-0', 'paris'), ('edge-1', 'oslo')`); err != nil {
		t.Fatal(err)
	}
	bySite := map[string]int{}
	for _, f := range rows {
		switch f.exporter {
		case "edge-0":
			bySite["paris"]++
		case "edge-1":
			bySite["oslo"]++
		}
	}
	opts := Options{Tables: map[string]Table{"exporters": {Relation: "exporters_tbl",
		Columns: []Column{{Name: "name", Type: TString}, {Name: "site", Type: TString}}}}}
	_, got = run(t, db, `flows | join kind=inner (exporters) on $left.exporter_name == $right.name
		| summarize n = count() by site | order by site asc`, opts)
	equalRows(t, "caller table", got, [][]string{{"oslo", fmt.Sprint(bySite["oslo"])}, {"paris", fmt.Sprint(bySite["paris"])}})
}

func TestExecEmptyAddress(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	n := 0
	for _, f := range rows {
		if f.dst.IsZero() {
			n++
		}
	}
	if n == 0 {
		t.Fatal("test data lacks an absent address")
	}
	for _, q := range []string{`flows | where dst_addr == "" | count`, `flows | where isempty(dst_addr) | count`,
		`flows | where tostring(dst_addr) == "" | count`} {
		_, got := run(t, db, q, Options{})
		equalRows(t, q, got, [][]string{{fmt.Sprint(n)}})
	}
}

func TestExecDatetimeFunctions(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	byDay := map[time.Weekday]int{}
	long := 0
	for _, f := range rows {
		byDay[f.recv.Weekday()]++
		if f.end.Sub(f.start) > 5*time.Minute {
			long++
		}
	}
	var exp [][]string
	for d, n := range byDay {
		exp = append(exp, []string{fmt.Sprintf("%.6g", float64(d)), fmt.Sprint(n)})
	}
	_, got := run(t, db, "flows | summarize n = count() by wd = dayofweek(time_received) / 1d", Options{})
	equalRows(t, "dayofweek", sortedRows(got), sortedRows(exp))
	_, got = run(t, db, `flows | where time_end - time_start > 5m | count`, Options{})
	equalRows(t, "duration", got, [][]string{{fmt.Sprint(long)}})
	_, got = run(t, db, `flows | where datetime_add("second", 300, time_start) < time_end | count`, Options{})
	equalRows(t, "datetime_add", got, [][]string{{fmt.Sprint(long)}})
	// Kusto counts period boundaries: 23:00 to the next day's 00:00 is one day
	_, got = run(t, db, `flows | take 1 | project d = datetime_diff("day", datetime(2026-12-01), datetime(2026-11-30 23:00)),
		h = datetime_diff("hour", datetime(2026-11-30 10:59), datetime(2026-11-30 09:01))`, Options{})
	equalRows(t, "datetime_diff", got, [][]string{{"1", "1"}})
}

func TestExecSplitIndex(t *testing.T) {
	db := openDuck(t, genFlows()[:1])
	_, got := run(t, db, `flows | project a = split("x,y,z", ",")[0], b = split("x,y,z", ",", 2), c = split("x,y,z", ",")[-1],
		d = array_length(split("x,y,z", ",")), e = substring("hello", 1, 3), f = strlen("héllo")`, Options{})
	equalRows(t, "split", got, [][]string{{"x", "z", "z", "3", "ell", "5"}})
}

func TestExecGetSchema(t *testing.T) {
	db := openDuck(t, genFlows()[:1])
	_, got := run(t, db, "NTANetAnalytics | project SrcIp, BytesSrcToDest, TimeGenerated | getschema", Options{})
	equalRows(t, "getschema", got, [][]string{{"SrcIp", "0", "ip"}, {"BytesSrcToDest", "1", "long"}, {"TimeGenerated", "2", "datetime"}})
	_, got = run(t, db, "flows | getschema | count", Options{})
	equalRows(t, "flows schema size", got, [][]string{{fmt.Sprint(len(schema.Columns))}})
}

func TestExecAzureLegacyTable(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	// bytes towards the logging interface, per destination port, allowed TCP
	want := map[uint16]uint64{}
	for _, f := range rows {
		if f.proto != 6 || f.action != "allow" {
			continue
		}
		if f.direction == "egress" {
			want[f.dport] += f.rev
		} else {
			want[f.dport] += f.bytes
		}
	}
	var exp [][]string
	for p, b := range want {
		exp = append(exp, []string{fmt.Sprint(p), fmt.Sprint(b)})
	}
	_, got := run(t, db, `AzureNetworkAnalytics_CL
		| where SubType_s == "FlowLog" and FlowStatus_s == "A" and L4Protocol_s == "T"
		| summarize In = sum(InboundBytes_d) by DestPort_d`, Options{})
	equalRows(t, "AzureNetworkAnalytics_CL", sortedRows(got), sortedRows(exp))
}

// TestExecScalarFunctions evaluates functions on constants and on one known
// row; the expected values follow from the definitions.
func TestExecScalarFunctions(t *testing.T) {
	rows := genFlows()[:1]
	f := rows[0]
	f.recv = time.Date(2026, 11, 26, 15, 47, 12, 0, time.UTC) // a Thursday
	f.service = "HTTPS-alt"
	rows[0] = f
	db := openDuck(t, rows)
	cases := []struct{ expr, want string }{
		{"round(2.567, 2)", "2.57"},
		{"abs(-3)", "3"},
		{"ceiling(2.1)", "3"},
		{"sqrt(16.0)", "4"},
		{"pow(2, 10)", "1024"},
		{"log10(1000.0)", "3"},
		{"floor(7.9)", "7"},
		{"bin(1234, 100)", "1200"},
		{"bin(12.5, 5)", "10"},
		{"7 / 2", "3"},
		{"7 / 2.0", "3.5"},
		{"7 % 3", "1"},
		{"tolower('AbC')", "abc"},
		{"toupper(service)", "HTTPS-ALT"},
		{"replace_string('a-b-c', '-', '+')", "a+b+c"},
		{"toint('12')", "12"},
		{"tolong('x')", "NULL"},
		{"toreal('2.5')", "2.5"},
		{"iff(1 > 2, 'yes', 'no')", "no"},
		{"case(1 > 2, 'a', 2 > 1, 'b', 'c')", "b"},
		{"max_of(3, 9, 4)", "9"},
		{"min_of(3, 9, 4)", "3"},
		{"coalesce(tolong('x'), 5)", "5"},
		{"isnull(tolong('x'))", "true"},
		{"isnotnull(5)", "true"},
		{"isempty('')", "true"},
		{"isnotempty(service)", "true"},
		{"not(1 == 1)", "false"},
		{"service =~ 'https-ALT'", "true"},
		{"service !~ 'https-ALT'", "false"},
		{"service == 'https-alt'", "false"},
		{"service in~ ('HTTPS-ALT', 'x')", "true"},
		{"service !in ('HTTPS-alt')", "false"},
		{"service has 'alt'", "true"},
		{"service has 'al'", "false"},
		{"service has_cs 'ALT'", "false"},
		{"service hasprefix 'htt'", "true"},
		{"service hassuffix 'lt'", "true"},
		{"service contains 'PS-A'", "true"},
		{"service contains_cs 'PS-A'", "false"},
		{"service startswith 'https'", "true"},
		{"service !startswith 'https'", "false"},
		{"service endswith 'ALT'", "true"},
		{"service endswith_cs 'ALT'", "false"},
		{"service matches regex '^[A-Z]+-'", "true"},
		{"strcat('a', 1, true)", "a1true"},
		{"tostring(42)", "42"},
		{"startofday(time_received)", "2026-11-26T00:00:00Z"},
		{"startofweek(time_received)", "2026-11-22T00:00:00Z"},
		{"startofmonth(time_received)", "2026-11-01T00:00:00Z"},
		{"startofyear(time_received)", "2026-01-01T00:00:00Z"},
		{"bin(time_received, 1h)", "2026-11-26T15:00:00Z"},
		{"bin(time_received, 15m)", "2026-11-26T15:45:00Z"},
		{"bin(time_received, 7d)", "2026-11-26T00:00:00Z"}, // 7-day bins start on Thursdays (1970-01-01)
		{"hourofday(time_received)", "15"},
		{"dayofmonth(time_received)", "26"},
		{"getmonth(time_received)", "11"},
		{"getyear(time_received)", "2026"},
		{"time_received + 1d", "2026-11-27T15:47:12Z"},
		{"time_received - 30m", "2026-11-26T15:17:12Z"},
		{"(datetime(2026-11-27) - datetime(2026-11-26)) / 1h", "24"},
		{"time_received between (datetime(2026-11-26) .. datetime(2026-11-27))", "true"},
		{"time_received !between (datetime(2026-11-26) .. datetime(2026-11-27))", "false"},
		{"time_received > '2026-11-26'", "true"},
		{"ipv4_is_private('192.168.1.1')", "true"},
		{"ipv4_is_private('8.8.8.8')", "false"},
		{"ip_in_range('2001:db8::5', '2001:db8::/64')", "true"},
		{"ipv4_is_in_any_range('10.2.3.4', '192.168.0.0/16', '10.2.0.0/16')", "true"},
		{"ipv4_is_match('10.1.2.3', '10.1.2.200', 24)", "true"},
		{"-(3 - 5)", "2"},
	}
	var items []string
	for i, c := range cases {
		items = append(items, fmt.Sprintf("c%d = %s", i, c.expr))
	}
	_, got := run(t, db, "flows | project "+strings.Join(items, ", "), Options{})
	for i, c := range cases {
		if got[0][i] != c.want {
			t.Errorf("%s = %s, want %s", c.expr, got[0][i], c.want)
		}
	}
}

func TestExecJoinKinds(t *testing.T) {
	rows := genFlows()
	db := openDuck(t, rows)
	// left: sources in 10.1.0.0/16; right: destinations in 10.1.0.0/16
	left, right := map[flow.Addr]bool{}, map[flow.Addr]bool{}
	for _, f := range rows {
		if inPrefix(f.src, "10.1.0.0/16") {
			left[f.src] = true
		}
		if inPrefix(f.dst, "10.1.0.0/16") || inPrefix(f.dst, "10.2.0.0/16") {
			right[f.dst] = true
		}
	}
	var both, onlyLeft, onlyRight int
	for a := range left {
		if right[a] {
			both++
		} else {
			onlyLeft++
		}
	}
	for a := range right {
		if !left[a] {
			onlyRight++
		}
	}
	if onlyRight == 0 || both == 0 {
		t.Fatalf("test data should exercise every join kind: %d %d %d", both, onlyLeft, onlyRight)
	}
	const l = `flows | where ipv4_is_in_range(src_addr, "10.1.0.0/16") | distinct a = src_addr`
	const r = `(flows | where ipv4_is_in_range(dst_addr, "10.1.0.0/16") or ipv4_is_in_range(dst_addr, "10.2.0.0/16") | distinct b = dst_addr)`
	for kind, want := range map[string]int{
		"inner": both, "leftouter": both + onlyLeft, "rightouter": both + onlyRight,
		"fullouter": both + onlyLeft + onlyRight, "leftsemi": both, "leftanti": onlyLeft,
	} {
		_, got := run(t, db, l+" | join kind="+kind+" "+r+" on $left.a == $right.b | count", Options{})
		equalRows(t, "join kind="+kind, got, [][]string{{fmt.Sprint(want)}})
	}
}

package kql

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

var boundsNow = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)

// a16 is the stored form of a textual address, computed independently of
// the compiler: IPv4 as ::ffff:a.b.c.d.
func a16(s string) [16]byte {
	if s == "" {
		return [16]byte{}
	}
	a := netip.MustParseAddr(s)
	if a.Is4() {
		v4 := a.As4()
		return [16]byte{10: 0xff, 11: 0xff, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}
	}
	return a.As16()
}

func addrList(ss ...string) [][16]byte {
	out := [][16]byte{}
	for _, s := range ss {
		out = append(out, a16(s))
	}
	slices.SortFunc(out, func(x, y [16]byte) int { return bytes.Compare(x[:], y[:]) })
	return out
}

func day(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }

func sameAddrs(a, b [][16]byte) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return slices.Equal(a, b)
}

func sameBounds(a, b Bounds) bool {
	if !sameAddrs(a.SrcAddrs, b.SrcAddrs) || !sameAddrs(a.DstAddrs, b.DstAddrs) || len(a.Times) != len(b.Times) {
		return false
	}
	for k, v := range a.Times {
		w, ok := b.Times[k]
		if !ok || !v.Min.Equal(w.Min) || !v.Max.Equal(w.Max) {
			return false
		}
	}
	return true
}

func TestBoundsRecognised(t *testing.T) {
	geo := Table{Relation: "geo", Columns: []Column{{Name: "ip", Type: TIP}, {Name: "city", Type: TString}}}
	tr := func(min, max time.Time) map[string]TimeBounds {
		return map[string]TimeBounds{"time_received": {Min: min, Max: max}}
	}
	cases := []struct {
		q    string
		opts Options
		want Bounds
	}{
		{q: `flows | where src_addr == "10.1.1.8"`, want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
		{q: `flows | where "10.1.1.8" == src_addr`, want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
		{q: `flows | where src_addr =~ "10.1.1.8"`, want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
		{q: `flows | where src_addr == "::ffff:10.1.1.8"`, want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
		{q: `flows | where src_addr == ""`, want: Bounds{SrcAddrs: addrList("")}},
		{q: `flows | where dst_addr == "2001:db8::1"`, want: Bounds{DstAddrs: addrList("2001:db8::1")}},
		{q: `flows | where dst_addr in ("1.1.1.1", "2001:db8::1", "1.1.1.1")`, want: Bounds{DstAddrs: addrList("1.1.1.1", "2001:db8::1")}},
		{q: `let a = "10.1.1.8"; flows | where src_addr == a`, want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
		// intersections, also across consecutive wheres
		{q: `flows | where src_addr == "10.1.1.8" and src_addr == "10.1.1.9"`, want: Bounds{SrcAddrs: addrList()}},
		{q: `flows | where src_addr in ("10.1.1.8", "10.1.1.9") | where src_addr in ("10.1.1.9", "8.8.8.8")`, want: Bounds{SrcAddrs: addrList("10.1.1.9")}},
		// unrecognised conjuncts are dropped, the others kept
		{q: `flows | where dst_port == 443 and src_addr == "10.1.1.8" and bytes > 5`, want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
		{q: `flows | where (src_addr == "10.1.1.8" and dst_addr == "1.1.1.1") and (src_addr == dst_addr or bytes > 1)`,
			want: Bounds{SrcAddrs: addrList("10.1.1.8"), DstAddrs: addrList("1.1.1.1")}},
		// times
		{q: `flows | where time_received >= datetime(2026-03-03) and time_received < datetime(2026-03-04)`, want: Bounds{Times: tr(day(3, 0), day(4, 0))}},
		{q: `flows | where datetime(2026-03-03) <= time_received`, want: Bounds{Times: tr(day(3, 0), time.Time{})}},
		{q: `flows | where datetime(2026-03-03) > time_received`, want: Bounds{Times: tr(time.Time{}, day(3, 0))}},
		{q: `flows | where time_received > ago(1d)`, want: Bounds{Times: tr(boundsNow.Add(-24*time.Hour), time.Time{})}},
		{q: `flows | where time_start <= now() - 1h`, want: Bounds{Times: map[string]TimeBounds{"time_start": {Max: boundsNow.Add(-time.Hour)}}}},
		{q: `flows | where time_end < now(-2h) and time_end > now()`, want: Bounds{Times: map[string]TimeBounds{"time_end": {Min: boundsNow, Max: boundsNow.Add(-2 * time.Hour)}}}},
		{q: `flows | where time_end between (datetime(2026-03-03 10:00) .. datetime(2026-03-03 11:00))`,
			want: Bounds{Times: map[string]TimeBounds{"time_end": {Min: day(3, 10), Max: day(3, 11)}}}},
		{q: `flows | where time_received == "2026-03-03 10:00:00"`, want: Bounds{Times: tr(day(3, 10), day(3, 10))}},
		{q: `flows | where time_received between ("2026-03-03" .. "2026-03-04")`, want: Bounds{Times: tr(day(3, 0), day(4, 0))}},
		{q: `flows | where time_received in (datetime(2026-03-04), datetime(2026-03-03 10:00))`, want: Bounds{Times: tr(day(3, 10), day(4, 0))}},
		{q: `let t = datetime(2026-03-03) + 1d; flows | where time_received >= t`, want: Bounds{Times: tr(day(4, 0), time.Time{})}},
		{q: `flows | where time_received >= startofday(datetime(2026-03-03 10:30))`, want: Bounds{Times: tr(day(3, 0), time.Time{})}},
		// the SQL literal holds microseconds: the bound is cut the same way
		{q: `flows | where time_received >= datetime(2026-03-03 10:00:00.1234567)`,
			want: Bounds{Times: tr(day(3, 10).Add(123456*time.Microsecond), time.Time{})}},
		// the caller's window (From inclusive, To exclusive) is part of the scan
		{q: `flows | where time_received > datetime(2026-03-03 12:00)`, opts: Options{From: day(3, 0), To: day(4, 0)},
			want: Bounds{Times: tr(day(3, 12), day(4, 0))}},
		{q: `flows | count`, opts: Options{From: day(3, 0)}, want: Bounds{Times: tr(day(3, 0), time.Time{})}},
		// the needle query
		{q: `flows
			| where time_received between (datetime(2026-03-03) .. datetime(2026-03-04))
			| where src_addr == "10.1.1.8" and dst_addr == "136.144.58.113" and dst_port == 443
			| summarize sum(bytes) by bin(time_received, 1h)`,
			want: Bounds{SrcAddrs: addrList("10.1.1.8"), DstAddrs: addrList("136.144.58.113"), Times: tr(day(3, 0), day(4, 0))}},
		// operators after the wheres do not matter; neither does a join with another table
		{q: `flows | where src_addr == "10.1.1.8" | project ip = dst_addr | join kind=leftouter (geo) on ip`,
			opts: Options{Tables: map[string]Table{"geo": geo}}, want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
		{q: `flows | where src_addr == "10.1.1.8" | extend src_addr = dst_addr | where src_addr == "1.1.1.1"`,
			want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
		// the dialect does not matter
		{q: `flows | where src_addr == "10.1.1.8" and time_received >= ago(1h)`, opts: Options{Dialect: ClickHouse},
			want: Bounds{SrcAddrs: addrList("10.1.1.8"), Times: tr(boundsNow.Add(-time.Hour), time.Time{})}},
		// a caller's flows table is the flows table
		{q: `flows | where src_addr == "10.1.1.8"`, opts: Options{Tables: map[string]Table{"flows": FlowsTable()}},
			want: Bounds{SrcAddrs: addrList("10.1.1.8")}},
	}
	for _, tc := range cases {
		if tc.opts.Now.IsZero() {
			tc.opts.Now = boundsNow
		}
		c, err := Compile(tc.q, tc.opts)
		if err != nil {
			t.Errorf("compile %q: %v", tc.q, err)
			continue
		}
		if !sameBounds(c.Bounds, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.q, c.Bounds, tc.want)
		}
	}
}

func TestBoundsUnconstrained(t *testing.T) {
	geo := Table{Relation: "geo", Columns: []Column{{Name: "ip", Type: TIP}}}
	alias := Table{Relation: "FLOWS", TimeColumn: "time_received", Columns: FlowsTable().Columns}
	ren := Table{Relation: "flows", Columns: []Column{{Name: "src_addr", Type: TString}, {Name: "time_received", Type: TString}}}
	cases := []struct {
		q    string
		opts Options
	}{
		// flows read more than once
		{q: `flows | where src_addr == "10.1.1.8" | join (flows) on dst_addr`},
		{q: `flows | where src_addr == "10.1.1.8" | join (flows | where src_addr == "1.1.1.1") on dst_addr`},
		{q: `flows | where src_addr == "10.1.1.8" | union flows`},
		{q: `flows | where src_addr == "10.1.1.8" | union (NTANetAnalytics)`},
		{q: `union flows, flows | where src_addr == "10.1.1.8"`},
		{q: `let x = flows | where dst_addr == "1.1.1.1"; flows | where src_addr == "10.1.1.8" | join (x) on dst_addr`},
		{q: `let x = flows; flows | where src_addr == "10.1.1.8"`},
		{q: `flows | where src_addr == "10.1.1.8" | as X | join (X) on dst_addr`},
		{q: `flows | where src_addr == "10.1.1.8" | join (other) on dst_addr`, opts: Options{Tables: map[string]Table{"other": alias}}},
		// flows is not the source of the main pipeline
		{q: `(flows | where src_addr == "10.1.1.8")`},
		{q: `let x = flows | where src_addr == "10.1.1.8"; x`},
		{q: `NTANetAnalytics | where SrcIp == "10.1.1.8"`},
		{q: `AzureNetworkAnalytics_CL | where SrcIP_s == "10.1.1.8"`},
		{q: `geo | where ip == "10.1.1.8"`, opts: Options{Tables: map[string]Table{"geo": geo}}},
		// the wheres do not follow the scan
		{q: `flows | summarize n = count() by src_addr | where src_addr == "10.1.1.8"`},
		{q: `flows | project src_addr = dst_addr | where src_addr == "10.1.1.8"`},
		{q: `flows | extend src_addr = dst_addr | where src_addr == "10.1.1.8"`},
		{q: `flows | project-rename s = src_addr | where s == "10.1.1.8"`},
		{q: `flows | take 5 | where src_addr == "10.1.1.8"`},
		{q: `flows | extend t = time_start | where time_received > ago(1h)`},
		{q: `let flows = geo | project src_addr = ip; flows | where src_addr == "10.1.1.8"`, opts: Options{Tables: map[string]Table{"geo": geo}}},
		// forms not recognised
		{q: `flows | where time_received >= datetime(1800-01-01)`},
		{q: `flows | where time_received < datetime(2500-01-01)`},
		{q: `flows | where src_addr == "10.1.1.8" or src_addr == "10.1.1.9"`},
		{q: `flows | where not(src_addr == "10.1.1.8")`},
		{q: `flows | where src_addr != "10.1.1.8"`},
		{q: `flows | where src_addr !in ("10.1.1.8")`},
		{q: `flows | where src_addr in~ ("10.1.1.8")`},
		{q: `flows | where src_addr == dst_addr`},
		{q: `flows | where tostring(src_addr) == "10.1.1.8"`},
		{q: `flows | where src_addr has "10.1.1.8"`},
		{q: `flows | where ipv4_is_in_range(src_addr, "10.1.1.0/24")`},
		{q: `flows | where iff(true, src_addr, dst_addr) == "10.1.1.8"`},
		{q: `flows | where time_received > time_start`},
		{q: `flows | where time_received != datetime(2026-03-03)`},
		{q: `flows | where time_received !between (datetime(2026-03-03) .. datetime(2026-03-04))`},
		{q: `flows | where time_received - 1h > ago(1d)`},
		{q: `flows | where bin(time_received, 1d) == datetime(2026-03-03)`},
		{q: `flows | where time_received > ago(1d) or bytes > 0`},
		{q: `flows | where dst_port == 443`},
		// a caller's flows table whose columns are not the stored ones
		{q: `flows | where src_addr == "10.1.1.8" and time_received == "x"`, opts: Options{Tables: map[string]Table{"flows": ren}}},
	}
	for _, tc := range cases {
		tc.opts.Now = boundsNow
		c, err := Compile(tc.q, tc.opts)
		if err != nil {
			t.Errorf("compile %q: %v", tc.q, err)
			continue
		}
		if !sameBounds(c.Bounds, Bounds{}) {
			t.Errorf("%q: got %+v, want no bounds", tc.q, c.Bounds)
		}
	}
}

// satisfies tells whether a row lies within b.
func satisfies(b Bounds, src, dst [16]byte, times map[string]time.Time) string {
	if b.SrcAddrs != nil && !slices.Contains(b.SrcAddrs, src) {
		return "src_addr"
	}
	if b.DstAddrs != nil && !slices.Contains(b.DstAddrs, dst) {
		return "dst_addr"
	}
	for name, tb := range b.Times {
		v, ok := times[name]
		if !ok {
			return "unknown column " + name
		}
		if (!tb.Min.IsZero() && v.Before(tb.Min)) || (!tb.Max.IsZero() && v.After(tb.Max)) {
			return name
		}
	}
	return ""
}

// TestBoundsOracle runs random where clauses through DuckDB and checks that
// every row the SQL returns satisfies the derived bounds, so the bounds
// never skip a file holding an answer. It also checks that the bounds rule
// out rows often enough for the check to mean something.
func TestBoundsOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	now := execBase.Add(72 * time.Hour)
	pool := []string{"10.1.1.8", "10.1.1.9", "136.144.58.113", "2001:db8::1", "::ffff:10.1.1.8", "::", "fe80::1:0:0:0"}
	addrOfPool := func(s string) flow.Addr { return flow.Addr(a16(s)) }
	rows := genFlows()[:120]
	for i := range rows {
		rows[i].src = addrOfPool(pool[r.IntN(len(pool))])
		rows[i].dst = addrOfPool(pool[r.IntN(len(pool))])
		// microsecond instants, some of them equal across rows and columns
		// few distinct instants, so that constants often fall on rows
		rows[i].recv = execBase.Add(time.Duration(r.IntN(72))*time.Hour + time.Duration(r.IntN(3))*time.Microsecond)
		rows[i].start = rows[i].recv.Add(-time.Duration(r.IntN(3)) * time.Minute)
		rows[i].end = rows[i].recv.Add(time.Duration(r.IntN(2)) * time.Microsecond)
		if r.IntN(10) == 0 {
			rows[i].start = rows[i].recv
		}
	}
	db := openDuck(t, rows)
	tcols := []string{"time_received", "time_start", "time_end"}
	// rowTime is near a value of column col (any column when col < 0)
	rowTime := func(col int) time.Time {
		f := rows[r.IntN(len(rows))]
		if col < 0 || r.IntN(3) == 0 {
			col = r.IntN(3)
		}
		return []time.Time{f.recv, f.start, f.end}[col].Add([]time.Duration{0, 0, -time.Microsecond, time.Microsecond, 500, -1}[r.IntN(6)])
	}
	addrLitOf := func() string {
		if r.IntN(8) == 0 {
			return `"` + []string{"", "1.2.3.4", "::1"}[r.IntN(3)] + `"`
		}
		return `"` + pool[r.IntN(len(pool))] + `"`
	}
	timeConst := func(col int) string {
		t := rowTime(col)
		switch r.IntN(6) {
		case 0:
			return fmt.Sprintf(`"%s"`, t.Format("2006-01-02 15:04:05.999999999"))
		case 1:
			return fmt.Sprintf("ago(%ds)", int(now.Sub(t)/time.Second))
		case 2:
			return fmt.Sprintf("now() - %dm", int(now.Sub(t)/time.Minute))
		case 3:
			return fmt.Sprintf("now(-%dh)", int(now.Sub(t)/time.Hour))
		}
		return "datetime(" + t.Format("2006-01-02T15:04:05.999999999Z") + ")"
	}
	ops := []string{"==", "<", "<=", ">", ">=", "!="}
	var conjunct func(depth int) string
	conjunct = func(depth int) string {
		switch k := r.IntN(17); {
		case k < 3:
			col := []string{"src_addr", "dst_addr"}[r.IntN(2)]
			if r.IntN(2) == 0 {
				return addrLitOf() + " == " + col
			}
			return col + []string{" == ", " =~ ", " != "}[r.IntN(3)] + addrLitOf()
		case k < 5:
			col := []string{"src_addr", "dst_addr"}[r.IntN(2)]
			var items []string
			for range 1 + r.IntN(3) {
				items = append(items, addrLitOf())
			}
			return col + []string{" in ", " in ", " !in "}[r.IntN(3)] + "(" + strings.Join(items, ", ") + ")"
		case k < 9:
			i := r.IntN(3)
			op := ops[r.IntN(len(ops))]
			if r.IntN(3) == 0 {
				return timeConst(i) + " " + op + " " + tcols[i]
			}
			return tcols[i] + " " + op + " " + timeConst(i)
		case k < 11:
			i := r.IntN(3)
			not := []string{"", "", "!"}[r.IntN(3)]
			return tcols[i] + " " + not + "between (" + timeConst(i) + " .. " + timeConst(i) + ")"
		case k < 13:
			i := r.IntN(3)
			return tcols[i] + " in (" + timeConst(i) + ", " + timeConst(i) + ")"
		case k == 13:
			return []string{"src_addr == dst_addr", "time_start < time_received", "dst_port == 443", "bytes > 5000"}[r.IntN(4)]
		case depth > 0:
			return conjunct(depth)
		case k == 14:
			return "not(" + conjunct(depth+1) + ")"
		case k == 15:
			return "(" + conjunct(depth+1) + " or " + conjunct(depth+1) + ")"
		}
		return "(" + conjunct(depth+1) + " and " + conjunct(depth+1) + ")"
	}
	var checked, constrained, excluded int
	for range 400 {
		var wheres []string
		for range 1 + r.IntN(2) {
			var cs []string
			for range 1 + r.IntN(3) {
				cs = append(cs, conjunct(0))
			}
			wheres = append(wheres, "where "+strings.Join(cs, " and "))
		}
		q := "flows | " + strings.Join(wheres, " | ") + " | project src_addr, dst_addr, time_received, time_start, time_end"
		opts := Options{Now: now}
		if r.IntN(4) == 0 {
			opts.From = rowTime(0)
			opts.To = opts.From.Add(time.Duration(r.IntN(48)) * time.Hour)
		}
		c, err := Compile(q, opts)
		if err != nil {
			t.Fatalf("compile %q: %v", q, err)
		}
		if !sameBounds(c.Bounds, Bounds{}) {
			constrained++
		}
		res, err := db.Query(c.SQL)
		if err != nil {
			t.Fatalf("run %q: %v", q, err)
		}
		for res.Next() {
			var src, dst string
			var recv, start, end time.Time
			if err := res.Scan(&src, &dst, &recv, &start, &end); err != nil {
				t.Fatal(err)
			}
			checked++
			times := map[string]time.Time{"time_received": recv, "time_start": start, "time_end": end}
			if why := satisfies(c.Bounds, a16(src), a16(dst), times); why != "" {
				t.Fatalf("%q (from %v to %v): row %s %s %v %v %v is outside the bounds on %s: %+v",
					q, opts.From, opts.To, src, dst, recv, start, end, why, c.Bounds)
			}
		}
		if err := res.Close(); err != nil {
			t.Fatal(err)
		}
		for _, f := range rows {
			times := map[string]time.Time{"time_received": f.recv, "time_start": f.start, "time_end": f.end}
			if satisfies(c.Bounds, f.src, f.dst, times) != "" {
				excluded++
			}
		}
	}
	t.Logf("%d queries with bounds, %d matching rows checked, %d table rows ruled out", constrained, checked, excluded)
	if constrained < 150 || checked < 500 || excluded < 5000 {
		t.Errorf("too weak a test: %d queries with bounds, %d rows checked, %d rows ruled out", constrained, checked, excluded)
	}
}

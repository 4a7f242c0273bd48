package kql

import (
	"math/big"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

func TestLexLiterals(t *testing.T) {
	cases := []struct {
		src  string
		kind tokKind
		text string
		d    time.Duration
		tm   time.Time
	}{
		{`"a\"b\\c\n"`, tString, "a\"b\\c\n", 0, time.Time{}},
		{`'single'`, tString, "single", 0, time.Time{}},
		{`‘curly single’`, tString, "curly single", 0, time.Time{}},
		{`“curly double”`, tString, "curly double", 0, time.Time{}},
		{`@"c:\dir\""x"`, tString, `c:\dir\"x`, 0, time.Time{}}, // no escapes; "" is a quote
		{`30s`, tTimespan, "", 30 * time.Second, time.Time{}},
		{`5m`, tTimespan, "", 5 * time.Minute, time.Time{}},
		{`1h`, tTimespan, "", time.Hour, time.Time{}},
		{`7d`, tTimespan, "", 7 * 24 * time.Hour, time.Time{}},
		{`100ms`, tTimespan, "", 100 * time.Millisecond, time.Time{}},
		{`1.5h`, tTimespan, "", 90 * time.Minute, time.Time{}},
		{`10microseconds`, tTimespan, "", 10 * time.Microsecond, time.Time{}},
		{`timespan(1.02:03:04)`, tTimespan, "", 26*time.Hour + 3*time.Minute + 4*time.Second, time.Time{}},
		{`time(00:05:00)`, tTimespan, "", 5 * time.Minute, time.Time{}},
		{`datetime(2026-11-30)`, tDatetime, "", 0, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		{`datetime(2026-11-30 10:15)`, tDatetime, "", 0, time.Date(2026, 11, 30, 10, 15, 0, 0, time.UTC)},
		{`datetime(2026-11-30 10:15:16.5)`, tDatetime, "", 0, time.Date(2026, 11, 30, 10, 15, 16, 5e8, time.UTC)},
		{`datetime("2026-11-30T10:15:16+02:00")`, tDatetime, "", 0, time.Date(2026, 11, 30, 8, 15, 16, 0, time.UTC)},
		{`datetime(2026-11-30T10:15:16Z)`, tDatetime, "", 0, time.Date(2026, 11, 30, 10, 15, 16, 0, time.UTC)},
	}
	for _, tc := range cases {
		toks, err := lex(tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		tk := toks[0]
		if tk.kind != tc.kind || (tc.kind == tString && tk.text != tc.text) || tk.d != tc.d || !tk.t.Equal(tc.tm) {
			t.Errorf("%s: got kind %v text %q d %v t %v", tc.src, tk.kind, tk.text, tk.d, tk.t)
		}
	}
	toks, err := lex("flows | project-away a | where x !contains 'y' and z in~ ('q') and w !in (1) // done")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.text)
	}
	want := []string{"flows", "|", "project-away", "a", "|", "where", "x", "!contains", "y", "and", "z", "in~", "(", "q", ")", "and", "w", "!in", "(", "1", ")", ""}
	if len(got) != len(want) {
		t.Fatalf("tokens %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("token %d = %q, want %q (all %q)", i, got[i], want[i], got)
		}
	}
}

func TestParsePrecedence(t *testing.T) {
	q, err := Parse("flows | where a == 1 or b == 2 and c + 2 * 3 > 4")
	if err != nil {
		t.Fatal(err)
	}
	or := q.Body.Ops[0].(*Where).Pred.(*Binary)
	if or.Op != "or" {
		t.Fatalf("top operator %s, want or", or.Op)
	}
	and := or.R.(*Binary)
	if and.Op != "and" {
		t.Fatalf("right of or is %s, want and", and.Op)
	}
	gt := and.R.(*Binary)
	plus := gt.L.(*Binary)
	if gt.Op != ">" || plus.Op != "+" || plus.R.(*Binary).Op != "*" {
		t.Fatalf("arithmetic parsed as %s(%s(.., %s))", gt.Op, plus.Op, plus.R.(*Binary).Op)
	}
}

func TestParseStatements(t *testing.T) {
	q, err := Parse(`let n = 5; let T = flows | take 1; let U = (flows | count); T | join kind=leftouter (U) on $left.a == $right.b, c | render timechart with (title="x", ycolumns=a, b)`)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Lets) != 3 || q.Lets[0].Scalar == nil || q.Lets[1].Tabular == nil || q.Lets[2].Tabular == nil {
		t.Fatalf("lets %+v", q.Lets)
	}
	j := q.Body.Ops[0].(*Join)
	if j.Kind != "leftouter" || len(j.On) != 2 || j.On[0].Left != "a" || j.On[0].Right != "b" || j.On[1].Left != "c" || j.On[1].Right != "c" {
		t.Fatalf("join %+v", j)
	}
	r := q.Body.Ops[1].(*RenderOp)
	if r.Kind != "timechart" || r.Options["title"] != "x" || r.Options["ycolumns"] != "a,b" {
		t.Fatalf("render %+v", r)
	}
}

// TestPrefixRange checks the blob bounds of address ranges against netip:
// the bounds are inside the prefix and their neighbours are not.
func TestPrefixRange(t *testing.T) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3/32", "192.168.7.0/23", "0.0.0.0/0", "2001:db8::/32", "fe80::1/128", "::/0", "10.1.2.3"} {
		p, err := parseRange(s)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := prefixRange(p)
		in := func(a flow.Addr) bool {
			if a.IsZero() {
				return p.Bits() == 0 // ::/0 covers the all-zero value too
			}
			n := a.Netip()
			if p.Addr().Is4() != n.Is4() {
				return false
			}
			return p.Contains(n)
		}
		if !in(lo) || !in(hi) {
			t.Errorf("%s: bounds %v..%v not inside", s, lo, hi)
		}
		step := func(a flow.Addr, d int64) (flow.Addr, bool) {
			v := new(big.Int).SetBytes(a[:])
			v.Add(v, big.NewInt(d))
			if v.Sign() < 0 || v.BitLen() > 128 {
				return a, false
			}
			var out flow.Addr
			v.FillBytes(out[:])
			return out, true
		}
		if below, ok := step(lo, -1); ok && in(below) {
			t.Errorf("%s: %v below the range is inside", s, below)
		}
		if above, ok := step(hi, 1); ok && in(above) {
			t.Errorf("%s: %v above the range is inside", s, above)
		}
	}
	if _, err := parseRange("10.0.0.0/33"); err == nil {
		t.Error("accepted /33")
	}
}

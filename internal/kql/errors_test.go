package kql

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestErrors checks that bad queries fail with the position of the fault
// and a message saying what was expected and what was found.
func TestErrors(t *testing.T) {
	cases := []struct {
		q         string
		line, col int
		msg       string
	}{
		{"flows | where", 1, 14, "expected an expression, found end of query"},
		{"flows | wher x", 1, 9, "unknown operator 'wher'"},
		{"flows\n| where nosuch == 1", 2, 9, "unknown column or name 'nosuch'"},
		{"flows | where Src_addr == 1", 1, 15, "did you mean 'src_addr'"},
		{"flows | where foo(1)", 1, 15, "unknown function 'foo'"},
		{"flows | where 'abc", 1, 15, "unterminated string"},
		{"flows | where x == 5q", 1, 20, `invalid timespan unit "q"`},
		{"flows | take -1", 1, 14, "non-negative integer constant"},
		{"flows | take bytes", 1, 14, "unknown column or name 'bytes'"},
		{"flows | summarize sum(bytes) by", 1, 32, "expected an expression, found end of query"},
		{"flows | summarize bytes by src_addr", 1, 19, "expected an aggregation"},
		{"flows | summarize bytes + sum(bytes)", 1, 25, "outside an aggregation"},
		{"flows | where sum(bytes) > 1", 1, 15, "sum() is an aggregation; use it in summarize"},
		{"flows | render foo", 1, 9, "unknown render kind 'foo'"},
		{"flows | render timechart | take 1", 1, 9, "render must be the last operator"},
		{"flows | where ipv4_is_in_range(src_addr, exporter_name)", 1, 42, "constant address range"},
		{"flows | where ipv4_is_in_range(src_addr, \"2001:db8::/32\")", 1, 42, "not an IPv4 range"},
		{"flows | where ipv4_is_in_range(exporter_name, \"10.0.0.0/8\")", 1, 32, "needs an address column"},
		{"flows | where src_addr == \"10.0.0.300\"", 1, 27, "'10.0.0.300' is not an IP address"},
		{"flows | where bytes + 'a' > 1", 1, 21, "operator '+' cannot combine long and string"},
		{"flows | where bytes", 1, 15, "where needs a boolean condition, found a long expression"},
		{"flows | where `x` == 1", 1, 15, "unexpected character '`'"},
		{"flows | where x == 1; DROP TABLE flows", 1, 23, "expected '|' or end of query, found 'DROP'"},
		{"flows /* c */", 1, 7, "expected '|' or end of query, found '/'"},
		{"flowz | count", 1, 1, "unknown table 'flowz'"},
		{"Flows | count", 1, 1, "did you mean 'flows'"},
		{"let x = 1;\nx | count", 2, 1, "'x' is a scalar, not a table"},
		{"flows | join (flows) on nope", 1, 25, "unknown column 'nope' on the left side"},
		{"flows | join kind=outer (flows) on src_addr", 1, 19, "unknown join kind 'outer'"},
		{"flows | project a = 1, a = 2", 1, 24, "duplicate column name 'a'"},
		{"flows | project-away nope", 1, 22, "unknown column 'nope'"},
		{"flows | where datetime(2026-13-01) > now()", 1, 15, "invalid datetime"},
		{"flows | where iff(true, 1, 'a') == 1", 1, 15, "iff() branches have different types"},
		{"flows | extend x = bin(time_received, bytes)", 1, 39, "needs a constant bin size"},
		{"flows | where src_addr in (\"10.0.0.1\", dst_port)", 1, 40, "'in' list mixes ip with long"},
		{"flows | where src_addr in (\"10.0.0.1\", exporter_name)", 1, 40, "list of addresses needs constant strings"},
		{"flows\n  | summarize count() by bin(time_received, 1h)\n  | where nope > 0", 3, 11, "unknown column or name 'nope'"},
		{"flows | where time_received > \"yesterday\"", 1, 31, "'yesterday' is not a datetime"},
		{"flows | where src_addr between (\"10.0.0.1\" .. \"x\")", 1, 47, "'x' is not an IP address"},
		{"", 1, 1, "expected a table name or tabular expression, found end of query"},
		{"flows | where x == \"\x00\"", 1, 20, "NUL character"},
		{"flows | where labels matches regex \"(\"", 1, 36, "invalid regular expression"},
		{"flows | summarize percentile(bytes, 101)", 1, 37, "between 0 and 100"},
		{"union", 1, 6, "expected a table name or '(' sub-query ')'"},
		{"flows | union (nope)", 1, 16, "unknown table 'nope'"},
		{"flows | where !x", 1, 15, "expected an expression, found '!x'"},
		{"flows | where x ! y", 1, 17, "unexpected '!'"},
	}
	for _, tc := range cases {
		_, err := Compile(tc.q, Options{})
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: got %v, want a positioned error", tc.q, err)
			continue
		}
		if e.Line != tc.line || e.Col != tc.col || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%q:\n got %d:%d: %s\nwant %d:%d: ...%s...", tc.q, e.Line, e.Col, e.Msg, tc.line, tc.col, tc.msg)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	q := "flows | where " + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500) + " == 1"
	_, err := Compile(q, Options{})
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("deep nesting: %v", err)
	}
	q = strings.Repeat("(", 300) + "flows" + strings.Repeat(")", 300)
	if _, err := Compile(q, Options{}); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("deep sub-queries: %v", err)
	}
	q = "flows | where bytes" + strings.Repeat(" + bytes", 2000) + " > 0"
	if _, err := Compile(q, Options{}); err == nil || !strings.Contains(err.Error(), "too many operators") {
		t.Fatalf("long operator chain: %v", err)
	}
	// the limit is per operator: many operators of moderate size are fine
	q = "flows" + strings.Repeat(" | where bytes"+strings.Repeat(" + bytes", 500)+" > 0", 3)
	if _, err := Compile(q, Options{}); err != nil {
		t.Fatalf("three 500-term filters: %v", err)
	}
	// let bindings that double at every step stop at the size limit
	var b strings.Builder
	b.WriteString("let a0 = \"x\";\n")
	for i := 1; i < 40; i++ {
		b.WriteString("let a" + itoa(i) + " = strcat(a" + itoa(i-1) + ", a" + itoa(i-1) + ");\n")
	}
	b.WriteString("flows | where exporter_name == a39")
	if _, err := Compile(b.String(), Options{}); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("exponential let: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

package kql

import (
	"errors"
	"strings"
	"testing"
)

// sqlString reads the SQL string literal starting at sql[i] (a quote) as
// the dialect's parser would, and returns its value and the index after it.
func sqlString(d Dialect, sql string, i int) (string, int, bool) {
	return sqlQuoted(d, sql, i, '\'')
}

// sqlIdent reads a quoted identifier starting at sql[i].
func sqlIdent(d Dialect, sql string, i int) (string, int, bool) {
	q := byte('"')
	if d == ClickHouse {
		q = '`'
	}
	return sqlQuoted(d, sql, i, q)
}

// sqlQuoted reads what quote q encloses at sql[i]: ClickHouse escapes
// with a backslash, DuckDB by doubling the quote.
func sqlQuoted(d Dialect, sql string, i int, q byte) (string, int, bool) {
	if i >= len(sql) || sql[i] != q {
		return "", i, false
	}
	var b strings.Builder
	for j := i + 1; j < len(sql); j++ {
		c := sql[j]
		switch {
		case d == ClickHouse && c == '\\' && j+1 < len(sql):
			j++
			b.WriteByte(sql[j])
		case c == q && d == DuckDB && j+1 < len(sql) && sql[j+1] == q:
			j++
			b.WriteByte(q)
		case c == q:
			return b.String(), j + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", len(sql), false
}

var hostile = []string{
	`x'; DROP TABLE flows; --`,
	`a' OR '1'='1`,
	`\'; SELECT 1; --`,
	`\\' OR 1=1 --`,
	`/* comment */ x`,
	"back`tick`; DROP",
	`"double" and ''single''`,
	"semi;colon\nnew line\ttab",
	`\x00\x27`,
	"unicode ‘’“” ünï",
}

// kqlLiteral writes s as a KQL double-quoted string.
func kqlLiteral(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
}

// TestInjectionStringsStayLiterals compiles comparisons with hostile
// strings and reads the literal back out of the SQL as the database would:
// it must hold exactly the string and end where the compiler ended it.
func TestInjectionStringsStayLiterals(t *testing.T) {
	for _, d := range []Dialect{DuckDB, ClickHouse} {
		for _, s := range hostile {
			c, err := Compile("flows | where exporter_name == "+kqlLiteral(s)+" | count", Options{Dialect: d})
			if err != nil {
				t.Fatalf("%s %q: %v", d.Name(), s, err)
			}
			marker := d.QuoteIdent("exporter_name") + " = "
			i := strings.Index(c.SQL, marker)
			if i < 0 {
				t.Fatalf("%s: comparison not found in %s", d.Name(), c.SQL)
			}
			v, end, ok := sqlString(d, c.SQL, i+len(marker))
			if !ok || v != s || !strings.HasPrefix(c.SQL[end:], ")") {
				t.Errorf("%s: %q became literal %q (ok %v), followed by %.20q", d.Name(), s, v, ok, c.SQL[end:])
			}
		}
	}
}

func TestInjectionIdentifiersStayQuoted(t *testing.T) {
	for _, d := range []Dialect{DuckDB, ClickHouse} {
		for _, s := range hostile {
			if strings.ContainsAny(s, "\x00\n") {
				continue
			}
			q := "flows | project [" + kqlLiteral(s) + "] = 1"
			c, err := Compile(q, Options{Dialect: d})
			if err != nil {
				t.Fatalf("%s %q: %v", d.Name(), q, err)
			}
			if c.Columns[0].Name != s {
				t.Errorf("column name %q, want %q", c.Columns[0].Name, s)
			}
			marker := "SELECT 1 AS "
			i := strings.Index(c.SQL, marker)
			v, end, ok := sqlIdent(d, c.SQL, i+len(marker))
			if !ok || v != s || !strings.HasPrefix(c.SQL[end:], " FROM") {
				t.Errorf("%s: identifier %q read back as %q (ok %v), followed by %.20q", d.Name(), s, v, ok, c.SQL[end:])
			}
		}
	}
}

// TestInjectionRejected lists attempts to reach SQL that is not KQL: each
// must fail with a positioned error, never compile.
func TestInjectionRejected(t *testing.T) {
	for _, q := range []string{
		"flows; DROP TABLE flows",
		"flows | where 1 == 1; DELETE FROM flows",
		"flows | where exporter_name == 'a' -- comment",
		"flows | where exporter_name == 'a' /* c */",
		"flows | where pg_sleep(10)",
		"read_parquet('/etc/passwd')",
		"flows | join (read_csv('/etc/passwd')) on x",
		"flows | project x = `id`",
		"flows | where exporter_name == 'a' union select 1",
		"flows | extend x = system('ls')",
		"flows | summarize getenv('HOME')",
		"flows | where src_addr == \"1.2.3.4'; --\"",
		"flows | where ipv4_is_in_range(src_addr, \"10.0.0.0/8' OR 1=1\")",
		"flows | take 1; ATTACH 'x.db'",
		"flows | sort by bytes; --",
		"flows | where time_received > datetime(2026-01-01'); DROP TABLE flows; --)",
		"flows | render timechart with (title='x'); DROP TABLE flows",
	} {
		_, err := Compile(q, Options{})
		var e *Error
		if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
			t.Errorf("%q: got %v, want a positioned error", q, err)
		}
	}
}

func FuzzQuoteString(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range []Dialect{DuckDB, ClickHouse} {
			lit := d.QuoteString(s)
			v, end, ok := sqlString(d, lit, 0)
			if !ok || v != s || end != len(lit) {
				t.Fatalf("%s: %q quoted as %s reads back as %q", d.Name(), s, lit, v)
			}
			id := d.QuoteIdent(s)
			v, end, ok = sqlIdent(d, id, 0)
			if !ok || v != s || end != len(id) {
				t.Fatalf("%s: identifier %q quoted as %s reads back as %q", d.Name(), s, id, v)
			}
		}
	})
}

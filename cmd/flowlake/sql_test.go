package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func runSQL(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	rootCmd.SetArgs(append([]string{"sql"}, args...))
	err := rootCmd.Execute()
	return out.String(), err
}

func TestSQLCommandFormats(t *testing.T) {
	dir := t.TempDir()
	q := "SELECT ip('10.1.1.8') AS addr, 7::UBIGINT AS n, TIMESTAMP '2026-03-03 10:00:00' AS t, 'a,b' AS s FROM flows RIGHT JOIN (SELECT 1) ON true"
	out, err := runSQL(t, "--data-dir", dir, "--format", "csv", q)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	want := [][]string{{"addr", "n", "t", "s"}, {"10.1.1.8", "7", "2026-03-03T10:00:00Z", "a,b"}}
	if len(recs) != 2 || strings.Join(recs[0], "|") != strings.Join(want[0], "|") || strings.Join(recs[1], "|") != strings.Join(want[1], "|") {
		t.Errorf("csv = %q, want %q", recs, want)
	}

	out, err = runSQL(t, "--data-dir", dir, "--format", "json", q)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0]["addr"] != "10.1.1.8" || rows[0]["n"] != float64(7) || rows[0]["s"] != "a,b" {
		t.Errorf("json = %v", rows)
	}

	out, err = runSQL(t, "--data-dir", dir, "--format", "jsonl", "SELECT * FROM range(3) t(x)")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || lines[2] != `{"x":2}` {
		t.Errorf("jsonl = %q", out)
	}

	out, err = runSQL(t, "--data-dir", dir, "--format", "table", "SELECT count(*) AS flows FROM flows")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "flows") || !strings.Contains(out, "(1 rows)") {
		t.Errorf("table = %q", out)
	}

	if _, err := runSQL(t, "--data-dir", dir, "--format", "csv", "COPY (SELECT 1) TO '/tmp/x.csv'"); err == nil {
		t.Error("COPY accepted")
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                          {},
		"24h":                       now.Add(-24 * time.Hour),
		"2026-03-01":                time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		"2026-03-01 10:30":          time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC),
		"2026-03-01T10:30:05Z":      time.Date(2026, 3, 1, 10, 30, 5, 0, time.UTC),
		"2026-03-01T12:30:05+02:00": time.Date(2026, 3, 1, 10, 30, 5, 0, time.UTC),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWhen("yesterday-ish", now); err == nil {
		t.Error("garbage accepted")
	}
}

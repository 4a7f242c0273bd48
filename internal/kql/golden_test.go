package kql

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden .sql files from the compiler's output")

// goldenNow fixes now() so that ago() compiles to the same literal every run.
var goldenNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// goldenOptions reads "// options: from=... to=... maxrows=N" from a comment
// line of a .kql file.
func goldenOptions(t *testing.T, src string) Options {
	opts := Options{Now: goldenNow}
	var rest string
	for _, line := range strings.Split(src, "\n") {
		if r, ok := strings.CutPrefix(line, "// options:"); ok {
			rest = r
		}
	}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "from", "to":
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				t.Fatalf("bad option %s: %v", f, err)
			}
			if k == "from" {
				opts.From = tm
			} else {
				opts.To = tm
			}
		case "maxrows":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("bad option %s: %v", f, err)
			}
			opts.MaxRows = n
		default:
			t.Fatalf("unknown option %s", f)
		}
	}
	return opts
}

// TestGolden compiles testdata/golden/*.kql with both dialects and compares
// the SQL, the result columns and the render hint with the reviewed .sql
// files next to them. Run with -update after a deliberate change and review
// the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.kql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden queries: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".kql")
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []Dialect{DuckDB, ClickHouse} {
			t.Run(name+"/"+d.Name(), func(t *testing.T) {
				opts := goldenOptions(t, string(src))
				opts.Dialect = d
				c, err := Compile(string(src), opts)
				if err != nil {
					t.Fatalf("compile: %v", err)
				}
				got := describe(c)
				want := strings.TrimSuffix(file, ".kql") + "." + d.Name() + ".sql"
				if *update {
					if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				exp, err := os.ReadFile(want)
				if err != nil {
					t.Fatalf("%v (run go test -run TestGolden -update, then review)", err)
				}
				if got != string(exp) {
					t.Errorf("%s differs from the compiler output:\n--- got\n%s\n--- want\n%s", want, got, exp)
				}
			})
		}
	}
}

// describe renders a compiled query as the golden file text: the SQL, then
// the columns and render hint as SQL comments.
func describe(c *Compiled) string {
	var b strings.Builder
	b.WriteString(c.SQL)
	b.WriteString(";\n-- columns:")
	for _, col := range c.Columns {
		b.WriteString(" " + col.Name + ":" + string(col.Type))
	}
	b.WriteString("\n")
	if c.Render != nil {
		b.WriteString("-- render: " + c.Render.Kind)
		keys := make([]string, 0, len(c.Render.Options))
		for k := range c.Render.Options {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			b.WriteString(" " + k + "=" + strconv.Quote(c.Render.Options[k]))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

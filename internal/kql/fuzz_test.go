package kql

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.kql")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range hostile {
		f.Add("flows | where exporter_name == " + kqlLiteral(s))
	}
	f.Add("flows | where " + "((((((((((1))))))))))" + " == 1")
	f.Add("let a = 1; let b = a + a; flows | extend x = b * b, y = x | top 3 by y")
	f.Add("datetime(2026-01-01) timespan(1.02:03:04) 1e3 .5 0x1 @'a''b' ['c']")
}

// FuzzParse: any input either parses or fails with a positioned error;
// it never panics or hangs (token and depth limits).
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		if q.Body == nil {
			t.Fatal("parsed query without body")
		}
	})
}

// FuzzCompile: compiling with either dialect never panics, errors carry a
// position, and a successful compile announces its columns.
func FuzzCompile(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		for _, d := range []Dialect{DuckDB, ClickHouse} {
			c, err := Compile(src, Options{Dialect: d, Now: goldenNow, MaxRows: 10})
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
					t.Fatalf("%s: error without position: %v", d.Name(), err)
				}
				continue
			}
			if c.SQL == "" || len(c.Columns) == 0 {
				t.Fatalf("%s: empty result for %q: %+v", d.Name(), src, c)
			}
		}
	})
}

package netflow

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowlake/flowlake/internal/testenv/capture"
)

// captureFiles lists the NetFlow/IPFIX captures of testdata.
func captureFiles(t testing.TB) []string {
	t.Helper()
	return capture.Files(t, "netflow5/*", "netflow9/*", "ipfix/*")
}

func TestCaptures(t *testing.T) {
	for _, path := range captureFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			d, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			outs, errs := capture.DecodeFile(t, d, path)
			flows, nerr := 0, 0
			for i, err := range errs {
				flows += outs[i].Flows.Len()
				if err != nil {
					nerr++
					if !errors.Is(err, ErrMalformed) {
						t.Errorf("packet %d: error does not wrap ErrMalformed: %v", i, err)
					}
					t.Logf("packet %d: %v", i, err)
				}
			}
			var counted uint64
			for _, s := range d.Stats() {
				counted += s.Errors
			}
			if counted != uint64(nerr) {
				t.Errorf("stats count %d errors, Decode returned %d", counted, nerr)
			}
			if strings.Contains(path, "malformed") {
				if nerr == 0 {
					t.Errorf("malformed capture decoded without error (%d flows)", flows)
				}
				return
			}
			if nerr > 0 {
				t.Errorf("%d of %d datagrams failed", nerr, len(errs))
			}
			t.Logf("%d datagrams, %d flows, stats %+v", len(errs), flows, d.Stats())
		})
	}
}

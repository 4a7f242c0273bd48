package netflow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/pcapfile"
)

const testdataDir = "../../testdata/pcap"

// captureFiles lists the NetFlow/IPFIX captures of testdata.
func captureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"netflow5", "netflow9", "ipfix"} {
		m, err := filepath.Glob(filepath.Join(testdataDir, dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no captures found")
	}
	return files
}

// readDatagrams returns the datagrams of a pcap file, or the messages of an
// IPFIX file (RFC 5655: messages back to back).
func readDatagrams(t testing.TB, path string) []pcapfile.Datagram {
	t.Helper()
	if strings.HasSuffix(path, ".ipfix") {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var ds []pcapfile.Datagram
		src := netip.MustParseAddrPort("192.0.2.1:40000")
		for len(b) >= 4 {
			l := int(binary.BigEndian.Uint16(b[2:]))
			if l < 16 || l > len(b) {
				t.Fatalf("%s: bad IPFIX file message length %d", path, l)
			}
			ds = append(ds, pcapfile.Datagram{Src: src, Time: time.Unix(1700000000, 0), Payload: b[:l]})
			b = b[l:]
		}
		return ds
	}
	ds, err := pcapfile.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// decodeFile feeds every datagram of a capture through one Decoder and
// returns the flows of each datagram and the errors.
func decodeFile(t testing.TB, d *Decoder, path string) (perPacket []flow.Decoded, errs []error) {
	t.Helper()
	for _, dg := range readDatagrams(t, path) {
		var out flow.Decoded
		err := d.Decode(dg.Payload, dg.Src, dg.Time, &out)
		perPacket = append(perPacket, out)
		errs = append(errs, err)
	}
	return perPacket, errs
}

func TestCaptures(t *testing.T) {
	for _, path := range captureFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			d, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			outs, errs := decodeFile(t, d, path)
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

// Package capture gives decoder tests the packet captures of testdata/pcap
// and feeds them through a decoder.
package capture

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/pcapfile"
	"github.com/flowlake/flowlake/internal/testenv"
)

// The exporter and receive time Decode uses.
var (
	Exporter = netip.MustParseAddrPort("192.0.2.10:50000")
	Received = time.Unix(1700000000, 0)
)

// Decoder is what the NetFlow/IPFIX and sFlow decoders have in common.
type Decoder interface {
	Decode(pkt []byte, exporter netip.AddrPort, received time.Time, out *flow.Decoded) error
}

// Path is the path of rel under testdata/pcap.
func Path(t testing.TB, rel string) string {
	t.Helper()
	return testenv.Testdata(t, "pcap", filepath.FromSlash(rel))
}

// Files lists the captures matching the glob patterns (relative to
// testdata/pcap, such as "netflow9/*"), and fails the test when there are
// none.
func Files(t testing.TB, patterns ...string) []string {
	t.Helper()
	var files []string
	for _, p := range patterns {
		m, err := filepath.Glob(Path(t, p))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no captures match %q", patterns)
	}
	return files
}

// Datagrams returns the datagrams of a pcap file, or the messages of an
// IPFIX file (.ipfix, RFC 5655: messages back to back).
func Datagrams(t testing.TB, path string) []pcapfile.Datagram {
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

// DecodeFile feeds every datagram of a capture through d and returns the
// output and error of each.
func DecodeFile(t testing.TB, d Decoder, path string) (outs []flow.Decoded, errs []error) {
	t.Helper()
	for _, dg := range Datagrams(t, path) {
		var out flow.Decoded
		err := d.Decode(dg.Payload, dg.Src, dg.Time, &out)
		outs = append(outs, out)
		errs = append(errs, err)
	}
	return outs, errs
}

// Decode decodes one datagram from Exporter at Received and fails the test
// on error.
func Decode(t testing.TB, d Decoder, pkt []byte) *flow.Decoded {
	t.Helper()
	var out flow.Decoded
	if err := d.Decode(pkt, Exporter, Received, &out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return &out
}

// Row is row i of b as a Record.
func Row(b *flow.Batch, i int) flow.Record {
	var r flow.Record
	b.Row(i, &r)
	return r
}

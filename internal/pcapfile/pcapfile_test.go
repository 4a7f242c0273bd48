package pcapfile

import (
	"path/filepath"
	"testing"
)

// The capture wraps a softflowd NetFlow v5 datagram as documented in
// testdata/README.md: 192.0.2.1:40000 -> 192.0.2.2:2055.
func TestReadFile(t *testing.T) {
	ds, err := ReadFile(filepath.Join("..", "..", "testdata", "pcap", "netflow5", "bitkeks-softflowd-nfv5-3flows.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("got %d datagrams, want 1", len(ds))
	}
	d := ds[0]
	if d.Src.String() != "192.0.2.1:40000" || d.Dst.String() != "192.0.2.2:2055" {
		t.Errorf("addresses %v -> %v", d.Src, d.Dst)
	}
	// NetFlow v5 header (24 bytes) + 3 records of 48 bytes.
	if len(d.Payload) != 24+3*48 || d.Payload[1] != 5 {
		t.Errorf("payload of %d bytes, version byte %d", len(d.Payload), d.Payload[1])
	}
	if d.Time.Unix() != 1700000000 {
		t.Errorf("time %v", d.Time)
	}
}

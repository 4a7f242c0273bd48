package textfield

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
)

func TestUint(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "65535": 65535, "18446744073709551615": 1<<64 - 1} {
		if v, err := Uint([]byte(in), 1<<64-1); err != nil || v != want {
			t.Errorf("%s: %d %v", in, v, err)
		}
	}
	for _, in := range []string{"", "-1", "1a", "18446744073709551616", " 1"} {
		if _, err := Uint([]byte(in), 1<<64-1); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	if _, err := Uint([]byte("65536"), 65535); err != ErrRange {
		t.Errorf("65536 > max: %v", err)
	}
}

func TestAddr(t *testing.T) {
	for _, in := range []string{"10.0.0.1", "255.255.255.255", "0.0.0.0", "2001:db8::1", "::ffff:10.0.0.1", "::"} {
		a, err := Addr([]byte(in))
		if err != nil || a != flow.AddrFromNetip(netip.MustParseAddr(in)) {
			t.Errorf("%s: %v %v", in, a, err)
		}
	}
	for _, in := range []string{"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1..2.3", "01234.1.1.1", "fe80::1%eth0", "1.2.3.4 ", "x"} {
		if _, err := Addr([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestLabels(t *testing.T) {
	var l Labels
	if l.String() != "" || l.Bytes() != nil {
		t.Error("empty labels not empty")
	}
	l.Add("a", []byte("x\"y\\z\n"))
	l.Add("skip", nil)
	l.Add("b", []byte("é"))
	var m map[string]string
	if err := json.Unmarshal([]byte(l.String()), &m); err != nil || m["a"] != "x\"y\\z\n" || m["b"] != "é" || len(m) != 2 {
		t.Errorf("%s: %v %v", l.String(), m, err)
	}
	if string(l.Bytes()) != l.String() {
		t.Error("Bytes and String differ")
	}
}

// FuzzAddr checks the hand-written IPv4 path against net/netip.
func FuzzAddr(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "1.2.3.4", "2001:db8::1", "300.1.1.1", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Addr([]byte(s))
		n, nerr := netip.ParseAddr(s)
		if nerr == nil && n.Zone() == "" {
			if err != nil || a != flow.AddrFromNetip(n) {
				t.Fatalf("%q: got %v %v, netip %v", s, a, err, n)
			}
		} else if err == nil {
			t.Fatalf("%q accepted, netip says %v", s, nerr)
		}
	})
}

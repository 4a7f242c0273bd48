package services

import "testing"

func TestOf(t *testing.T) {
	cases := []struct {
		proto        uint8
		sport, dport uint16
		want         string
	}{
		{6, 51000, 443, "https"},
		{6, 443, 51000, "https"}, // reply direction
		{17, 53124, 53, "domain"},
		{6, 51000, 22, "ssh"},
		{17, 51000, 123, "ntp"},
		{6, 51000, 51001, ""},
		{1, 0, 0, ""},        // icmp has no ports
		{6, 80, 443, "http"}, // both named: lower port wins
		{132, 40000, 5672, "amqp"},
	}
	for _, c := range cases {
		if got := Of(c.proto, c.sport, c.dport); got != c.want {
			t.Errorf("Of(%d, %d, %d) = %q, want %q", c.proto, c.sport, c.dport, got, c.want)
		}
	}
	if n := Name(17, 161); n != "snmp" {
		t.Errorf("Name(udp, 161) = %q", n)
	}
}

func TestTableParsed(t *testing.T) {
	n := 0
	for _, names := range byPort {
		for _, s := range names {
			if s != "" {
				n++
			}
		}
	}
	if n < 250 {
		t.Fatalf("only %d services parsed from the embedded table", n)
	}
}

// TestNamedBitsMatchTable checks the bitset Of consults first against the
// names themselves, for every port of every protocol.
func TestNamedBitsMatchTable(t *testing.T) {
	for idx, names := range byPort {
		for port, s := range names {
			if isNamed(idx, uint16(port)) != (s != "") {
				t.Fatalf("protocol index %d port %d: bit %v, name %q", idx, port, isNamed(idx, uint16(port)), s)
			}
		}
	}
}

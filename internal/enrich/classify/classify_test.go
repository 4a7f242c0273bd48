package classify

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

func TestAddrClass(t *testing.T) {
	cases := map[string]Class{
		"10.1.2.3": Private, "172.16.0.1": Private, "192.168.1.1": Private, "100.64.0.1": Private,
		"127.0.0.1": Private, "169.254.1.1": Private, "fd00::1": Private, "fe80::1": Private,
		"::ffff:10.0.0.1": Private, "8.8.8.8": Public, "2001:4860::8888": Public,
		"172.31.255.255": Private, "172.32.0.1": Public, "100.128.0.1": Public, "11.0.0.1": Public, "240.0.0.1": Other,
		"0.0.0.0": Other, "224.0.0.5": Other, "ff02::1": Other, "255.255.255.255": Other, "::": Other,
	}
	for ip, want := range cases {
		if got := AddrClass(netip.MustParseAddr(ip)); got != want {
			t.Errorf("AddrClass(%s) = %d, want %d", ip, got, want)
		}
		if got := FlowAddrClass(flow.MustParseAddr(ip)); got != want {
			t.Errorf("FlowAddrClass(%s) = %d, want %d", ip, got, want)
		}
	}
}

func TestFlowType(t *testing.T) {
	par := End{Known: true, Site: "paris", Class: Private}
	par2 := End{Known: true, Site: "paris", Class: Public}
	lyon := End{Known: true, Site: "lyon", Class: Private}
	inet := End{Class: Public}
	priv := End{Class: Private}
	none := End{Class: Other}
	cases := []struct {
		src, dst End
		want     string
	}{
		{par, par2, "intra-network"},
		{par, lyon, "inter-site"},
		{par, inet, "to-internet"},
		{inet, lyon, "from-internet"},
		{inet, inet, "internet"},
		{par, priv, "unknown-private"},
		{priv, inet, "unknown-private"},
		{priv, priv, "unknown-private"},
		{none, none, "unknown"},
		{par, none, "unknown"},
	}
	for _, c := range cases {
		got := FlowType(c.src, c.dst)
		if want := flow.EnumValue(schema.FlowTypes, c.want); got != want {
			t.Errorf("FlowType(%+v, %+v) = %s, want %s", c.src, c.dst, schema.FlowTypes[got], c.want)
		}
	}
}

// TestFlowAddrClassAgrees checks the byte fast path against netip's rules on
// every /16 of the IPv4 space.
func TestFlowAddrClassAgrees(t *testing.T) {
	for hi := range 65536 {
		a := netip.AddrFrom4([4]byte{byte(hi >> 8), byte(hi), 1, 1})
		if got, want := FlowAddrClass(flow.AddrFromNetip(a)), AddrClass(a); got != want {
			t.Fatalf("%s: fast %d, netip %d", a, got, want)
		}
	}
}

// TestClass4 checks the table look-up against the branchy classification
// on every /16 (the class of an IPv4 address depends on its first two
// octets only) and on a few addresses spelled out.
func TestClass4(t *testing.T) {
	for hi := range 1 << 16 {
		a := [4]byte{byte(hi >> 8), byte(hi), byte(hi * 7), byte(hi * 13)}
		if got, want := Class4(a), FlowAddrClass(flow.AddrFrom4(a)); got != want {
			t.Fatalf("%v: Class4 %d, FlowAddrClass %d", a, got, want)
		}
	}
	for s, want := range map[string]Class{"10.1.2.3": Private, "172.31.0.1": Private, "172.32.0.1": Public, "100.127.0.1": Private,
		"100.128.0.1": Public, "8.8.8.8": Public, "0.1.2.3": Other, "224.0.0.1": Other, "255.255.255.255": Other, "169.254.1.1": Private} {
		if got := Class4(netip.MustParseAddr(s).As4()); got != want {
			t.Errorf("%s: got %d, want %d", s, got, want)
		}
	}
}

// TestFlowTypeCode checks the table against FlowType on every combination
// of classes, known flags and sites.
func TestFlowTypeCode(t *testing.T) {
	sites := []string{"", "paris", "lyon"}
	for _, sc := range []Class{Other, Private, Public} {
		for _, dc := range []Class{Other, Private, Public} {
			for _, sk := range []bool{false, true} {
				for _, dk := range []bool{false, true} {
					for _, ss := range sites {
						for _, ds := range sites {
							s, d := End{Known: sk, Site: ss, Class: sc}, End{Known: dk, Site: ds, Class: dc}
							if !sk {
								s.Site = ""
							}
							if !dk {
								d.Site = ""
							}
							want := FlowType(s, d)
							if got := FlowTypeCode(Code(sc, sk), Code(dc, dk), s.Site == d.Site); got != want {
								t.Fatalf("%+v %+v: FlowTypeCode %d, FlowType %d", s, d, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestFlowAddrClass6Agrees checks the IPv6 fast path against netip's rules
// on random addresses of every first byte.
func TestFlowAddrClass6Agrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for b0 := range 256 {
		for range 200 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			b[0] = byte(b0)
			if rng.IntN(4) == 0 {
				clear(b[1:15]) // ::1, ::, fe80::1 and the like
			}
			a := netip.AddrFrom16(b)
			if got, want := FlowAddrClass(flow.AddrFromNetip(a)), AddrClass(a); got != want {
				t.Fatalf("%v: FlowAddrClass %d, AddrClass %d", a, got, want)
			}
		}
	}
}

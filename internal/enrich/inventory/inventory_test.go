package inventory

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/testenv"
)

func TestHistoryAndFlowTime(t *testing.T) {
	s := NewStore()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	t2 := t1.Add(time.Hour)
	a := netip.MustParseAddr("10.0.0.5")
	b := netip.MustParseAddr("2001:db8::5")
	s.Update("file", []Entry{{Addr: a, Name: "web-1", Host: "esx1"}, {Addr: b, Name: "v6"}}, t0)
	s.Update("file", []Entry{{Addr: a, Name: "web-renamed", Host: "esx1"}, {Addr: b, Name: "v6"}}, t1)
	s.Update("file", []Entry{{Addr: a, Name: "web-renamed", Host: "esx1"}}, t2)

	sn := s.Snapshot()
	ka, kb := flow.AddrFromNetip(a), flow.AddrFromNetip(b)
	check := func(k flow.Addr, at time.Time, want string) {
		t.Helper()
		v := sn.Lookup(k, at.UnixNano())
		got := ""
		if v != nil {
			got = v.Name
		}
		if got != want {
			t.Errorf("%s at %s = %q, want %q", k, at, got, want)
		}
	}
	check(ka, t0.Add(-time.Minute), "web-1") // before first observation
	check(ka, t0.Add(time.Minute), "web-1")
	check(ka, t1.Add(-time.Nanosecond), "web-1")
	check(ka, t1, "web-renamed")
	check(ka, t2.Add(time.Hour), "web-renamed")
	check(kb, t1, "v6")
	check(kb, t2.Add(time.Minute), "") // gone from the inventory
	check(flow.MustParseAddr("10.9.9.9"), t1, "")

	h := s.History()
	if len(h) != 3 {
		t.Fatalf("history has %d rows, want 3: %+v", len(h), h)
	}
	if h[0].Name != "web-1" || h[0].ValidTo != t1.UnixNano() || h[1].Name != "web-renamed" || h[1].ValidTo != 0 || h[2].ValidTo != t2.UnixNano() {
		t.Errorf("history %+v", h)
	}
	// Another source does not close versions it does not own.
	s.Update("vcenter", nil, t2.Add(time.Hour))
	if v := s.Snapshot().Lookup(ka, t2.Add(2*time.Hour).UnixNano()); v == nil || v.Name != "web-renamed" {
		t.Errorf("vcenter update closed a file entry: %+v", v)
	}
}

func TestLoadFile(t *testing.T) {
	csvBody := "addr,name,host,cluster,datacenter,tags\n10.0.0.5,web-1,esx1,c1,dc1,env=prod;app=web\n2001:db8::5,v6,esx2,c1,dc1,\n"
	jsonBody := `[
  {"addr": "10.0.0.5", "name": "web-1", "host": "esx1", "cluster": "c1", "datacenter": "dc1", "tags": {"env": "prod", "app": "web"}},
  {"addr": "2001:db8::5", "name": "v6", "host": "esx2", "cluster": "c1", "datacenter": "dc1"}
]`
	for _, f := range []struct{ name, body string }{{"i.csv", csvBody}, {"i.json", jsonBody}} {
		es, err := LoadFile(testenv.WriteFile(t, f.name, f.body))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		want := []Entry{
			{Addr: netip.MustParseAddr("10.0.0.5"), Name: "web-1", Host: "esx1", Cluster: "c1", Datacenter: "dc1", Tags: "app=web;env=prod"},
			{Addr: netip.MustParseAddr("2001:db8::5"), Name: "v6", Host: "esx2", Cluster: "c1", Datacenter: "dc1"},
		}
		if len(es) != len(want) {
			t.Fatalf("%s: %d entries", f.name, len(es))
		}
		for i := range want {
			if es[i] != want[i] {
				t.Errorf("%s[%d] = %+v, want %+v", f.name, i, es[i], want[i])
			}
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"a.csv", "addr,name\n10.0.0.1,a\nnot-an-ip,b\n", ":3:"},
		{"b.csv", "name\nx\n", ":1:"},
		{"c.json", "[\n {\"addr\": \"10.0.0.1\"},\n {\"addr\": \"bad\"}\n]", ":3:"},
		{"d.json", "[\n {\"addr\": \"10.0.0.1\"},\n {\"addr\": \n]", ":4:"},
		{"e.json", "{}", ":1:"},
	}
	for _, c := range cases {
		p := testenv.WriteFile(t, c.name, c.body)
		_, err := LoadFile(p)
		if err == nil || !strings.Contains(err.Error(), p+c.want) {
			t.Errorf("%s: error %v, want %s%s", c.name, err, p, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("addr,name\n10.0.0.1,a\n", false)
	f.Add(`[{"addr":"10.0.0.1","name":"a","tags":{"k":"v"}}]`, true)
	f.Fuzz(func(t *testing.T, body string, isJSON bool) {
		var es []Entry
		var err error
		if isJSON {
			es, err = parseJSON("f.json", []byte(body))
		} else {
			es, err = parseCSV("f.csv", []byte(body))
		}
		if err == nil {
			s := NewStore()
			s.Update("f", es, time.Unix(1, 0))
			s.History()
		}
	})
}

// TestIPv4IndexAgreesWithMap builds a history of renames, removals and
// returns from two sources, then checks every IPv4 look-up path (Lookup,
// Lookup4, Find4 with At and Names4) against the version list of the
// map, at times before, between and after the updates.
func TestIPv4IndexAgreesWithMap(t *testing.T) {
	var addrs []netip.Addr
	for i := range 500 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}))
	}
	addrs = append(addrs, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"))
	sn, times := randomHistory(5, addrs, 12)
	for _, a := range append(addrs, netip.MustParseAddr("10.9.9.9")) {
		k := flow.AddrFromNetip(a)
		for _, tt := range times {
			for _, ft := range []int64{tt - 1, tt, tt + 1, times[0] - int64(time.Hour), times[len(times)-1] + int64(time.Hour)} {
				want := at(sn.m[k], ft)
				if got := sn.Lookup(k, ft); got != want {
					t.Fatalf("%v at %d: Lookup %+v, want %+v", a, ft, got, want)
				}
				if got := sn.Lookup4(a.As4(), ft); got != want {
					t.Fatalf("%v at %d: Lookup4 %+v, want %+v", a, ft, got, want)
				}
				i := sn.Find4(a.As4())
				if (i < 0) != (len(sn.m[k]) == 0) {
					t.Fatalf("%v: Find4 %d with %d versions", a, i, len(sn.m[k]))
				}
				if i < 0 {
					continue
				}
				if got := sn.At(i, ft); got != want {
					t.Fatalf("%v at %d: At %+v, want %+v", a, ft, got, want)
				}
				name, host, ok := sn.Names4(i, ft)
				if ok != (want != nil) || (ok && (name != want.Name || host != want.Host)) {
					t.Fatalf("%v at %d: Names4 %q %q %v, want %+v", a, ft, name, host, ok, want)
				}
			}
		}
	}
}

// TestIPv6IndexAgreesWithMap is TestIPv4IndexAgreesWithMap for IPv6
// addresses (Lookup, Find16 with At and Names4), with IPv4 ones in the same
// store.
func TestIPv6IndexAgreesWithMap(t *testing.T) {
	var addrs []netip.Addr
	for i := range 500 {
		addrs = append(addrs, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 15: 1}))
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}))
	}
	addrs = append(addrs, netip.MustParseAddr("::1"), netip.MustParseAddr("fe80::1"))
	sn, times := randomHistory(7, addrs, 8)
	found := 0
	for _, a := range append(addrs, netip.MustParseAddr("2001:db8::9"), netip.MustParseAddr("::")) {
		if a.Is4() {
			continue
		}
		k := flow.AddrFromNetip(a)
		i := sn.Find16(k)
		if (i < 0) != (len(sn.m[k]) == 0) {
			t.Fatalf("%v: Find16 %d with %d versions", a, i, len(sn.m[k]))
		}
		if i >= 0 {
			found++
		}
		for _, tt := range times {
			for _, ft := range []int64{tt - 1, tt, tt + 1, times[0] - int64(time.Hour), times[len(times)-1] + int64(time.Hour)} {
				want := at(sn.m[k], ft)
				if got := sn.Lookup(k, ft); got != want {
					t.Fatalf("%v at %d: Lookup %+v, want %+v", a, ft, got, want)
				}
				if i < 0 {
					continue
				}
				if got := sn.At(i, ft); got != want {
					t.Fatalf("%v at %d: At %+v, want %+v", a, ft, got, want)
				}
				name, host, ok := sn.Names4(i, ft)
				if ok != (want != nil) || (ok && (name != want.Name || host != want.Host)) {
					t.Fatalf("%v at %d: Names4 %q %q %v, want %+v", a, ft, name, host, ok, want)
				}
			}
		}
	}
	if found < 400 {
		t.Errorf("only %d IPv6 addresses found", found)
	}
}

// TestLastVersionSize keeps lastVersion at one cache line (see its
// comment).
func TestLastVersionSize(t *testing.T) {
	if n := unsafe.Sizeof(lastVersion{}); n != 64 {
		t.Errorf("lastVersion is %d bytes, want 64", n)
	}
}

// randomHistory builds a store whose two sources (file, vcenter) report a
// random three-quarters of addrs, under random names, at each of steps
// hourly updates: renames, removals and returns. It returns the snapshot
// and the update times.
func randomHistory(seed uint64, addrs []netip.Addr, steps int) (Snapshot, []int64) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	s := NewStore()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var times []int64
	for step := range steps {
		at := t0.Add(time.Duration(step) * time.Hour)
		times = append(times, at.UnixNano())
		for _, src := range []string{"file", "vcenter"} {
			var es []Entry
			for _, a := range addrs {
				if rng.IntN(4) == 0 {
					continue // absent this time: its version closes
				}
				es = append(es, Entry{Addr: a, Name: fmt.Sprintf("vm-%d", rng.IntN(3)), Host: src})
			}
			s.Update(src, es, at)
		}
	}
	return s.Snapshot(), times
}

package enrich

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/enrich/inventory"
	"github.com/flowlake/flowlake/internal/enrich/networks"
	"github.com/flowlake/flowlake/internal/flow"
)

// TestCombinedAgrees checks the combined table against the separate
// look-ups it replaces (networks Index4, inventory Find4) on random
// addresses: inside and outside networks of every length, inventory
// addresses inside and outside networks, one equal to a /32 network, and
// their neighbours.
func TestCombinedAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	var nets []*networks.Network
	for i := range 4000 {
		b := [4]byte{[]byte{10, 172, 192}[rng.IntN(3)], byte(rng.IntN(4)), byte(rng.IntN(32)), byte(rng.IntN(256))}
		nets = append(nets, &networks.Network{Prefix: netip.PrefixFrom(netip.AddrFrom4(b), 8+rng.IntN(25)), Name: fmt.Sprintf("n%d", i)})
	}
	nets = append(nets, &networks.Network{Prefix: netip.MustParsePrefix("10.0.0.7/32"), Name: "host"})
	tab := networks.New(nets)

	var es []inventory.Entry
	var addrs []netip.Addr
	for i := range 3000 {
		a := netip.AddrFrom4([4]byte{[]byte{10, 172, 192, 8}[rng.IntN(4)], byte(rng.IntN(4)), byte(rng.IntN(32)), byte(rng.IntN(256))})
		if i == 0 {
			a = netip.MustParseAddr("10.0.0.7") // also a /32 network
		}
		es = append(es, inventory.Entry{Addr: a, Name: fmt.Sprintf("vm-%d", i)})
		addrs = append(addrs, a)
	}
	es = append(es, inventory.Entry{Addr: netip.MustParseAddr("2001:db8::1"), Name: "v6"})
	store := inventory.NewStore()
	store.Update("file", es, time.Now())
	sn := store.Snapshot()

	c := newCombined(tab, sn)
	if c == nil {
		t.Fatal("combined table not built")
	}
	check := func(a [4]byte) {
		t.Helper()
		gn, gi := c.find4(a)
		if wn, wi := tab.Index4(a), sn.Find4(a); gn != wn || gi != wi {
			t.Fatalf("%v: combined %d %d, separate %d %d", netip.AddrFrom4(a), gn, gi, wn, wi)
		}
	}
	for _, a := range addrs {
		check(a.As4())
		check(a.Next().As4())
		check(a.Prev().As4())
	}
	for _, n := range nets {
		check(n.Prefix.Addr().As4())
		check(n.Prefix.Addr().Prev().As4())
	}
	for range 100_000 {
		check([4]byte{[]byte{10, 172, 192, 8, 1}[rng.IntN(5)], byte(rng.IntN(5)), byte(rng.IntN(33)), byte(rng.IntN(256))})
	}
	if c := newCombined(tab, inventory.NewStore().Snapshot()); c != nil {
		t.Error("combined table built without an inventory")
	}
	if c := newCombined(nil, sn); c != nil {
		t.Error("combined table built without networks")
	}
}

// TestCombinedFollowsSources checks that the combined table is rebuilt when
// either source changes, and that Enrich does not use one of other
// versions than the current ones.
func TestCombinedFollowsSources(t *testing.T) {
	dir := t.TempDir()
	netsPath, invPath := filepath.Join(dir, "nets.csv"), filepath.Join(dir, "inv.csv")
	writeFile(t, netsPath, "prefix,name\n10.0.0.0/8,old-net\n")
	writeFile(t, invPath, "addr,name\n10.0.0.5,old-vm\n")
	e, err := New(Config{Networks: netsPath, Inventory: invPath, ReloadInterval: time.Hour}, Dependencies{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	enrich := func(src ...string) (net, vm string) {
		a := "10.0.0.5"
		if len(src) > 0 {
			a = src[0]
		}
		var b flow.Batch
		b.Append(flowOf(a, "10.9.9.9", 6, 40000, 443, time.Now()))
		e.Enrich(&b)
		return b.SrcNet[0], b.SrcVM[0]
	}
	current := func() bool {
		c := e.comb.Load()
		return c != nil && c.nets == e.nets.Load() && c.inv.Same(e.inv.Snapshot())
	}
	if !current() {
		t.Fatal("no combined table of the loaded sources")
	}
	if net, vm := enrich(); net != "old-net" || vm != "old-vm" {
		t.Fatalf("got %q %q", net, vm)
	}

	// Reloads rebuild it.
	writeFile(t, netsPath, "prefix,name\n10.0.0.0/8,new-net\n# changed size\n")
	// Another size too: a rewrite within the file system's mtime
	// granularity at the same size looks unchanged (seen in CI).
	writeFile(t, invPath, "addr,name\n10.0.0.5,new-vm\n10.0.0.6,other-vm\n")
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if !current() {
		t.Fatal("combined table not rebuilt on reload")
	}
	if net, vm := enrich(); net != "new-net" || vm != "new-vm" {
		t.Fatalf("after reload: %q %q", net, vm)
	}

	// A source replaced without a rebuild: Enrich must not answer from
	// the combined table of the previous version (whose positions mean
	// other networks and addresses in the new one).
	e.nets.Store(networks.New([]*networks.Network{
		{Prefix: netip.MustParsePrefix("9.0.0.0/8"), Name: "other-net"},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Name: "newer-net"},
	}))
	if net, _ := enrich(); net != "newer-net" {
		t.Fatalf("networks replaced: %q", net)
	}
	e.rebuildCombined()
	e.inv.Update("file", []inventory.Entry{{Addr: netip.MustParseAddr("10.0.0.6"), Name: "newer-vm"}}, time.Now())
	if _, vm := enrich("10.0.0.6"); vm != "newer-vm" {
		t.Fatalf("inventory replaced: %q", vm)
	}
	if _, vm := enrich(); vm != "" {
		t.Fatalf("inventory replaced, address gone: %q", vm)
	}
}

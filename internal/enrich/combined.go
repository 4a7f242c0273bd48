package enrich

import (
	"encoding/binary"
	"net/netip"

	"github.com/flowlake/flowlake/internal/enrich/inventory"
	"github.com/flowlake/flowlake/internal/enrich/lpm4"
	"github.com/flowlake/flowlake/internal/enrich/networks"
)

// combined answers the networks and the inventory of IPv4 addresses in one
// look-up: an lpm4 table of the network prefixes and of the inventory's
// addresses as /32s, the longest prefixes there are, so an inventory
// address finds its own entry (with the network that holds it, found when
// the table is built) and any other address its network. The flow path
// then spends no separate search of the inventory's hash table, a cache
// miss per flow end with large inventories that the networks look-up
// cannot overlap with much. It is built for one networks table and one
// inventory snapshot and used only with both.
type combined struct {
	nets *networks.Table
	inv  inventory.Snapshot
	t    *lpm4.Table
	n    uint32    // values below n are network positions
	recs []combRec // values n and up: inventory addresses, at value-n
}

// combRec is one inventory address: its position in the inventory and the
// position of the network holding it (-1: none).
type combRec struct {
	net, inv int32
}

// newCombined builds the table of nets and inv, or returns nil when it
// cannot (lpm4's limits) or would not help (a source missing).
func newCombined(nets *networks.Table, inv inventory.Snapshot) *combined {
	if nets == nil || inv.Len() == 0 {
		return nil
	}
	es := nets.Entries4()
	c := &combined{nets: nets, inv: inv, n: uint32(len(es))}
	inv.Each4(func(a [4]byte, i int32) {
		es = append(es, lpm4.Entry{Prefix: netip.PrefixFrom(netip.AddrFrom4(a), 32), Value: c.n + uint32(len(c.recs))})
		c.recs = append(c.recs, combRec{net: nets.Index4(a), inv: i})
	})
	if len(es) > lpm4.MaxValue {
		return nil
	}
	t, err := lpm4.Build(es)
	if err != nil {
		return nil
	}
	c.t = t
	return c
}

// find4 returns the positions of the network (nets.Index4) and of the
// inventory entry (inv.Find4) of the IPv4 address a, -1 for none.
func (c *combined) find4(a [4]byte) (net, inv int32) {
	v, ok := c.t.Lookup(binary.BigEndian.Uint32(a[:]))
	switch {
	case !ok:
		return -1, -1
	case v < c.n:
		return int32(v), -1
	}
	r := c.recs[v-c.n]
	return r.net, r.inv
}

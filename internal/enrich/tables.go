package enrich

import (
	"github.com/flowlake/flowlake/internal/enrich/srcfile"
	"github.com/flowlake/flowlake/internal/flow"
)

// NetworkRow is one entry of the networks file.
type NetworkRow struct {
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	Site   string `json:"site"`
	Role   string `json:"role"`
	Tenant string `json:"tenant"`
	VNet   string `json:"vnet"`
	Subnet string `json:"subnet"`
	Tags   string `json:"tags"` // k=v;k=v
}

// InventoryRow is one version of an address's inventory entry: the address
// was called Name from ValidFrom until ValidTo (0: still is), as observed.
type InventoryRow struct {
	Addr       string `json:"addr"`
	Name       string `json:"name"`
	Host       string `json:"host"`
	Cluster    string `json:"cluster"`
	Datacenter string `json:"datacenter"`
	Tags       string `json:"tags"`
	Source     string `json:"source"`     // file, vcenter
	ValidFrom  int64  `json:"valid_from"` // Unix ns UTC
	ValidTo    int64  `json:"valid_to"`   // Unix ns UTC, 0 while current
}

// Tables holds the enrichment data as rows, for the query engine to expose
// as tables KQL can join (networks, inventory_history, interfaces).
type Tables struct {
	Networks   []NetworkRow
	Inventory  []InventoryRow
	Interfaces []InterfaceRow
}

// Tables returns the current enrichment tables.
func (e *Enricher) Tables() Tables {
	var t Tables
	for _, n := range e.nets.Load().Networks() {
		t.Networks = append(t.Networks, NetworkRow{
			Prefix: n.Prefix.String(), Name: n.Name, Site: n.Site, Role: n.Role,
			Tenant: n.Tenant, VNet: n.VNet, Subnet: n.Subnet, Tags: srcfile.TagString(n.Tags),
		})
	}
	for _, v := range e.inv.History() {
		t.Inventory = append(t.Inventory, InventoryRow{
			Addr: flow.AddrFromNetip(v.Addr).String(), Name: v.Name, Host: v.Host, Cluster: v.Cluster,
			Datacenter: v.Datacenter, Tags: v.Tags, Source: v.Source, ValidFrom: v.ValidFrom, ValidTo: v.ValidTo,
		})
	}
	t.Interfaces = e.ifs.rows()
	return t
}

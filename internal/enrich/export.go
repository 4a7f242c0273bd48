package enrich

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/flowlake/flowlake/internal/atomicfile"
)

// TableColumn is one column of an enrichment table as files hold it.
type TableColumn struct {
	Name string
	// Kind is "string", "long" or "datetime" (RFC 3339, empty = null).
	Kind string
}

// TableSchema describes one enrichment table written by WriteTables.
type TableSchema struct {
	Name    string
	File    string
	Columns []TableColumn
}

// TableSchemas lists the tables WriteTables writes, for the query side to
// expose them (KQL can join flows with them).
var TableSchemas = []TableSchema{
	{Name: "networks", File: "networks.csv", Columns: []TableColumn{
		{"prefix", "string"}, {"name", "string"}, {"site", "string"}, {"role", "string"},
		{"tenant", "string"}, {"vnet", "string"}, {"subnet", "string"}, {"tags", "string"}}},
	{Name: "inventory_history", File: "inventory_history.csv", Columns: []TableColumn{
		{"addr", "string"}, {"name", "string"}, {"host", "string"}, {"cluster", "string"},
		{"datacenter", "string"}, {"tags", "string"}, {"source", "string"},
		{"valid_from", "datetime"}, {"valid_to", "datetime"}}},
	{Name: "interfaces", File: "interfaces.csv", Columns: []TableColumn{
		{"exporter_addr", "string"}, {"exporter_name", "string"}, {"if_index", "long"},
		{"if_name", "string"}, {"if_descr", "string"}, {"if_alias", "string"},
		{"if_speed", "long"}, {"source", "string"}}},
}

// WriteTables writes the current enrichment tables as CSV files with a
// header into dir, each replaced atomically, so that queries (also from
// another process, such as the CLI) can join flows with what flowlake knows
// of networks, inventory history and interfaces.
func (e *Enricher) WriteTables(dir string) error {
	t := e.Tables()
	ns := func(v int64) string {
		if v == 0 {
			return ""
		}
		return time.Unix(0, v).UTC().Format(time.RFC3339Nano)
	}
	rows := map[string][][]string{}
	for _, n := range t.Networks {
		rows["networks"] = append(rows["networks"], []string{n.Prefix, n.Name, n.Site, n.Role, n.Tenant, n.VNet, n.Subnet, n.Tags})
	}
	for _, v := range t.Inventory {
		rows["inventory_history"] = append(rows["inventory_history"], []string{v.Addr, v.Name, v.Host, v.Cluster, v.Datacenter, v.Tags, v.Source, ns(v.ValidFrom), ns(v.ValidTo)})
	}
	for _, i := range t.Interfaces {
		rows["interfaces"] = append(rows["interfaces"], []string{i.ExporterAddr, i.ExporterName, strconv.FormatUint(uint64(i.Index), 10),
			i.Name, i.Description, i.Alias, strconv.FormatUint(i.Speed, 10), i.Source})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("enrichment tables: %w", err)
	}
	for _, ts := range TableSchemas {
		if err := writeCSV(filepath.Join(dir, ts.File), ts, rows[ts.Name]); err != nil {
			return fmt.Errorf("enrichment table %s: %w", ts.Name, err)
		}
	}
	return nil
}

func writeCSV(path string, ts TableSchema, rows [][]string) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		head := make([]string, len(ts.Columns))
		for i, c := range ts.Columns {
			head[i] = c.Name
		}
		_ = cw.Write(head)
		_ = cw.WriteAll(rows)
		return cw.Error()
	})
}

package query

import (
	"path/filepath"

	"github.com/flowlake/flowlake/internal/engine"
	"github.com/flowlake/flowlake/internal/enrich"
	"github.com/flowlake/flowlake/internal/kql"
)

// TablesDir is where serve writes the enrichment tables, inside the lake
// directory the engine may read.
func TablesDir(dataDir string) string { return filepath.Join(dataDir, "flows", "_tables") }

// EnrichmentTables returns the enrichment tables (networks,
// inventory_history, interfaces) as the engine's file views and the
// matching KQL table definitions.
func EnrichmentTables(dataDir string) ([]engine.FileTable, map[string]kql.Table) {
	var files []engine.FileTable
	tables := map[string]kql.Table{}
	for _, ts := range enrich.TableSchemas {
		ft := engine.FileTable{Name: ts.Name, Path: filepath.Join(TablesDir(dataDir), ts.File)}
		kt := kql.Table{Relation: ts.Name}
		for _, c := range ts.Columns {
			sqlType, kqlType := "VARCHAR", kql.TString
			switch c.Kind {
			case "long":
				sqlType, kqlType = "BIGINT", kql.TLong
			case "datetime":
				sqlType, kqlType = "TIMESTAMP", kql.TDatetime
			}
			ft.Columns = append(ft.Columns, engine.Column{Name: c.Name, Type: sqlType})
			kt.Columns = append(kt.Columns, kql.Column{Name: c.Name, Type: kqlType})
		}
		files = append(files, ft)
		tables[ts.Name] = kt
	}
	return files, tables
}

package clickhouse

import (
	"fmt"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/flow/schema"
)

// Table layout, derived from the canonical schema (internal/flow/schema):
//
//   - Times: DateTime64(3, 'UTC') where the server has it (the lake keeps
//     milliseconds too); on older servers UInt64 milliseconds since the
//     epoch, since DateTime's seconds would lose data.
//   - Addresses: FixedString(16), IPv4 mapped into IPv6, as in the lake and
//     as the KQL compiler's literals are. The IPv6 domain type is the same
//     16 bytes on disk and gains nothing for size; it is not used so one
//     schema and one compiler dialect serve every server.
//   - Enums: Enum8 with the schema's names (one byte, compared as strings).
//   - Strings: LowCardinality(String) where the server has it.
//   - Codecs (19.6+): DoubleDelta for time_received (sorted inside an
//     address pair by the ORDER BY), Delta for the other times, T64 for
//     wide integers, then ZSTD(1).
//
// MergeTree ordered by (hour, src_addr, dst_addr, time_received): a window
// selects whole hours of marks, an audit of one address (pair) inside them
// is a binary search, top-N over a window reads only its hours. Partitioned
// by day so retention drops whole parts.

// Table names.
const (
	FlowsTable      = "flows"
	flowsLocal      = "flows_local" // the shards' MergeTree in a cluster
	MigrationsTable = "flowlake_migrations"
	LockTable       = "flowlake_migration_lock"
	OffsetsTable    = "flowlake_ingest_offsets"
)

// Layout is how one database's tables are laid out.
type Layout struct {
	Features Features
	// Cluster, when set, is the remote_servers cluster the flows are
	// sharded over: flows_local on every shard, flows a Distributed table.
	Cluster string
	// Retention is how long flows are kept (0: forever).
	Retention time.Duration
}

// ColumnType is the ClickHouse type of a schema column.
func ColumnType(c schema.Column, f Features) string {
	switch c.Type {
	case schema.Uint8:
		return "UInt8"
	case schema.Uint16:
		return "UInt16"
	case schema.Uint32:
		return "UInt32"
	case schema.Uint64, schema.MAC:
		return "UInt64"
	case schema.Time:
		if f.DateTime64 {
			return "DateTime64(3, 'UTC')"
		}
		return "UInt64"
	case schema.Addr:
		return "FixedString(16)"
	case schema.String:
		if f.LowCardinality {
			return "LowCardinality(String)"
		}
		return "String"
	case schema.Enum:
		vals := make([]string, len(c.Values))
		for i, v := range c.Values {
			vals[i] = fmt.Sprintf("'%s' = %d", v, i)
		}
		return "Enum8(" + strings.Join(vals, ", ") + ")"
	}
	panic("clickhouse: no type for schema type " + c.Type.String())
}

// ColumnCodec is the CODEC clause of a column ("" without codecs).
func ColumnCodec(c schema.Column, f Features) string {
	if !f.Codecs {
		return ""
	}
	switch {
	case c.Name == "time_received":
		return "CODEC(DoubleDelta, ZSTD(1))"
	case c.Type == schema.Time:
		return "CODEC(Delta, ZSTD(1))"
	case c.Type == schema.Uint32 || c.Type == schema.Uint64 || c.Type == schema.MAC:
		return "CODEC(T64, ZSTD(1))"
	}
	return "CODEC(ZSTD(1))"
}

// timeExpr is a DateTime expression of a time column for partitions, keys
// and TTL.
func timeExpr(col string, f Features) string {
	if f.DateTime64 {
		return "toDateTime(" + col + ")"
	}
	return "toDateTime(intDiv(" + col + ", 1000))"
}

// columnDefs lists the column definitions of names, in schema order.
func columnDefs(names []string, f Features) string {
	var b strings.Builder
	for i, n := range names {
		c, ok := schema.ByName(n)
		if !ok {
			panic("clickhouse: unknown schema column " + n)
		}
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "    `%s` %s", n, ColumnType(c, f))
		if codec := ColumnCodec(c, f); codec != "" {
			b.WriteString(" " + codec)
		}
	}
	return b.String()
}

// orderBy is the MergeTree sorting key.
func orderBy(f Features) string {
	hour := "toStartOfHour(" + timeExpr("time_received", f) + ")"
	return "(" + hour + ", src_addr, dst_addr, time_received)"
}

// partitionBy is the MergeTree partition key: one partition a day.
func partitionBy(f Features) string { return "toDate(" + timeExpr("time_received", f) + ")" }

// ttlClause is the table TTL for l's retention ("" for none).
func (l Layout) ttlClause() string {
	if !l.Features.TTL || l.Retention <= 0 {
		return ""
	}
	return "TTL " + l.ttlExpr()
}

func (l Layout) ttlExpr() string {
	return fmt.Sprintf("%s + toIntervalSecond(%d)", timeExpr("time_received", l.Features), int64(l.Retention/time.Second))
}

// flowsLocalName is the MergeTree holding the rows on this server.
func (l Layout) flowsLocalName() string {
	if l.Cluster != "" {
		return flowsLocal
	}
	return FlowsTable
}

// CreateFlows returns the statements creating the flows tables in db with
// the columns named (in order): the MergeTree, and in a cluster the
// Distributed table over it.
func (l Layout) CreateFlows(db string, columns []string) []string {
	f := l.Features
	var settings []string
	settings = append(settings, "index_granularity = 8192")
	if f.NonReplicatedDedup {
		// Remembers the last inserts' tokens (or block hashes): an
		// ingester retrying a batch after a crash inserts it once.
		settings = append(settings, "non_replicated_deduplication_window = 1000")
	}
	ttl := l.ttlClause()
	if ttl != "" {
		ttl = "\n" + ttl
	}
	stmts := []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (\n%s\n) ENGINE = MergeTree()\nPARTITION BY %s\nORDER BY %s%s\nSETTINGS %s",
		quoteIdent(db), quoteIdent(l.flowsLocalName()), columnDefs(columns, f), partitionBy(f), orderBy(f), ttl, strings.Join(settings, ", "))}
	if l.Cluster != "" {
		stmts = append(stmts, l.createDistributed(db, columns))
	}
	return stmts
}

// ShardingKey spreads flows over shards by the larger address of the pair,
// so both directions of a connection land on one shard (as the lake's
// buckets do). greatest() takes no FixedString before 19.x.
const ShardingKey = "cityHash64(if(src_addr > dst_addr, src_addr, dst_addr))"

func (l Layout) createDistributed(db string, columns []string) string {
	// The Distributed table's columns must match the shards': it is
	// created with the same definitions (codecs do not apply to it).
	f := l.Features
	f.Codecs = false
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (\n%s\n) ENGINE = Distributed(%s, %s, %s, %s)",
		quoteIdent(db), quoteIdent(FlowsTable), columnDefs(columns, f), quoteIdent(l.Cluster), quoteIdent(db), quoteIdent(flowsLocal), ShardingKey)
}

// AddColumns returns the statements adding columns to the flows tables.
func (l Layout) AddColumns(db string, columns []string) []string {
	var stmts []string
	tables := []string{l.flowsLocalName()}
	if l.Cluster != "" {
		tables = append(tables, FlowsTable)
	}
	for ti, t := range tables {
		f := l.Features
		if ti == 1 {
			f.Codecs = false
		}
		for _, n := range columns {
			c, _ := schema.ByName(n)
			def := "`" + n + "` " + ColumnType(c, f)
			if codec := ColumnCodec(c, f); codec != "" {
				def += " " + codec
			}
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s.%s ADD COLUMN %s", quoteIdent(db), quoteIdent(t), def))
		}
	}
	return stmts
}

// CreateMigrations is the table recording applied migrations.
func createMigrations(db string) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (version UInt32, name String, applied_at DateTime, by String) ENGINE = MergeTree() ORDER BY version",
		quoteIdent(db), quoteIdent(MigrationsTable))
}

// createOffsets is the ingesters' ledger: for each batch written, the
// Kafka offsets it covered. A restarted or newly assigned ingester starts
// after the ledger's last offset of a partition even when its Kafka commit
// was lost (broker down between the insert and the commit).
func createOffsets(db string) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (`group` String, topic String, partition Int32, first_offset Int64, last_offset Int64, "+
		"rows UInt64, written_at DateTime, ingester String) ENGINE = MergeTree() ORDER BY (`group`, topic, partition, last_offset)",
		quoteIdent(db), quoteIdent(OffsetsTable))
}

func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

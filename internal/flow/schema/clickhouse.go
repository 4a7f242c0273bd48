package schema

import (
	"fmt"
	"sort"
	"strings"
)

// ClickHouse is what a ClickHouse server supports among the features the
// flows table uses, so one schema gives the best table each server can hold.
type ClickHouse struct {
	// LowCardinality(String) for names (19.x on; 18.16 has it only as an
	// experimental setting).
	LowCardinality bool
	// IPv6 column type for addresses (19.3 on); otherwise FixedString(16)
	// holding the same 16 bytes.
	IPv6 bool
	// Codecs: per-column compression codecs (19.1 on).
	Codecs bool
	// TTL: table-level retention (19.6 on).
	TTL bool
	// DateTime64(3) for times (20.1 on); otherwise DateTime, whole seconds.
	DateTime64 bool
}

// ClickHouse feature sets.
var (
	// ClickHouse1816 is Debian's clickhouse-server 18.16.
	ClickHouse1816 = ClickHouse{}
	// ClickHouseCurrent is any server from 20.1 on.
	ClickHouseCurrent = ClickHouse{LowCardinality: true, IPv6: true, Codecs: true, TTL: true, DateTime64: true}
)

// Type is the ClickHouse type of c on this server.
func (f ClickHouse) Type(c Column) string {
	switch c.Type {
	case Uint8:
		return "UInt8"
	case Uint16:
		return "UInt16"
	case Uint32:
		return "UInt32"
	case Uint64, MAC:
		return "UInt64"
	case Time:
		if f.DateTime64 {
			return "DateTime64(3, 'UTC')"
		}
		return "DateTime('UTC')"
	case Addr:
		if f.IPv6 {
			return "IPv6"
		}
		return "FixedString(16)"
	case String:
		if f.LowCardinality && !c.HighCard {
			return "LowCardinality(String)"
		}
		return "String"
	case Enum:
		vals := make([]string, len(c.Values))
		for i, v := range c.Values {
			vals[i] = fmt.Sprintf("%s = %d", quoteCH(v), i)
		}
		return "Enum8(" + strings.Join(vals, ", ") + ")"
	}
	return "String"
}

// Codec is the compression codec of c, or "" for the server's default
// (LZ4) or a server without codecs.
func (f ClickHouse) Codec(c Column) string {
	if !f.Codecs {
		return ""
	}
	switch {
	case c.Type == Time:
		// Times of consecutive rows differ by little and steadily.
		return "CODEC(DoubleDelta, ZSTD(1))"
	case c.Role == Metric:
		// Counters use few of their 64 bits.
		return "CODEC(T64, ZSTD(1))"
	case c.Type == Addr:
		return "CODEC(ZSTD(1))"
	}
	return ""
}

// SortKey lists the ORDER BY expressions: the columns with a CHOrder, in
// that order, times cut to the hour so the columns after them still cluster.
func SortKey() []string {
	var cols []Column
	for _, c := range Columns {
		if c.CHOrder > 0 {
			cols = append(cols, c)
		}
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].CHOrder < cols[j].CHOrder })
	key := make([]string, len(cols))
	for i, c := range cols {
		key[i] = c.Name
		if c.Type == Time {
			key[i] = "toStartOfHour(" + c.Name + ")"
		}
	}
	return key
}

// CreateTable is the CREATE TABLE statement of the flows table named table
// on this server: the schema's columns in order, partitioned by day of
// time_received, sorted by SortKey, and, when ttlDays > 0 and the server has
// TTL, dropping rows older than ttlDays.
func (f ClickHouse) CreateTable(table string, ttlDays int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s\n(\n", quoteIdentCH(table))
	for i, c := range Columns {
		fmt.Fprintf(&b, "    %s %s", quoteIdentCH(c.Name), f.Type(c))
		if codec := f.Codec(c); codec != "" {
			b.WriteString(" " + codec)
		}
		if f.Codecs { // comments came with codecs (19.x)
			fmt.Fprintf(&b, " COMMENT %s", quoteCH(c.Label))
		}
		if i < len(Columns)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(")\nENGINE = MergeTree()\n")
	b.WriteString("PARTITION BY toYYYYMMDD(time_received)\n")
	fmt.Fprintf(&b, "ORDER BY (%s)", strings.Join(SortKey(), ", "))
	if f.TTL && ttlDays > 0 {
		fmt.Fprintf(&b, "\nTTL toDateTime(time_received) + INTERVAL %d DAY", ttlDays)
	}
	return b.String()
}

func quoteCH(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func quoteIdentCH(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

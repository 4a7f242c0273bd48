package clickhouse

import (
	"strings"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow/schema"
)

// debian1816 is what Debian's clickhouse-server 18.16.1 lists (read off
// the server by TestFeaturesOfInstalledServer, which checks it still does).
var debian1816 = Catalog{
	Version:      "18.16.1",
	TypeFamilies: []string{"LowCardinality", "FixedString", "Enum8", "Nullable", "String", "DateTime", "UInt64"},
	Settings:     map[string]string{"allow_experimental_low_cardinality_type": "0", "insert_deduplicate": "1", "insert_distributed_sync": "0"},
	ColumnsColumns: []string{"database", "table", "name", "type", "default_kind", "default_expression", "data_compressed_bytes",
		"data_uncompressed_bytes", "marks_bytes", "comment", "is_in_partition_key", "is_in_sorting_key", "is_in_primary_key", "is_in_sampling_key"},
}

// current is a 24.8 server as its system tables describe it.
var current = Catalog{
	Version:           "24.8.4.13",
	TypeFamilies:      []string{"LowCardinality", "FixedString", "Enum8", "DateTime64", "IPv6", "IPv4", "String"},
	Settings:          map[string]string{"insert_deduplication_token": "", "insert_deduplicate": "1", "optimize_use_projections": "1"},
	ColumnsColumns:    []string{"database", "table", "name", "type", "compression_codec"},
	MergeTreeSettings: []string{"merge_with_ttl_timeout", "non_replicated_deduplication_window", "index_granularity"},
}

func TestDecide(t *testing.T) {
	old, err := debian1816.Decide()
	if err != nil {
		t.Fatal(err)
	}
	if old != (Features{Version: Version{18, 16, 1}}) {
		t.Errorf("18.16 features = %+v, want none", old)
	}
	cur, err := current.Decide()
	if err != nil {
		t.Fatal(err)
	}
	want := Features{Version: Version{24, 8, 4}, LowCardinality: true, DateTime64: true, IPv6: true, Codecs: true, TTL: true,
		DedupToken: true, NonReplicatedDedup: true, Projections: true, AddColumnIfNotExists: true}
	if cur != want {
		t.Errorf("24.8 features = %+v\nwant %+v", cur, want)
	}
	// 18.16 with the experimental flag switched on in its profile.
	on := debian1816
	on.Settings = map[string]string{"allow_experimental_low_cardinality_type": "1"}
	if f, _ := on.Decide(); !f.LowCardinality {
		t.Error("LowCardinality with the experimental flag on: not used")
	}
	if _, err := (Catalog{Version: "x.y"}).Decide(); err == nil {
		t.Error("unreadable version accepted")
	}
}

func TestCreateFlowsLegacy(t *testing.T) {
	f, _ := debian1816.Decide()
	l := Layout{Features: f, Retention: 30 * 24 * time.Hour}
	stmts := l.CreateFlows("db", v1Columns)
	if len(stmts) != 1 {
		t.Fatalf("%d statements", len(stmts))
	}
	s := stmts[0]
	for _, bad := range []string{"CODEC", "TTL", "LowCardinality", "DateTime64", "non_replicated_deduplication_window", "greatest("} {
		if strings.Contains(s, bad) {
			t.Errorf("18.16 DDL uses %s:\n%s", bad, s)
		}
	}
	for _, want := range []string{"`time_received` UInt64", "`src_addr` FixedString(16)", "`exporter_name` String",
		"`direction` Enum8('unknown' = 0, 'ingress' = 1, 'egress' = 2)",
		"PARTITION BY toDate(toDateTime(intDiv(time_received, 1000)))",
		"ORDER BY (toStartOfHour(toDateTime(intDiv(time_received, 1000))), src_addr, dst_addr, time_received)"} {
		if !strings.Contains(s, want) {
			t.Errorf("18.16 DDL lacks %q:\n%s", want, s)
		}
	}
}

func TestCreateFlowsCurrent(t *testing.T) {
	f, _ := current.Decide()
	l := Layout{Features: f, Retention: 365 * 24 * time.Hour, Cluster: "flows"}
	stmts := l.CreateFlows("db", v1Columns)
	if len(stmts) != 2 {
		t.Fatalf("%d statements", len(stmts))
	}
	local, dist := stmts[0], stmts[1]
	for _, want := range []string{"`db`.`flows_local`", "`time_received` DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1))",
		"`time_start` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))", "`bytes` UInt64 CODEC(T64, ZSTD(1))",
		"`src_addr` FixedString(16) CODEC(ZSTD(1))", "`exporter_name` LowCardinality(String) CODEC(ZSTD(1))",
		"PARTITION BY toDate(toDateTime(time_received))", "TTL toDateTime(time_received) + toIntervalSecond(31536000)",
		"non_replicated_deduplication_window = 1000"} {
		if !strings.Contains(local, want) {
			t.Errorf("current DDL lacks %q:\n%s", want, local)
		}
	}
	if strings.Contains(dist, "CODEC") || !strings.Contains(dist, "ENGINE = Distributed(`flows`, `db`, `flows_local`, "+ShardingKey+")") {
		t.Errorf("distributed DDL:\n%s", dist)
	}
	// Every column, exactly once, in both.
	for _, c := range schema.Columns {
		for _, s := range stmts {
			if n := strings.Count(s, "`"+c.Name+"` "); n != 1 {
				t.Errorf("column %s appears %d times", c.Name, n)
			}
		}
	}
}

// TestMigrationsCoverSchema fails when a schema column has no migration
// adding it: a new column needs an addColumns migration, never an edit of
// a released one.
func TestMigrationsCoverSchema(t *testing.T) {
	var got []string
	got = append(got, v1Columns...)
	l := Layout{Features: Features{}}
	for _, m := range migrations[1:] {
		for _, s := range m.stmts(l, "db") {
			if i := strings.Index(s, "ADD COLUMN `"); i >= 0 {
				name := s[i+len("ADD COLUMN `"):]
				got = append(got, name[:strings.IndexByte(name, '`')])
			}
		}
	}
	var want []string
	for _, c := range schema.Columns {
		want = append(want, c.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("migrations create columns\n%v\nschema has\n%v", got, want)
	}
	// The statements a future column's migration runs: the shards' table
	// and the Distributed one, codecs only on the former.
	cur, _ := current.Decide()
	add := addColumns("labels")(Layout{Features: cur, Cluster: "c"}, "db")
	if len(add) != 2 || add[0] != "ALTER TABLE `db`.`flows_local` ADD COLUMN `labels` LowCardinality(String) CODEC(ZSTD(1))" ||
		add[1] != "ALTER TABLE `db`.`flows` ADD COLUMN `labels` LowCardinality(String)" {
		t.Errorf("addColumns: %q", add)
	}
	for i, m := range migrations {
		if m.version != uint32(i+1) {
			t.Errorf("migration %d has version %d", i, m.version)
		}
	}
}

func TestParseDSN(t *testing.T) {
	d, err := ParseDSN("clickhouse://u:p%40ss@127.0.0.1:9000,127.0.0.2/flows?cluster=c&dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	if d.User != "u" || d.Password != "p@ss" || len(d.Addrs) != 2 || d.Addrs[1] != "127.0.0.2:9000" || d.Database != "flows" ||
		d.Cluster != "c" || d.DialTimeout != 2*time.Second {
		t.Errorf("%+v", d)
	}
	for _, bad := range []struct{ dsn, says string }{
		{"http://x:9000/db", "clickhouse://"},
		{"clickhouse://x:9000", "no database"},
		{"clickhouse://x:8123/db", "HTTP interface"},
		{"clickhouse://x:99999/db", "bad port"},
		{"clickhouse://x:9000/db?bogus=1", `unknown parameter "bogus"`},
		{"clickhouse://user:secret@x:9000/db?secure=maybe", "secure"},
	} {
		_, err := ParseDSN(bad.dsn)
		if err == nil || !strings.Contains(err.Error(), bad.says) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v (want %q)", bad.dsn, err, bad.says)
		}
	}
}

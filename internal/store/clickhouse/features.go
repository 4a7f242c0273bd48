package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Features is what a ClickHouse server can do that the tables and inserts
// depend on. Detected once per connection from the server's version and its
// system tables (the tables answer for builds that back-port or disable a
// feature; the version only where no system table tells).
type Features struct {
	Version Version
	// LowCardinality: the LowCardinality(String) type without the
	// experimental flag (18.12-19.0 had it only behind
	// allow_experimental_low_cardinality_type).
	LowCardinality bool
	// DateTime64 (20.1): times keep their milliseconds in a time type.
	// Without it times are stored as UInt64 milliseconds since the epoch.
	DateTime64 bool
	// IPv6 is the IPv6 domain type (19.3); detected and reported, not used
	// for storage: see ddl.go.
	IPv6 bool
	// Codecs: per-column CODEC(...) with Delta, DoubleDelta, T64 and ZSTD
	// (system.columns.compression_codec appeared with them).
	Codecs bool
	// TTL: table TTL expressions (19.6; merge_with_ttl_timeout is its
	// MergeTree setting). Without it retention drops whole day partitions.
	TTL bool
	// DedupToken: the insert_deduplication_token setting (22.2).
	DedupToken bool
	// NonReplicatedDedup: the MergeTree setting
	// non_replicated_deduplication_window (20.x), which makes a plain
	// MergeTree remember the hashes (or tokens) of its last inserts.
	NonReplicatedDedup bool
	// Projections (22.x): detected and reported, not used yet.
	Projections bool
	// AddColumnIfNotExists: ALTER TABLE ... ADD COLUMN IF NOT EXISTS.
	AddColumnIfNotExists bool
}

// Version is a server version, e.g. 18.16.1.
type Version struct{ Major, Minor, Patch int }

// ParseVersion reads "18.16.1" or "24.8.4.13".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("unreadable server version %q", s)
	}
	var v Version
	for i, p := range parts[:min(3, len(parts))] {
		n, err := strconv.Atoi(p)
		if err != nil {
			return Version{}, fmt.Errorf("unreadable server version %q", s)
		}
		switch i {
		case 0:
			v.Major = n
		case 1:
			v.Minor = n
		case 2:
			v.Patch = n
		}
	}
	return v, nil
}

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Catalog is what feature detection reads off a server: its version and
// the names it lists in a few system tables. Split from the querying so the
// decision is unit-tested for servers this machine cannot run.
type Catalog struct {
	Version string
	// TypeFamilies: system.data_type_families.name.
	TypeFamilies []string
	// Settings: system.settings name -> value.
	Settings map[string]string
	// MergeTreeSettings: system.merge_tree_settings.name (absent before 19.x).
	MergeTreeSettings []string
	// ColumnsColumns: the column names of system.columns.
	ColumnsColumns []string
}

// Decide turns a catalog into features.
func (c Catalog) Decide() (Features, error) {
	v, err := ParseVersion(c.Version)
	if err != nil {
		return Features{}, err
	}
	has := func(list []string, name string) bool {
		for _, n := range list {
			if n == name {
				return true
			}
		}
		return false
	}
	f := Features{Version: v}
	if has(c.TypeFamilies, "LowCardinality") {
		flag, listed := c.Settings["allow_experimental_low_cardinality_type"]
		// Listed and off: the type is still experimental on this build.
		f.LowCardinality = !listed || flag == "1" || v.AtLeast(19, 1)
	}
	f.DateTime64 = has(c.TypeFamilies, "DateTime64")
	f.IPv6 = has(c.TypeFamilies, "IPv6")
	// compression_codec arrived in 19.1 with LZ4/ZSTD/Delta; DoubleDelta
	// and T64 in 19.3-19.6: require both the column and 19.6.
	f.Codecs = has(c.ColumnsColumns, "compression_codec") && v.AtLeast(19, 6)
	f.TTL = has(c.MergeTreeSettings, "merge_with_ttl_timeout")
	_, f.DedupToken = c.Settings["insert_deduplication_token"]
	f.NonReplicatedDedup = has(c.MergeTreeSettings, "non_replicated_deduplication_window")
	_, p1 := c.Settings["allow_experimental_projection_optimization"]
	_, p2 := c.Settings["optimize_use_projections"]
	f.Projections = p1 || p2
	f.AddColumnIfNotExists = v.AtLeast(19, 1)
	return f, nil
}

// String lists the features for logs and errors.
func (f Features) String() string {
	var on []string
	for _, x := range []struct {
		ok   bool
		name string
	}{{f.LowCardinality, "LowCardinality"}, {f.DateTime64, "DateTime64"}, {f.IPv6, "IPv6"}, {f.Codecs, "codecs"},
		{f.TTL, "TTL"}, {f.DedupToken, "insert_deduplication_token"}, {f.NonReplicatedDedup, "non_replicated_deduplication_window"},
		{f.Projections, "projections"}} {
		if x.ok {
			on = append(on, x.name)
		}
	}
	if len(on) == 0 {
		return f.Version.String() + " (none of the newer features)"
	}
	return f.Version.String() + " (" + strings.Join(on, ", ") + ")"
}

// querier is the part of a connection detection needs.
type querier interface {
	strings1(ctx context.Context, q string) ([]string, error)
	pairs(ctx context.Context, q string) (map[string]string, error)
}

// readCatalog queries the system tables Decide reads.
func readCatalog(ctx context.Context, q querier) (Catalog, error) {
	var c Catalog
	v, err := q.strings1(ctx, "SELECT version()")
	if err != nil {
		return c, fmt.Errorf("read version: %w", err)
	}
	if len(v) != 1 {
		return c, fmt.Errorf("read version: %d rows", len(v))
	}
	c.Version = v[0]
	if c.TypeFamilies, err = q.strings1(ctx, "SELECT name FROM system.data_type_families"); err != nil {
		return c, fmt.Errorf("read system.data_type_families: %w", err)
	}
	if c.Settings, err = q.pairs(ctx, "SELECT name, value FROM system.settings"); err != nil {
		return c, fmt.Errorf("read system.settings: %w", err)
	}
	if c.ColumnsColumns, err = q.strings1(ctx, "SELECT name FROM system.columns WHERE database = 'system' AND table = 'columns'"); err != nil {
		return c, fmt.Errorf("read system.columns: %w", err)
	}
	tables, err := q.strings1(ctx, "SELECT name FROM system.tables WHERE database = 'system' AND name = 'merge_tree_settings'")
	if err != nil {
		return c, fmt.Errorf("read system.tables: %w", err)
	}
	if len(tables) == 1 {
		if c.MergeTreeSettings, err = q.strings1(ctx, "SELECT name FROM system.merge_tree_settings"); err != nil {
			return c, fmt.Errorf("read system.merge_tree_settings: %w", err)
		}
	}
	return c, nil
}

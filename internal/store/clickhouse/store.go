package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowlake/flowlake/internal/flow"
)

// Store is a connected, migrated ClickHouse database.
type Store struct {
	cfg    Config
	dsn    DSN
	c      *conn
	layout Layout
	// nodes are every server holding flows_local in a cluster (each
	// migrated and pruned on its own: no ZooKeeper, no ON CLUSTER).
	nodes []string

	mu  sync.Mutex // guards ins
	ins *inserter
}

// Open connects, detects the server's features, and migrates the database
// (every shard's, in a cluster) to this build's schema version.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, _ := ParseDSN(cfg.DSN)
	if cfg.MigrationLockTimeout <= 0 {
		cfg.MigrationLockTimeout = DefaultConfig().MigrationLockTimeout
	}
	boot, err := dial(ctx, d, d.Addrs, "")
	if err != nil {
		return nil, err
	}
	f, err := boot.features(ctx)
	if err != nil {
		boot.close()
		return nil, err
	}
	s := &Store{cfg: cfg, dsn: d, layout: Layout{Features: f, Cluster: d.Cluster, Retention: cfg.Retention}}
	s.nodes = []string{d.Addrs[0]}
	if d.Cluster != "" {
		if s.nodes, err = clusterNodes(ctx, boot, d.Cluster); err != nil {
			boot.close()
			return nil, err
		}
	}
	boot.close()
	owner := newOwner()
	for _, node := range s.nodes {
		if err := s.migrateNode(ctx, node, owner); err != nil {
			return nil, err
		}
	}
	if s.c, err = dial(ctx, d, d.Addrs, d.Database); err != nil {
		return nil, err
	}
	// The table decides how times are held, not the server: a table
	// made on 18.16 keeps its UInt64 times after an upgrade.
	if err := s.adoptTable(ctx); err != nil {
		s.c.close()
		return nil, err
	}
	s.ins = newInserter(d.Database, s.layout)
	slog.Info("clickhouse store", "server", d.Server(), "features", f.String(), "cluster", d.Cluster, "nodes", len(s.nodes))
	return s, nil
}

func (s *Store) migrateNode(ctx context.Context, addr, owner string) error {
	c, err := dial(ctx, s.dsn, []string{addr}, "")
	if err != nil {
		return err
	}
	defer c.close()
	f := s.layout.Features
	if len(s.nodes) > 1 || addr != s.dsn.Addrs[0] {
		// Shards may run different versions: each gets its own DDL.
		if f, err = c.features(ctx); err != nil {
			return err
		}
	}
	l := s.layout
	l.Features = f
	m := &migrator{c: c, db: s.dsn.Database, layout: l, allowDrop: s.cfg.AllowDrop, lockWait: s.cfg.MigrationLockTimeout, owner: owner}
	return m.run(ctx)
}

// clusterNodes lists the shards' addresses of a remote_servers cluster.
func clusterNodes(ctx context.Context, c *conn, cluster string) ([]string, error) {
	rows, err := c.db.Query(ctx, "SELECT host_address, toString(port) FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cluster)
	if err != nil {
		return nil, &Error{c.server, "read cluster " + cluster, err}
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var host, port string
		if err := rows.Scan(&host, &port); err != nil {
			return nil, &Error{c.server, "read cluster " + cluster, err}
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	if err := rows.Err(); err != nil {
		return nil, &Error{c.server, "read cluster " + cluster, err}
	}
	if len(out) == 0 {
		return nil, &Error{c.server, "read cluster " + cluster, fmt.Errorf("no cluster named %q in remote_servers (system.clusters)", cluster)}
	}
	return out, nil
}

// adoptTable reads the flows table's time type into the layout.
func (s *Store) adoptTable(ctx context.Context) error {
	q := fmt.Sprintf("SELECT type FROM system.columns WHERE database = '%s' AND table = '%s' AND name = 'time_received'",
		escape(s.dsn.Database), FlowsTable)
	types, err := s.c.strings1(ctx, q)
	if err != nil {
		return &Error{s.c.server, "read flows table", err}
	}
	if len(types) != 1 {
		return &Error{s.c.server, "read flows table", fmt.Errorf("no time_received column in %s.%s", s.dsn.Database, FlowsTable)}
	}
	s.layout.Features.DateTime64 = strings.HasPrefix(types[0], "DateTime64")
	return nil
}

// Features is what the server can do, as the tables use it.
func (s *Store) Features() Features { return s.layout.Features }

// Layout is the tables' layout.
func (s *Store) Layout() Layout { return s.layout }

// Server names the store in logs and errors.
func (s *Store) Server() string { return s.dsn.Server() }

// Database is the store's database.
func (s *Store) Database() string { return s.dsn.Database }

// Insert writes b as one INSERT; token makes a retry a no-op where the
// server supports insert_deduplication_token (empty: no token).
func (s *Store) Insert(ctx context.Context, b *flow.Batch, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ins.insert(ctx, s.c, b, token)
}

// Query runs a SELECT.
func (s *Store) Query(ctx context.Context, q string, args ...any) (driver.Rows, error) {
	rows, err := s.c.db.Query(ctx, q, args...)
	if err != nil {
		return nil, &Error{s.c.server, "query", err}
	}
	return rows, nil
}

// Exec runs a statement.
func (s *Store) Exec(ctx context.Context, step, q string) error { return s.c.exec(ctx, step, q) }

// Close releases the connections.
func (s *Store) Close() error { return s.c.close() }

// Prune drops the day partitions wholly older than the retention, on
// servers without TTL (a TTL deletes rows itself). It returns how many
// partitions it dropped.
func (s *Store) Prune(ctx context.Context, now time.Time) (int, error) {
	if s.cfg.Retention <= 0 || s.layout.Features.TTL {
		return 0, nil
	}
	// A day partition goes once its last millisecond is older than the
	// retention: the newest flow of day D is at most D+1 - 1ms.
	cutoff := now.UTC().Add(-s.cfg.Retention - 24*time.Hour).Truncate(24 * time.Hour)
	dropped := 0
	for _, node := range s.nodes {
		c, err := dial(ctx, s.dsn, []string{node}, "")
		if err != nil {
			return dropped, err
		}
		q := fmt.Sprintf("SELECT DISTINCT partition_id FROM system.parts WHERE database = '%s' AND table = '%s' AND active",
			escape(s.dsn.Database), s.layout.flowsLocalName())
		ids, err := c.strings1(ctx, q)
		if err != nil {
			c.close()
			return dropped, &Error{c.server, "prune: list partitions", err}
		}
		for _, id := range ids {
			day, err := time.Parse("20060102", id)
			if err != nil || day.After(cutoff) {
				continue
			}
			stmt := fmt.Sprintf("ALTER TABLE %s.%s DROP PARTITION ID '%s'", quoteIdent(s.dsn.Database), quoteIdent(s.layout.flowsLocalName()), id)
			if err := c.exec(ctx, "prune: drop partition "+id, stmt); err != nil {
				c.close()
				return dropped, err
			}
			dropped++
		}
		c.close()
	}
	return dropped, nil
}

// Nodes are the servers holding flows (one without a cluster).
func (s *Store) Nodes() []string { return append([]string(nil), s.nodes...) }

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A migration is one versioned change to a database's tables. Versions
// only grow; a migration, once released, never changes (a new column of
// the schema is a new addColumns migration, checked by a test), so the
// version recorded in a database says exactly which tables it has.
type migration struct {
	version uint32
	name    string
	stmts   func(l Layout, db string) []string
}

// v1Columns are the flows columns of migration 1, frozen.
var v1Columns = []string{"time_received", "time_start", "time_end", "source_type", "exporter_addr", "exporter_name",
	"observation_domain", "sampling_rate", "ip_version", "src_addr", "dst_addr", "src_port", "dst_port", "proto",
	"icmp_type", "icmp_code", "tcp_flags", "tos", "vlan", "vxlan_vni", "src_mac", "dst_mac", "in_if", "out_if",
	"next_hop", "src_as", "dst_as", "src_mask", "dst_mask", "post_nat_src_addr", "post_nat_dst_addr",
	"post_nat_src_port", "post_nat_dst_port", "nat_event", "fw_event", "direction", "action", "flow_state", "bytes",
	"packets", "rev_bytes", "rev_packets", "application", "src_country", "dst_country", "src_as_name", "dst_as_name",
	"src_net", "dst_net", "src_site", "dst_site", "src_subnet", "dst_subnet", "src_vm", "dst_vm", "src_host",
	"dst_host", "in_if_name", "out_if_name", "flow_type", "service", "account", "region", "vpc", "interface_id",
	"instance_id", "rule", "labels"}

var migrations = []migration{
	{1, "create flows", func(l Layout, db string) []string { return l.CreateFlows(db, v1Columns) }},
	{2, "create ingest offsets", func(l Layout, db string) []string { return []string{createOffsets(db)} }},
}

// addColumns is the migration for schema columns added after v1:
//
//	{3, "add column x", addColumns("x")},
func addColumns(names ...string) func(l Layout, db string) []string {
	return func(l Layout, db string) []string { return l.AddColumns(db, names) }
}

// LatestVersion is the schema version this build migrates to.
func LatestVersion() uint32 { return migrations[len(migrations)-1].version }

// ErrNewerSchema is returned when a database was migrated by a newer
// flowlake than this one.
var ErrNewerSchema = errors.New("schema is newer than this flowlake")

// migrator migrates one server's database.
type migrator struct {
	c         *conn
	db        string
	layout    Layout
	allowDrop bool
	lockWait  time.Duration
	owner     string
	// afterLock, when set, runs once the lock is held (tests).
	afterLock func()
}

func newOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%d", host, os.Getpid(), time.Now().UnixNano())
}

// run brings the database to LatestVersion.
func (m *migrator) run(ctx context.Context) error {
	if err := m.c.exec(ctx, "create database", "CREATE DATABASE IF NOT EXISTS "+quoteIdent(m.db)); err != nil {
		return err
	}
	if err := m.c.exec(ctx, "create migrations table", createMigrations(m.db)); err != nil {
		return err
	}
	// Check before waiting on a lock: a newer schema is an error whoever
	// holds it.
	applied, err := m.applied(ctx)
	if err != nil {
		return err
	}
	if err := m.checkNotNewer(applied); err != nil {
		return err
	}
	if len(applied) == len(migrations) {
		return m.retention(ctx)
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.unlock()
	if m.afterLock != nil {
		m.afterLock()
	}
	// Re-read: another process may have migrated while we waited.
	if applied, err = m.applied(ctx); err != nil {
		return err
	}
	if err := m.checkNotNewer(applied); err != nil {
		return err
	}
	for _, mg := range migrations {
		if applied[mg.version] {
			continue
		}
		step := fmt.Sprintf("migration %d (%s)", mg.version, mg.name)
		for _, stmt := range mg.stmts(m.layout, m.db) {
			if err := m.c.exec(ctx, step, stmt); err != nil {
				return err
			}
		}
		rec := fmt.Sprintf("INSERT INTO %s.%s (version, name, applied_at, by) SELECT %d, '%s', now(), '%s'",
			quoteIdent(m.db), quoteIdent(MigrationsTable), mg.version, mg.name, escape(m.owner))
		if err := m.c.exec(ctx, step+": record", rec); err != nil {
			return err
		}
	}
	return m.retention(ctx)
}

// Statements insert with INSERT ... SELECT: an INSERT ... VALUES sent
// through clickhouse-go's Exec never returns on 18.16 (the server waits for
// a data block the client does not send).

func escape(s string) string { return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) }

func (m *migrator) applied(ctx context.Context) (map[uint32]bool, error) {
	vs, err := m.c.strings1(ctx, fmt.Sprintf("SELECT toString(version) FROM %s.%s", quoteIdent(m.db), quoteIdent(MigrationsTable)))
	if err != nil {
		return nil, &Error{m.c.server, "read migrations", err}
	}
	out := map[uint32]bool{}
	for _, v := range vs {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, &Error{m.c.server, "read migrations", fmt.Errorf("bad version %q", v)}
		}
		out[uint32(n)] = true
	}
	return out, nil
}

func (m *migrator) checkNotNewer(applied map[uint32]bool) error {
	for v := range applied {
		if v > LatestVersion() {
			return &Error{m.c.server, "check schema version", fmt.Errorf("%w: database %s is at version %d, this build knows up to %d; upgrade flowlake (nothing was changed)",
				ErrNewerSchema, m.db, v, LatestVersion())}
		}
	}
	return nil
}

// The migration lock is a table: CREATE TABLE without IF NOT EXISTS
// succeeds for exactly one process, on every server version (ClickHouse
// has no transactions or advisory locks; distributed DDL needs ZooKeeper).
// Its one row names the owner and the time; a lock older than lockStale is
// taken to be left by a process that died, and broken. Every migration's
// statements are idempotent too (IF NOT EXISTS), so even a broken lock
// taken by a slow live process cannot apply a migration twice in effect.
const lockStale = 10 * time.Minute

func (m *migrator) lockName() string { return quoteIdent(m.db) + "." + quoteIdent(LockTable) }

func (m *migrator) lock(ctx context.Context) error {
	deadline := time.Now().Add(m.lockWait)
	var firstEmpty time.Time
	for {
		err := m.c.db.Exec(ctx, "CREATE TABLE "+m.lockName()+" (owner String, at DateTime) ENGINE = Log")
		if err == nil {
			ins := fmt.Sprintf("INSERT INTO %s (owner, at) SELECT '%s', now()", m.lockName(), escape(m.owner))
			if err := m.c.exec(ctx, "take migration lock", ins); err != nil {
				m.unlock()
				return err
			}
			return nil
		}
		if ExceptionCode(err) != codeTableAlreadyExists {
			return &Error{m.c.server, "take migration lock", err}
		}
		owner, age, err := m.lockHolder(ctx)
		if err != nil {
			return &Error{m.c.server, "read migration lock", err}
		}
		if owner == "" { // created, row not yet written, or lost
			if firstEmpty.IsZero() {
				firstEmpty = time.Now()
			}
			age = time.Since(firstEmpty)
		}
		if age > lockStale {
			m.c.db.Exec(ctx, "DROP TABLE IF EXISTS "+m.lockName())
			continue
		}
		if time.Now().After(deadline) {
			return &Error{m.c.server, "take migration lock", fmt.Errorf("held by %s for %s; if that process is gone, DROP TABLE %s", owner, age.Round(time.Second), m.lockName())}
		}
		select {
		case <-ctx.Done():
			return &Error{m.c.server, "take migration lock", ctx.Err()}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (m *migrator) lockHolder(ctx context.Context) (string, time.Duration, error) {
	rows, err := m.c.db.Query(ctx, "SELECT owner, toUInt64(now() - at) FROM "+m.lockName()+" LIMIT 1")
	if err != nil {
		if c := ExceptionCode(err); c == 60 || c == 218 { // dropped meanwhile
			return "", 0, nil
		}
		return "", 0, err
	}
	defer rows.Close()
	var owner string
	var age uint64
	for rows.Next() {
		if err := rows.Scan(&owner, &age); err != nil {
			return "", 0, err
		}
	}
	return owner, time.Duration(age) * time.Second, rows.Err()
}

func (m *migrator) unlock() {
	// A fresh context: the lock must go even when ctx was cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m.c.db.Exec(ctx, "DROP TABLE IF EXISTS "+m.lockName())
}

var ttlSeconds = regexp.MustCompile(`TTL .*toIntervalSecond\((\d+)\)`)

// retention makes the flows table's TTL match the configured retention.
// Shortening it deletes data, so it needs AllowDrop.
func (m *migrator) retention(ctx context.Context) error {
	l := m.layout
	if !l.Features.TTL {
		return nil // retention drops partitions (Store.Prune)
	}
	q := fmt.Sprintf("SELECT engine_full FROM system.tables WHERE database = '%s' AND name = '%s'", escape(m.db), escape(l.flowsLocalName()))
	engines, err := m.c.strings1(ctx, q)
	if err != nil || len(engines) != 1 {
		return &Error{m.c.server, "read table TTL", fmt.Errorf("%v (%d tables)", err, len(engines))}
	}
	var cur time.Duration
	if sm := ttlSeconds.FindStringSubmatch(engines[0]); sm != nil {
		n, _ := strconv.ParseInt(sm[1], 10, 64)
		cur = time.Duration(n) * time.Second
	}
	want := l.Retention
	if cur == want {
		return nil
	}
	shorter := want > 0 && (cur == 0 || want < cur)
	if shorter && !m.allowDrop {
		return &Error{m.c.server, "set retention", fmt.Errorf("the table keeps flows for %s and the configuration asks for %s, which deletes the older flows; "+
			"run with allow_drop (--allow-drop) to do that (nothing was changed)", durOrForever(cur), durOrForever(want))}
	}
	stmt := fmt.Sprintf("ALTER TABLE %s.%s REMOVE TTL", quoteIdent(m.db), quoteIdent(l.flowsLocalName()))
	if want > 0 {
		stmt = fmt.Sprintf("ALTER TABLE %s.%s MODIFY TTL %s", quoteIdent(m.db), quoteIdent(l.flowsLocalName()), l.ttlExpr())
	}
	return m.c.exec(ctx, "set retention", stmt)
}

func durOrForever(d time.Duration) string {
	if d == 0 {
		return "ever"
	}
	return d.String()
}

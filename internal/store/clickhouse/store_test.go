package clickhouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
	"github.com/flowlake/flowlake/internal/store/clickhouse/chtest"
)

// genBatch makes n flows with every column filled with varied values
// (strings with quotes, tabs, backslashes and UTF-8; every enum value;
// times with milliseconds; IPv4 and IPv6 addresses).
func genBatch(n int, seed uint64, base time.Time) *flow.Batch {
	r := rand.New(rand.NewPCG(seed, 7))
	strs := []string{"", "edge-1", `it's "q" \ back`, "tab\there", "ünïcode", "x"}
	b := &flow.Batch{}
	for i := range n {
		var rec flow.Record
		rec.TimeReceived = base.Add(time.Duration(r.IntN(48*3600*1000)) * time.Millisecond).UnixNano()
		rec.TimeStart = rec.TimeReceived - int64(r.IntN(60000))*1e6
		rec.TimeEnd = rec.TimeReceived - int64(r.IntN(1000))*1e6
		rec.SrcAddr = flow.AddrFromUint32(0x0a000000 | uint32(r.IntN(500)))
		if i%5 == 0 {
			rec.DstAddr = flow.MustParseAddr(fmt.Sprintf("2001:db8::%x", r.IntN(1000)))
		} else {
			rec.DstAddr = flow.AddrFromUint32(0xc0a80000 | uint32(r.IntN(300)))
		}
		if i%4 == 3 { // the reverse of the flow before
			var prev flow.Record
			b.Row(i-1, &prev)
			rec.SrcAddr, rec.DstAddr = prev.DstAddr, prev.SrcAddr
		}
		rec.SrcPort, rec.DstPort = uint16(r.IntN(65536)), []uint16{443, 53, 80}[r.IntN(3)]
		rec.Proto = []uint8{6, 17, 1}[r.IntN(3)]
		rec.Bytes, rec.Packets = r.Uint64N(1<<40), r.Uint64N(1<<20)
		rec.SrcMAC = r.Uint64N(1 << 48)
		rec.InIf, rec.SrcAS = r.Uint32(), r.Uint32()
		rec.ExporterName, rec.Labels, rec.SrcCountry = strs[r.IntN(len(strs))], strs[r.IntN(len(strs))], strs[i%len(strs)]
		rec.Direction = uint8(r.IntN(len(schema.Directions)))
		rec.FlowType = uint8(r.IntN(len(schema.FlowTypes)))
		rec.SourceType = uint8(r.IntN(len(schema.SourceTypes)))
		b.Append(&rec)
	}
	return b
}

// oracleExprs renders every column to text in SQL, for clickhouse-client.
func oracleExprs(f Features) []string {
	var out []string
	for _, c := range schema.Columns {
		switch c.Type {
		case schema.Time:
			if f.DateTime64 {
				out = append(out, "toString(toUnixTimestamp64Milli("+c.Name+"))")
			} else {
				out = append(out, "toString("+c.Name+")")
			}
		case schema.Addr, schema.String:
			out = append(out, "hex("+c.Name+")")
		default:
			out = append(out, "toString("+c.Name+")")
		}
	}
	return out
}

// expectRow renders row i of b as oracleExprs does, in Go.
func expectRow(b *flow.Batch, i int) string {
	var rec flow.Record
	b.Row(i, &rec)
	var parts []string
	for ci, c := range schema.Columns {
		v := b.Column(ci)
		switch c.Type {
		case schema.Time:
			parts = append(parts, strconv.FormatInt(floorDiv(v.([]int64)[i], 1e6), 10))
		case schema.Addr:
			a := v.([]flow.Addr)[i]
			parts = append(parts, strings.ToUpper(hex.EncodeToString(a[:])))
		case schema.String:
			parts = append(parts, strings.ToUpper(hex.EncodeToString([]byte(v.([]string)[i]))))
		case schema.Enum:
			parts = append(parts, c.Values[v.([]uint8)[i]])
		case schema.Uint8:
			parts = append(parts, strconv.Itoa(int(v.([]uint8)[i])))
		case schema.Uint16:
			parts = append(parts, strconv.Itoa(int(v.([]uint16)[i])))
		case schema.Uint32:
			parts = append(parts, strconv.FormatUint(uint64(v.([]uint32)[i]), 10))
		case schema.Uint64, schema.MAC:
			parts = append(parts, strconv.FormatUint(v.([]uint64)[i], 10))
		}
	}
	return strings.Join(parts, "\t")
}

func testConfig(dsn string) Config {
	c := DefaultConfig()
	c.DSN = dsn
	return c
}

func TestInsertRoundTrip(t *testing.T) {
	srv := chtest.Start(t, chtest.Options{})
	ctx := context.Background()
	s, err := Open(ctx, testConfig(srv.DSN("rt")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := genBatch(3000, 1, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	if err := s.Insert(ctx, b, ""); err != nil {
		t.Fatal(err)
	}
	// Read back every column of every row through clickhouse-client,
	// sorted, against the rows rendered in Go.
	exprs := oracleExprs(s.Features())
	got := strings.Split(srv.Query(t, "SELECT "+strings.Join(exprs, ", ")+" FROM rt.flows"), "\n")
	var want []string
	for i := range b.Len() {
		want = append(want, expectRow(b, i))
	}
	sortStrings(got)
	sortStrings(want)
	if len(got) != len(want) {
		t.Fatalf("%d rows back, %d written", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row differs:\n got %s\nwant %s", got[i], want[i])
		}
	}
	// Two days of flows: two partitions.
	if p := srv.Query(t, "SELECT uniqExact(partition) FROM system.parts WHERE database = 'rt' AND table = 'flows' AND active"); p != "2" && p != "3" {
		t.Errorf("partitions: %s", p)
	}
}

func sortStrings(s []string) { sort.Strings(s) }

// TestMigrateConcurrently opens one fresh database from several processes'
// worth of stores at once: each migration is applied once, and all open.
func TestMigrateConcurrently(t *testing.T) {
	srv := chtest.Start(t, chtest.Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, testConfig(srv.DSN("conc")))
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
	got := srv.Query(t, "SELECT version, count() FROM conc.flowlake_migrations GROUP BY version ORDER BY version")
	var want []string
	for _, m := range migrations {
		want = append(want, fmt.Sprintf("%d\t1", m.version))
	}
	if got != strings.Join(want, "\n") {
		t.Errorf("migrations recorded:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if n := srv.Query(t, "SELECT count() FROM system.tables WHERE database = 'conc' AND name = '"+LockTable+"'"); n != "0" {
		t.Errorf("lock table left behind")
	}
}

// TestMigrationLockWaits: a lock held by someone else makes a migration
// wait, and it proceeds when the holder lets go.
func TestMigrationLockWaits(t *testing.T) {
	srv := chtest.Start(t, chtest.Options{})
	srv.Query(t, "CREATE DATABASE lk")
	srv.Query(t, "CREATE TABLE lk."+LockTable+" (owner String, at DateTime) ENGINE = Log")
	srv.Query(t, "INSERT INTO lk."+LockTable+" VALUES ('other-process', now())")
	cfg := testConfig(srv.DSN("lk"))
	cfg.MigrationLockTimeout = time.Second
	_, err := Open(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "take migration lock") || !strings.Contains(err.Error(), "held by other-process") {
		t.Fatalf("held lock: %v", err)
	}
	if n := srv.Query(t, "SELECT count() FROM system.tables WHERE database = 'lk' AND name = 'flows'"); n != "0" {
		t.Fatal("migrated without the lock")
	}
	done := make(chan error, 1)
	cfg.MigrationLockTimeout = time.Minute
	go func() {
		s, err := Open(context.Background(), cfg)
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	time.Sleep(time.Second)
	srv.Query(t, "DROP TABLE lk."+LockTable)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	srv := chtest.Start(t, chtest.Options{})
	ctx := context.Background()
	s, err := Open(ctx, testConfig(srv.DSN("nw")))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	srv.Query(t, fmt.Sprintf("INSERT INTO nw.flowlake_migrations VALUES (%d, 'from the future', now(), 'x')", LatestVersion()+1))
	_, err = Open(ctx, testConfig(srv.DSN("nw")))
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), srv.Addr()) || !strings.Contains(err.Error(), "check schema version") {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	srv := chtest.Start(t, chtest.Options{})
	ctx := context.Background()
	// Unreachable: a port nobody listens on.
	port := chtest.FreePort(t)
	cfg := testConfig(fmt.Sprintf("clickhouse://127.0.0.1:%d/db", port))
	_, err := Open(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", port)) || !strings.Contains(err.Error(), "connect") {
		t.Errorf("unreachable: %v", err)
	}
	// Wrong password.
	_, err = Open(ctx, testConfig(fmt.Sprintf("clickhouse://reader:wrong@%s/db", srv.Addr())))
	if err == nil || !strings.Contains(err.Error(), "connect") || !strings.Contains(err.Error(), "password") {
		t.Errorf("wrong password: %v", err)
	}
	// A read-only user cannot migrate.
	_, err = Open(ctx, testConfig(fmt.Sprintf("clickhouse://reader:reader@%s/db", srv.Addr())))
	if err == nil || !strings.Contains(err.Error(), "create database") || !strings.Contains(err.Error(), "privilege") {
		t.Errorf("read-only user: %v", err)
	}
	// Bad DSN.
	if _, err := Open(ctx, testConfig("clickhouse://127.0.0.1:8123/db")); err == nil || !strings.Contains(err.Error(), "HTTP") {
		t.Errorf("HTTP port: %v", err)
	}
}

// TestPruneLegacy: without TTL (18.16) retention drops whole day
// partitions older than the retention, and nothing newer.
func TestPruneLegacy(t *testing.T) {
	srv := chtest.Start(t, chtest.Options{})
	ctx := context.Background()
	cfg := testConfig(srv.DSN("pr"))
	cfg.Retention = 48 * time.Hour
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Features().TTL {
		t.Skip("server has TTL; Prune is a no-op there")
	}
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	b := &flow.Batch{}
	for d := range 6 { // Dec 4 .. Dec 9, at noon
		b.Append(&flow.Record{TimeReceived: time.Date(2026, 12, 4+d, 12, 0, 0, 0, time.UTC).UnixNano(), Bytes: uint64(d)})
	}
	b.Append(&flow.Record{TimeReceived: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC).UnixNano()})
	if err := s.Insert(ctx, b, ""); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	// Retention 48 h from Dec 10 12:00: flows from Dec 8 12:00 on stay;
	// Dec 8's partition holds one, so Dec 4-7 (4 partitions) go.
	if n != 4 {
		t.Errorf("dropped %d partitions, want 4", n)
	}
	if got := srv.Query(t, "SELECT groupArray(toString(toDate(toDateTime(intDiv(time_received, 1000))))) FROM (SELECT time_received FROM pr.flows ORDER BY time_received)"); got != "['2026-12-08','2026-12-08','2026-12-09']" {
		t.Errorf("left: %s", got)
	}
}

// TestFeaturesOfInstalledServer checks the 18.16 catalog the unit tests
// decide on is what the installed server reports.
func TestFeaturesOfInstalledServer(t *testing.T) {
	srv := chtest.Start(t, chtest.Options{})
	c, err := dial(context.Background(), DSN{User: "default", DialTimeout: 5 * time.Second}, []string{srv.Addr()}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	cat, err := readCatalog(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := cat.Decide()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cat.Version, "18.16") {
		t.Skipf("server %s is not Debian's 18.16; features: %s", cat.Version, f)
	}
	want, _ := debian1816.Decide()
	if f != want {
		t.Errorf("installed 18.16: %+v, unit tests assume %+v", f, want)
	}
}

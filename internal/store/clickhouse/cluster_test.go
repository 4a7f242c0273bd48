package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/store/clickhouse/chtest"
)

// startCluster runs two clickhouse-server processes as the two shards of a
// remote_servers cluster named "flows".
func startCluster(t *testing.T) (a, b *chtest.Server) {
	t.Helper()
	pa, pb := chtest.FreePort(t), chtest.FreePort(t)
	shards := map[string][]string{"flows": {fmt.Sprintf("127.0.0.1:%d", pa), fmt.Sprintf("127.0.0.1:%d", pb)}}
	a = chtest.Start(t, chtest.Options{TCPPort: pa, Clusters: shards})
	b = chtest.Start(t, chtest.Options{TCPPort: pb, Clusters: shards})
	return a, b
}

// The queries a cluster must answer as one node does: totals, top-N,
// 5-minute series, distinct counts, a needle.
var clusterQueries = []string{
	"SELECT count(), sum(bytes), sum(packets) FROM %s.flows",
	"SELECT hex(src_addr), sum(bytes) AS b FROM %s.flows GROUP BY src_addr ORDER BY b DESC, src_addr LIMIT 10",
	"SELECT intDiv(time_received, 300000) AS bin, count(), sum(bytes) FROM %s.flows GROUP BY bin ORDER BY bin",
	"SELECT uniqExact(dst_addr), uniqExact(src_addr, dst_addr) FROM %s.flows",
	"SELECT direction, flow_type, count() FROM %s.flows GROUP BY direction, flow_type ORDER BY direction, flow_type",
	"SELECT time_received, bytes FROM %s.flows WHERE src_addr = toFixedString(unhex('00000000000000000000FFFF0A000007'), 16) ORDER BY time_received, bytes",
}

func TestClusterSameAnswers(t *testing.T) {
	a, b := startCluster(t)
	single := chtest.Start(t, chtest.Options{})
	ctx := context.Background()

	cs, err := Open(ctx, testConfig("clickhouse://"+a.Addr()+"/fl?cluster=flows"))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if len(cs.Nodes()) != 2 {
		t.Fatalf("nodes %v", cs.Nodes())
	}
	ss, err := Open(ctx, testConfig(single.DSN("fl")))
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()

	base := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		batch := genBatch(5000, uint64(10+i), base)
		if err := cs.Insert(ctx, batch, ""); err != nil {
			t.Fatal(err)
		}
		if err := ss.Insert(ctx, batch, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Both shards hold part of the rows (insert_distributed_sync: they
	// are there when Insert returns), and together all of them.
	na, _ := strconv.Atoi(a.Query(t, "SELECT count() FROM fl.flows_local"))
	nb, _ := strconv.Atoi(b.Query(t, "SELECT count() FROM fl.flows_local"))
	if na == 0 || nb == 0 || na+nb != 20000 {
		t.Fatalf("shards hold %d + %d rows, want 20000 split", na, nb)
	}
	// A connection's two directions land on one shard.
	remoteB := "remote('127.0.0.1:" + strconv.Itoa(b.TCPPort) + "', fl.flows_local)"
	pairs := a.Query(t, "SELECT count() FROM fl.flows_local WHERE (dst_addr, src_addr) IN (SELECT src_addr, dst_addr FROM "+remoteB+")")
	if pairs != "0" {
		t.Errorf("%s flows of shard A have their reverse on shard B", pairs)
	}
	if local := a.Query(t, "SELECT count() FROM fl.flows_local WHERE (dst_addr, src_addr) IN (SELECT src_addr, dst_addr FROM fl.flows_local)"); local == "0" {
		t.Error("no reverse flows on shard A: the check above proves nothing")
	}
	for _, q := range clusterQueries {
		got := a.Query(t, fmt.Sprintf(q, "fl"))
		fromB := b.Query(t, fmt.Sprintf(q, "fl"))
		want := single.Query(t, fmt.Sprintf(q, "fl"))
		if got != want || fromB != want {
			t.Errorf("%s\ncluster via A:\n%s\ncluster via B:\n%s\none node:\n%s", q, head(got), head(fromB), head(want))
		}
		if strings.TrimSpace(want) == "" {
			t.Errorf("%s: empty answer proves nothing", q)
		}
	}
	// Migrations are recorded on every shard.
	for _, s := range []*chtest.Server{a, b} {
		if v := s.Query(t, "SELECT max(version) FROM fl.flowlake_migrations"); v != strconv.Itoa(int(LatestVersion())) {
			t.Errorf("shard %s at version %s", s.Addr(), v)
		}
	}
}

func head(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

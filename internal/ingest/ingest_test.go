package ingest

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/store/clickhouse"
	"github.com/flowlake/flowlake/internal/store/clickhouse/chtest"
)

const topic = "flows"

// produce publishes n flows whose bytes column numbers them from first
// (first, first+1, ...): ClickHouse then tells lost and duplicated flows
// apart by count() against uniqExact(bytes).
func produce(t *testing.T, brokers []string, first, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).UnixNano()
	b := &flow.Batch{}
	var recs []*kgo.Record
	for i := first; i < first+n; i++ {
		b.Truncate(0)
		b.Append(&flow.Record{TimeReceived: base + int64(i)*1e6, SrcAddr: flow.AddrFromUint32(0x0a000000 | uint32(i%1000)),
			DstAddr: flow.AddrFromUint32(0xc0a80001), Bytes: uint64(i), Packets: 1, Proto: 6, DstPort: 443})
		recs = append(recs, &kgo.Record{Value: AppendFlow(nil, b, 0)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

type counts struct{ rows, distinct, min, max int }

func count(t *testing.T, srv *chtest.Server, db string) counts {
	t.Helper()
	out := srv.Query(t, "SELECT count(), uniqExact(bytes), min(bytes), max(bytes) FROM "+db+".flows")
	f := strings.Fields(out)
	var c counts
	for i, p := range []*int{&c.rows, &c.distinct, &c.min, &c.max} {
		*p, _ = strconv.Atoi(f[i])
	}
	return c
}

// waitFor polls until ClickHouse holds want distinct flows.
func waitFor(t *testing.T, srv *chtest.Server, db string, want int, within time.Duration) counts {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c := count(t, srv, db)
		if c.distinct >= want || time.Now().After(deadline) {
			return c
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type rig struct {
	t       *testing.T
	kafka   *kfake.Cluster
	brokers []string
	srv     *chtest.Server
	db      string
}

func newRig(t *testing.T, db string, opts ...kfake.Opt) *rig {
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, topic)}, opts...)
	k, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return &rig{t: t, kafka: k, brokers: k.ListenAddrs(), srv: chtest.Start(t, chtest.Options{}), db: db}
}

func (r *rig) ingester(batchRows int, crash func(string) bool) *Ingester {
	r.t.Helper()
	scfg := clickhouse.DefaultConfig()
	scfg.DSN = r.srv.DSN(r.db)
	st, err := clickhouse.Open(context.Background(), scfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { st.Close() })
	cfg := DefaultConfig()
	cfg.From = "kafka://" + strings.Join(r.brokers, ",") + "/" + topic
	cfg.BatchRows = batchRows
	cfg.BatchDelay = 300 * time.Millisecond
	cfg.RetryMax = 500 * time.Millisecond
	in, err := New(cfg, st, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	in.crash = crash
	if err := in.Start(); err != nil {
		r.t.Fatal(err)
	}
	return in
}

// TestIngestGroup: two ingesters in one group share the partitions; every
// flow arrives once.
func TestIngestGroup(t *testing.T) {
	r := newRig(t, "grp")
	a := r.ingester(1000, nil)
	b := r.ingester(1000, nil)
	produce(t, r.brokers, 0, 20000)
	c := waitFor(t, r.srv, r.db, 20000, 60*time.Second)
	a.Stop()
	b.Stop()
	if c != (counts{20000, 20000, 0, 19999}) {
		t.Fatalf("ClickHouse holds %+v, want 20000 flows once each", c)
	}
	// Both took part (each wrote ledger rows of its own).
	if n := r.srv.Query(t, "SELECT uniqExact(ingester) FROM grp.flowlake_ingest_offsets"); n != "1" && n != "2" {
		t.Errorf("ingesters in the ledger: %s", n)
	}
}

// TestIngestCrashPoints kills an ingester at each step of a flush and
// lets a new one take over: a kill before the ledger write re-reads one
// batch (bounded, measured), a kill after it re-reads nothing although
// Kafka never got the commit.
func TestIngestCrashPoints(t *testing.T) {
	for _, tc := range []struct {
		step    string
		maxDups int
	}{{"after insert", 500}, {"after ledger", 0}} {
		t.Run(strings.ReplaceAll(tc.step, " ", "-"), func(t *testing.T) {
			r := newRig(t, "crash")
			produce(t, r.brokers, 0, 5000)
			var crashed atomic.Bool
			first := r.ingester(500, func(step string) bool {
				// Crash at the third batch's step.
				return step == tc.step && crashed.CompareAndSwap(false, true)
			})
			select {
			case <-first.Done():
			case <-time.After(60 * time.Second):
				t.Fatal("no crash")
			}
			// The process is gone: no commit. (Leaving the group, as
			// Close does, only spares the wait for its session timeout.)
			first.cl.AllowRebalance()
			first.cl.Close()
			second := r.ingester(500, nil)
			waitFor(t, r.srv, r.db, 5000, 60*time.Second)
			time.Sleep(time.Second) // let a stray duplicate land
			c := count(t, r.srv, r.db)
			second.Stop()
			if c.distinct != 5000 || c.min != 0 || c.max != 4999 {
				t.Fatalf("lost flows: %+v", c)
			}
			dups := c.rows - c.distinct
			t.Logf("crash %s: %d duplicate flows (batch 500)", tc.step, dups)
			if dups > tc.maxDups {
				t.Errorf("%d duplicates, bound %d", dups, tc.maxDups)
			}
		})
	}
}

// TestIngestClickHouseDown: ClickHouse stops for a while; the ingester
// holds its batch, retries, and loses nothing once it is back.
func TestIngestClickHouseDown(t *testing.T) {
	r := newRig(t, "down")
	in := r.ingester(1000, nil)
	produce(t, r.brokers, 0, 3000)
	waitFor(t, r.srv, r.db, 3000, 60*time.Second)
	r.srv.Stop()
	produce(t, r.brokers, 3000, 3000)
	time.Sleep(3 * time.Second) // inserts fail and are retried meanwhile
	if err := r.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	c := waitFor(t, r.srv, r.db, 6000, 90*time.Second)
	in.Stop()
	if c != (counts{6000, 6000, 0, 5999}) {
		t.Fatalf("after ClickHouse came back: %+v, want 6000 once each", c)
	}
}

// TestIngestBrokerRestart: the broker (kfake with its log on disk) stops
// and comes back on the same port; nothing is lost or doubled.
func TestIngestBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	port := chtest.FreePort(t)
	k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(3, topic), kfake.DataDir(dir), kfake.SyncWrites())
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, kafka: k, brokers: k.ListenAddrs(), srv: chtest.Start(t, chtest.Options{}), db: "brk"}
	in := r.ingester(1000, nil)
	produce(t, r.brokers, 0, 4000)
	waitFor(t, r.srv, r.db, 4000, 60*time.Second)
	k.Close()
	time.Sleep(2 * time.Second)
	k, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(3, topic), kfake.DataDir(dir), kfake.SyncWrites())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	produce(t, r.brokers, 4000, 4000)
	waitFor(t, r.srv, r.db, 8000, 90*time.Second)
	time.Sleep(time.Second)
	c := count(t, r.srv, r.db)
	in.Stop()
	if c != (counts{8000, 8000, 0, 7999}) {
		t.Fatalf("after the broker restart: %+v, want 8000 once each", c)
	}
}

// TestIngestMalformed: a record that is no flow is counted and skipped;
// the rest of the partition goes on.
func TestIngestMalformed(t *testing.T) {
	r := newRig(t, "bad")
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte{0x08, 0xff}}, &kgo.Record{Value: []byte("{json?}")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	produce(t, r.brokers, 0, 100)
	in := r.ingester(1000, nil)
	c := waitFor(t, r.srv, r.db, 100, 60*time.Second)
	in.Stop()
	if c != (counts{100, 100, 0, 99}) {
		t.Fatalf("%+v", c)
	}
	if got := counterValue(in.m.decodeErrors); got != 2 {
		t.Errorf("decode errors counted: %v, want 2", got)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

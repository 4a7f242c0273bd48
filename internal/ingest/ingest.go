// Package ingest is `flowlake ingest`: it consumes flows from Kafka (the
// topic `serve --output kafka://...` publishes to) in a consumer group and
// writes them to the ClickHouse store in large batches.
//
// Nothing is lost and duplicates are bounded: a batch's Kafka offsets are
// committed only after ClickHouse acknowledged the batch, and between the
// two the store's ledger (flowlake_ingest_offsets) records which offsets
// each batch held. An ingester that takes over a partition starts after the
// later of the committed offset and the ledger's, so a lost commit (broker
// down, process killed after the ledger write) re-reads nothing. What can
// be written twice is a batch whose insert ClickHouse applied but whose
// ledger row was not written (a kill in the milliseconds between, or an
// insert that timed out after the server applied it): at most one batch
// per partition and failure. On servers with insert_deduplication_token
// the retry of such a batch in the same process is deduplicated by the
// server.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/store/clickhouse"
)

// Config configures an ingester.
type Config struct {
	// From is kafka://broker:9092[,broker:9092...]/topic.
	From string `yaml:"from"`
	// Group is the Kafka consumer group; ingesters in one group share the
	// topic's partitions.
	Group string `yaml:"group"`
	// BatchRows is the most flows one ClickHouse insert holds.
	BatchRows int `yaml:"batch_rows"`
	// BatchDelay is the longest a consumed flow waits for its insert.
	BatchDelay time.Duration `yaml:"batch_delay"`
	// RetryMax caps the wait between retries of a failing insert.
	RetryMax time.Duration `yaml:"retry_max"`
}

// DefaultConfig is the ingester's configuration before the user's.
func DefaultConfig() Config {
	return Config{Group: "flowlake-ingest", BatchRows: 200000, BatchDelay: 2 * time.Second, RetryMax: 30 * time.Second}
}

// Source is a parsed kafka:// address.
type Source struct {
	Brokers []string
	Topic   string
}

// ParseSource parses kafka://host:9092,host:9092/topic.
func ParseSource(s string) (Source, error) {
	const form = "kafka://broker:9092[,broker:9092]/topic"
	rest, ok := strings.CutPrefix(s, "kafka://")
	if !ok {
		return Source{}, fmt.Errorf("ingest: %q is not a Kafka address (want %s)", s, form)
	}
	hosts, topic, _ := strings.Cut(rest, "/")
	if hosts == "" || topic == "" || strings.Contains(topic, "/") {
		return Source{}, fmt.Errorf("ingest: %q: want %s", s, form)
	}
	var src Source
	for _, h := range strings.Split(hosts, ",") {
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return Source{}, fmt.Errorf("ingest: broker %q needs host:port (want %s)", h, form)
		}
		src.Brokers = append(src.Brokers, h)
	}
	src.Topic = topic
	return src, nil
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if _, err := ParseSource(c.From); err != nil {
		return err
	}
	if c.Group == "" {
		return errors.New("ingest: group must not be empty")
	}
	if c.BatchRows <= 0 || c.BatchDelay <= 0 || c.RetryMax <= 0 {
		return errors.New("ingest: batch_rows, batch_delay and retry_max must be positive")
	}
	return nil
}

// Ingester consumes one topic into one store.
type Ingester struct {
	cfg   Config
	src   Source
	store *clickhouse.Store
	cl    *kgo.Client
	id    string
	m     *metrics

	batch   *flow.Batch
	ranges  map[int32]*clickhouse.OffsetRange
	epochs  map[int32]int32
	started time.Time // first record of the pending batch

	cancel context.CancelFunc
	done   chan error
	// crash, set by tests, is asked at each step of a flush; true makes
	// the ingester stop dead there, as a killed process would.
	crash func(step string) bool
}

// New builds an ingester; Start connects.
func New(cfg Config, st *clickhouse.Store, reg prometheus.Registerer) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	src, _ := ParseSource(cfg.From)
	host, _ := os.Hostname()
	in := &Ingester{cfg: cfg, src: src, store: st, id: host + ":" + strconv.Itoa(os.Getpid()), m: newMetrics(reg),
		batch: &flow.Batch{}, ranges: map[int32]*clickhouse.OffsetRange{}, epochs: map[int32]int32{}}
	return in, nil
}

// Start joins the consumer group and runs until Stop.
func (in *Ingester) Start() error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(in.src.Brokers...),
		kgo.ConsumerGroup(in.cfg.Group),
		kgo.ConsumeTopics(in.src.Topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.AdjustFetchOffsetsFn(in.adjustOffsets),
		kgo.ClientID("flowlake-ingest"),
	)
	if err != nil {
		return fmt.Errorf("ingest: kafka %s: %w", strings.Join(in.src.Brokers, ","), err)
	}
	in.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	in.done = make(chan error, 1)
	go func() { in.done <- in.run(ctx) }()
	slog.Info("ingest started", "brokers", in.src.Brokers, "topic", in.src.Topic, "group", in.cfg.Group, "store", in.store.Server())
	return nil
}

// Stop writes what it holds, commits, and leaves the group.
func (in *Ingester) Stop() error {
	in.cancel()
	err := <-in.done
	// Polls gate rebalances (BlockRebalanceOnPoll): leaving the group
	// waits for this, and nothing is held uncommitted any more.
	in.cl.AllowRebalance()
	in.cl.Close()
	if errors.Is(err, context.Canceled) || errors.Is(err, errCrashed) {
		err = nil
	}
	return err
}

// Done reports the ingester's end (a fatal error, or nil after Stop).
func (in *Ingester) Done() <-chan error { return in.done }

var errCrashed = errors.New("ingest: crashed (test)")

func (in *Ingester) run(ctx context.Context) error {
	for {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if in.batch.Len() > 0 {
			pollCtx, cancel = context.WithDeadline(ctx, in.started.Add(in.cfg.BatchDelay))
		}
		fetches := in.cl.PollRecords(pollCtx, in.cfg.BatchRows-in.batch.Len())
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				in.m.fetchErrors.Inc()
				slog.Warn("ingest: fetch", "topic", topic, "partition", p, "err", err)
			}
		})
		fetches.EachRecord(in.add)
		due := in.batch.Len() >= in.cfg.BatchRows || in.batch.Len() > 0 && time.Since(in.started) >= in.cfg.BatchDelay
		if ctx.Err() != nil {
			// Stopping: write what is held, then leave.
			due = len(in.ranges) > 0
		}
		if due || len(in.ranges) > 0 && in.batch.Len() == 0 {
			if err := in.flush(ctx); err != nil {
				return err
			}
		}
		if len(in.ranges) == 0 {
			// Nothing uncommitted: a rebalance may take partitions now.
			in.cl.AllowRebalance()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// add decodes one record into the pending batch.
func (in *Ingester) add(r *kgo.Record) {
	rg := in.ranges[r.Partition]
	if rg == nil {
		rg = &clickhouse.OffsetRange{Partition: r.Partition, First: r.Offset}
		in.ranges[r.Partition] = rg
	}
	rg.Last = r.Offset
	in.epochs[r.Partition] = r.LeaderEpoch
	if in.batch.Len() == 0 {
		in.started = time.Now()
	}
	in.m.records.Inc()
	if err := DecodeFlow(r.Value, in.batch); err != nil {
		// Counted, logged, and committed with the rest: a bad message
		// must not stop the partition.
		in.m.decodeErrors.Inc()
		if in.m.decodeErrorLogged.CompareAndSwap(false, true) {
			slog.Warn("ingest: malformed message dropped (first of a streak)", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		}
		return
	}
	in.m.decodeErrorLogged.Store(false)
	rg.Rows++
}

// token names the batch's offsets: the same records make the same token.
func (in *Ingester) token(ranges []clickhouse.OffsetRange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "flowlake/%s/%s", in.cfg.Group, in.src.Topic)
	for _, r := range ranges {
		fmt.Fprintf(&b, "/%d:%d-%d", r.Partition, r.First, r.Last)
	}
	return b.String()
}

func (in *Ingester) sortedRanges() []clickhouse.OffsetRange {
	var out []clickhouse.OffsetRange
	for _, r := range in.ranges {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

// flush writes the batch, records its offsets in the ledger, and commits
// them to Kafka, in that order. Insert and ledger are retried until they
// succeed or the ingester stops; a failed commit is logged and left to the
// ledger and the next commit.
func (in *Ingester) flush(ctx context.Context) error {
	ranges := in.sortedRanges()
	// Retries outlive a Stop for a while: a batch in hand is written if
	// ClickHouse answers, and otherwise left to Kafka (it was never
	// committed) for the next ingester.
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			time.Sleep(in.cfg.BatchDelay + 5*time.Second)
			cancel()
		case <-wctx.Done():
		}
	}()
	rows := in.batch.Len()
	if err := in.retry(wctx, "insert", func() error { return in.store.Insert(wctx, in.batch, in.token(ranges)) }); err != nil {
		return err
	}
	if in.crash != nil && in.crash("after insert") {
		return errCrashed
	}
	in.m.flows.Add(float64(rows))
	in.m.batches.Inc()
	if err := in.retry(wctx, "ledger", func() error {
		return in.store.WriteOffsets(wctx, in.cfg.Group, in.src.Topic, in.id, ranges)
	}); err != nil {
		return err
	}
	if in.crash != nil && in.crash("after ledger") {
		return errCrashed
	}
	commit := map[string]map[int32]kgo.EpochOffset{in.src.Topic: {}}
	for _, r := range ranges {
		commit[in.src.Topic][r.Partition] = kgo.EpochOffset{Epoch: in.epochs[r.Partition], Offset: r.Last + 1}
	}
	var commitErr error
	var wg sync.WaitGroup
	wg.Add(1)
	cctx, ccancel := context.WithTimeout(wctx, 10*time.Second)
	in.cl.CommitOffsetsSync(cctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		defer wg.Done()
		if err != nil {
			commitErr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
					commitErr = fmt.Errorf("partition %d: %w", p.Partition, e)
				}
			}
		}
	})
	wg.Wait()
	ccancel()
	if commitErr != nil {
		in.m.commitErrors.Inc()
		slog.Warn("ingest: kafka commit failed; the ledger in ClickHouse keeps the batch from being read again", "err", commitErr)
	}
	in.batch.Truncate(0)
	clear(in.ranges)
	return nil
}

// retry runs fn until it succeeds, backing off to RetryMax; it gives up
// only when ctx ends.
func (in *Ingester) retry(ctx context.Context, what string, fn func() error) error {
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			if attempt > 0 {
				slog.Info("ingest: "+what+" succeeded again", "attempts", attempt+1)
			}
			return nil
		}
		in.m.insertErrors.WithLabelValues(what).Inc()
		if attempt == 0 {
			slog.Warn("ingest: "+what+" failed; retrying, the batch is held and not committed", "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ingest: %s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, in.cfg.RetryMax)
	}
}

// adjustOffsets starts each assigned partition after the later of its
// committed offset and the ledger's last written offset.
func (in *Ingester) adjustOffsets(ctx context.Context, assigned map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	parts := assigned[in.src.Topic]
	if len(parts) == 0 {
		return assigned, nil
	}
	var ledger map[int32]int64
	err := in.retry(ctx, "read ledger", func() error {
		var err error
		ledger, err = in.store.LedgerOffsets(ctx, in.cfg.Group, in.src.Topic)
		return err
	})
	if err != nil {
		return assigned, nil // rebalancing again; the next assignment reads it
	}
	for p, off := range parts {
		last, ok := ledger[p]
		if !ok {
			continue
		}
		eo := off.EpochOffset()
		if eo.Offset < 0 || last+1 > eo.Offset {
			parts[p] = kgo.NewOffset().At(last + 1).WithEpoch(-1)
			in.m.ledgerSeeks.Inc()
		}
	}
	return assigned, nil
}

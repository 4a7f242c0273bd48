package clickhouse

import (
	"context"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// inserter turns batches into native-protocol blocks. Its scratch slices
// are reused between inserts; one inserter serves one goroutine.
type inserter struct {
	sql      string
	layout   Layout
	times    []int64
	utimes   []uint64
	enums    []int8
	addrs    [][]byte
	settings ch.Settings
}

func newInserter(db string, l Layout) *inserter {
	names := make([]string, len(schema.Columns))
	for i, c := range schema.Columns {
		names[i] = quoteIdent(c.Name)
	}
	// The column list is not optional: 18.16 answers a bare
	// "INSERT INTO t" with an empty header block over the native protocol.
	sql := fmt.Sprintf("INSERT INTO %s.%s (%s)", quoteIdent(db), quoteIdent(FlowsTable), strings.Join(names, ", "))
	in := &inserter{sql: sql, layout: l, settings: ch.Settings{}}
	if l.Cluster != "" {
		// The insert returns once every shard has its rows, so an
		// acknowledged batch is on the shards, not in a local queue.
		in.settings["insert_distributed_sync"] = 1
	}
	return in
}

// insert writes b as one INSERT. token, when the server can use it, makes
// a retry of the same rows a no-op (insert_deduplication_token).
func (in *inserter) insert(ctx context.Context, c *conn, b *flow.Batch, token string) error {
	if b.Len() == 0 {
		return nil
	}
	settings := ch.Settings{}
	for k, v := range in.settings {
		settings[k] = v
	}
	if token != "" && in.layout.Features.DedupToken && in.layout.Features.NonReplicatedDedup {
		settings["insert_deduplication_token"] = token
	}
	ctx = ch.Context(ctx, ch.WithSettings(settings))
	batch, err := c.db.PrepareBatch(ctx, in.sql)
	if err != nil {
		return &Error{c.server, "insert: prepare", err}
	}
	defer batch.Abort()
	for i, col := range schema.Columns {
		var v any
		switch raw := b.Column(i).(type) {
		case []int64: // times, ns
			if in.layout.Features.DateTime64 {
				// clickhouse-go takes []int64 for DateTime64 as milliseconds.
				in.times = in.times[:0]
				for _, t := range raw {
					in.times = append(in.times, floorDiv(t, 1e6))
				}
				v = in.times
			} else {
				in.utimes = in.utimes[:0]
				for _, t := range raw {
					in.utimes = append(in.utimes, uint64(max(floorDiv(t, 1e6), 0)))
				}
				v = in.utimes
			}
		case []flow.Addr:
			// Sub-slices of the batch's own memory: clickhouse-go's
			// FixedString appends a [][]byte row by row without
			// reflection (its single-[]byte path takes one value only).
			in.addrs = in.addrs[:0]
			for j := range raw {
				in.addrs = append(in.addrs, raw[j][:])
			}
			v = in.addrs
		case []uint8:
			if col.Type == schema.Enum {
				in.enums = in.enums[:0]
				for _, e := range raw {
					if int(e) >= len(col.Values) {
						e = 0 // unknown, as the lake writes it
					}
					in.enums = append(in.enums, int8(e))
				}
				v = in.enums
			} else {
				v = raw
			}
		default:
			v = raw
		}
		if err := batch.Column(i).Append(v); err != nil {
			return &Error{c.server, "insert: column " + col.Name, err}
		}
	}
	if err := batch.Send(); err != nil {
		return &Error{c.server, "insert", err}
	}
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

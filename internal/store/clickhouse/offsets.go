package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// OffsetRange is the Kafka offsets of one partition a written batch held.
type OffsetRange struct {
	Partition   int32
	First, Last int64
	Rows        uint64
}

// WriteOffsets records in the ledger that a batch with these ranges is in
// the flows table. It is written after the flows and before the Kafka
// commit; see createOffsets.
func (s *Store) WriteOffsets(ctx context.Context, group, topic, ingester string, ranges []OffsetRange) error {
	batch, err := s.c.db.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.%s (`group`, topic, partition, first_offset, last_offset, rows, written_at, ingester)",
		quoteIdent(s.dsn.Database), quoteIdent(OffsetsTable)))
	if err != nil {
		return &Error{s.c.server, "write ingest offsets: prepare", err}
	}
	defer batch.Abort()
	now := time.Now()
	for _, r := range ranges {
		if err := batch.Append(group, topic, r.Partition, r.First, r.Last, r.Rows, now, ingester); err != nil {
			return &Error{s.c.server, "write ingest offsets", err}
		}
	}
	if err := batch.Send(); err != nil {
		return &Error{s.c.server, "write ingest offsets", err}
	}
	return nil
}

// LedgerOffsets returns, per partition, the last offset the ledger says is
// written for group and topic.
func (s *Store) LedgerOffsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	rows, err := s.c.db.Query(ctx, fmt.Sprintf("SELECT partition, max(last_offset) FROM %s.%s WHERE `group` = ? AND topic = ? GROUP BY partition",
		quoteIdent(s.dsn.Database), quoteIdent(OffsetsTable)), group, topic)
	if err != nil {
		return nil, &Error{s.c.server, "read ingest offsets", err}
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, &Error{s.c.server, "read ingest offsets", err}
		}
		out[p] = o
	}
	if err := rows.Err(); err != nil {
		return nil, &Error{s.c.server, "read ingest offsets", err}
	}
	return out, nil
}

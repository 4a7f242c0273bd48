// Package store is where flows are kept and queried: the interfaces the
// pipeline writes through and the query service (and the web UI, exports
// and imports to come) reads through, so that none of them knows which
// backend holds the flows. Each backend is a sub-package implementing
// them: store/lake (Parquet files read by embedded DuckDB) is the first;
// a ClickHouse store (clickhouse-go, Distributed tables) is the next.
//
// A backend's Writer and Reader are components (Start opens connections
// or takes locks, Stop flushes and releases) built from the backend's own
// Config; one value may implement both.
package store

import (
	"context"
	"time"

	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/kql"
)

// Writer is the ingest side of a store.
type Writer interface {
	component.Component
	// WriteBatch stores one enriched batch. It runs on the collector's
	// path: it may copy or encode b, but must not wait on the backend (the
	// lake encodes into memory and flushes in the background; a network
	// store queues), dropping and counting beyond its own bound. b is only
	// valid during the call. An error means the batch was not taken.
	WriteBatch(b *flow.Batch) error
	// Flush makes everything written so far durable, for callers that
	// record their progress afterwards (importers).
	Flush() error
}

// Reader runs queries compiled by package kql.
type Reader interface {
	component.Component
	// Dialect is the SQL dialect the KQL compiler must emit for this
	// store (kql.Options.Dialect).
	Dialect() kql.Dialect
	// Tables are the tables queries may use besides the flows table and
	// its views (the enrichment tables), by KQL name (kql.Options.Tables).
	Tables() map[string]kql.Table
	// Query runs one SELECT statement in Dialect over the flows Scope
	// covers, calling row for each result row in order (a fresh slice
	// each time). An error from row stops the query and is returned. Rows
	// are streamed, so an export of a window needs no memory for it.
	Query(ctx context.Context, q Query, row RowFunc) (*Result, error)
}

// Query is a compiled query with what the store may use to read less.
type Query struct {
	// SQL is one SELECT statement in the store's Dialect; it filters every
	// row itself.
	SQL string
	// From and To bound time_received: [From, To); zero ends are open.
	// Queries compiled with this window (kql.Options.From/To) read only
	// flows inside it; the store also uses it to choose what to read.
	From, To time.Time
	// Bounds narrow the rows of the flows table the query can need
	// (kql.Compiled.Bounds), so the store may skip data holding none:
	// lake files by address bucket and time ranges, ClickHouse partitions.
	// The zero value constrains nothing.
	Bounds kql.Bounds
}

// RowFunc receives one result row. cols describes the result's columns
// (the same slice for every row). Values are ready for encoding/json:
// nil, bool, integers, float64 (non-finite values as strings),
// *big.Int and json.Number for exact large numbers, strings (addresses as
// text, times as RFC 3339 UTC), []any and map[string]any.
type RowFunc func(cols []Column, row []any) error

// Column names and types one result column; Type is the store's own type
// name (DuckDB's, ClickHouse's), for display.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is what a query read, besides its rows.
type Result struct {
	// Columns of the result, also given with each row (set even when no
	// row came).
	Columns []Column
	// Files is how many data files the query read (lake: Parquet files
	// left after pruning; 0 where the store does not tell).
	Files int
	// Skipped lists data the store could not read and left out (lake:
	// unreadable Parquet files); the result is then partial.
	Skipped []Skipped
	// Elapsed is the time the store took.
	Elapsed time.Duration
}

// Skipped is a piece of data left out of a query.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

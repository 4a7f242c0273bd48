package schema

// Parquet describes how the archive stores a column in Parquet. The physical
// and logical types are a contract with the query engine and the KQL
// compiler (changing them changes what SQL sees); encodings are not, every
// Parquet reader decodes them all.
type Parquet struct {
	Kind ParquetKind
	// Bits is an unsigned integer's width (8, 16, 32 or 64).
	Bits int
	// Len is a fixed-length byte array's length.
	Len int
	// Encoding is the encoding flush files use for the column.
	Encoding ParquetEncoding
}

// ParquetKind is a Parquet physical/logical type pair.
type ParquetKind uint8

// Parquet kinds.
const (
	// ParquetUint is INT32/INT64 with an unsigned INTEGER(Bits) logical type.
	ParquetUint ParquetKind = iota + 1
	// ParquetTimestampMillis is INT64 TIMESTAMP(MILLIS, UTC).
	ParquetTimestampMillis
	// ParquetFixed is FIXED_LEN_BYTE_ARRAY(Len).
	ParquetFixed
	// ParquetString is BYTE_ARRAY with the STRING logical type.
	ParquetString
)

// ParquetEncoding is a column's encoding in flush files.
type ParquetEncoding uint8

// Parquet encodings.
const (
	Plain ParquetEncoding = iota
	// DeltaBinaryPacked suits mostly increasing values: delta encoding
	// shrinks them to a few bits before ZSTD even sees them.
	DeltaBinaryPacked
	// RLEDictionary suits repeated values (names, enums).
	RLEDictionary
)

// Parquet is the column's Parquet layout.
func (c Column) Parquet() Parquet {
	switch c.Type {
	case Uint8:
		return Parquet{Kind: ParquetUint, Bits: 8}
	case Uint16:
		return Parquet{Kind: ParquetUint, Bits: 16}
	case Uint32:
		return Parquet{Kind: ParquetUint, Bits: 32}
	case Uint64, MAC:
		return Parquet{Kind: ParquetUint, Bits: 64}
	case Time:
		// Milliseconds, though flows carry nanoseconds: exporters send
		// milliseconds (NetFlow, most IPFIX), the collector's receive time
		// needs no more, and the sub-millisecond digits of time_received
		// cost 0.6 byte a flow, time_start/time_end's zeros more (see
		// archive's BenchmarkCompactedSize, what-if=times-in-ms: 19.7 ->
		// 16.8 bytes/flow). Files of the first layout (NANOS) read the same.
		return Parquet{Kind: ParquetTimestampMillis, Encoding: DeltaBinaryPacked}
	case Addr:
		return Parquet{Kind: ParquetFixed, Len: 16}
	case String, Enum:
		// Enums are stored by name, so files stay readable when a value
		// is added and by tools that know nothing of the index.
		return Parquet{Kind: ParquetString, Encoding: RLEDictionary}
	}
	return Parquet{}
}

// DuckDB is the SQL type of a column of type t in the engine's flows view.
// Addresses stay 16-byte BLOBs (IPv4-mapped, all zero when absent): that is
// what the Parquet files hold, so equality filters reach the row-group
// statistics untouched; ip() and ip_str() convert.
func (t Type) DuckDB() string {
	switch t {
	case Uint8:
		return "UTINYINT"
	case Uint16:
		return "USMALLINT"
	case Uint32:
		return "UINTEGER"
	case Uint64, MAC:
		return "UBIGINT"
	case Time:
		// Naive UTC, as the KQL compiler expects: the files hold
		// TIMESTAMP(MILLIS or NANOS, adjustedToUTC), which DuckDB reads as
		// TIMESTAMPTZ; the session time zone is UTC, so the cast keeps the
		// instant. Cost, measured: DuckDB 1.4 does not push a filter
		// through that cast, so a time predicate written in the SQL is
		// applied after the scan instead of pruning row groups. The query
		// window (from, to) does not pay it: the view filters the raw
		// column, which reaches the Parquet statistics.
		return "TIMESTAMP"
	case Addr:
		return "BLOB"
	}
	return "VARCHAR"
}

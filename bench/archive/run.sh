#!/bin/sh
# Archive benchmarks: batch -> Parquet throughput and size, compaction
# layout choices (orders and bloom filters; then encodings, ZSTD levels,
# page and row group sizes, one change at a time, with -v the bytes per
# column), and 10 M flows through flush + compaction (current and previous
# compacted layout).
# FLOWLAKE_COMPACT_FLOWS / FLOWLAKE_LAYOUT_FLOWS / FLOWLAKE_SIZE_FLOWS shrink
# the data sets; FLOWLAKE_SIZE_VARIANTS (';'-separated) picks size variants;
# FLOWLAKE_SIZE_FILE=<a lake file> measures them on its flows instead,
# FLOWLAKE_SIZE_SPAN=1h on those starting within an hour of the earliest.
set -e
cd "$(dirname "$0")/../.."
go test -run XXX -bench 'BenchmarkWrite' -benchtime 20x -count 3 -cpu 1 ./internal/archive
go test -run XXX -bench 'BenchmarkCompactedLayout' -benchtime 1x ./internal/archive
go test -run XXX -bench 'BenchmarkCompactedSize' -benchtime 1x -v -timeout 60m ./internal/archive
go test -run XXX -bench 'BenchmarkCompact10M' -benchtime 1x -timeout 60m ./internal/archive

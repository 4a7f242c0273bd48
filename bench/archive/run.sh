#!/bin/sh
# Archive benchmarks: batch -> Parquet throughput and size, compaction
# layout choices, and 10 M flows through flush + compaction.
# FLOWLAKE_COMPACT_FLOWS / FLOWLAKE_LAYOUT_FLOWS shrink the data sets.
set -e
cd "$(dirname "$0")/../.."
go test -run XXX -bench 'BenchmarkWrite' -benchtime 20x -count 3 -cpu 1 ./internal/archive
go test -run XXX -bench 'BenchmarkCompactedLayout' -benchtime 1x ./internal/archive
go test -run XXX -bench 'BenchmarkCompact10M' -benchtime 1x -timeout 60m ./internal/archive

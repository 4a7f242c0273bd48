#!/bin/sh
# Import parser throughput, records per second per core (the parsers are
# single-threaded; GOMAXPROCS=1 keeps the figure per core). AWS runs 10 M
# records, generated in the benchmark; Azure VNet/NSG 2 M tuples; GCP 200 k
# entries. Usage: bench/import.sh  (from the repository root)
set -eu
export GOMAXPROCS=1
go test -run '^$' -bench 'ParseDefaultV2' -benchtime=10000000x -count=1 ./internal/importer/aws/
go test -run '^$' -bench 'ParseVNet|ParseNSG' -benchtime=2000000x -count=1 ./internal/importer/azure/
go test -run '^$' -bench 'Parse' -benchtime=200000x -count=1 ./internal/importer/gcp/

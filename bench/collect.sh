#!/bin/bash
# Collector benchmark: replays the exporter corpus (softflowd v5/v9/IPFIX,
# pmacctd nfprobe and sfprobe) flat out into flowlake, goflow2 and nfcapd on
# loopback and prints, per collector and protocol, flows processed, CPU
# seconds of the collector's process tree, flows per CPU-second and loss,
# side by side (run_peers.sh does the measuring; see its header for knobs).
#
#   bench/collect.sh                     # blast phase, default peers
#   FLOWLAKE_ARGS=--no-archive bench/collect.sh   # collector alone
#   CONNS=650000 bench/collect.sh        # bigger corpus (built once)
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
export PHASES=${PHASES:-blast}
export COLLECTORS=${COLLECTORS:-"flowlake goflow2_bin goflow2_json nfcapd sfcapd"}
export PROTOS=${PROTOS:-"netflow5 netflow9 ipfix sflow"}
export BLAST_PROTOS=${BLAST_PROTOS:-"$PROTOS"}
export BLAST_FLOWS=${BLAST_FLOWS:-3000000}
export CONNS=${CONNS:-300000} DURATION=${DURATION:-300}
exec "$BENCH/run_peers.sh"

#!/bin/bash
# archive_api.sh - the archive benchmark's four flowlake queries (bench/archive.sh:
# (a) needle, (b) top-10 sources by bytes, (c) bytes per 5-minute bin for port 443,
# (d) distinct destinations per source) through the HTTP API of a running
# `flowlake serve`, i.e. with the query engine warm as web UI and API users see it,
# where archive.sh times one `flowlake query` process per run (start-up included).
# nfdump has no server: compare with archive.sh's nfdump figures.
#
#   bench/archive_api.sh DATA_DIR SRC DST DAY [OUT_TSV]
#
# SRC/DST/DAY: the needle (address pair talking to dst port 443 on DAY, YYYY-MM-DD).
# Each query runs once to warm up, then QUERY_RUNS [3] times; prints
# "query<TAB>median wall ms (curl)<TAB>median server execute ms<TAB>files read<TAB>rows"
# per query, also to OUT_TSV when given. Loopback only: HTTP on 127.0.0.1:$MPORT [41481],
# UDP collector on 127.0.0.1:$PORT [41402] (unused).
set -u
set -o pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
export PATH="$BENCH/bin:$PATH"
DATA=$1 SRC=$2 DST=$3 DAY=$4 OUT=${5:-/dev/null}
QUERY_RUNS=${QUERY_RUNS:-3}
MPORT=${MPORT:-41481}
PORT=${PORT:-41402}
NEXT=$(date -u -d "$DAY + 1 day" +%Y-%m-%d)
LOG=$(mktemp)

flowlake serve --udp "127.0.0.1:$PORT" --tcp '' --http "127.0.0.1:$MPORT" --data-dir "$DATA" > "$LOG" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$MPORT/healthz" > /dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$MPORT/healthz" > /dev/null || { cat "$LOG" >&2; echo "flowlake serve did not start" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# run NAME KQL
run() {
  local name=$1 q=$2 body i t0 resp wall=() exec=() files rows
  body=$(jq -cn --arg q "$q" '{query: $q, max_rows: 1000000}')
  for i in $(seq 0 "$QUERY_RUNS"); do
    t0=$(date +%s%N)
    resp=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$MPORT/api/v1/query") \
      || { echo "$name: query failed: $(curl -s -X POST -d "$body" "http://127.0.0.1:$MPORT/api/v1/query")" >&2; return 1; }
    [ "$i" = 0 ] && continue # warm-up
    wall+=($((($(date +%s%N) - t0) / 1000000)))
    exec+=("$(jq -r '.timing.execute_ms' <<< "$resp")")
  done
  files=$(jq -r '.timing.files' <<< "$resp")
  rows=$(jq -r '.rows | length' <<< "$resp")
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$(printf '%s\n' "${wall[@]}" | median)" \
    "$(printf '%s\n' "${exec[@]}" | median)" "$files" "$rows" | tee -a "$OUT"
}

run a "flows | where time_start >= datetime($DAY) and time_start < datetime($NEXT) and src_addr == \"$SRC\" and dst_addr == \"$DST\" and dst_port == 443 | count"
run b "flows | summarize b=sum(bytes) by src_addr | top 10 by b"
run c "flows | where dst_port == 443 | summarize b=sum(bytes) by bin(time_start, 5m)"
run d "flows | summarize d=dcount(dst_addr) by src_addr | top 10 by d"

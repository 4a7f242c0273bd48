#!/bin/bash
# archive.sh - flowlake archive benchmark against nfdump (issue 3), loopback only.
#
#   1. INGEST: replays the softflowd NetFlow v9 corpus (bench/corpus/netflow9.pcap,
#      592,571 flows: the corpus bench/collect.sh builds, i.e.
#      CONNS=300000 DURATION=300 ONLY="traffic nf9" bench/make_corpus.sh)
#      round(FLOWS/records) times into `flowlake serve` (collector + enrichment +
#      Parquet archive) at a rate chosen by measuring loss (short calibration
#      steps against a throw-away instance), measures the process tree's
#      CPU-seconds with procmon -> flows per CPU-second; then
#      `flowlake archive compact` (its CPU reported separately) and
#      `flowlake archive stats` -> bytes per flow on disk.
#   2. NFCAPD: the same replay into nfcapd -> CPU-seconds, bytes per flow
#      (nfcapd default = uncompressed, and LZ4 by rewriting the files with nfdump).
#   3. QUERIES (each QUERY_RUNS times, median wall ms, warm page cache, flowlake
#      vs nfdump, ratio nfdump/flowlake, and whether both answers agree):
#      (a) needle: address pair + dst port 443 on one day (pair found by a query),
#      (b) top-10 source addresses by bytes,
#      (c) bytes per 5-minute bin (time_start) for dst port 443
#          (nfdump: -o csv piped to awk, counted in the time),
#      (d) distinct destinations per source, top 10
#          (nfdump: -A srcip,dstip then awk counting per source, counted in the time).
#      and the same four queries through the HTTP API of a running `flowlake serve`
#      (bench/archive_api.sh: warm engine, one warm-up run, median of QUERY_RUNS).
#   4. A Markdown table with every figure and the issue's targets, saved as
#      $RESULTS/results.md, plus a wall-time extrapolation to 100 M flows.
#
# Looping one corpus would repeat byte-identical flows (same time_start, the
# corpus spans 2024-12-31 23:59:59 .. 2025-01-01 00:05 UTC), which sort next to
# each other and flatter bytes per flow. With VARY=1 (default) replay -vary makes
# loop L >= 1 a later stretch of the same network's traffic: export times (and
# so time_start/time_end) move on by L x span (span = the corpus' export-time
# span + 1 s = 602 s, printed as vary_span_s in corpus.json; 169 loops cover
# ~28 h), sequence numbers keep counting, internal clients (10.0.0.0/8,
# 2001:db8:1::/48) and ephemeral ports (>= 32768) go through a per-loop
# bijection; external servers and service ports stay. No flow repeats, and
# both collectors receive identical flows (the per-loop keys are fixed).
# VARY=0 replays exact copies as before (only time_received, the archive's
# partition key, differs between loops).
# The needle and bin queries filter on time_start, which both tools store alike.
# The needle's day is the one holding the most flows (time_start); its pair has
# no flow starting on that day and ending after it, so a time_start window
# (flowlake) and nfdump -t select the same flows whether nfdump tests the
# flow's start or both its ends.
#
# Env knobs [defaults]:
#   FLOWS [100000000]        flows to ingest (corpus looped round(FLOWS/592571) times)
#   PROTO [netflow9]         corpus file bench/corpus/$PROTO.pcap. netflow9-site: one site's
#                            traffic over ~14 h, no loop and no repeat (bench/make_site_corpus.sh,
#                            built when missing with FLOWS flows; VARY defaults to 0)
#   VARY [1]                 1: each loop remaps internal clients, ephemeral ports and shifts
#                            times (replay -vary), so no flow repeats; 0: exact repeats as
#                            before. NetFlow v9 corpora only (replay -vary refuses others)
#   VARY_CLIENTS [1]         with VARY=1: 1 remaps internal clients per loop too (2 M distinct
#                            sources at 100 M flows); 0 keeps the corpus' clients all day (a
#                            site's stable population), only times and ephemeral ports vary
#   RATE_FLOWLAKE, RATE_NFCAPD  replay rate in flows/s; empty = calibrate
#   CAL_START [25000] CAL_MAX [3200000] CAL_STEP_S [5] CAL_BISECT [2]
#   CAL_MARGIN [0.8]         fraction of the highest loss-free step used for the run
#   LAG_MAX_S [2]            a step only passes if the collector caught up this soon after it:
#                            flowlake: its flows counter reached the flows sent (the collector
#                            blocks when enrichment/archive fall behind, so this covers them);
#                            nfcapd: its CPU went idle (it has no background work)
#   TRIES_FLOWLAKE [1] TRIES_NFCAPD [3]  if a collector lost flows, ingest again at half the
#                            rate up to this many times (the answers are compared, so both
#                            tools must hold the same flows; an nfcapd run is cheap)
#   QUERY_RUNS [3]           runs per query (median reported)
#   NFDUMP_RUNS [QUERY_RUNS] runs per nfdump query (one (d) run takes minutes at 100 M flows)
#   PORT [41401] MPORT [41480]  UDP flow port / flowlake HTTP (metrics) port
#   SKIP_BUILD [unset]       do not rebuild bench/bin/{flowlake,replay,procmon} (built if missing)
#   KEEP_DATA [unset]        keep the flowlake and nfcapd stores under $RESULTS
#   RESULTS [bench/results/archive-<timestamp>]
set -u
set -o pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
export PATH="$BENCH/bin:$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
export TZ=UTC # nfdump prints and parses times in local time
FLOWS=${FLOWS:-100000000}
PROTO=${PROTO:-netflow9}
if [ "$PROTO" = netflow9-site ]; then VARY=${VARY:-0}; else VARY=${VARY:-1}; fi
VARY_CLIENTS=${VARY_CLIENTS:-1}
case $VARY in 1) VARYOPT=-vary ;; 0) VARYOPT= ;; *) echo "VARY must be 0 or 1" >&2; exit 1 ;; esac
case $VARY_CLIENTS in 1) ;; 0) VARYOPT="$VARYOPT -vary-clients=false" ;; *) echo "VARY_CLIENTS must be 0 or 1" >&2; exit 1 ;; esac
CORPUS=${CORPUS:-$BENCH/corpus}
RATE_FLOWLAKE=${RATE_FLOWLAKE:-}
RATE_NFCAPD=${RATE_NFCAPD:-}
CAL_START=${CAL_START:-25000}
CAL_MAX=${CAL_MAX:-3200000}
CAL_STEP_S=${CAL_STEP_S:-5}
CAL_BISECT=${CAL_BISECT:-2}
CAL_MARGIN=${CAL_MARGIN:-0.8}
LAG_MAX_S=${LAG_MAX_S:-2}
QUERY_RUNS=${QUERY_RUNS:-3}
NFDUMP_RUNS=${NFDUMP_RUNS:-$QUERY_RUNS}
TRIES_FLOWLAKE=${TRIES_FLOWLAKE:-1}
TRIES_NFCAPD=${TRIES_NFCAPD:-3}
PORT=${PORT:-41401}
MPORT=${MPORT:-41480}
IDLE_TIMEOUT_S=${IDLE_TIMEOUT_S:-1800}
RESULTS=${RESULTS:-$BENCH/results/archive-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$RESULTS" || exit 1
SUMMARY=$RESULTS/summary.tsv # key <TAB> value, every figure the report prints
: > "$SUMMARY"

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { log "FATAL: $*"; exit 1; }
put() { printf '%s\t%s\n' "$1" "$2" >> "$SUMMARY"; }
get() { awk -F'\t' -v k="$1" '$1==k{v=$2} END{print v}' "$SUMMARY"; }
calc() { echo "$*" | bc -l 2>/dev/null; }
fmt0() { printf '%.0f' "${1:-0}" 2>/dev/null || echo 0; }
fmt1() { printf '%.1f' "${1:-0}" 2>/dev/null || echo 0; }
fmt2() { printf '%.2f' "${1:-0}" 2>/dev/null || echo 0; }
json_get() { sed -n "s/.*\"$2\": *\([-0-9.eE+]*\).*/\1/p" "$1" 2>/dev/null | head -1; }
now() { date +%s.%N; }

# Background processes (procmon wrappers) are killed on any exit; procmon
# forwards the signal to the collector's process group and reaps it.
BGPIDS=()
cleanup() {
  local p
  for p in "${BGPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${BGPIDS[@]}"; do wait "$p" 2>/dev/null; done
  BGPIDS=()
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
stop_bg() { # pid: TERM it, wait for it, drop it from BGPIDS
  kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null
  local a=() p
  for p in "${BGPIDS[@]}"; do [ "$p" != "$1" ] && a+=("$p"); done
  BGPIDS=("${a[@]}")
}

# ------------------------------------------------------------------ setup
for t in nfcapd nfdump bc curl ss awk; do
  command -v $t >/dev/null || die "$t not found (apt-get install nfdump bc curl iproute2)"
done
# rebuilt each run (cached, quick) so a stale replay cannot lack -vary; built beside
# and renamed over, so a benchmark running the old binary keeps it
for t in replay procmon; do
  if [ ! -x "$BENCH/bin/$t" ] || [ -z "${SKIP_BUILD:-}" ]; then
    (cd "$ROOT" && go build -o "$BENCH/bin/$t.new" "./bench/cmd/$t" && mv "$BENCH/bin/$t.new" "$BENCH/bin/$t") || die "cannot build $t"
  fi
done
if [ -z "${SKIP_BUILD:-}" ]; then
  log "building bench/bin/flowlake"
  if ! (cd "$ROOT" && go build -o "$BENCH/bin/flowlake.new" ./cmd/flowlake) 2> "$RESULTS/build.err"; then
    [ -x "$BENCH/bin/flowlake" ] || { cat "$RESULTS/build.err" >&2; die "flowlake does not build"; }
    log "WARNING: flowlake does not build now (see build.err); using the existing bench/bin/flowlake from $(stat -c %y "$BENCH/bin/flowlake")"
  else
    mv "$BENCH/bin/flowlake.new" "$BENCH/bin/flowlake"
  fi
fi
PCAP=$CORPUS/$PROTO.pcap
if [ ! -s "$PCAP" ] && [ "$PROTO" = netflow9 ]; then
  # the corpus bench/collect.sh builds (its CONNS/DURATION defaults), so both
  # benchmarks replay the same flows
  log "building the corpus: CONNS=300000 DURATION=300 ONLY=\"traffic nf9\" bench/make_corpus.sh"
  for t in gen udpsink; do
    (cd "$ROOT" && go build -o "$BENCH/bin/$t" "./bench/cmd/$t") || die "cannot build $t"
  done
  CORPUS="$CORPUS" CONNS=300000 DURATION=300 ONLY="traffic nf9" "$BENCH/make_corpus.sh" > "$RESULTS/make_corpus.log" 2>&1 ||
    die "cannot build the corpus (see $RESULTS/make_corpus.log)"
fi
if [ ! -s "$PCAP" ] && [ "$PROTO" = netflow9-site ]; then
  log "building the site corpus: FLOWS=$FLOWS bench/make_site_corpus.sh (~30 min at 100 M flows)"
  CORPUS="$CORPUS" FLOWS="$FLOWS" "$BENCH/make_site_corpus.sh" > "$RESULTS/make_site_corpus.log" 2>&1 ||
    die "cannot build the site corpus (see $RESULTS/make_site_corpus.log)"
fi
[ -s "$PCAP" ] || die "$PCAP missing (bench/make_corpus.sh or bench/make_site_corpus.sh builds it)"
replay -f "$PCAP" -count -json $VARYOPT > "$RESULTS/corpus.json" 2> "$RESULTS/corpus.err" || die "cannot read $PCAP: $(cat "$RESULTS/corpus.err")"
REC=$(json_get "$RESULTS/corpus.json" corpus_flow_records)
PKTS=$(json_get "$RESULTS/corpus.json" corpus_packets)
LOOPS=$(( (FLOWS + REC / 2) / REC )); [ "$LOOPS" -lt 1 ] && LOOPS=1
RPP=$(calc "$REC / $PKTS") # flow records per datagram
for p in "$PORT" "$MPORT"; do
  ss -Hlnua "sport = :$p" 2>/dev/null | grep -q . && die "port $p busy (set PORT/MPORT)"
done
SPAN=$(json_get "$RESULTS/corpus.json" vary_span_s)
put flows_requested "$FLOWS"; put loops "$LOOPS"; put corpus_records "$REC"; put vary "$VARY"; put vary_clients "$VARY_CLIENTS"; put vary_span_s "${SPAN:-0}"
T_START=$(now) # after the build: the 100 M extrapolation excludes it
log "results in $RESULTS; corpus $PCAP: $REC flows in $PKTS datagrams; $LOOPS loops = $((LOOPS * REC)) flows$([ "$VARY" = 1 ] && echo ", each loop varied and shifted by ${SPAN}s")"

# ------------------------------------------------------------------ collector helpers
# kernel drops on the sockets bound to $PORT (last column of /proc/net/udp{,6})
sock_drops() {
  local hp; hp=$(printf '%04X' "$PORT")
  awk -v hp=":$hp" 'FNR>1 && substr($2, length($2)-4)==hp {d+=$NF} END{print d+0}' /proc/net/udp /proc/net/udp6 2>/dev/null
}
wait_port() {
  local _
  for _ in $(seq 1 300); do
    ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  return 1
}
wait_port_free() {
  local _
  for _ in $(seq 1 100); do
    ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q . || return 0
    sleep 0.1
  done
}
status_cpu() { local c; c=$(sed -n 's/.*"cpu_s":\([0-9.]*\).*/\1/p' "$1" 2>/dev/null); echo "${c:-0}"; }
# wait until the process tree burns < 0.02 CPU-s per 0.5 s for 4 polls; prints
# the seconds it kept working after the call (catch-up lag)
wait_idle() {
  local st=$1 t0 prev=-1 cur calm=0
  t0=$(now)
  while :; do
    sleep 0.5
    cur=$(status_cpu "$st")
    if [ "$(calc "$cur - $prev < 0.02")" = 1 ]; then calm=$((calm + 1)); else calm=0; fi
    prev=$cur
    [ $calm -ge 4 ] && break
    [ "$(calc "$(now) - $t0 > $IDLE_TIMEOUT_S")" = 1 ] && { log "not idle after ${IDLE_TIMEOUT_S}s"; break; }
  done
  calc "$(now) - $t0 - 2.0"
}
# wait until flowlake's flows counter reaches $1, or stops moving for 2 s (flows were
# lost), or 120 s pass; prints the seconds waited
wait_count() {
  local want=$1 t0 c prev=-1 still=0; t0=$(now)
  while :; do
    c=$(flowlake_metric flowlake_collector_flows_total)
    [ "$c" -ge "$want" ] && break
    if [ "$c" = "$prev" ]; then still=$((still + 1)); else still=0; fi
    prev=$c
    [ $still -ge 10 ] && break
    [ "$(calc "$(now) - $t0 > 120")" = 1 ] && break
    sleep 0.2
  done
  calc "$(now) - $t0"
}
# wait until flowlake wrote every flow it counted to Parquet (at most IDLE_TIMEOUT_S);
# prints the seconds waited. Its CPU never quite settles (timers, /metrics), so
# waiting for the pipeline is more precise than waiting for idle.
wait_written() {
  local t0 c w; t0=$(now)
  while :; do
    c=$(flowlake_metric flowlake_collector_flows_total); w=$(flowlake_metric flowlake_archive_written_flows_total)
    [ "$w" -ge "$c" ] && break
    [ "$(calc "$(now) - $t0 > $IDLE_TIMEOUT_S")" = 1 ] && { log "flowlake wrote $w of $c flows after ${IDLE_TIMEOUT_S}s"; break; }
    sleep 0.2
  done
  calc "$(now) - $t0"
}
flowlake_metric() { curl -s "http://127.0.0.1:$MPORT/metrics" | awk -v m="$1" '$1==m{printf "%d\n", $2; f=1} END{if(!f) print 0}'; }

# start_collector NAME DIR: runs the collector under procmon; sets CPID, CST (status file)
start_collector() {
  local name=$1 dir=$2
  mkdir -p "$dir"
  CST=$dir/status.json
  case $name in
    flowlake) procmon -o "$dir/procmon.json" -status "$CST" -- \
                flowlake serve --udp "127.0.0.1:$PORT" --tcp '' --http "127.0.0.1:$MPORT" --data-dir "$dir/store" \
                > "$dir/collector.log" 2>&1 & ;;
    nfcapd) mkdir -p "$dir/store"
            procmon -o "$dir/procmon.json" -status "$CST" -- \
                nfcapd -w "$dir/store" -b 127.0.0.1 -p "$PORT" -B 4194304 -t 3600 \
                > "$dir/collector.log" 2>&1 & ;;
  esac
  CPID=$!
  BGPIDS+=("$CPID")
  wait_port || { cat "$dir/collector.log" >&2; die "$name did not bind udp $PORT"; }
  if [ "$name" = flowlake ]; then
    local _
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$MPORT/metrics" >/dev/null && break; sleep 0.1; done
  fi
  wait_idle "$CST" > /dev/null # let it finish initialising
}

# calibrate NAME -> sets CAL_RATE (flows/s): highest loss-free step x CAL_MARGIN.
# A step replays CAL_STEP_S seconds of the corpus at a fixed rate into a throw-away
# instance; it passes when the kernel dropped nothing on the socket, (flowlake)
# every flow sent was counted, and the collector was idle within LAG_MAX_S.
calibrate() {
  local name=$1 dir=$RESULTS/calibrate-$1 good=0 bad=0 f ok
  rm -rf "$dir"; start_collector "$name" "$dir"
  local pid=$CPID st=$CST
  echo -e "flows_per_s\tpps\tsent\tcounted\tsocket_drops\tlag_s\tok" > "$dir/steps.tsv"
  step() {
    local rate=$1 pps maxp d0 d1 c0 c1 sent lag counted
    pps=$(fmt0 "$(calc "$rate / $RPP")"); [ "$pps" -lt 1 ] && pps=1
    maxp=$((pps * CAL_STEP_S))
    d0=$(sock_drops); c0=0; [ "$name" = flowlake ] && c0=$(flowlake_metric flowlake_collector_flows_total)
    replay -f "$PCAP" -t "127.0.0.1:$PORT" -n 1000000 -rate "$pps" -max-packets "$maxp" $VARYOPT -json > "$dir/replay.json" 2>> "$dir/replay.err"
    sent=$(json_get "$dir/replay.json" flow_records_sent)
    counted=$sent
    if [ "$name" = flowlake ]; then
      lag=$(wait_count $((c0 + sent)))
      c1=$(flowlake_metric flowlake_collector_flows_total); counted=$((c1 - c0))
      wait_written > /dev/null # flush: not part of keeping up
    else
      lag=$(wait_idle "$st")
    fi
    d1=$(sock_drops)
    ok=0
    [ $((d1 - d0)) -eq 0 ] && [ "$counted" -ge "$sent" ] && [ "$(calc "$lag <= $LAG_MAX_S")" = 1 ] && ok=1
    printf '%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n' "$rate" "$pps" "$sent" "$counted" "$((d1 - d0))" "$lag" "$ok" >> "$dir/steps.tsv"
    log "calibrate $name: $rate flows/s ($pps pps): sent $sent counted $counted drops $((d1 - d0)) lag $(fmt1 "$lag")s -> $([ $ok = 1 ] && echo ok || echo "FAIL (loss or lag > ${LAG_MAX_S}s)")"
    [ $ok = 1 ]
  }
  f=$CAL_START
  while [ "$f" -le "$CAL_MAX" ]; do
    if step "$f"; then good=$f; f=$((f * 2)); else bad=$f; break; fi
  done
  if [ "$bad" -gt 0 ] && [ "$good" -gt 0 ]; then
    local _
    for _ in $(seq 1 "$CAL_BISECT"); do
      f=$(((good + bad) / 2))
      if step "$f"; then good=$f; else bad=$f; fi
    done
  fi
  stop_bg "$pid"; wait_port_free
  [ -z "${KEEP_DATA:-}" ] && rm -rf "$dir/store"
  if [ "$good" -eq 0 ]; then
    log "calibrate $name: even $CAL_START flows/s lost flows; using $((CAL_START / 2))"
    CAL_RATE=$((CAL_START / 2)); return
  fi
  CAL_RATE=$(fmt0 "$(calc "$good * $CAL_MARGIN")")
  log "calibrate $name: highest loss-free step $good flows/s -> run at $CAL_RATE"
}

# every 5 s: flowlake's pipeline counters and CPU, to see where catch-up time goes
sample_flowlake() {
  local out=$1 st=$2 t0; t0=$(now)
  echo -e "t_s\tcpu_s\tcollector_flows\tarchive_written\tarchive_buffered\tqueue\tcompactions\tfiles" > "$out"
  while sleep 5; do
    curl -s "http://127.0.0.1:$MPORT/metrics" 2>/dev/null | awk -v t="$(fmt0 "$(calc "$(now) - $t0")")" -v c="$(status_cpu "$st")" '
      {v[$1] = $2}
      END {if (length(v)) printf "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", t, c, v["flowlake_collector_flows_total"], v["flowlake_archive_written_flows_total"],
             v["flowlake_archive_buffered_flows"], v["flowlake_collector_queue_length"], v["flowlake_archive_compactions_total"], v["flowlake_archive_files"]}' >> "$out"
  done
}

# ingest NAME RATE: the measured run; records <name>_* keys in the summary
ingest() {
  local name=$1 rate=$2 dir=$RESULTS/$1
  rm -rf "$dir"; start_collector "$name" "$dir"
  local pid=$CPID st=$CST cpu0 d0 d1 pps t0 t1 lag sent counted=0 spid=""
  if [ "$name" = flowlake ]; then sample_flowlake "$dir/pipeline.tsv" "$st" & spid=$!; BGPIDS+=("$spid"); fi
  cpu0=$(status_cpu "$st"); d0=$(sock_drops)
  pps=$(fmt0 "$(calc "$rate / $RPP")")
  log "ingest $name: $LOOPS x $REC flows at $rate flows/s ($pps pps), ~$(fmt0 "$(calc "$LOOPS * $REC / $rate")") s"
  t0=$(now)
  replay -f "$PCAP" -t "127.0.0.1:$PORT" -n "$LOOPS" -rate "$pps" $VARYOPT -json > "$dir/replay.json" 2> "$dir/replay.err" || die "replay failed: $(cat "$dir/replay.err")"
  sent=$(json_get "$dir/replay.json" flow_records_sent)
  if [ "$name" = flowlake ]; then
    lag=$(calc "$(wait_count "$sent") + $(wait_written)")
    counted=$(flowlake_metric flowlake_collector_flows_total)
  else
    lag=$(wait_idle "$st")
  fi
  d1=$(sock_drops)
  [ -n "$spid" ] && stop_bg "$spid"
  stop_bg "$pid"; wait_port_free
  t1=$(now)
  local stored cpu
  if [ "$name" = flowlake ]; then
    flowlake archive stats --data-dir "$dir/store" > "$dir/stats-before-compact.txt" 2>&1
    stored=$(awk '$1=="flows:"{print $2}' "$dir/stats-before-compact.txt")
  else
    nfdump -R "$dir/store" -I > "$dir/nfdump-I.txt" 2>&1
    stored=$(awk '/^Flows:/{s+=$2} END{print s+0}' "$dir/nfdump-I.txt")
  fi
  stored=${stored:-0}
  cpu=$(calc "$(json_get "$dir/procmon.json" cpu_total_s) - $cpu0")
  put "${name}_rate" "$rate"
  put "${name}_sent" "$sent"
  [ "$name" = flowlake ] && put "${name}_counted" "$counted"
  put "${name}_stored" "$stored"
  put "${name}_loss_pct" "$(calc "($sent - $stored) * 100 / $sent")"
  put "${name}_socket_drops" "$((d1 - d0))"
  put "${name}_cpu_s" "$cpu"
  put "${name}_flows_per_cpu_s" "$(calc "$stored / $cpu")"
  put "${name}_send_s" "$(json_get "$dir/replay.json" elapsed_s)"
  put "${name}_lag_s" "$lag"
  put "${name}_wall_s" "$(calc "$t1 - $t0")"
  put "${name}_peak_rss_mb" "$(json_get "$dir/procmon.json" peak_rss_sum_mb)"
  log "ingest $name: sent $sent stored $stored (loss $(fmt2 "$(get "${name}_loss_pct")") %, socket drops $((d1 - d0))), CPU $(fmt1 "$cpu") s -> $(fmt0 "$(get "${name}_flows_per_cpu_s")") flows/CPU-s"
}

# ------------------------------------------------------------------ 1. flowlake
T0=$(now)
if [ -z "$RATE_FLOWLAKE" ]; then calibrate flowlake; RATE_FLOWLAKE=$CAL_RATE; fi
put calibrate_flowlake_s "$(calc "$(now) - $T0")"
# ingest_tries NAME RATE TRIES: ingest; while flows were lost and tries remain, halve the rate
ingest_tries() {
  local name=$1 rate=$2 tries=$3 i
  for i in $(seq 1 "$tries"); do
    [ "$i" -gt 1 ] && { sed -i "/^${name}_/d" "$SUMMARY"; log "ingest $name lost flows: again at $rate flows/s (try $i of $tries)"; }
    ingest "$name" "$rate"
    [ "$(get "${name}_stored")" -ge "$(get "${name}_sent")" ] && break
    rate=$((rate / 2))
  done
  put "${name}_tries" "$i"
}
ingest_tries flowlake "$RATE_FLOWLAKE" "$TRIES_FLOWLAKE"
FL=$RESULTS/flowlake/store

log "flowlake archive compact"
T0=$(now)
procmon -o "$RESULTS/flowlake/compact.json" -- flowlake archive compact --data-dir "$FL" --grace 0 --min-files 1 \
  > "$RESULTS/flowlake/compact.log" 2>&1 || log "compact failed: $(tail -3 "$RESULTS/flowlake/compact.log")"
put compact_wall_s "$(calc "$(now) - $T0")"
put compact_cpu_s "$(json_get "$RESULTS/flowlake/compact.json" cpu_total_s)"
flowlake archive stats --data-dir "$FL" > "$RESULTS/flowlake/stats.txt" 2>&1
cat "$RESULTS/flowlake/stats.txt" >&2
put flowlake_files "$(awk '$1=="files:"{print $2}' "$RESULTS/flowlake/stats.txt")"
put flowlake_disk_bytes "$(awk '$1=="bytes:"{print $2}' "$RESULTS/flowlake/stats.txt")"
put flowlake_bytes_per_flow "$(awk '$1=="bytes/flow:"{print $2}' "$RESULTS/flowlake/stats.txt")"
put flowlake_bytes_per_flow_before_compact "$(awk '$1=="bytes/flow:"{print $2}' "$RESULTS/flowlake/stats-before-compact.txt")"

# ------------------------------------------------------------------ 2. nfcapd
T0=$(now)
if [ -z "$RATE_NFCAPD" ]; then calibrate nfcapd; RATE_NFCAPD=$CAL_RATE; fi
put calibrate_nfcapd_s "$(calc "$(now) - $T0")"
ingest_tries nfcapd "$RATE_NFCAPD" "$TRIES_NFCAPD"
NF=$RESULTS/nfcapd/store
NFBYTES=$(du -sb "$NF" | cut -f1)
put nfcapd_disk_bytes "$NFBYTES"
put nfcapd_bytes_per_flow "$(calc "$NFBYTES / $(get nfcapd_stored)")"
# LZ4: nfdump 1.7.1 has -y (newer releases spell it -z=lz4); rewrite the same flows
LZ4OPT=-y
nfcapd -h 2>&1 | grep -q -- '-z=lz4\|lz4:' && LZ4OPT=-z=lz4
mkdir -p "$RESULTS/nfcapd/store-lz4"
T0=$(now)
procmon -o "$RESULTS/nfcapd/lz4.json" -- nfdump -R "$NF" $LZ4OPT -w "$RESULTS/nfcapd/store-lz4/nfcapd.lz4" > "$RESULTS/nfcapd/lz4.log" 2>&1
put lz4_rewrite_cpu_s "$(json_get "$RESULTS/nfcapd/lz4.json" cpu_total_s)"
put lz4_rewrite_wall_s "$(calc "$(now) - $T0")"
LZBYTES=$(du -sb "$RESULTS/nfcapd/store-lz4" | cut -f1)
put nfcapd_lz4_bytes_per_flow "$(calc "$LZBYTES / $(get nfcapd_stored)")"
[ -z "${KEEP_DATA:-}" ] && rm -rf "$RESULTS/nfcapd/store-lz4"

# ------------------------------------------------------------------ 3. queries
Q=$RESULTS/queries; mkdir -p "$Q"
# timed NAME 'shell command' -> runs it QUERY_RUNS times (stdout to $Q/NAME.out), records median wall ms
timed() {
  local name=$1 cmd=$2 i t0 ms=() runs=$QUERY_RUNS
  [[ $name == *_nfdump ]] && runs=$NFDUMP_RUNS
  for i in $(seq 1 "$runs"); do
    t0=$(date +%s%N)
    bash -c "$cmd" > "$Q/$name.out" 2> "$Q/$name.err"
    ms+=($((($(date +%s%N) - t0) / 1000000)))
  done
  printf '%s\n' "${ms[@]}" > "$Q/$name.ms"
  put "q_${name}_ms" "$(printf '%s\n' "${ms[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
}
FQ="flowlake query --data-dir '$FL' --format csv --max-rows 0"
NQ="nfdump -R '$NF' -q"

# the needle: an address pair talking to dst port 443 on the day holding most flows (with
# VARY=1 and 100 M flows the times span ~28 h, two days), with few flows, all of them
# ending on that day too (nfdump -t may test time_end as well as time_start)
DAY=$(flowlake query --data-dir "$FL" --format csv 'flows | summarize n=count() by d=bin(time_start, 1d) | top 1 by n' | tail -1 | cut -c1-10)
[[ $DAY =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || DAY=$(flowlake query --data-dir "$FL" --format csv 'flows | summarize m=max(time_start)' | tail -1 | cut -c1-10)
NEXT=$(date -u -d "$DAY + 1 day" +%Y-%m-%d)
flowlake query --data-dir "$FL" --format csv \
  "flows | where dst_port == 443 and time_start >= datetime($DAY) and time_start < datetime($NEXT) | summarize n=count(), e=max(time_end) by src_addr, dst_addr | where n <= $((3 * LOOPS)) and e < datetime($NEXT) | top 1 by n" \
  > "$Q/needle_pick.csv" 2>&1
IFS=, read -r NSRC NDST _ < <(tail -1 "$Q/needle_pick.csv")
[ -n "${NSRC:-}" ] && [ -n "${NDST:-}" ] || die "could not pick a needle pair: $(cat "$Q/needle_pick.csv")"
put needle "$NSRC -> $NDST port 443 on $DAY"
log "needle: $NSRC -> $NDST port 443 on $DAY"

log "queries ($QUERY_RUNS runs each)"
TQ=$(now)
# process start + opening the store, for scale: the cheapest query each tool can run
timed s_flowlake "$FQ 'flows | take 1'"
timed s_nfdump "$NQ -c 1 -o csv"
# (a) needle
timed a_flowlake "$FQ 'flows | where time_start >= datetime($DAY) and time_start < datetime($NEXT) and src_addr == \"$NSRC\" and dst_addr == \"$NDST\" and dst_port == 443 | count'"
timed a_nfdump "$NQ -t '${DAY//-//}.00:00:00-${NEXT//-//}.00:00:00' -o 'fmt:%ts' 'src ip $NSRC and dst ip $NDST and dst port 443' | wc -l"
# (b) top-10 sources by bytes
timed b_flowlake "$FQ 'flows | summarize b=sum(bytes) by src_addr | top 10 by b'"
timed b_nfdump "$NQ -s srcip/bytes -n 10 -o csv"
# (c) bytes per 5-minute bin of time_start for dst port 443
timed c_flowlake "$FQ 'flows | where dst_port == 443 | summarize b=sum(bytes) by bin(time_start, 5m)'"
timed c_nfdump "$NQ -o csv 'dst port 443' | awk -F, '\$13 ~ /^[0-9]+\$/ { m = substr(\$1, 15, 2); k = substr(\$1, 1, 14) sprintf(\"%02d\", m - m % 5); b[k] += \$13 } END { for (k in b) printf \"%s,%.0f\\n\", k, b[k] }'"
# (d) distinct destinations per source, top 10 (nfdump: full per-source list kept for the agreement check)
timed d_flowlake "$FQ 'flows | summarize d=dcount(dst_addr) by src_addr | top 10 by d'"
timed d_nfdump "$NQ -A srcip,dstip -o csv | awk -F, '\$4 ~ /[0-9a-f]/ && \$4 != \"sa\" { n[\$4]++ } END { for (s in n) print s \",\" n[s] }' | sort -t, -k2,2nr"

put queries_wall_s "$(calc "$(now) - $TQ")"

# the same four queries through the HTTP API of a running `flowlake serve` (warm engine,
# as web UI and API users see them); nfdump has no server mode
log "the same queries through flowlake serve's HTTP API"
if MPORT=$((MPORT + 1)) PORT=$((PORT + 1)) QUERY_RUNS=$QUERY_RUNS "$BENCH/archive_api.sh" "$FL" "$NSRC" "$NDST" "$DAY" "$Q/api.tsv" \
    > /dev/null 2> "$Q/api.err"; then
  for k in a b c d; do
    put "q_api_${k}_ms" "$(awk -F'\t' -v k=$k '$1==k {print $2}' "$Q/api.tsv")"
    put "q_api_${k}_exec_ms" "$(awk -F'\t' -v k=$k '$1==k {print $3}' "$Q/api.tsv")"
  done
else
  log "API queries failed: $(cat "$Q/api.err")"
fi

# agreement checks (flowlake's answer is the reference; outputs normalised to "key,value" lines)
ag() { put "agree_$1" "$2"; log "agree $1: $2"; }
fa=$(tail -1 "$Q/a_flowlake.out"); na=$(tr -d ' ' < "$Q/a_nfdump.out")
put needle_count_flowlake "$fa"; put needle_count_nfdump "$na"
[ -n "$fa" ] && [ "$fa" = "$na" ] && [ "$fa" -gt 0 ] && ag a "yes ($fa flows)" || ag a "NO (flowlake $fa, nfdump $na)"
tail -n +2 "$Q/b_flowlake.out" | sort > "$Q/b_flowlake.norm"
awk -F, 'NR>1 && $10 ~ /^[0-9]+$/ {print $5 "," $10}' "$Q/b_nfdump.out" | sort > "$Q/b_nfdump.norm"
[ -s "$Q/b_flowlake.norm" ] && cmp -s "$Q/b_flowlake.norm" "$Q/b_nfdump.norm" && ag b "yes (same 10 sources, same byte sums)" \
  || ag b "NO ($(comm -3 "$Q/b_flowlake.norm" "$Q/b_nfdump.norm" | wc -l) lines differ)"
tail -n +2 "$Q/c_flowlake.out" | awk -F, '{t = $1; gsub(/T/, " ", t); print substr(t, 1, 16) "," $2}' | sort > "$Q/c_flowlake.norm"
sort "$Q/c_nfdump.out" > "$Q/c_nfdump.norm"
[ -s "$Q/c_flowlake.norm" ] && cmp -s "$Q/c_flowlake.norm" "$Q/c_nfdump.norm" && ag c "yes ($(wc -l < "$Q/c_flowlake.norm") bins, same sums)" \
  || ag c "NO ($(comm -3 "$Q/c_flowlake.norm" "$Q/c_nfdump.norm" | wc -l) lines differ)"
# ties: every flowlake (source, count) must match nfdump's count, and the 10 largest counts must be equal
tail -n +2 "$Q/d_flowlake.out" > "$Q/d_flowlake.norm"
dbad=$(awk -F, 'NR==FNR {n[$1] = $2; next} n[$1] != $2 {bad++} END {print bad + 0}' "$Q/d_nfdump.out" "$Q/d_flowlake.norm")
if [ -s "$Q/d_flowlake.norm" ] && [ "$dbad" = 0 ] && [ "$(cut -d, -f2 "$Q/d_flowlake.norm" | sort -n | tr '\n' ' ')" = "$(head -10 "$Q/d_nfdump.out" | cut -d, -f2 | sort -n | tr '\n' ' ')" ]; then
  ag d "yes (same top-10 counts, $(wc -l < "$Q/d_nfdump.out") sources)"
else ag d "NO ($dbad of flowlake's top 10 differ)"; fi

# ------------------------------------------------------------------ 4. report
TOTAL=$(calc "$(now) - $T_START")
put total_wall_s "$TOTAL"
STORED=$(get flowlake_stored)
# 100 M flows extrapolation: replay time at the same rates, compaction, LZ4 rewrite and
# queries scale with the flows; calibration, start/stop and catch-up (mostly
# flowlake's flush interval) do not
SCALE=$(calc "100000000 / ($LOOPS * $REC)")
FIXED=$(calc "$(get calibrate_flowlake_s) + $(get calibrate_nfcapd_s)")
VAR=$(calc "$(get flowlake_send_s) + $(get compact_wall_s) + $(get nfcapd_send_s) + $(get lz4_rewrite_wall_s) + $(get queries_wall_s)")
EST=$(calc "$TOTAL + $VAR * ($SCALE - 1)")
put est_100m_wall_s "$EST"
ratio() { local f n; f=$(get "q_$1_flowlake_ms"); n=$(get "q_$1_nfdump_ms"); [ "${f:-0}" -gt 0 ] && fmt1 "$(calc "$n / $f")" || echo -; }
# net-of-start needle latency, for the target (which is about the query, not process start)
net_a() { local n=$(( $(get q_a_flowlake_ms) - $(get q_s_flowlake_ms) )); [ $n -lt 0 ] && n=0; echo $n; }
pass() { [ "$(calc "$1")" = 1 ] && echo "**met**" || echo "not met"; }
{
  echo "# flowlake archive vs nfdump ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Corpus: $PCAP ($REC softflowd NetFlow v9 flows) replayed $LOOPS times = $(get flowlake_sent) flows over loopback UDP."
  if [ "$PROTO" = netflow9-site ] && [ "$LOOPS" = 1 ]; then
    echo "One site's traffic (bench/make_site_corpus.sh): one host population, fresh connections throughout, no flow repeated."
  elif [ "$VARY" = 1 ]; then
    if [ "$VARY_CLIENTS" = 1 ]; then
      echo "Each loop L >= 1 is varied (replay -vary): times shifted by L x ${SPAN} s, internal clients and ephemeral ports remapped per loop, so no flow repeats."
    else
      echo "Each loop L >= 1 is varied (replay -vary -vary-clients=false): times shifted by L x ${SPAN} s, ephemeral ports remapped per loop, the same internal clients in every loop."
    fi
  else
    echo "Looping repeats identical flows, time_start included (2024-12-31 23:59:59 .. 2025-01-01 00:05 UTC), in every loop (VARY=0);"
    echo "time_received differs."
  fi
  echo "Host: $(nproc) CPUs, load average at end $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: figures are noisy)."
  echo "nfdump $(nfdump -V 2>&1 | awk '{print $NF}'); flowlake $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)+worktree. Queries: median of $QUERY_RUNS (nfdump: $NFDUMP_RUNS) runs, wall ms incl. process start, warm page cache."
  echo
  echo "| figure | flowlake | nfdump | nfdump / flowlake | target (issue 3) | agree |"
  echo "|---|---:|---:|---:|---|---|"
  echo "| replay rate used, flows/s (calibrated loss-free x $CAL_MARGIN; halved per retry) | $(get flowlake_rate) (try $(get flowlake_tries)) | $(get nfcapd_rate) (try $(get nfcapd_tries)) | | | |"
  echo "| flows sent / stored | $(get flowlake_sent) / $STORED | $(get nfcapd_sent) / $(get nfcapd_stored) | | | |"
  echo "| loss % (socket drops, datagrams) | $(fmt2 "$(get flowlake_loss_pct)") ($(get flowlake_socket_drops)) | $(fmt2 "$(get nfcapd_loss_pct)") ($(get nfcapd_socket_drops)) | | | |"
  echo "| ingest CPU-s (collector$( echo ' + enrichment + archive' ) / nfcapd) | $(fmt1 "$(get flowlake_cpu_s)") | $(fmt1 "$(get nfcapd_cpu_s)") | | | |"
  echo "| **ingest flows per CPU-second** | $(fmt0 "$(get flowlake_flows_per_cpu_s)") | $(fmt0 "$(get nfcapd_flows_per_cpu_s)") | $(fmt2 "$(calc "$(get nfcapd_flows_per_cpu_s) / $(get flowlake_flows_per_cpu_s)")") | >= 1 M/s per core batch->Parquet: Go benchmark, not here | |"
  echo "| peak RSS MB | $(fmt0 "$(get flowlake_peak_rss_mb)") | $(fmt0 "$(get nfcapd_peak_rss_mb)") | | | |"
  echo "| compaction CPU-s (wall s) / LZ4 rewrite CPU-s | $(fmt1 "$(get compact_cpu_s)") ($(fmt1 "$(get compact_wall_s)")) | $(fmt1 "$(get lz4_rewrite_cpu_s)") | | | |"
  echo "| **bytes per flow on disk** (flowlake compacted; nfcapd default) | $(get flowlake_bytes_per_flow) | $(fmt1 "$(get nfcapd_bytes_per_flow)") | $(fmt1 "$(calc "$(get nfcapd_bytes_per_flow) / $(get flowlake_bytes_per_flow)")") | <= 10: $(pass "$(get flowlake_bytes_per_flow) <= 10") | |"
  echo "| bytes per flow (flowlake before compaction; nfcapd LZ4) | $(get flowlake_bytes_per_flow_before_compact) | $(fmt1 "$(get nfcapd_lz4_bytes_per_flow)") | | | |"
  echo "| process start + open (\`take 1\` / \`nfdump -c 1\`) ms | $(get q_s_flowlake_ms) | $(get q_s_nfdump_ms) | $(ratio s) | | |"
  echo "| **(a) needle ms**: $(get needle) | $(get q_a_flowlake_ms) ($(net_a) net of start) | $(get q_a_nfdump_ms) | $(ratio a) | < 100 ms on 100 M flows: $(pass "$(get q_a_flowlake_ms) < 100") (net of start: $(pass "$(net_a) < 100"))$([ "$STORED" -lt 100000000 ] && echo " (only $STORED flows)") | $(get agree_a) |"
  echo "| **(b) top-10 sources by bytes ms** | $(get q_b_flowlake_ms) | $(get q_b_nfdump_ms) | $(ratio b) | >= 10x: $(pass "$(ratio b) >= 10") | $(get agree_b) |"
  echo "| **(c) bytes per 5-min bin, dst port 443 ms** | $(get q_c_flowlake_ms) | $(get q_c_nfdump_ms) | $(ratio c) | >= 10x: $(pass "$(ratio c) >= 10") | $(get agree_c) |"
  echo "| **(d) distinct destinations per source, top 10 ms** | $(get q_d_flowlake_ms) | $(get q_d_nfdump_ms) | $(ratio d) | >= 10x: $(pass "$(ratio d) >= 10") | $(get agree_d) |"
  for k in a b c d; do
    f=$(get "q_api_${k}_ms"); n=$(get "q_${k}_nfdump_ms")
    r=-; [ "${f:-0}" -gt 0 ] 2>/dev/null && r=$(fmt1 "$(calc "$n / $f")")
    t=""; [ $k = a ] && t="< 100 ms: $(pass "${f:-1000000} < 100")" || t=">= 10x: $(pass "$r >= 10")"
    echo "| ($k) through the HTTP API of a running serve, ms (server execute ms) | ${f:--} ($(get "q_api_${k}_exec_ms")) | $n | $r | $t | |"
  done
  echo
  echo "Wall time: $(fmt0 "$TOTAL") s for $(get flowlake_sent) flows (calibration $(fmt0 "$FIXED") s);"
  echo "extrapolated to 100 M flows at the same replay rates (replay, compaction, LZ4 rewrite, queries linear in flows): ~$(fmt0 "$(calc "$EST / 60")") min."
  echo
  echo "Phases (s): flowlake ingest $(fmt0 "$(get flowlake_wall_s)") (send $(fmt0 "$(get flowlake_send_s)"), catch-up $(fmt1 "$(get flowlake_lag_s)")), compact $(fmt0 "$(get compact_wall_s)"), nfcapd ingest $(fmt0 "$(get nfcapd_wall_s)"), LZ4 rewrite $(fmt0 "$(get lz4_rewrite_wall_s)")."
  echo "Raw figures: $SUMMARY; calibration steps: $RESULTS/calibrate-*/steps.tsv; query outputs: $Q."
} > "$RESULTS/results.md"
cat "$RESULTS/results.md"
[ -z "${KEEP_DATA:-}" ] && rm -rf "$RESULTS/nfcapd/store" "$RESULTS/flowlake/store"
exit 0

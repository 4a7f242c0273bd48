#!/bin/bash
# run_all.sh - flow-collector benchmark harness (loopback only).
#
# Reproduces every figure of REPORT.md end to end:
#   0. installs missing Debian packages / goflow2, builds the Go tools
#   1. builds the corpora if missing (make_corpus.sh) and cross-checks them (verify_corpus.sh)
#   2. BLAST: for each collector x protocol, replays the corpus round(BLAST_FLOWS/records) times
#      at max rate; reports flows sent/processed, collector CPU-seconds
#      (utime+stime of the whole process tree, from procmon), flows per
#      CPU-second, loss %, kernel UDP RcvbufErrors delta, peak RSS
#   3. SWEEP: for each collector x protocol, steps the offered flow rate up
#      (doubling, then bisection) and reports the highest rate at which the
#      collector processed every flow and kept up (went idle within
#      LAG_MAX_S of the end of the step)
#   4. NFDUMP: on-disk bytes/flow for nfcapd (none, LZO, LZ4, BZ2) and nfdump
#      query times (top-N, filter) over the stored files
# and prints Markdown tables (also saved under results/<timestamp>/).
#
# Adding a collector = one function `col_<name>` answering four questions:
#   col_<name> protos   -> protocols it accepts (netflow5 netflow9 ipfix sflow ...)
#   col_<name> cmd      -> command line; may use $PORT (flow port), $MPORT (a free
#                          TCP port for stats), $OUT (run dir), $PROTO, $SCHEME
#   col_<name> count    -> prints the number of flows it processed (run after stop)
#   col_<name> signal   -> stop signal (TERM if not given)
#   col_<name> slack    -> (optional) flows that may legitimately still be buffered
#                          inside the collector at shutdown (pmacct: one plugin buffer)
# then list <name> in COLLECTORS. See col_goflow2_json below; a template for
# flowlake is at the end of the adapter section.
#
# Env knobs (defaults in brackets):
#   PHASES ["blast sweep nfdump"]      COLLECTORS [all defined below]
#   PROTOS ["netflow5 netflow9 ipfix sflow"]; BLAST_PROTOS [$PROTOS netflow9_pmacct ipfix_pmacct]
#   SWEEP_PROTOS [$PROTOS]  BLAST_FLOWS [5000000] (corpus looped round(BLAST_FLOWS/corpus) times)
#   GOFLOW2_QUEUE [10000] (goflow2 queue_size, datagrams; its default 1e6 x 9 KB buffers could take 9 GB)
#   STEP_S [8]  SWEEP_START [10000] flows/s  SWEEP_MAX [2560000]
#   BISECT [2]  LAG_MAX_S [2]  PORT [41001]  MPORT [41080]  CORPUS [./corpus]
#   RESULTS [./results/<ts>]
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
cd "$BENCH"
export PATH="$BENCH/bin:$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
CORPUS=${CORPUS:-$BENCH/corpus}
PHASES=${PHASES:-"blast sweep nfdump"}
PROTOS=${PROTOS:-"netflow5 netflow9 ipfix sflow"}
BLAST_PROTOS=${BLAST_PROTOS:-"$PROTOS netflow9_pmacct ipfix_pmacct"}
SWEEP_PROTOS=${SWEEP_PROTOS:-"$PROTOS"}
BLAST_FLOWS=${BLAST_FLOWS:-5000000}
GOFLOW2_QUEUE=${GOFLOW2_QUEUE:-10000}
STEP_S=${STEP_S:-8}
SWEEP_START=${SWEEP_START:-10000}
SWEEP_MAX=${SWEEP_MAX:-2560000}
BISECT=${BISECT:-2}
LAG_MAX_S=${LAG_MAX_S:-2}
PORT=${PORT:-41001}
MPORT=${MPORT:-41080}
IDLE_TIMEOUT_S=${IDLE_TIMEOUT_S:-900}
RESULTS=${RESULTS:-$BENCH/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$RESULTS"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# ------------------------------------------------------------------ deps
ensure_deps() {
  local pkgs=""
  command -v softflowd >/dev/null || pkgs+=" softflowd"
  command -v pmacctd  >/dev/null || pkgs+=" pmacct"
  command -v nfcapd   >/dev/null || pkgs+=" nfdump"
  command -v sfcapd   >/dev/null || pkgs+=" nfdump-sflow"
  command -v tshark   >/dev/null || pkgs+=" tshark"
  command -v tcpdump  >/dev/null || pkgs+=" tcpdump"
  command -v bc       >/dev/null || pkgs+=" bc"
  command -v ss       >/dev/null || pkgs+=" iproute2"
  if [ -n "$pkgs" ]; then
    log "installing:$pkgs"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
  fi
  # Go builds use the caller's GOPATH and cache (a module cache inside the tree would be scanned by ./...).
  if [ ! -x "$BENCH/bin/goflow2" ]; then
    log "go install goflow2"
    GOBIN="$BENCH/bin" go install github.com/netsampler/goflow2/v2/cmd/goflow2@latest || exit 1
  fi
  for t in gen replay procmon udpsink pdcount; do
    if [ ! -x "$BENCH/bin/$t" ] || [ -n "$(find "$BENCH/cmd/$t" -newer "$BENCH/bin/$t" -name '*.go' 2>/dev/null)" ]; then
      (cd "$BENCH/.." && go build -o "$BENCH/bin/$t" "./bench/cmd/$t") || exit 1
    fi
  done
  # flowlake itself, built from this checkout.
  (cd "$BENCH/.." && go build -o "$BENCH/bin/flowlake" ./cmd/flowlake) || exit 1
}

ensure_corpus() {
  local missing=0
  for p in netflow5 netflow9 ipfix sflow; do [ -s "$CORPUS/$p.pcap" ] || missing=1; done
  if [ $missing = 1 ]; then
    log "building corpus (make_corpus.sh)"
    CORPUS="$CORPUS" "$BENCH/make_corpus.sh" >&2 || exit 1
  fi
  if [ ! -s "$CORPUS/verify.txt" ]; then
    "$BENCH/verify_corpus.sh" "$CORPUS" > "$CORPUS/verify.txt"
  fi
}

versions() {
  echo "| component | version |"
  echo "|---|---|"
  echo "| goflow2 | $(go version -m "$BENCH/bin/goflow2" 2>/dev/null | awk '$1=="mod"{print $3}') (built with $(go version | awk '{print $3}')) |"
  echo "| nfdump/nfcapd/sfcapd | $(dpkg-query -W -f='${Version}' nfdump) / nfdump-sflow $(dpkg-query -W -f='${Version}' nfdump-sflow 2>/dev/null) |"
  echo "| pmacct (nfacctd/sfacctd/pmacctd) | $(dpkg-query -W -f='${Version}' pmacct) |"
  echo "| softflowd | $(dpkg-query -W -f='${Version}' softflowd) |"
  echo "| tshark | $(dpkg-query -W -f='${Version}' tshark) |"
  echo "| tcpdump | $(dpkg-query -W -f='${Version}' tcpdump) |"
  echo "| kernel | $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB |"
  echo "| net.core.rmem_max / rmem_default | $(cat /proc/sys/net/core/rmem_max) / $(cat /proc/sys/net/core/rmem_default) |"
}

# ------------------------------------------------------------------ collector adapters
# goflow2, JSON lines to a file (one line per flow / per sFlow flow sample)
col_goflow2_json() {
  case $1 in
    protos) echo "netflow5 netflow9 ipfix sflow netflow9_pmacct ipfix_pmacct" ;;
    cmd) echo "goflow2 -listen '$SCHEME://127.0.0.1:$PORT?queue_size=$GOFLOW2_QUEUE' -addr 127.0.0.1:$MPORT -format json -transport.file '$OUT/flows.json' -loglevel warn" ;;
    count) wc -l < "$OUT/flows.json" ;;
    signal) echo TERM ;;
  esac
}
# goflow2, length-delimited protobuf to a file
col_goflow2_bin() {
  case $1 in
    protos) echo "netflow5 netflow9 ipfix sflow netflow9_pmacct ipfix_pmacct" ;;
    cmd) echo "goflow2 -listen '$SCHEME://127.0.0.1:$PORT?queue_size=$GOFLOW2_QUEUE' -addr 127.0.0.1:$MPORT -format bin -transport.file '$OUT/flows.pb' -transport.file.sep '' -loglevel warn" ;;
    count) pdcount "$OUT/flows.pb" ;;
    signal) echo TERM ;;
  esac
}
# nfdump's nfcapd: native nfcapd files, uncompressed (default) / LZ4
nfcapd_count() { nfdump -R "$OUT/store" -I 2>/dev/null | awk '/^Flows:/{s+=$2} END{print s+0}'; }
col_nfcapd() {
  case $1 in
    protos) echo "netflow5 netflow9 ipfix netflow9_pmacct ipfix_pmacct" ;;
    cmd) mkdir -p "$OUT/store"; echo "nfcapd -w '$OUT/store' -b 127.0.0.1 -p $PORT -B 4194304 -t 3600" ;;
    count) nfcapd_count ;;
    signal) echo TERM ;;
  esac
}
col_nfcapd_lz4() {
  case $1 in
    protos) echo "netflow5 netflow9 ipfix" ;;
    cmd) mkdir -p "$OUT/store"; echo "nfcapd -y -w '$OUT/store' -b 127.0.0.1 -p $PORT -B 4194304 -t 3600" ;;
    count) nfcapd_count ;;
    signal) echo TERM ;;
  esac
}
# nfdump-sflow's sfcapd: sFlow -> nfcapd files
col_sfcapd() {
  case $1 in
    protos) echo "sflow" ;;
    cmd) mkdir -p "$OUT/store"; echo "sfcapd -w '$OUT/store' -b 127.0.0.1 -p $PORT -B 4194304 -t 3600" ;;
    count) nfcapd_count ;;
    signal) echo TERM ;;
  esac
}
# pmacct nfacctd/sfacctd, print plugin, CSV appended every 5 s; FLOWS column summed.
# AGG=min: aggregate by protocol only (cheapest pmacct setup);
# AGG=5tuple: src/dst host, src/dst port, proto (per-flow keyed cache).
pmacct_conf() { # daemon agg
  local d=$1 agg=$2 f="$OUT/$1.conf"
  {
    echo "daemonize: false"
    echo "${d}_ip: 127.0.0.1"
    echo "${d}_port: $PORT"
    echo "${d}_pipe_size: 4194304"
    echo "plugin_pipe_size: 104857600"
    echo "plugin_buffer_size: 102400"
    echo "logfile: $OUT/$d.log"
    echo "plugins: print[p]"
    if [ "$agg" = 5tuple ]; then
      echo "aggregate[p]: src_host, dst_host, src_port, dst_port, proto, flows"
      echo "print_cache_entries[p]: 262147"
    else
      echo "aggregate[p]: proto, flows"
    fi
    echo "print_output[p]: csv"
    echo "print_output_file[p]: $OUT/flows.csv"
    echo "print_output_file_append[p]: true"
    echo "print_refresh_time[p]: 5"
  } > "$f"
  echo "$f"
}
pmacct_count() { # sum the FLOWS column of every CSV line (header printed once per file)
  awk -F, 'FNR==1 || $1 ~ /^[A-Z_]+$/ {for(i=1;i<=NF;i++) if($i=="FLOWS") c=i; next} c {s+=$c} END{print s+0}' "$OUT/flows.csv" 2>/dev/null || echo 0
}
col_nfacctd() {
  case $1 in
    protos) echo "netflow5 netflow9 ipfix netflow9_pmacct ipfix_pmacct" ;;
    cmd) echo "nfacctd -f '$(pmacct_conf nfacctd min)'" ;;
    count) pmacct_count ;;
    signal) echo INT ;;
    slack) echo 400 ;; # flows still in the core->plugin buffers (192 records per 100 KB buffer) when pmacct exits
  esac
}
col_nfacctd_5tuple() {
  case $1 in
    protos) echo "netflow5 netflow9 ipfix netflow9_pmacct ipfix_pmacct" ;;
    cmd) echo "nfacctd -f '$(pmacct_conf nfacctd 5tuple)'" ;;
    count) pmacct_count ;;
    signal) echo INT ;;
    slack) echo 400 ;; # flows still in the core->plugin buffers (192 records per 100 KB buffer) when pmacct exits
  esac
}
col_sfacctd() {
  case $1 in
    protos) echo "sflow" ;;
    cmd) echo "sfacctd -f '$(pmacct_conf sfacctd min)'" ;;
    count) pmacct_count ;;
    signal) echo INT ;;
    slack) echo 400 ;; # flows still in the core->plugin buffers (192 records per 100 KB buffer) when pmacct exits
  esac
}
col_sfacctd_5tuple() {
  case $1 in
    protos) echo "sflow" ;;
    cmd) echo "sfacctd -f '$(pmacct_conf sfacctd 5tuple)'" ;;
    count) pmacct_count ;;
    signal) echo INT ;;
    slack) echo 400 ;; # flows still in the core->plugin buffers (192 records per 100 KB buffer) when pmacct exits
  esac
}
# flowlake: collector + enrichment + Parquet archive (FLOWLAKE_ARGS adds flags,
# e.g. "--no-archive" to measure the collector alone). The count is read from
# its own metrics before it stops (flows handed to enrichment and storage).
col_flowlake() {
  case $1 in
    protos) echo "netflow5 netflow9 ipfix sflow netflow9_pmacct ipfix_pmacct" ;;
    cmd) echo "flowlake serve --udp 127.0.0.1:$PORT --tcp '' --http 127.0.0.1:$MPORT --data-dir '$OUT/store' ${FLOWLAKE_ARGS:-}" ;;
    count) cat "$OUT/flowlake.count" 2>/dev/null || echo 0 ;;
    precount) curl -s "http://127.0.0.1:$MPORT/metrics" | awk '$1=="flowlake_collector_flows_total"{printf "%d\n", $2}' > "$OUT/flowlake.count" ;;
    signal) echo TERM ;;
  esac
}
COLLECTORS=${COLLECTORS:-"flowlake goflow2_json goflow2_bin nfcapd nfcapd_lz4 sfcapd nfacctd nfacctd_5tuple sfacctd sfacctd_5tuple"}

# ------------------------------------------------------------------ helpers
# kernel drops on the collector's own socket(s) bound to $PORT (last column of /proc/net/udp{,6});
# unlike /proc/net/snmp RcvbufErrors (namespace-wide) this is not polluted by other processes.
sock_drops() {
  local hp; hp=$(printf '%04X' "$PORT")
  awk -v hp=":$hp" 'FNR>1 && substr($2, length($2)-4)==hp {d+=$NF} END{print d+0}' /proc/net/udp /proc/net/udp6 2>/dev/null
}
udp_snmp() { awk '/^Udp:/ && $2 ~ /^[0-9]+$/ {print $4, $6; exit}' /proc/net/snmp; } # InErrors RcvbufErrors
json_get() { sed -n "s/.*\"$2\": *\([-0-9.eE+]*\).*/\1/p" "$1" | head -1; }
corpus_stat() { # proto field
  local f=$CORPUS/$1.count.json
  [ -s "$f" ] || replay -f "$CORPUS/$1.pcap" -count -json > "$f"
  json_get "$f" "$2"
}
wait_port() { # wait until something listens on udp $PORT
  for _ in $(seq 1 150); do
    ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  return 1
}
# wait until the collector tree burns < 0.02 CPU-s per 0.5 s for 4 polls; print seconds waited
wait_idle() {
  local st=$1 t0 prev cur calm=0
  t0=$(date +%s.%N); prev=-1
  while :; do
    sleep 0.5
    cur=$(sed -n 's/.*"cpu_s":\([0-9.]*\).*/\1/p' "$st" 2>/dev/null)
    [ -z "$cur" ] && cur=0
    if [ "$(echo "$cur - $prev < 0.02" | bc)" = 1 ]; then calm=$((calm+1)); else calm=0; fi
    prev=$cur
    [ $calm -ge 4 ] && break
    [ "$(echo "$(date +%s.%N) - $t0 > $IDLE_TIMEOUT_S" | bc)" = 1 ] && break
  done
  echo "$(date +%s.%N) - $t0 - 2.0" | bc
}

# run_one COLLECTOR PROTO MODE [RATE_PPS MAXPKTS]  -> appends a TSV line to $RESULTS/runs.tsv
# MODE blast: corpus looped ~BLAST_FLOWS records at max rate. MODE step: RATE_PPS for MAXPKTS packets.
run_one() {
  local col=$1 proto=$2 mode=$3 rate=${4:-0} maxp=${5:-0}
  PROTO=$proto; SCHEME=netflow; [[ $proto == sflow* ]] && SCHEME=sflow
  OUT=$RESULTS/runs/$col-$proto-$mode${4:+-$rate}
  rm -rf "$OUT"; mkdir -p "$OUT"
  local cmd sig
  cmd=$(col_$col cmd); sig=$(col_$col signal); sig=${sig:-TERM}
  echo "$cmd" > "$OUT/cmd.txt"
  ss -Hlun "sport = :$PORT" | grep -q . && { log "port $PORT busy"; return 1; }
  eval "exec procmon -signal $sig -o '$OUT/procmon.json' -status '$OUT/status.json' -- $cmd" > "$OUT/collector.log" 2>&1 &
  local pm=$!
  if ! wait_port; then log "$col did not bind udp $PORT"; kill $pm; wait $pm; return 1; fi
  wait_idle "$OUT/status.json" > /dev/null   # warm-up: let the collector finish initialising
  local snmp0 snmp1 load cpu0
  cpu0=$(sed -n 's/.*"cpu_s":\([0-9.]*\).*/\1/p' "$OUT/status.json"); cpu0=${cpu0:-0}
  snmp0=$(udp_snmp); load=$(cut -d' ' -f1 /proc/loadavg)
  local rargs="-f $CORPUS/$proto.pcap -t 127.0.0.1:$PORT -json"
  if [ "$mode" = blast ]; then
    local loops; loops=$(echo "($BLAST_FLOWS + $(corpus_stat $proto corpus_flow_records) / 2) / $(corpus_stat $proto corpus_flow_records)" | bc)
    [ "$loops" -lt 1 ] && loops=1
    rargs+=" -n $loops"
  else rargs+=" -n 1000000 -rate $rate -max-packets $maxp"; fi
  replay $rargs > "$OUT/replay.json" 2> "$OUT/replay.err"
  local lag; lag=$(wait_idle "$OUT/status.json")
  snmp1=$(udp_snmp)
  local sdrops; sdrops=$(sock_drops)
  col_$col precount 2>/dev/null   # collectors that report their count over HTTP
  kill -TERM $pm; wait $pm
  for _ in $(seq 1 50); do ss -Hlun "sport = :$PORT" | grep -q . || break; sleep 0.1; done
  local sent processed cpu cput pss rss rcvbuf inerr fpc loss pps elapsed slack
  sent=$(sed -n 's/.*"flow_records_sent":\([0-9]*\).*/\1/p' "$OUT/replay.json"); sent=${sent:-0}
  elapsed=$(sed -n 's/.*"elapsed_s":\([0-9.]*\).*/\1/p' "$OUT/replay.json")
  pps=$(sed -n 's/.*"achieved_pps":\([0-9.]*\).*/\1/p' "$OUT/replay.json")
  processed=$(col_$col count 2>/dev/null | tail -1); processed=${processed:-0}
  slack=$(col_$col slack); slack=${slack:-0}
  cput=$(json_get "$OUT/procmon.json" cpu_total_s); cput=${cput:-0}
  cpu=$(echo "scale=3; $cput - $cpu0" | bc)
  pss=$(json_get "$OUT/procmon.json" peak_pss_sum_mb)
  rss=$(json_get "$OUT/procmon.json" peak_rss_sum_mb)
  inerr=$(( ${snmp1% *} - ${snmp0% *} )); rcvbuf=$(( ${snmp1#* } - ${snmp0#* } ))
  fpc=$(echo "scale=0; $processed / $cpu" | bc 2>/dev/null); fpc=${fpc:-0}
  loss=$(echo "scale=3; ($sent - $processed) * 100 / $sent" | bc 2>/dev/null); loss=${loss:-0}
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$col" "$proto" "$mode" "$rate" "$sent" "$processed" "$cpu" "$fpc" "$loss" "$sdrops" "$pss" "$lag" "$elapsed" "$pps" "$load" "$cpu0" "$rss" "$slack" "$rcvbuf" \
    | tee -a "$RESULTS/runs.tsv"
}
RUNS_HDR="collector\tproto\tmode\trate_pps\tsent\tprocessed\tcpu_s\tflows_per_cpu_s\tloss_pct\tsocket_drops\tpeak_pss_mb\tlag_s\tsend_s\tachieved_pps\tloadavg\tstartup_cpu_s\tpeak_rss_sum_mb\tslack\tnetns_RcvbufErrors"

supports() { [[ " $(col_$1 protos) " == *" $2 "* ]] && [ -s "$CORPUS/$2.pcap" ]; }

# ------------------------------------------------------------------ phases
phase_blast() {
  for col in $COLLECTORS; do for proto in $BLAST_PROTOS; do
    supports $col $proto || continue
    log "blast $col $proto (~$BLAST_FLOWS flows)"
    run_one $col $proto blast > /dev/null
  done; done
}

# a step is sustainable if nothing was lost (processed >= sent - slack, no kernel drops on
# the collector's socket) and the collector caught up quickly (idle within LAG_MAX_S)
step_ok() { awk -F'\t' -v lag="$LAG_MAX_S" 'END{ if ($6 >= $5 - $18 && $10 == 0 && $5 > 0 && $12 <= lag) print 1; else print 0 }' "$RESULTS/runs.tsv"; }
sweep_one() { # col proto
  local col=$1 proto=$2 rpp good=0 bad=0 f pps maxp ok
  rpp=$(echo "scale=4; $(corpus_stat $proto corpus_flow_records) / $(corpus_stat $proto corpus_packets)" | bc)
  step() { # flows/s -> 0/1
    pps=$(echo "scale=0; $1 / $rpp" | bc); [ "$pps" -lt 1 ] && pps=1
    maxp=$(( pps * STEP_S ))
    log "sweep $col $proto offered ${1} flows/s (${pps} pps)"
    run_one $col $proto step "$pps" "$maxp" > /dev/null
    step_ok
  }
  f=$SWEEP_START
  while [ "$f" -le "$SWEEP_MAX" ]; do
    ok=$(step $f)
    if [ "$ok" = 1 ]; then good=$f; f=$((f*2)); else bad=$f; break; fi
  done
  if [ "$bad" -gt 0 ] && [ "$good" -gt 0 ]; then
    for _ in $(seq 1 "$BISECT"); do
      f=$(( (good + bad) / 2 ))
      ok=$(step $f)
      if [ "$ok" = 1 ]; then good=$f; else bad=$f; fi
    done
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$col" "$proto" "$good" "$bad" "$rpp" >> "$RESULTS/sweep.tsv"
}
phase_sweep() {
  for col in $COLLECTORS; do for proto in $SWEEP_PROTOS; do
    supports $col $proto || continue
    [[ $col == *_5tuple || $col == nfcapd_lz4 ]] && [ -z "${SWEEP_ALL:-}" ] && continue
    sweep_one $col $proto
  done; done
}

# nfcapd storage per compression + nfdump query speed
phase_nfdump() {
  local D=$RESULTS/nfdump; rm -rf "$D"; mkdir -p "$D"
  local loops=${NFDUMP_LOOPS:-3} rate=${NFDUMP_RATE_PPS:-4000}
  OUT=$D/ingest; mkdir -p "$OUT/store"
  log "nfdump: ingest netflow9 x$loops at $rate pps into nfcapd (uncompressed)"
  procmon -o "$OUT/procmon.json" -status "$OUT/status.json" -- nfcapd -w "$OUT/store" -b 127.0.0.1 -p $PORT -B 4194304 -t 3600 > "$OUT/collector.log" 2>&1 &
  local pm=$!; wait_port; sleep 0.5
  replay -f "$CORPUS/netflow9.pcap" -t 127.0.0.1:$PORT -n "$loops" -rate "$rate" -json > "$OUT/replay.json"
  wait_idle "$OUT/status.json" > /dev/null; kill -TERM $pm; wait $pm
  local src=$(ls "$OUT"/store/nfcapd.* | head -1) flows
  flows=$(nfdump -r "$src" -I | awk '/^Flows:/{print $2}')
  echo -e "compression\tfile_bytes\tflows\tbytes_per_flow\twrite_cpu_s\twrite_wall_s" > "$D/storage.tsv"
  for c in none lzo lz4 bz2; do
    local dir=$D/store-$c opt=""; mkdir -p "$dir"
    case $c in lzo) opt=-z ;; lz4) opt=-y ;; bz2) opt=-j ;; esac
    procmon -o "$D/recompress-$c.json" -- nfdump -r "$src" $opt -w "$dir/nfcapd.data" > /dev/null 2>&1
    local sz; sz=$(stat -c %s "$dir/nfcapd.data")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$sz" "$flows" "$(echo "scale=1; $sz/$flows" | bc)" \
      "$(json_get "$D/recompress-$c.json" cpu_total_s)" "$(json_get "$D/recompress-$c.json" wall_s)" >> "$D/storage.tsv"
  done
  # a busy source address for the filter query: top src ip by flows
  local topip
  topip=$(nfdump -R "$D/store-none" -s srcip/flows -n 1 -q -o csv 'dst port 443' 2>/dev/null | awk -F, 'NR>1 && $5 ~ /[0-9]/ {print $5; exit}')
  echo "$topip" > "$D/topip.txt"
  echo -e "store\tquery\tflows_scanned\toutput_lines\twall_s_median\tcpu_s_median\tflows_per_s" > "$D/queries.tsv"
  for c in none lz4 lzo bz2; do
    local q i
    for q in topn_srcip_bytes filter_srcip_dport443 filter_dport443_all aggr_5tuple_top10; do
      local walls=() cpus=() lines=0
      for i in 1 2 3; do
        case $q in
          topn_srcip_bytes) procmon -o "$D/q.json" -- nfdump -R "$D/store-$c" -s srcip/bytes -n 10 > "$D/q.out" 2>&1 ;;
          filter_srcip_dport443) procmon -o "$D/q.json" -- nfdump -R "$D/store-$c" -q "src ip $topip and dst port 443" > "$D/q.out" 2>&1 ;;
          filter_dport443_all) procmon -o "$D/q.json" -- nfdump -R "$D/store-$c" -q "dst port 443" > "$D/q.out" 2>&1 ;;
          aggr_5tuple_top10) procmon -o "$D/q.json" -- nfdump -R "$D/store-$c" -a -O bytes -n 10 -q > "$D/q.out" 2>&1 ;;
        esac
        walls+=("$(json_get "$D/q.json" wall_s)"); cpus+=("$(json_get "$D/q.json" cpu_total_s)")
        lines=$(wc -l < "$D/q.out")
      done
      cp "$D/q.out" "$D/query-$c-$q.out"
      local wm cm
      wm=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n 2p); cm=$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n 2p)
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$q" "$flows" "$lines" "$wm" "$cm" "$(echo "scale=0; $flows/$wm" | bc)" >> "$D/queries.tsv"
    done
  done
}

# ------------------------------------------------------------------ report
md_blast() {
  echo "| collector | protocol | flows sent | flows processed | collector CPU-s | flows / CPU-s | loss % | kernel socket drops (datagrams) | peak RSS MB (PSS sum) | send s | catch-up s | processed flows/s (wall) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '$3=="blast" {w=$13+($12>0?$12:0); printf "| %s | %s | %s | %s | %.2f | %s | %.2f | %s | %.0f | %.1f | %.1f | %.0f |\n", $1,$2,$5,$6,$7,$8,$9,$10,$11,$13,$12,(w>0?$6/w:0)}' "$RESULTS/runs.tsv"
}
md_sweep() {
  echo "| collector | protocol | max sustainable flows/s | first failing flows/s | ≈ packets/s at max | records / packet |"
  echo "|---|---|---:|---:|---:|---:|"
  awk -F'\t' '{pps = ($5>0) ? sprintf("%.0f", $3/$5) : "-"; printf "| %s | %s | %s | %s | %s | %.1f |\n", $1,$2, ($3>0?$3:"< " ENVIRON["SWEEP_START"]), ($4>0?$4:"not reached"), pps, $5}' "$RESULTS/sweep.tsv"
}
md_tsv() { awk -F'\t' 'NR==1{h="|"; s="|"; for(i=1;i<=NF;i++){h=h" "$i" |"; s=s"---|"} print h; print s; next} {l="|"; for(i=1;i<=NF;i++) l=l" "$i" |"; print l}' "$1"; }

report() {
  local md=$RESULTS/results.md
  {
    echo "# flow collector benchmark results ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo; versions
    echo; echo "## Corpus"; echo
    echo '```'; cat "$CORPUS/verify.txt" 2>/dev/null; echo '```'
    if [ -s "$RESULTS/runs.tsv" ] && grep -q $'\tblast\t' "$RESULTS/runs.tsv"; then
      echo; echo "## Blast: ~$BLAST_FLOWS flow records per run (corpus looped) at max rate"; echo; md_blast
    fi
    if [ -s "$RESULTS/sweep.tsv" ]; then
      echo; echo "## Rate sweep (step ${STEP_S}s; sustainable = 0 loss and idle within ${LAG_MAX_S}s after the step)"; echo; md_sweep
    fi
    if [ -s "$RESULTS/nfdump/storage.tsv" ]; then
      echo; echo "## nfcapd storage"; echo; md_tsv "$RESULTS/nfdump/storage.tsv"
      echo; echo "## nfdump queries (median of 3, warm page cache; filter ip $(cat "$RESULTS/nfdump/topip.txt"))"; echo; md_tsv "$RESULTS/nfdump/queries.tsv"
    fi
    echo; echo "## All runs (raw)"; echo
    { echo -e "$RUNS_HDR"; cat "$RESULTS/runs.tsv" 2>/dev/null; } > "$RESULTS/runs_with_header.tsv"
    md_tsv "$RESULTS/runs_with_header.tsv"
  } > "$md"
  cat "$md"
}

# ------------------------------------------------------------------ main
ensure_deps
ensure_corpus
touch "$RESULTS/runs.tsv"
log "results in $RESULTS"
for ph in $PHASES; do "phase_$ph"; done
report

#!/bin/bash
# make_site_corpus.sh - one site's NetFlow v9 export over many hours, every flow
# a new one: bench/corpus/netflow9-site.pcap for `PROTO=netflow9-site bench/archive.sh`.
#
# The looped corpora bracket a site from both sides (replay -vary remaps every
# client per loop: 2 M sources, far more than a site has; -vary-clients=false
# repeats each connection's counters and duration every loop). This one is
# what bench/cmd/gen models, at full length: one host population and its
# server pools (gen -hostseed), fresh connections throughout (gen -seed per
# chunk), each chunk CHUNK_S seconds after the previous one. gen's packets
# stream into softflowd through a pipe (100 M flows are ~50 GB of packets,
# never written); softflowd's export is captured on loopback, chunk by chunk,
# and the chunks are concatenated with mergecap.
#
# Env [defaults]: FLOWS [100000000] (chunks are added until the flows reach
# it), CHUNK_CONNS [1500000] and CHUNK_S [1500] (gen's -conns/-duration per
# chunk: 1000 connections/s, ~3 M flows, ~50 s on 2 cores), HOSTSEED [1],
# START [1735689600 = 2025-01-01T00:00:00Z], CORPUS [bench/corpus],
# PORT [39056]. softflowd's timeouts are make_corpus.sh's.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
CORPUS=${CORPUS:-$BENCH/corpus}
FLOWS=${FLOWS:-100000000}
CHUNK_CONNS=${CHUNK_CONNS:-1500000}
CHUNK_S=${CHUNK_S:-1500}
HOSTSEED=${HOSTSEED:-1}
START=${START:-1735689600}
PORT=${PORT:-39056}
OUT=$CORPUS/netflow9-site.pcap
WORK=$CORPUS/site-chunks
LOG=$WORK/log

die() { echo "make_site_corpus: $*" >&2; exit 1; }
for t in softflowd tcpdump mergecap; do
  command -v $t >/dev/null || die "$t not found (apt-get install softflowd tcpdump wireshark-common)"
done
for t in gen udpsink replay; do
  (cd "$ROOT" && go build -o "$BENCH/bin/$t" "./bench/cmd/$t") || die "cannot build $t"
done
rm -rf "$WORK"
mkdir -p "$WORK" "$LOG" || exit 1

SFD_T="-t maxlife=60 -t tcp=60 -t udp=30 -t icmp=30 -t general=60 -t tcp.rst=10 -t tcp.fin=10 -t expint=10"
total=0
k=0
while [ "$total" -lt "$FLOWS" ]; do
  chunk=$WORK/$(printf 'chunk-%04d' $k).pcap
  "$BENCH/bin/udpsink" -l 127.0.0.1:$PORT > "$LOG/$k.sink" 2>&1 &
  sink=$!
  tcpdump -i lo -n -s 0 -B 262144 -w "$chunk" "udp and dst host 127.0.0.1 and dst port $PORT" > "$LOG/$k.tcpdump" 2>&1 &
  td=$!
  sleep 1.5
  "$BENCH/bin/gen" -conns "$CHUNK_CONNS" -duration "$CHUNK_S" -seed $((k + 1)) -hostseed "$HOSTSEED" \
    -start $((START + k * CHUNK_S)) -o /dev/stdout -stats "$LOG/$k.gen.json" 2> "$LOG/$k.gen" |
    softflowd -d -r - -n 127.0.0.1:$PORT -v 9 -a -m 2000000 $SFD_T -p "$WORK/softflowd.pid" -c none > "$LOG/$k.softflowd" 2>&1
  rc=("${PIPESTATUS[@]}")
  sleep 2
  kill -INT $td; wait $td
  kill -TERM $sink; wait $sink
  [ "${rc[0]}" = 0 ] && [ "${rc[1]}" = 0 ] || die "chunk $k: gen rc=${rc[0]}, softflowd rc=${rc[1]} (see $LOG)"
  grep -q '^0 packets dropped by kernel' "$LOG/$k.tcpdump" || die "chunk $k: tcpdump dropped packets: $(cat "$LOG/$k.tcpdump")"
  n=$("$BENCH/bin/replay" -f "$chunk" -count -json | sed -n 's/.*"corpus_flow_records": *\([0-9]*\).*/\1/p')
  [ -n "$n" ] && [ "$n" -gt 0 ] || die "chunk $k: no flows captured"
  total=$((total + n))
  echo "chunk $k: $n flows, total $total"
  k=$((k + 1))
done
mergecap -a -F pcap -w "$OUT.tmp" "$WORK"/chunk-*.pcap || die "mergecap failed"
mv "$OUT.tmp" "$OUT"
rm -f "$WORK"/chunk-*.pcap
"$BENCH/bin/replay" -f "$OUT" -count

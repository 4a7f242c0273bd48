#!/usr/bin/env bash
# Installs, from Debian's packages, the real programs flowlake's tests run
# against (exporters, the tshark oracle, nfdump, snmpd, protoc,
# clickhouse-server). Idempotent: it only calls apt-get when something is
# missing.
set -euo pipefail

# command -> Debian package
declare -A want=(
  [tshark]=tshark
  [softflowd]=softflowd
  [pmacctd]=pmacct
  [nfcapd]=nfdump
  [tcpdump]=tcpdump
  [snmpd]=snmpd
  [protoc]=protobuf-compiler
  [clickhouse-server]=clickhouse-server   # 18.16 on bookworm; tests start their own on loopback
  [clickhouse-client]=clickhouse-client
)

missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${want[$cmd]}")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

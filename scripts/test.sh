#!/usr/bin/env bash
# The test command (make test, .ci/run): install what tests need, then vet
# and run all Go tests. With CI=true, tests that need a real program fail
# instead of skipping when it is missing (see internal/testenv).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
unformatted=$(gofmt -l cmd internal bench 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt needed:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout 30m ./...

#!/usr/bin/env bash
# The test command (make test, .ci/run): install what tests need, then lint
# (gofmt, vet, staticcheck) and run all Go tests. With CI=true, tests that
# need a real program fail instead of skipping when it is missing (see
# internal/testenv).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
# gofmt, go vet and staticcheck (the Makefile's lint target, one list of
# checks for both).
make --no-print-directory lint
go test -count=1 -timeout 30m ./...

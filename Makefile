# flowlake — the README's two commands are `go run ./cmd/flowlake serve` and `make test`.
GO ?= go

.PHONY: test unit deps lint bench generate build

## test: install what the tests need (Debian packages), then vet and run every test.
test:
	./scripts/test.sh

## unit: run the Go tests only (no installs).
unit:
	$(GO) vet ./...
	$(GO) test ./...

## deps: install the Debian packages the tests use (tshark, softflowd, pmacct, nfdump, ...).
deps:
	./scripts/deps.sh

build:
	$(GO) build -o bin/flowlake ./cmd/flowlake

generate:
	$(GO) generate ./...

lint:
	@out=$$(gofmt -l cmd internal bench); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

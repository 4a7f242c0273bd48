# flowlake — the README's two commands are `go run ./cmd/flowlake serve` and `make test`.
GO ?= go

.PHONY: test unit deps lint bench generate build

## test: install what the tests need (Debian packages), lint (gofmt, vet, staticcheck), then run every test.
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

## lint: gofmt, go vet and staticcheck (scripts/test.sh runs it).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@out=$$(gofmt -l cmd internal bench); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

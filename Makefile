# Common tasks. Every go command carries the sqlite_fts5 build tag: without
# it mattn/go-sqlite3 builds SQLite without the FTS5 full-text index.
# mattn/go-sqlite3 uses cgo, so gcc must be installed.

GO   ?= go
TAGS := sqlite_fts5
BIN  := bin/coopfed

.PHONY: test race lint bench run build clean

# test runs the whole suite (the command README.md and .ci/run give).
test:
	$(GO) test -tags $(TAGS) -count=1 ./...

# race runs the suite under the race detector (slower).
race:
	$(GO) test -tags $(TAGS) -count=1 -race ./...

# lint fails when go vet finds a problem or a file is not gofmt-formatted.
lint:
	$(GO) vet -tags $(TAGS) ./...
	@unformatted="$$(find . -name node_modules -prune -o -name '*.go' -print | xargs gofmt -l)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# bench runs the benchmarks only (no tests); BENCH selects them by regexp.
BENCH ?= .
bench:
	$(GO) test -tags $(TAGS) -run '^$$' -bench '$(BENCH)' -benchmem ./...

# run starts a development server on http://localhost:8080 with coopfed.db.
run:
	$(GO) run -tags $(TAGS) ./cmd/coopfed serve

# build writes the binary to bin/coopfed.
build:
	$(GO) build -tags $(TAGS) -trimpath -o $(BIN) ./cmd/coopfed

clean:
	rm -rf bin

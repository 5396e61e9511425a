# Two entry points do all the set-up on a fresh machine:
#   make demo   the live demo on the embedded bus
#   make test   every test (Go with -race, web unit tests, real Chromium)
GO        ?= go
BIN       := bin/streamviz
FUZZTIME  ?= 10s

.PHONY: demo build test test-go test-fuzz test-web test-browser setup-test clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/streamviz

demo: build
	./$(BIN) demo

test: setup-test test-go test-fuzz test-web test-browser

# Installs what the tests need and is not in Go's module cache: Chromium
# from Debian's packages (never a browser download) and playwright-core.
setup-test:
	./scripts/setup-test.sh

test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

test-fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./gateway/

test-web:
	node --test web/test/

test-browser: build
	cd tests/browser && STREAMVIZ_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 .

clean:
	rm -rf bin tests/browser/node_modules

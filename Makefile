# Two entry points do all the set-up on a fresh machine (Go, Python 3.11, Node):
#   make demo   the live Pathway demo on the embedded bus (http://127.0.0.1:3000)
#   make test   every test: the static checks (make lint), Go (-race) and fuzzing, web unit tests,
#               Python SDK, real Chromium
GO        ?= go
PYTHON    ?= python3
BIN       := bin/streamviz
VENV      := .venv
# A count of inputs, not a duration: Go 1.26's fuzz coordinator can fail a clean run with "context
# deadline exceeded" when a duration ends while a worker is busy (go.dev/issue/75804, fixed in 1.27),
# which a loaded 2-core CI machine hits. FUZZTIME=10m (a duration) for a longer local run.
FUZZTIME  ?= 40000x
export STREAMVIZ_BIN := $(CURDIR)/$(BIN)

.PHONY: demo demo-go build venv lint test test-go test-fuzz test-web test-browser test-python setup-test bench bench-quick clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/streamviz

# The venv holds the SDK (editable), Pathway and the test tools; the stamp
# reinstalls only when the package definition changes.
# The editable install builds no server: it uses bin/streamviz (make build), so `make venv`
# and `make build` run side by side. uv (from PyPI, into the venv) installs Pathway's ~290
# packages in well under a minute where pip took six (docs/benchmarks.md, "make demo").
$(VENV)/.stamp: python/pyproject.toml python/setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python -e './python[pathway,test]'
	touch $@

venv: $(VENV)/.stamp

# Builds the server and the venv in parallel (scripts/demo.sh says what is going on), then runs
# the demo. DEMO_ARGS go to `python -m stream_viz demo` (e.g. DEMO_ARGS=--manual).
demo:
	@MAKE="$(MAKE)" VENV="$(VENV)" ./scripts/demo.sh $(DEMO_ARGS)

# The README's theme screenshots (docs/img/theme-*.png), from the live demo in Chromium.
.PHONY: screenshots
screenshots: build setup-test
	node scripts/screenshots.mjs

# The same dashboard without Python: the server's built-in synthetic feed.
demo-go: build
	./$(BIN) demo

# Every suite runs whatever the others did; each is reported, and `make test` fails at the end
# if any failed (scripts/run-suites.sh).
TEST_SUITES ?= lint test-go test-fuzz test-web test-browser test-python
TEST_SETUP  ?= setup-test

test: $(TEST_SETUP)
	@MAKE="$(MAKE)" ./scripts/run-suites.sh $(TEST_SUITES)

# Installs what the tests need beyond Go's module cache: Chromium from
# Debian's packages (never a browser download), playwright-core, the venv.
setup-test: venv
	./scripts/setup-test.sh

# Static checks (scripts/lint.sh): gofmt, go vet, staticcheck, tsc --strict over web/, ruff and
# mypy --strict over the Python SDK (configured in python/pyproject.toml). Every check runs and
# is reported; it fails at the end if any failed.
lint: venv
	GO="$(GO)" VENV="$(VENV)" ./scripts/lint.sh

# -timeout: gateway/ alone takes 4-6 min under -race on a loaded 2-core machine, and go's
# default bound on a package is 10 min.
test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

# -fuzz takes one fuzz test at a time (a pattern matching two fails), so each is run by name.
test-fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./gateway/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeColumns$$' -fuzztime $(FUZZTIME) ./gateway/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeTableColumns$$' -fuzztime $(FUZZTIME) ./gateway/
	$(GO) test -run '^$$' -fuzz '^FuzzFloatLenIsThatOfItsJSONText$$' -fuzztime $(FUZZTIME) ./gateway/

test-web:
	node --test web/test/

test-browser: build
	cd tests/browser && node --test --test-concurrency=1 .

test-python: build venv
	$(VENV)/bin/python -m pytest python/tests -q

# Benchmarks (docs/benchmarks.md): every workload, StreamViz beside pathway-viz.
# bench-quick runs each at reduced size once (minutes); bench is the full, repeated run.
bench: build venv setup-test
	$(VENV)/bin/python bench/run.py

bench-quick: build venv setup-test
	$(VENV)/bin/python bench/run.py --quick

clean:
	rm -rf bin $(VENV) tests/browser/node_modules python/build

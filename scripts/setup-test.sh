#!/usr/bin/env bash
# Test prerequisites on a fresh Debian machine: Chromium from Debian's
# packages for the browser tests, and the npm packages they use. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-test: chromium is missing; install Debian's 'chromium' package (needs root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# As root (CI) nothing is skipped: the TLS test makes its certificate with
# openssl, and the disk-full tests mount a tmpfs (util-linux's mount).
if [ "$(id -u)" -eq 0 ] && { ! command -v openssl >/dev/null 2>&1 || ! command -v mount >/dev/null 2>&1; }; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl mount >/dev/null
fi

# playwright-core drives the system Chromium; it never downloads a browser.
if [ -f tests/browser/package.json ]; then
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# The official NATS CLI, built from its Go module (through the Go proxy, like
# the rest of the Go build): the tests run the README's `nats pub` and
# `nats req` lines with it. Pinned; rebuilt only when missing or another version.
NATSCLI_VERSION=v0.5.1
if ! go version -m bin/nats 2>/dev/null | grep -q "natscli[[:space:]]*$NATSCLI_VERSION"; then
  mkdir -p bin
  GOBIN="$PWD/bin" go install "github.com/nats-io/natscli/nats@$NATSCLI_VERSION"
fi

# A standalone nats-server, the version go.mod embeds: the tests run `serve --nats-url` and the
# SDK against a bus configured otherwise than the embedded one (a small max_payload).
go build -o bin/nats-server github.com/nats-io/nats-server/v2

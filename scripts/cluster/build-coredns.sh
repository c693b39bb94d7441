#!/usr/bin/env bash
# Builds CoreDNS (the cluster's DNS) from the Go module proxy, once, into
# $MULTICLAUDE_CACHE/coredns/<version>/coredns: a static binary with only the plugins the test
# cluster uses (scripts/cluster/coredns/main.go). Does nothing when that binary exists.
set -euo pipefail

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  echo "Usage: scripts/cluster/build-coredns.sh   (env COREDNS_VERSION, MULTICLAUDE_CACHE)"
  exit 0
fi

COREDNS_VERSION="${COREDNS_VERSION:-v1.13.1}"
CACHE="${MULTICLAUDE_CACHE:-/var/cache/multiclaude}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$CACHE/coredns/$COREDNS_VERSION"

if [ -x "$OUT/coredns" ]; then
  echo "CoreDNS $COREDNS_VERSION: cached in $OUT"
  exit 0
fi
command -v go >/dev/null || { echo "build-coredns: Go is not installed" >&2; exit 1; }
export GOCACHE="$CACHE/go-build" GOMODCACHE="$CACHE/gomod" GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
start=$SECONDS
mkdir -p "$OUT/wrapper"
cp "$HERE/coredns/main.go" "$OUT/wrapper/main.go"
release_mod="$(go mod download -json "github.com/coredns/coredns@$COREDNS_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[ -f "$release_mod" ] || { echo "build-coredns: github.com/coredns/coredns@$COREDNS_VERSION is not served by the Go module proxy" >&2; exit 1; }
{
  echo "module multiclaude.local/coredns"
  echo
  grep -E '^go [0-9]' "$release_mod"
  echo
  echo "require github.com/coredns/coredns $COREDNS_VERSION"
} >"$OUT/wrapper/go.mod"
cd "$OUT/wrapper"
go get "github.com/coredns/coredns@$COREDNS_VERSION"
go mod tidy
go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" -o "$OUT/coredns.tmp" .
mv "$OUT/coredns.tmp" "$OUT/coredns"
"$OUT/coredns" -version | head -1
echo "CoreDNS $COREDNS_VERSION: built in $((SECONDS - start))s into $OUT"

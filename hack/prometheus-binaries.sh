#!/usr/bin/env bash
# Builds prometheus and promtool (the monitoring tests run `promtool check rules`, `promtool test rules` and a real
# Prometheus on loopback scraping the operator) from the Go module proxy, pinned, and caches them outside the
# repository.
#   hack/prometheus-binaries.sh [PROMETHEUS_MODULE_VERSION]   → prints the directory holding both on its last line
# Prometheus 3.x publishes its Go module as v0.3xx.y (3.16.0 → v0.316.0). Built as a dependency of a throw-away
# module, like helm (hack/helm-binaries.sh). `remove_all_sd` leaves out the cloud service discoveries (static and
# file discovery stay, and kubernetes which promtool imports): the tests scrape a static target, and the build is
# minutes shorter on a small machine. Without `builtinassets` the web UI is not embedded; the HTTP API is.
set -euo pipefail
PROM_VERSION=${1:-${SCONE_PROMETHEUS_VERSION:-0.316.0}}
CACHE=${SCONE_PROMETHEUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scone}
OUT="$CACHE/prometheus-v$PROM_VERSION"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

# Already built: answer at once, without waiting for a running build of another version.
if [ -x "$OUT/prometheus" ] && [ -x "$OUT/promtool" ]; then echo "$OUT"; exit 0; fi

mkdir -p "$CACHE"
# One build at a time per cache: parallel test runs must not race on the same output.
exec 9>"$CACHE/.prometheus.lock"; flock 9
if ! [ -x "$OUT/prometheus" ] || ! [ -x "$OUT/promtool" ]; then
  echo "prometheus-binaries: building prometheus and promtool v$PROM_VERSION (first time on this machine: many minutes)" >&2
  work=$(mktemp -d "$CACHE/.build-prometheus-XXXX")
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    go mod init local.invalid/prometheus-bin >/dev/null 2>&1
    go get "github.com/prometheus/prometheus@v$PROM_VERSION" >/dev/null 2>&1 || go get "github.com/prometheus/prometheus@v$PROM_VERSION"
    ver=github.com/prometheus/common/version
    mkdir bin
    go build -trimpath -tags remove_all_sd -ldflags "-s -w -X $ver.Version=$PROM_VERSION -X $ver.Branch=module" \
      -o bin/ github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
  )
  mkdir -p "$OUT" && mv "$work/bin/prometheus" "$work/bin/promtool" "$OUT/"
fi
echo "$OUT"

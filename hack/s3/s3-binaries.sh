#!/usr/bin/env bash
# Builds the S3 server the backup tests talk to (versitygw with its posix backend) from the Go module proxy, pinned,
# and caches it outside the repository.
#   hack/s3/s3-binaries.sh   → prints the binary's path on its last line
# versitygw rather than MinIO: MinIO publishes no semver tags to the module proxy (only pseudo-versions) and its
# community source is no longer maintained; versitygw is a maintained, tagged, Apache-2.0 S3 gateway whose posix
# backend stores buckets as directories (objects as files, metadata in xattrs) — a real S3 HTTP server, SigV4 and all.
set -euo pipefail
VERSITYGW_VERSION=${SCONE_VERSITYGW_VERSION:-1.8.0}
CACHE=${SCONE_S3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scone/s3}
OUT="$CACHE/versitygw-v$VERSITYGW_VERSION"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

# Already built: answer at once, without waiting for a running build of another version.
if [ -x "$OUT/versitygw" ]; then echo "$OUT/versitygw"; exit 0; fi

mkdir -p "$CACHE"
# One build at a time per cache: parallel test runs must not race on the same output.
exec 9>"$CACHE/.lock"; flock 9
if ! [ -x "$OUT/versitygw" ]; then
  echo "s3-binaries: building versitygw v$VERSITYGW_VERSION (first time on this machine: a few minutes)" >&2
  work=$(mktemp -d "$CACHE/.build-XXXX")
  trap 'rm -rf "$work"' EXIT
  GOBIN="$work" go install -trimpath -ldflags "-s -w -X main.Version=v$VERSITYGW_VERSION" \
    "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION"
  mkdir -p "$OUT" && mv "$work/versitygw" "$OUT/versitygw"
fi
echo "$OUT/versitygw"

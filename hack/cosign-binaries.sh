#!/usr/bin/env bash
# Builds cosign (the image-signature tests sign images with it; `make image COSIGN_KEY=…` signs scone's own image)
# from the Go module proxy, pinned, and caches it outside the repository.
#   hack/cosign-binaries.sh [COSIGN_VERSION]   → prints the binary's path on its last line
set -euo pipefail
COSIGN_VERSION=${1:-${SCONE_COSIGN_VERSION:-3.1.3}}
CACHE=${SCONE_COSIGN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scone}
MODULE="github.com/sigstore/cosign/v${COSIGN_VERSION%%.*}"
# shellcheck source=hack/go-cached-build.sh
. "$(dirname "$0")/go-cached-build.sh"
# `cosign version` reports the release, as in the project's own builds (its Makefile sets sigs.k8s.io/release-utils).
cached_go_build cosign "$CACHE/cosign-v$COSIGN_VERSION" "$MODULE" "v$COSIGN_VERSION" "$MODULE/cmd/cosign" \
  "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=v$COSIGN_VERSION"

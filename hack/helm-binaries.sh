#!/usr/bin/env bash
# Builds helm (the chart tests run `helm template`, `helm lint` and `helm install`) from the Go module proxy, pinned,
# and caches it outside the repository.
#   hack/helm-binaries.sh [HELM_VERSION]   → prints the binary's path on its last line
set -euo pipefail
HELM_VERSION=${1:-${SCONE_HELM_VERSION:-4.3.2}}
CACHE=${SCONE_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scone}
# shellcheck source=hack/go-cached-build.sh
. "$(dirname "$0")/go-cached-build.sh"
# `helm version` reports the release, as in the project's own builds (Makefile: LDFLAGS += -X …internal/version).
cached_go_build helm "$CACHE/helm-v$HELM_VERSION" helm.sh/helm/v4 "v$HELM_VERSION" helm.sh/helm/v4/cmd/helm \
  "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION"

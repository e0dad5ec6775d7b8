#!/usr/bin/env bash
# Builds helm (the chart tests run `helm template`, `helm lint` and `helm install`) from the Go module proxy, pinned,
# and caches it outside the repository.
#   hack/helm-binaries.sh [HELM_VERSION]   → prints the binary's path on its last line
# Built as a dependency of a throw-away module rather than `go install …@version`: go install refuses modules whose
# go.mod carries replace directives, and a wrapper module builds the same source either way.
set -euo pipefail
HELM_VERSION=${1:-${SCONE_HELM_VERSION:-4.3.2}}
CACHE=${SCONE_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scone}
OUT="$CACHE/helm-v$HELM_VERSION"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

# Already built: answer at once, without waiting for a running build of another version.
if [ -x "$OUT/helm" ]; then echo "$OUT/helm"; exit 0; fi

mkdir -p "$CACHE"
# One build at a time per cache: parallel test runs must not race on the same output.
exec 9>"$CACHE/.helm.lock"; flock 9
if ! [ -x "$OUT/helm" ]; then
  echo "helm-binaries: building helm v$HELM_VERSION (first time on this machine: a few minutes)" >&2
  work=$(mktemp -d "$CACHE/.build-helm-XXXX")
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    go mod init local.invalid/helm-bin >/dev/null 2>&1
    go get "helm.sh/helm/v4@v$HELM_VERSION" >/dev/null 2>&1 || go get "helm.sh/helm/v4@v$HELM_VERSION"
    # `helm version` reports the release, as in the project's own builds (Makefile: LDFLAGS += -X …internal/version).
    go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION" -o helm \
      helm.sh/helm/v4/cmd/helm
  )
  mkdir -p "$OUT" && mv "$work/helm" "$OUT/helm"
fi
echo "$OUT/helm"

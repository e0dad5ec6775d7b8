#!/usr/bin/env bash
# Builds what the real worker node runs, from the Go module proxy, and caches it per version beside the control plane
# (hack/kube-binaries.sh): kubelet and kube-proxy, containerd 2.x (+ shim, ctr), runc, CoreDNS (cluster DNS) and
# crane (the local OCI registry and pushes to it).   hack/node-binaries.sh [K8S_VERSION]
# Debian packages it needs (libseccomp-dev, pkg-config for runc's seccomp support) come from hack/node-deps.sh.
set -euo pipefail
# shellcheck source=hack/kube-wrapper.sh
. "$(dirname "$0")/kube-wrapper.sh"
K8S_VERSION=${1:-${SCONE_K8S_VERSION:-1.37.2}}
CONTAINERD_VERSION=${SCONE_CONTAINERD_VERSION:-2.4.2}
RUNC_VERSION=${SCONE_RUNC_VERSION:-1.5.3}
COREDNS_VERSION=${SCONE_COREDNS_VERSION:-1.14.7}
CRANE_VERSION=${SCONE_CRANE_VERSION:-0.22.1}
CACHE=${SCONE_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scone/kube}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

log() { echo "node-binaries: $*" >&2; }
have() { local f; for f in "$@"; do [ -x "$f" ] || return 1; done; }

K8S="$CACHE/k8s-v$K8S_VERSION"
CONTAINERD="$CACHE/containerd-v$CONTAINERD_VERSION"
RUNC="$CACHE/runc-v$RUNC_VERSION"
COREDNS="$CACHE/coredns-v$COREDNS_VERSION"
CRANE="$CACHE/crane-v$CRANE_VERSION"
all_cached() {
  have "$K8S/kubelet" "$K8S/kube-proxy" "$CONTAINERD/containerd" "$CONTAINERD/containerd-shim-runc-v2" \
    "$CONTAINERD/ctr" "$RUNC/runc" "$COREDNS/coredns" "$CRANE/crane"
}

# go_wrapper_build OUT MODULE@VERSION LDFLAGS PKG... — a module's commands built inside a wrapper module, so the
# module's own replace directives (which `go install` rejects) do not matter and MVS keeps its dependency versions.
go_wrapper_build() {
  local out=$1 modver=$2 ldflags=$3
  shift 3
  local work; work=$(mktemp -d "$CACHE/.build-node-XXXX")
  ( cd "$work" && go mod init local.invalid/node-bin >/dev/null 2>&1 \
    && { go get "$modver" >/dev/null 2>&1 || go get "$modver"; } \
    && mkdir bin && go build -trimpath ${GO_TAGS:+-tags "$GO_TAGS"} -ldflags "$ldflags" -o bin/ "$@" \
    && mkdir -p "$out" && mv bin/* "$out/" )
  local rc=$?
  rm -rf "$work"
  return $rc
}

build_kubelet() {
  have "$K8S/kubelet" "$K8S/kube-proxy" && return
  log "building kubelet and kube-proxy v$K8S_VERSION"
  kube_wrapper_build "$K8S_VERSION" "$K8S" "$CACHE" cmd/kubelet cmd/kube-proxy
}

build_containerd() {
  have "$CONTAINERD/containerd" "$CONTAINERD/containerd-shim-runc-v2" "$CONTAINERD/ctr" && return
  log "building containerd v$CONTAINERD_VERSION"
  local m=github.com/containerd/containerd/v2
  # Without the snapshotters this machine cannot use (no btrfs, devmapper or zfs): no C headers needed, CGO off.
  GO_TAGS="no_btrfs no_devmapper no_zfs" go_wrapper_build "$CONTAINERD" "$m@v$CONTAINERD_VERSION" \
    "-s -w -X $m/version.Version=v$CONTAINERD_VERSION" "$m/cmd/containerd" "$m/cmd/containerd-shim-runc-v2" "$m/cmd/ctr"
}

build_runc() {
  have "$RUNC/runc" && return
  log "building runc v$RUNC_VERSION"
  # CGO and the seccomp tag (libseccomp-dev): pods with seccompProfile RuntimeDefault fail without them.
  CGO_ENABLED=1 GO_TAGS="seccomp" go_wrapper_build "$RUNC" "github.com/opencontainers/runc@v$RUNC_VERSION" \
    "-s -w -X main.version=$RUNC_VERSION" github.com/opencontainers/runc
}

build_coredns() {
  have "$COREDNS/coredns" && return
  log "building CoreDNS v$COREDNS_VERSION"
  go_wrapper_build "$COREDNS" "github.com/coredns/coredns@v$COREDNS_VERSION" "-s -w" github.com/coredns/coredns
}

build_crane() {
  have "$CRANE/crane" && return
  log "building crane v$CRANE_VERSION"
  go_wrapper_build "$CRANE" "github.com/google/go-containerregistry@v$CRANE_VERSION" "-s -w" \
    github.com/google/go-containerregistry/cmd/crane
}

outputs() { echo "$K8S $CONTAINERD $RUNC $COREDNS $CRANE"; }
if all_cached; then outputs; exit 0; fi

mkdir -p "$CACHE"
# One node build at a time per cache (its own lock: the control plane's build need not wait for it).
exec 9>"$CACHE/.lock-node"; flock 9
build_runc
build_containerd
build_crane
build_coredns
build_kubelet
outputs

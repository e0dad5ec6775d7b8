#!/usr/bin/env bash
# Builds the control-plane binaries the test cluster runs, from the Go module proxy, and caches them per version.
#   hack/kube-binaries.sh [K8S_VERSION]   → prints the bin directory on its last line
# The kube commands are built as dependencies of a wrapper module (hack/kube-wrapper.sh says why).
set -euo pipefail
# shellcheck source=hack/kube-wrapper.sh
. "$(dirname "$0")/kube-wrapper.sh"
K8S_VERSION=${1:-${SCONE_K8S_VERSION:-1.37.2}}
ETCD_VERSION=${SCONE_ETCD_VERSION:-3.7.3}
KWOK_VERSION=${SCONE_KWOK_VERSION:-0.8.0}
CACHE=${SCONE_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scone/kube}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

log() { echo "kube-binaries: $*" >&2; }

build_kube() { # control plane + kubectl for one Kubernetes version
  local v=$1 out="$CACHE/k8s-v$1"
  if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/kube-scheduler" ] && [ -x "$out/kubectl" ]; then return; fi
  log "building Kubernetes v$v (first time on this machine: several minutes)"
  kube_wrapper_build "$v" "$out" "$CACHE" cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl
}

build_etcd() {
  local out="$CACHE/etcd-v$ETCD_VERSION"
  [ -x "$out/etcd" ] && return
  log "building etcd v$ETCD_VERSION"
  local work; work=$(mktemp -d "$CACHE/.build-etcd-XXXX")
  ( cd "$work" && go mod init local.invalid/etcd-bin >/dev/null 2>&1 \
    && go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null 2>&1 \
    && go build -trimpath -ldflags "-s -w" -o etcd go.etcd.io/etcd/server/v3 \
    && mkdir -p "$out" && mv etcd "$out/" )
  rm -rf "$work"
}

build_kwok() {
  local out="$CACHE/kwok-v$KWOK_VERSION"
  if ! [ -x "$out/kwok" ] || ! [ -x "$out/kwokctl" ]; then
    log "building kwok v$KWOK_VERSION"
    mkdir -p "$out"
    GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@v$KWOK_VERSION"
  fi
  [ -s "$out/default-stages.yaml" ] && [ -s "$out/crd-portforwards.yaml" ] && [ -s "$out/crd-logs.yaml" ] \
    && [ -s "$out/crd-execs.yaml" ] && return
  # The kwok binary ships no lifecycle of its own: kwokctl feeds it the stages below through --config. Take them
  # from the same module release (the files kwokctl embeds), so Nodes become Ready and Pods Running as with kwokctl.
  # The PortForward CRD lets tests point a simulated pod's port at a local server (kwok --enable-crds=PortForward);
  # the Logs and Exec CRDs let sim/kwok-cas route one pod's `kubectl logs`/`exec` to its own files and directory.
  local src; src=$(cd "$out" && go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  local stages="node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml"
  { for f in $stages; do echo "---"; cat "$src/kustomize/stage/$f"; done; } >"$out/default-stages.yaml.tmp"
  mv "$out/default-stages.yaml.tmp" "$out/default-stages.yaml"
  cat "$src/kustomize/crd/bases/kwok.x-k8s.io_portforwards.yaml" >"$out/crd-portforwards.yaml.tmp"
  mv "$out/crd-portforwards.yaml.tmp" "$out/crd-portforwards.yaml"
  local kind
  for kind in logs execs; do
    cat "$src/kustomize/crd/bases/kwok.x-k8s.io_$kind.yaml" >"$out/crd-$kind.yaml.tmp"
    mv "$out/crd-$kind.yaml.tmp" "$out/crd-$kind.yaml"
  done
}

outputs() {
  echo "$CACHE/k8s-v$K8S_VERSION $CACHE/etcd-v$ETCD_VERSION $CACHE/kwok-v$KWOK_VERSION"
}
all_cached() {
  local k="$CACHE/k8s-v$K8S_VERSION" w="$CACHE/kwok-v$KWOK_VERSION" f
  for f in "$k/kube-apiserver" "$k/kube-controller-manager" "$k/kube-scheduler" "$k/kubectl" \
    "$CACHE/etcd-v$ETCD_VERSION/etcd" "$w/kwok" "$w/kwokctl"; do [ -x "$f" ] || return 1; done
  [ -s "$w/default-stages.yaml" ] && [ -s "$w/crd-portforwards.yaml" ] && [ -s "$w/crd-logs.yaml" ] \
    && [ -s "$w/crd-execs.yaml" ]
}
# Everything there already: answer at once, without waiting for another version's build to release the lock.
if all_cached; then outputs; exit 0; fi

mkdir -p "$CACHE"
# One build at a time per cache: parallel test runs must not race on the same output.
exec 9>"$CACHE/.lock"; flock 9
build_etcd
build_kwok
build_kube "$K8S_VERSION"
outputs

# Sourced by hack/kube-binaries.sh and hack/node-binaries.sh: builds commands of k8s.io/kubernetes at one release.
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces its staging modules with ./staging paths), so the
# commands are built as dependencies of a small wrapper module that supplies the published staging versions itself.
#   kube_wrapper_build VERSION OUT_DIR WORK_PARENT CMD...    (CMD: cmd/kubelet, cmd/kube-proxy, …)
kube_wrapper_build() {
  local v=$1 out=$2 parent=$3 minor=${1#1.}
  shift 3
  local pkgs=() c
  for c in "$@"; do pkgs+=("k8s.io/kubernetes/$c"); done
  local work; work=$(mktemp -d "$parent/.build-k8s-XXXX")
  (
    cd "$work"
    go mod init local.invalid/kube-bin >/dev/null 2>&1
    local gomod; gomod=$(go mod download -json "k8s.io/kubernetes@v$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[^ ]*\) => \./staging/.*|\1|p' "$gomod"); do
      go mod edit -replace="$m=$m@v0.$minor"
    done
    go get "k8s.io/kubernetes@v$v" >/dev/null 2>&1 || go get "k8s.io/kubernetes@v$v"
    local ldf="-s -w -X k8s.io/component-base/version.gitVersion=v$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}"
    ldf="$ldf -X k8s.io/client-go/pkg/version.gitVersion=v$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=${minor%%.*}"
    mkdir -p bin
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldf" -o bin/ "${pkgs[@]}"
    mkdir -p "$out" && mv bin/* "$out/"
  )
  local rc=$?
  rm -rf "$work"
  return $rc
}

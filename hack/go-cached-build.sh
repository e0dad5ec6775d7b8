# Sourced by hack/helm-binaries.sh and hack/cosign-binaries.sh: builds one command of a Go module from the Go module
# proxy, pinned, into a cache outside the repository, and prints its path.
#   cached_go_build NAME OUT_DIR MODULE VERSION PACKAGE LDFLAGS
# Built as a dependency of a throw-away module rather than `go install …@version`: go install refuses modules whose
# go.mod carries replace directives, and a wrapper module builds the same source either way.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

cached_go_build() {
  local name=$1 out=$2 module=$3 version=$4 package=$5 ldflags=$6
  # Already built: answer at once, without waiting for a running build of another version.
  if [ -x "$out/$name" ]; then echo "$out/$name"; return 0; fi
  local cache; cache=$(dirname "$out")
  mkdir -p "$cache"
  # One build at a time per cache and tool: parallel test runs must not race on the same output.
  exec 9>"$cache/.$name.lock"; flock 9
  if ! [ -x "$out/$name" ]; then
    echo "$name-binaries: building $name $version (first time on this machine: a few minutes)" >&2
    local work; work=$(mktemp -d "$cache/.build-$name-XXXX")
    # shellcheck disable=SC2064 # the path is fixed now
    trap "rm -rf '$work'" EXIT
    (
      cd "$work"
      go mod init "local.invalid/$name-bin" >/dev/null 2>&1
      go get "$module@$version" >/dev/null 2>&1 || go get "$module@$version"
      go build -trimpath -ldflags "$ldflags" -o "$name" "$package"
    )
    mkdir -p "$out" && mv "$work/$name" "$out/$name"
  fi
  exec 9>&-
  echo "$out/$name"
}

#!/usr/bin/env bash
# Installs the Debian packages the real worker node needs (`make cluster` with SCONE_REAL_NODE=1, `make test-realnode`):
# CNI plugins (bridge, host-local, loopback in /usr/lib/cni), libseccomp-dev + pkg-config (runc's seccomp build tag),
# busybox-static (the pause and test images), iptables (kube-proxy). Only what is missing; needs root, like the node.
set -euo pipefail
PACKAGES="containernetworking-plugins libseccomp-dev pkg-config busybox-static iptables"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "node-deps: the real node needs these Debian packages:$missing (run this script as root)" >&2
  exit 1
fi
echo "node-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# One lock with the other scripts that may install at the same time (dpkg's own lock fails instead of waiting).
exec 8>/var/lock/scone-apt.lock; flock 8
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2

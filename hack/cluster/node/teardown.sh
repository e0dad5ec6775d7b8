#!/bin/sh
# Removes every trace of the real node from this machine; idempotent, and safe to run when a start failed halfway.
#   teardown.sh NODE_DIR/teardown.env
# Run by RealNode.stop (after its processes stopped), on SIGINT/SIGTERM of a test run, and by the watchdog when the
# test process was SIGKILLed — so plain sh, no bun. Order matters: containers and shims die first (they keep mounts
# and network namespaces busy), then mounts go, then the network, cgroups and host settings kubelet changed.
set -u
env_file=$1
[ -f "$env_file" ] || exit 0
# shellcheck disable=SC1090
. "$env_file"   # NODE_DIR RUNTIME_DIR CONTAINERD_SOCKET KUBE_PROXY NODE_IP CLUSTER_POD_CIDR SIMULATED_POD_PREFIX BRIDGE SHIM_SOCKET_DIR LOG_LINKS SYSCTLS

# 1. Containers (every process in kubepods cgroups: one real node per machine) and the containerd shims of our socket.
for c in /sys/fs/cgroup/*/kubepods; do
  [ -d "$c" ] && find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -9 "$pid" 2>/dev/null; done
done
for p in /proc/[0-9]*; do
  if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "-address $CONTAINERD_SOCKET"; then kill -9 "${p#/proc/}" 2>/dev/null; fi
done

# 2. Mounts under our directories (rootfs overlays, volume tmpfs, netns files), deepest first; lazily if busy.
mounts() { awk -v a="$NODE_DIR/" -v b="$RUNTIME_DIR/" 'index($5, a) == 1 || index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r; }
for round in 1 2 3 4 5; do
  list=$(mounts)
  [ -z "$list" ] && break
  for m in $list; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  [ "$round" -gt 1 ] && sleep 0.2
done

# 3. Network: kube-proxy's rules, the pod bridge, the node address.
[ -x "$KUBE_PROXY" ] && "$KUBE_PROXY" --cleanup >/dev/null 2>&1
# kubelet's own chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT), which --cleanup leaves: every
# jump into a KUBE- chain from a built-in chain is deleted, then the KUBE- chains (one real node per machine).
for ipt in iptables ip6tables; do
  command -v "$ipt-save" >/dev/null || continue
  for t in filter nat mangle; do
    "$ipt-save" -t "$t" 2>/dev/null | grep -E '^-A [A-Z]+ .*-j KUBE-' | sed 's/^-A /-D /' | while read -r rule; do
      eval "$ipt -t $t $rule" 2>/dev/null
    done
    chains=$("$ipt-save" -t "$t" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p')
    for c in $chains; do "$ipt" -t "$t" -F "$c" 2>/dev/null; done
    for c in $chains; do "$ipt" -t "$t" -X "$c" 2>/dev/null; done
  done
done
ip link del "$BRIDGE" 2>/dev/null
ip addr del "$NODE_IP/32" dev lo 2>/dev/null
ip route del unreachable "$CLUSTER_POD_CIDR" 2>/dev/null
# Simulated pods' addresses a test put on lo (RealNode.exposeSimulatedPod).
for a in $(ip -4 -o addr show dev lo | awk '{ print $4 }'); do
  case $a in "$SIMULATED_POD_PREFIX"*/32) ip addr del "$a" dev lo 2>/dev/null ;; esac
done

# 4. cgroups kubelet made (empty once their processes are gone), innermost first.
for round in 1 2 3 4 5 6 7 8 9 10; do
  left=0
  for c in /sys/fs/cgroup/*/kubepods; do
    [ -d "$c" ] || continue
    find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$c" ] && left=1
  done
  [ "$left" = 0 ] && break
  sleep 0.2
done

# 5. Host files: shim sockets created since our start, kubelet's log links into our directory.
if [ -d "$SHIM_SOCKET_DIR" ] && [ -f "$NODE_DIR/started" ]; then
  find "$SHIM_SOCKET_DIR" -maxdepth 1 -type s -newer "$NODE_DIR/started" -delete 2>/dev/null
  rmdir "$SHIM_SOCKET_DIR" "$(dirname "$SHIM_SOCKET_DIR")" 2>/dev/null
fi
for l in "$LOG_LINKS"/*; do
  [ -L "$l" ] || continue
  case $(readlink "$l") in "$NODE_DIR"/*) rm -f "$l" ;; esac
done

# 6. Kernel settings kubelet changes at start (setupKernelTunables), back to what they were before it ran.
for kv in $SYSCTLS; do
  key=${kv%%=*} value=${kv#*=}
  f="/proc/sys/$(echo "$key" | tr . /)"
  [ -w "$f" ] && [ "$(cat "$f")" != "$value" ] && echo "$value" >"$f"
done

# 7. Runtime directory (sockets, containerd state, the machine-wide owner file): only when nothing is mounted there.
[ -z "$(mounts)" ] && rm -rf --one-file-system "$RUNTIME_DIR"
exit 0

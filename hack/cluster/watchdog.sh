#!/bin/sh
# Kills a test cluster whose owning process died without stopping it (SIGKILL, crash): polls the owner's pid and
# exits quietly once the cluster directory is gone (normal stop).   watchdog.sh OWNER_PID CLUSTER_DIR
# (dash: `kill -SIG -PGID`, no `--`)
owner=$1 dir=$2
while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -f "$dir/pgids" ] || exit 0
for g in $(cat "$dir/pgids"); do kill -TERM "-$g" 2>/dev/null; done
sleep 3
for g in $(cat "$dir/pgids"); do kill -KILL "-$g" 2>/dev/null; done
# A real node leaves containers, mounts, a bridge, iptables rules and an address on lo: node/teardown.sh removes them.
[ -f "$dir/node/teardown.env" ] && sh "$(dirname "$0")/node/teardown.sh" "$dir/node/teardown.env"
# --one-file-system: never through a mount the teardown could not remove.
rm -rf --one-file-system "$dir"

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
rm -rf "$dir"

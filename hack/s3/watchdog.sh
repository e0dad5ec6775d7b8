#!/bin/sh
# Stops a test S3 server whose owning process died without stopping it (SIGKILL, crash), then removes its data
# directory. Exits quietly once the server is gone (normal stop).   watchdog.sh OWNER_PID SERVER_PID DATA_DIR
owner=$1 server=$2 dir=$3
while kill -0 "$owner" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 1; done
kill -0 "$server" 2>/dev/null || exit 0
kill -TERM "$server" 2>/dev/null
sleep 2
kill -KILL "$server" 2>/dev/null
rm -rf "$dir"

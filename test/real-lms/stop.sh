#!/bin/bash
# Stops what these scripts started: the PHP servers (their whole process group: PHP_CLI_SERVER_WORKERS
# forks workers that outlive a killed parent), MariaDB, and the tool if started by drive scripts.
. "$(dirname "$0")/env.sh"
for p in moodle chamilo mariadb tool; do
  f=$RL_ROOT/$p.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null
  rm -f "$f"; echo "stopped $p ($pid)"
done

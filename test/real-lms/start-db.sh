#!/bin/bash
# Starts Postgres 15 (Debian's cluster, port 5432, for Moodle) and a private MariaDB on 127.0.0.1:3307 (for Chamilo).
set -euo pipefail
. "$(dirname "$0")/env.sh"
pg_ctlcluster 15 main start 2>/dev/null || true
if [ ! -d "$MARIADB_DIR/mysql" ]; then
  mkdir -p "$MARIADB_DIR"
  mariadb-install-db --no-defaults --datadir="$MARIADB_DIR" --user=root --auth-root-authentication-method=normal >/dev/null
fi
if ! mariadb-admin --no-defaults --socket="$MARIADB_SOCK" -uroot ping >/dev/null 2>&1; then
  nohup nice -n 10 mariadbd --no-defaults --datadir="$MARIADB_DIR" --port=$MARIADB_PORT --bind-address=127.0.0.1 \
    --socket="$MARIADB_SOCK" --skip-log-bin --user=root --innodb-buffer-pool-size=128M \
    > "$RL_ROOT/mariadb.log" 2>&1 &
  echo $! > "$RL_ROOT/mariadb.pid"
  for i in $(seq 1 30); do mariadb-admin --no-defaults --socket="$MARIADB_SOCK" -uroot ping >/dev/null 2>&1 && break; sleep 1; done
  # Chamilo connects over TCP as root with a password.
  mariadb --no-defaults --socket="$MARIADB_SOCK" -uroot -e \
    "ALTER USER 'root'@'localhost' IDENTIFIED BY 'chamilo'; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY 'chamilo'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" 2>/dev/null || true
fi
echo "Postgres on 5432, MariaDB on 127.0.0.1:$MARIADB_PORT (root/chamilo)"

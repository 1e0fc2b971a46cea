#!/bin/bash
# Serves Chamilo with PHP's built-in server on 127.0.0.1:8081 through chamilo-router.php (background).
. "$(dirname "$0")/env.sh"
cd "$CHAMILO_DIR"
PHP_CLI_SERVER_WORKERS=4 setsid nohup php -d display_errors=0 -d error_reporting="E_ALL & ~E_DEPRECATED & ~E_NOTICE & ~E_WARNING" -d log_errors=1 -d error_log="$RL_ROOT/chamilo-php-errors.log" -d memory_limit=512M \
  -d upload_max_filesize=20M -d post_max_size=20M -d short_open_tag=Off -d session.cookie_httponly=1 \
  -S 127.0.0.1:$CHAMILO_PORT -t "$CHAMILO_DIR" "$RL_HERE/chamilo-router.php" > "$RL_ROOT/chamilo-server.log" 2>&1 &
echo $! > "$RL_ROOT/chamilo.pid"  # setsid: the workers share this process group; stop.sh kills the group
echo "Chamilo server pid $(cat "$RL_ROOT/chamilo.pid") on $CHAMILO_URL"

#!/bin/bash
# Serves Moodle with PHP's built-in server on 127.0.0.1:8080 (background; pid in $RL_ROOT/moodle.pid).
. "$(dirname "$0")/env.sh"
cd "$MOODLE_DIR"
PHP_CLI_SERVER_WORKERS=4 setsid nohup $MPHP -d display_errors=0 -S 127.0.0.1:$MOODLE_PORT -t "$MOODLE_DIR" \
  > "$RL_ROOT/moodle-server.log" 2>&1 &
echo $! > "$RL_ROOT/moodle.pid"
echo "Moodle server pid $(cat "$RL_ROOT/moodle.pid") on $MOODLE_URL"

#!/bin/bash
# Starts the tool from this worktree on $TOOL_PORT for the real platforms (background, own process group).
# Static platform files (Chamilo) live outside the repository in $RL_ROOT/platform-config; the tool reads
# them only at start (src/app.ts loadPlatformFiles): re-run this after adding or changing one.
. "$(dirname "$0")/env.sh"
mkdir -p "$RL_ROOT/platform-config" "${DATA_DIR:-/work/reallms-data}"
if [ -f "$RL_ROOT/tool.pid" ]; then kill -- -"$(cat "$RL_ROOT/tool.pid")" 2>/dev/null; sleep 2; fi
cd "$RL_HERE/../.."
PORT=$TOOL_PORT PUBLIC_URL=$TOOL_URL DATA_DIR=${DATA_DIR:-/work/reallms-data} PLATFORM_CONFIG_DIR=$RL_ROOT/platform-config \
  setsid nohup nice -n 5 npm start > "$RL_ROOT/tool.log" 2>&1 &
echo $! > "$RL_ROOT/tool.pid"
for i in $(seq 1 60); do grep -q 'is ready at' "$RL_ROOT/tool.log" && break; sleep 1; done
grep 'is ready at\|Error\|error' "$RL_ROOT/tool.log" | head -5

# Common settings for the real-LMS scripts. Source it: `. test/real-lms/env.sh`.
# Everything lives outside the project (Moodle/Chamilo code is never committed).
export RL_ROOT=${RL_ROOT:-/work/reallms}
export MOODLE_DIR=$RL_ROOT/moodle            # extracted Moodle 4.5.6 tree
export MOODLE_DATA=$RL_ROOT/moodledata
export MOODLE_URL=${MOODLE_URL:-http://localhost:8080}
export MOODLE_PORT=8080
export CHAMILO_DIR=$RL_ROOT/chamilo          # extracted Chamilo 1.11.28 tree
export CHAMILO_URL=${CHAMILO_URL:-http://localhost:8081}
export CHAMILO_PORT=8081
export MARIADB_DIR=$RL_ROOT/mariadb
export MARIADB_PORT=3307
export MARIADB_SOCK=$RL_ROOT/mariadb.sock
export TOOL_URL=${TOOL_URL:-http://localhost:3100}
export TOOL_PORT=3100
export ADMIN_PASS=${ADMIN_PASS:-Admin-pass-1}
export USER_PASS=${USER_PASS:-User-pass-1}
# Moodle 4.5 refuses to run any php with max_input_vars < 5000.
export MPHP="php -d max_input_vars=5000"
# Mirrors brought by the `fetch` tool (bare git directories).
export MOODLE_MIRROR=${MOODLE_MIRROR:-/work/.mirror/paulkennethsq1+hrsq1/repo}
export MOODLE_COMMIT=b6e90f42
export CHAMILO_MIRROR=${CHAMILO_MIRROR:-/work/.mirror/batisseursnum+apprendre/repo}
export CHAMILO_COMMIT=02957c6c
RL_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export RL_HERE

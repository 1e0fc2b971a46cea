#!/bin/bash
# Everything for Moodle, in order, on a machine where get-sources.sh and start-db.sh have run and the
# tool is served by tool-serve.sh. (~3 min on 2 cores.)
set -euo pipefail
H=$(dirname "$0"); . "$H/env.sh"
"$H/moodle-install.sh"
"$H/moodle-serve.sh"; sleep 2
(cd "$MOODLE_DIR" && $MPHP "$RL_HERE/moodle-setup.php" >/dev/null)
"$H/moodle-completion-cron.sh"
"$H/moodle-register-tool.sh"
"$H/drive-moodle.sh"

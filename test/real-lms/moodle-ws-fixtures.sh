#!/bin/bash
# Captures real answers of Moodle 4.5.6's REST server (webservice/rest/server.php, moodlewsrestformat=json)
# into test/fixtures/moodle-ws/. Needs moodle-setup.php's $RL_ROOT/moodle-lab.json (tokens, ids).
# Bodies are saved byte for byte; status and content type go to index.tsv.
set -euo pipefail
. "$(dirname "$0")/env.sh"
OUT=${OUT:-$RL_HERE/../fixtures/moodle-ws}
LAB=$RL_ROOT/moodle-lab.json
mkdir -p "$OUT"
j() { jq -r "$1" "$LAB"; }
TOKEN=$(j .token); LIMITED=$(j .limited_token); NOMODVIEW=$(j .nomodview_token); REVOKE=$(j .token_to_revoke)
COURSE=$(j .courseid); NOCOMPL=$(j .nocompletion_courseid); L1=$(j .users.learner1); L5=$(j .users.learner5)
"$RL_HERE/moodle-completion-cron.sh"
: > "$OUT/index.tsv.new"
call() { # name token function args...
  local name=$1 tok=$2 fn=$3; shift 3
  local args=(--data-urlencode "wstoken=$tok" --data-urlencode "wsfunction=$fn" --data-urlencode "moodlewsrestformat=json")
  for a in "$@"; do args+=(--data-urlencode "$a"); done
  local meta
  meta=$(curl -sS -o "$OUT/$name.json" -w '%{http_code}\t%{content_type}' "${args[@]}" "$MOODLE_URL/webservice/rest/server.php")
  printf '%s.json\t%s\t%s\t%s\n' "$name" "$meta" "$fn" "$*" >> "$OUT/index.tsv.new"
  echo "$name: $meta $(head -c 120 "$OUT/$name.json")"
}
call gradereport_user_get_grade_items.full "$TOKEN" gradereport_user_get_grade_items "courseid=$COURSE"
call gradereport_user_get_grade_items.one-user "$TOKEN" gradereport_user_get_grade_items "courseid=$COURSE" "userid=$L5"
call core_enrol_get_enrolled_users.full "$TOKEN" core_enrol_get_enrolled_users "courseid=$COURSE"
call core_enrol_get_enrolled_users.paged "$TOKEN" core_enrol_get_enrolled_users "courseid=$COURSE" \
  "options[0][name]=limitfrom" "options[0][value]=0" "options[1][name]=limitnumber" "options[1][value]=2" \
  "options[2][name]=userfields" "options[2][value]=id,username,fullname,email,idnumber,roles"
call core_completion_get_course_completion_status.complete "$TOKEN" core_completion_get_course_completion_status "courseid=$COURSE" "userid=$L1"
call core_completion_get_course_completion_status.not-complete "$TOKEN" core_completion_get_course_completion_status "courseid=$COURSE" "userid=$L5"
call core_completion_get_course_completion_status.tracking-off "$TOKEN" core_completion_get_course_completion_status "courseid=$NOCOMPL" "userid=$L1"
# Under-privileged tokens: no moodle/grade:viewall; no mod/*:view (200, items silently missing).
call gradereport_user_get_grade_items.no-viewall "$LIMITED" gradereport_user_get_grade_items "courseid=$COURSE"
call gradereport_user_get_grade_items.no-mod-view "$NOMODVIEW" gradereport_user_get_grade_items "courseid=$COURSE"
# A function that exists in Moodle but is not in the service.
call core_course_get_courses.not-in-service "$TOKEN" core_course_get_courses
call no_such_function "$TOKEN" local_nothing_here
# Revoked token: deleted as Site administration > Server > Web services > Manage tokens > Delete does.
(cd "$MOODLE_DIR" && $MPHP -r "define('CLI_SCRIPT', true); require('config.php'); require_once(\$CFG->dirroot.'/webservice/lib.php');
  \$t = \$DB->get_record('external_tokens', ['token' => '$REVOKE']); if (\$t) { (new webservice())->delete_user_ws_token(\$t->id); }")
call gradereport_user_get_grade_items.revoked-token "$REVOKE" gradereport_user_get_grade_items "courseid=$COURSE"
call gradereport_user_get_grade_items.wrong-token "0123456789abcdef0123456789abcdef" gradereport_user_get_grade_items "courseid=$COURSE"
# Web services switched off (Site administration > Advanced features > Enable web services = no), then back on.
(cd "$MOODLE_DIR" && $MPHP admin/cli/cfg.php --name=enablewebservices --set=0 && $MPHP admin/cli/purge_caches.php)
call gradereport_user_get_grade_items.webservices-disabled "$TOKEN" gradereport_user_get_grade_items "courseid=$COURSE"
(cd "$MOODLE_DIR" && $MPHP admin/cli/cfg.php --name=enablewebservices --set=1 && $MPHP admin/cli/purge_caches.php)
mv "$OUT/index.tsv.new" "$OUT/index.tsv"

#!/bin/bash
# Issue #11/#15: how the real Moodle 4.5.6's core_completion_get_course_completion_status answers over
# time, for the sandbox to imitate (src/sandbox/moodle-ws.routes.ts). CERTLAB's one criterion is
# "Required course grade" 40 (of 50 points; moodle-setup.php). Dora (learner4, 28 points) is raised to
# 46 points as the grader report does (moodle-grade.php), asked before and after Moodle's completion
# task, asked again (is timecompleted stable?), lowered back to 28 and asked after the task (does Moodle
# take a completion back?). Her completion rows are deleted at the end (course_completions and
# course_completion_crit_compl; completion_info::delete_course_completion_data() would wipe the whole
# course's), so other drives see the lab as set up.
set -uo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
echo "== $(date -u +%H:%M) moodle-completion-check" >> "$RL_ROOT/outcomes.txt"
LAB=$RL_ROOT/moodle-lab.json; C=$(jq -r .courseid "$LAB"); T=$(jq -r .token "$LAB"); DORA=$(jq -r .users.learner4 "$LAB")
ws() { curl -s "$MOODLE_URL/webservice/rest/server.php?wstoken=$T&wsfunction=core_completion_get_course_completion_status&moodlewsrestformat=json&courseid=$C&userid=$DORA"; }
brief() { jq -c '{completed: .completionstatus.completed, status: .completionstatus.completions[0].status, timecompleted: .completionstatus.completions[0].timecompleted, details: .completionstatus.completions[0].details}'; }
grade() { (cd "$MOODLE_DIR" && $MPHP "$RL_HERE/moodle-grade.php" "$1" learner4 "$2" >/dev/null); }
echo "before:                    $(ws | brief)"
grade "Oral exam" 20; grade "Essay" 20
A=$(ws | brief); echo "46 points, before the task: $A"
"$RL_HERE/moodle-completion-cron.sh" >/dev/null
B=$(ws | brief); echo "after the task:            $B"
sleep 2; B2=$(ws | brief); echo "asked again 2 s later:     $B2"
grade "Oral exam" 10; grade "Essay" 12
"$RL_HERE/moodle-completion-cron.sh" >/dev/null
D=$(ws | brief); echo "back to 28, after the task: $D"
[ "$(echo "$A" | jq .completed)" = false ] && ok "moodle completion: a grade over the requirement is not a completion until the completion task runs" || ko "moodle completion: completed before the task: $A"
[ "$(echo "$B" | jq .completed)" = true ] && ok "moodle completion: completed after the task ($B)" || ko "moodle completion: after the task: $B"
[ "$(echo "$B" | jq .timecompleted)" = "$(echo "$B2" | jq .timecompleted)" ] && ok "moodle completion: timecompleted is stable across calls" || ko "moodle completion: timecompleted moved: $B / $B2"
echo "$D" | jq -e '.completed == true' >/dev/null && ok "moodle completion: stays completed after the grade fell under the requirement ($D)" ||
  ko "moodle completion: taken back after the grade fell: $D"
(cd "$MOODLE_DIR" && $MPHP -r "define('CLI_SCRIPT', true); require('config.php');
  foreach (['course_completions', 'course_completion_crit_compl'] as \$t) { \$DB->delete_records(\$t, ['course' => $C, 'userid' => $DORA]); }
  cache::make('core', 'coursecompletion')->purge();")
echo "reset:                     $(ws | brief)"

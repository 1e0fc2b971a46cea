#!/bin/bash
# Issue #11 against the real Moodle 4.5.6: a certification (programme) whose one course, CERTLAB, counts
# as completed when Moodle marks it complete (core_completion_get_course_completion_status, read by the
# Moodle grade source during a sync). As the administrator: /admin/moodle with "read course completion",
# then /admin/certifications › the Moodle registration › New, CERTLAB mandatory, "use the LMS's course
# completion". Dora (learner4, 28 points, no course certificate) is raised to 46 points as the grader
# report does and Moodle's completion task runs; the teacher syncs. Then "My certifications": Dora has
# earned it, dated by Moodle's timecompleted; Carl (39 points, no certificate) has not. (A valid course
# certificate also completes a programme course, so Ada and Blaise, who hold one, prove nothing here.)
# Dora's grades and completion rows are put back at the end. OK/FAIL lines go to $RL_ROOT/outcomes.txt.
set -uo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
echo "== $(date -u +%H:%M) drive-completion" >> "$RL_ROOT/outcomes.txt"
LAB=$RL_ROOT/moodle-lab.json; C=$(jq -r .courseid "$LAB"); PROJECT=$(jq -r .lti.project_cmid "$LAB"); CID=$(jq -r .lti.clientid "$LAB")
"$RL_HERE/moodle-completion-cron.sh" >/dev/null
rm -f "$(jar tooladmin)"
http tooladmin -o /dev/null -H "Origin: $TOOL_URL" --data-urlencode "secret=$(cat "${DATA_DIR:-/work/reallms-data}/admin-secret")" "$TOOL_URL/admin/login"
http tooladmin -o /dev/null -H "Origin: $TOOL_URL" --data-urlencode "issuer=$MOODLE_URL" --data-urlencode "token=$(jq -r .token "$LAB")" \
  -d readCompletion=on -d testCourseId="$C" "$TOOL_URL/admin/moodle/save"
KEY=$(printf '%s\0%s' "$MOODLE_URL" "$CID" | base64 -w0 | tr '+/' '-_' | tr -d '=')
NEW=$RL_ROOT/completion-new.html
http tooladmin -o "$NEW" "$TOOL_URL/admin/certifications/$KEY/new"
COURSE=$(php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); foreach ($d->getElementsByTagName("input") as $i)
  if ($i->getAttribute("name")==="courses" && $i->getAttribute("aria-label")==="Certificates lab") { echo $i->getAttribute("value"); break; }' "$NEW")
[ -n "$COURSE" ] || { ko "moodle completion: CERTLAB is not offered in the certification form"; exit 1; }
NAME="CERTLAB completed in Moodle ($(date -u +%H%M%S))"
LOC=$(php "$RL_HERE/form-fields.php" "" "name=$NAME" overview= issuerName=Lab kind=internal type=perpetual "courses=$COURSE" "mandatory=$COURSE" useLmsCompletion=on < "$NEW" |
  http tooladmin -o /dev/null -w '%{http_code} %{redirect_url}' -H "Origin: $TOOL_URL" --data @- "$TOOL_URL/admin/certifications/$KEY")
echo "certification saved: $LOC"
CERT=$(http tooladmin "$TOOL_URL/admin/certifications/$KEY" | php -r '$d=new DOMDocument(); @$d->loadHTML(stream_get_contents(STDIN));
  foreach ($d->getElementsByTagName("tr") as $tr) if (strpos($tr->textContent, $argv[1]) !== false) { echo $tr->getAttribute("data-certification-id"); break; }' "$NAME")
echo "certification $CERT"
DORA=$(jq -r .users.learner4 "$LAB")
grade() { (cd "$MOODLE_DIR" && $MPHP "$RL_HERE/moodle-grade.php" "$1" learner4 "$2" >/dev/null); }
grade "Oral exam" 20; grade "Essay" 20
"$RL_HERE/moodle-completion-cron.sh" >/dev/null
# The teacher syncs: the Moodle source reads each learner's completion.
moodle_login mteacher teacher1 "$USER_PASS"
U=$(lti_launch mteacher "$MOODLE_URL/mod/lti/launch.php?id=$PROJECT" "$RL_ROOT/completion-teacher.html" | awk '{print $2}')
form mteacher "$U" teacher/sync | http mteacher -o /dev/null -H "Origin: $TOOL_URL" --data @- "$U/sync"; sleep 15
T=$(jq -r .token "$LAB")
EARNED=""
for l in learner3 learner4; do
  moodle_login "mc$l" "$l" "$USER_PASS"
  L=$(lti_launch "mc$l" "$MOODLE_URL/mod/lti/launch.php?id=$PROJECT" "$RL_ROOT/completion-$l.html" | awk '{print $2}')
  P=$RL_ROOT/completion-$l-mine.html
  http "mc$l" -o "$P" "${L%/learner}/certifications"
  STATE=$(php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); foreach ($d->getElementsByTagName("li") as $li)
    if ($li->getAttribute("data-id")===$argv[2]) { echo $li->getAttribute("data-state"), "\t", trim(preg_replace("/\s+/", " ", $li->textContent)); break; }' "$P" "$CERT")
  MOODLE=$(curl -s "$MOODLE_URL/webservice/rest/server.php?wstoken=$T&wsfunction=core_completion_get_course_completion_status&moodlewsrestformat=json&courseid=$C&userid=$(jq -r .users.$l "$LAB")" |
    jq -r '"\(.completionstatus.completed) \(.completionstatus.completions[0].timecompleted // "-" | if . == "-" then . else (todate) end)"')
  echo "$l: Moodle completed/time: $MOODLE; My certifications: ${STATE:0:160}"
  case "$STATE" in earned*) EARNED="$EARNED$l,";; esac
  [ "$l" = learner4 ] && { DORA_TEXT=$STATE; DORA_MOODLE=$MOODLE; }
done
[ "$EARNED" = "learner4," ] && ok "moodle completion: the programme is earned by Dora once Moodle marks her complete, not by Carl" ||
  ko "moodle completion: earned by: $EARNED (expected learner4,)"
DAY=$(date -u -d "$(echo "$DORA_MOODLE" | awk '{print $2}')" '+%-d %B %Y' 2>/dev/null)
case "$DORA_TEXT" in *"$DAY"*) ok "moodle completion: dated $DAY, Moodle's timecompleted";; *) ko "moodle completion: Dora's entry does not show $DAY: $DORA_TEXT";; esac
grade "Oral exam" 10; grade "Essay" 12
(cd "$MOODLE_DIR" && $MPHP -r "define('CLI_SCRIPT', true); require('config.php');
  foreach (['course_completions', 'course_completion_crit_compl'] as \$t) { \$DB->delete_records(\$t, ['course' => $C, 'userid' => $DORA]); }
  cache::make('core', 'coursecompletion')->purge();")

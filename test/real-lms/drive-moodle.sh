#!/bin/bash
# Drives the real flows between the real Moodle 4.5.6 and the tool (run after moodle-register-tool.sh,
# with the tool started by tool-serve.sh). Each check prints OK/FAIL and is appended to
# $RL_ROOT/outcomes.txt. Browser steps are curl-driven: the auto-submitted forms of the OIDC flow are
# parsed and posted as a browser with JavaScript would.
set -uo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
LAB=$RL_ROOT/moodle-lab.json
j() { jq -r "$1" "$LAB"; }
C=$(j .courseid); LAUNCHER=$(j .lti.launcher_cmid); PROJECT=$(j .lti.project_cmid)
q() { su postgres -c "psql -d moodle -tAc \"$1\""; }
claim() { jwt_payload "$1.idtoken" | jq -c "$2"; }
echo "== $(date -u +%H:%M) drive-moodle" >> "$RL_ROOT/outcomes.txt"

# 1. Launches. The launcher activity's grade column was ticked, then unticked: Moodle sends "lineitem": "".
moodle_login mteacher teacher1 "$USER_PASS"
STATUS=$(lti_launch mteacher "$MOODLE_URL/mod/lti/launch.php?id=$LAUNCHER" "$RL_ROOT/m-teacher-launcher.html")
echo "teacher, launcher: $STATUS; AGS claim $(claim "$RL_ROOT/m-teacher-launcher.html" '."https://purl.imsglobal.org/spec/lti-ags/claim/endpoint".lineitem')"
case "$STATUS" in 200*"/teacher"*) ok "moodle: teacher launch of the activity with \"lineitem\": \"\" accepted ($STATUS)";;
  *) ko "moodle: teacher launch with \"lineitem\": \"\" refused: $STATUS — $(sed 's/<[^>]*>/ /g' "$RL_ROOT/m-teacher-launcher.html" | tr -s ' \n' | grep -o 'The launch message[^.]*\.[^.]*\.' | head -1)";; esac
moodle_login mlearner1 learner1 "$USER_PASS"
STATUS=$(lti_launch mlearner1 "$MOODLE_URL/mod/lti/launch.php?id=$LAUNCHER" "$RL_ROOT/m-learner1-launcher.html")
case "$STATUS" in 200*) grep -qi 'refused' "$RL_ROOT/m-learner1-launcher.html" && ko "moodle: learner launch (lineitem \"\") refused" || ok "moodle: learner1 launch of the launcher accepted ($STATUS)";;
  *) ko "moodle: learner1 launch of the launcher: $STATUS";; esac
STATUS=$(lti_launch mteacher "$MOODLE_URL/mod/lti/launch.php?id=$PROJECT" "$RL_ROOT/m-teacher-project.html")
case "$STATUS" in 200*"/teacher"*) ok "moodle: teacher launch of Final project (tool) (real line item) accepted";; *) ko "moodle: teacher launch of Final project: $STATUS";; esac
echo "custom claim: $(claim "$RL_ROOT/m-teacher-project.html" '."https://purl.imsglobal.org/spec/lti/claim/custom"')"
moodle_login massistant assistant1 "$USER_PASS"
STATUS=$(lti_launch massistant "$MOODLE_URL/mod/lti/launch.php?id=$PROJECT" "$RL_ROOT/m-assistant-project.html")
echo "non-editing teacher roles: $(claim "$RL_ROOT/m-assistant-project.html" '."https://purl.imsglobal.org/spec/lti/claim/roles"') -> $STATUS"

# 2. What Moodle's AGS shows the tool: its own line items only (one sync, AGS only).
(cd "$MOODLE_DIR" && $MPHP "$RL_HERE/moodle-grade.php" "Oral exam" learner2 16 >/dev/null)   # the state moodle-setup.php made
U=$(lti_launch mteacher "$MOODLE_URL/mod/lti/launch.php?id=$PROJECT" "$RL_ROOT/m-teacher.html" | awk '{print $2}')
teacher_text() { http mteacher "$1" | sed 's/<[^>]*>/ /g' | tr -s ' \n' | grep -v '^ *$'; }
sync_now() { form mteacher "$U" teacher/sync | http mteacher -o /dev/null -H "Origin: $TOOL_URL" --data @- "$U/sync"; sleep "${1:-8}"; }
# The newest run of a source in the sync history ("Learning platform (LTI)", "…moodle…").
last_run() { http mteacher "$U/grades/history" | php "$RL_HERE/table-rows.php" | grep -i -m1 "$1"; }
sync_now
RUN=$(last_run 'Learning platform (LTI)')
echo "last AGS sync: $RUN"
case "$RUN" in *"|1 column,"*) ok "moodle: AGS gives the tool 1 column (its own 'Final project (tool)'), no quiz/assignment/manual item/total";;
  *) ko "moodle: AGS columns: $RUN";; esac

# 3. Moodle web services: the administrator's /admin/moodle, then the teacher turns the source on.
rm -f "$(jar tooladmin)"
http tooladmin -o /dev/null -H "Origin: $TOOL_URL" --data-urlencode "secret=$(cat "${DATA_DIR:-/work/reallms-data}/admin-secret")" "$TOOL_URL/admin/login"
admin_test() { # token -> the "Last test" block of /admin/moodle for Moodle
  http tooladmin -o /dev/null -H "Origin: $TOOL_URL" --data-urlencode "issuer=$MOODLE_URL" --data-urlencode "token=$1" \
    -d readCompletion=on -d testCourseId="$C" "$TOOL_URL/admin/moodle/save"
  http tooladmin "$TOOL_URL/admin/moodle" | sed 's/<[^>]*>/ /g' | tr -s ' \n' | grep -v '^ *$' | sed -n '/Last test/,/^ Lab /p' | head -6
}
# The third token is revoked first, as Site administration > Server > Web services > Manage tokens > Delete does.
(cd "$MOODLE_DIR" && $MPHP -r "define('CLI_SCRIPT', true); require('config.php'); require_once(\$CFG->dirroot.'/webservice/lib.php');
  \$t = \$DB->get_record('external_tokens', ['token' => '$(j .token_to_revoke)']); if (\$t) { (new webservice())->delete_user_ws_token(\$t->id); }")
for t in limited_token nomodview_token token_to_revoke; do
  OUT=$(admin_test "$(j .$t)"); echo "/admin/moodle with $t:"; echo "$OUT" | sed 's/^/    /'
  echo "$OUT" | grep -q "missing" && ok "moodle: /admin/moodle names what is missing for $t" || ko "moodle: /admin/moodle with $t did not say what is missing"
done
OUT=$(admin_test "$(j .token)")
echo "$OUT" | grep -q "Last test works" && ok "moodle: /admin/moodle test with the full token works" || ko "moodle: /admin/moodle test: $OUT"
PAGE=$(http mteacher "$U")
if echo "$PAGE" | grep -q 'data-moodle-source="off"'; then
  form mteacher "$U" moodle-source | http mteacher -o /dev/null -H "Origin: $TOOL_URL" --data @- "$U/moodle-source"
fi
sync_now 10
RUN=$(last_run 'moodle')
echo "last web-service sync: $RUN"
case "$RUN" in *"|6 columns, 30 scores"*) ok "moodle: web-service sync brought 6 columns and 30 scores (quiz, essay, oral, the tool's activity, total, completion)";;
  *) ko "moodle: web-service sync: $RUN";; esac

# 4. A certificate at 80 % over Quiz 1, Essay and Oral exam (equal weights, all graded).
http mteacher -o "$RL_ROOT/m-defnew.html" "$U/definitions/new"
labels() { php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); $x=new DOMXPath($d);
  foreach ($x->query("//input[@type=\"checkbox\"]") as $i) if (preg_match("/^Use “(.*)”$/u", $i->getAttribute("aria-label"), $m))
  echo $m[1], "\t", preg_replace("/^item\.|\.used$/", "", $i->getAttribute("name")), "\n";' "$RL_ROOT/m-defnew.html"; }
echo "definition form offers: $(labels | cut -f1 | tr '\n' ',' )"
[ "$(labels | cut -f1 | grep -c '^Final project (tool)$')" = 1 ] && ok "moodle: the tool's activity is offered once" ||
  ko "moodle: 'Final project (tool)' is offered $(labels | cut -f1 | grep -c '^Final project (tool)$') times in the definition form (AGS and web services not recognised as one)"
TITLE="80 % over quiz, essay, oral ($(date -u +%H%M%S))"
OV=(itemsMode=selected "title=$TITLE")
while IFS=$'\t' read -r name id; do case "$name" in "Quiz 1"|"Essay"|"Oral exam") ;; *) OV+=("item.$id.used=");; esac; done < <(labels)
DEF=$(php "$RL_HERE/form-fields.php" definitions "${OV[@]}" < "$RL_ROOT/m-defnew.html" |
  http mteacher -o /dev/null -w '%{redirect_url}' -H "Origin: $TOOL_URL" --data @- "$U/definitions" | sed 's/?.*//')
learners_of() { http mteacher "$DEF" | php "$RL_HERE/table-rows.php" | grep -v '^Name|'; }
echo "$(learners_of)"
ELIG=$(learners_of | grep '|Eligible|' | cut -d'|' -f1 | sort | tr '\n' ',')
[ "$ELIG" = "Ada Lovelace,Blaise Pascal," ] && ok "moodle: eligible at 80 %: exactly Ada Lovelace (91.6 %) and Blaise Pascal (80 %)" || ko "moodle: eligible: $ELIG"
form mteacher "$DEF/generate" generate | http mteacher -o /dev/null -H "Origin: $TOOL_URL" --data @- "$DEF/generate"; sleep 10
VALID=$(learners_of | grep '|Valid' | cut -d'|' -f1 | sort | tr '\n' ',')
[ "$VALID" = "Ada Lovelace,Blaise Pascal," ] && ok "moodle: Generate all issued exactly those two certificates" || ko "moodle: valid certificates: $VALID"

# 5. A grade changed in Moodle (grader report): Blaise's oral exam 16 -> 12; the next sync makes his stale.
(cd "$MOODLE_DIR" && $MPHP "$RL_HERE/moodle-grade.php" "Oral exam" learner2 12)
sync_now 10
ROW=$(learners_of | grep '^Blaise Pascal')
echo "after the regrade: $ROW"
case "$ROW" in *"|Stale"*) ok "moodle: after the regrade and one sync, Blaise's certificate is stale ($ROW)";; *) ko "moodle: after the regrade: $ROW";; esac
(cd "$MOODLE_DIR" && $MPHP "$RL_HERE/moodle-grade.php" "Oral exam" learner2 16 >/dev/null)

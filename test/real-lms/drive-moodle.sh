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

# 2. What Moodle's AGS shows the tool: its own line items only.
TEACHER_PAGE=$(echo "$STATUS" | awk '{print $2}')
echo "$TEACHER_PAGE" > "$RL_ROOT/m-teacher-url.txt"

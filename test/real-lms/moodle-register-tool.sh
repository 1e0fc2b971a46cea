#!/bin/bash
# Registers the tool in Moodle by dynamic registration as an administrator does it, then adds the tool's
# activities to CERTLAB as the teacher does. Needs Moodle (moodle-serve.sh), moodle-setup.php, and the
# tool running at $TOOL_URL with DATA_DIR=/work/reallms-data (for its admin secret).
#  1. Site administration > Plugins > Activity modules > External tool > Manage tools: paste
#     $TOOL_URL/lti/register in "Tool URL", "Add LTI Advantage" — the panel loads
#     mod/lti/startltiadvregistration.php?url=...&sesskey=..., which redirects to the tool with
#     openid_configuration + registration_token; the tool registers itself and shows "registered".
#  2. Edit the (pending) tool: Custom parameters "username=$User.username"; Save.
#  3. "Activate" on the tool's card (the card's button calls mod_lti_update_tool_type with state 1).
#  4. On the tool's /admin: Activate the new Moodle registration.
#  5. As teacher1: Add an activity > Certificates, twice: "Certificates" (launcher; the teacher ticks
#     "Allow Certificates to add grades in the gradebook", saves, then edits it and unticks it — the
#     trap that makes Moodle send "lineitem": ""), and "Final project (tool)" (grade ticked, out of 20).
set -euo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
C=$(jq -r .courseid "$RL_ROOT/moodle-lab.json")
q() { su postgres -c "psql -d moodle -tAc \"$1\""; }
moodle_login madmin admin "$ADMIN_PASS"
SK=$(moodle_sesskey madmin)
REG=$(jq -rn --arg u "$TOOL_URL/lti/register" '$u|@uri')
LOC=$(http madmin -D - -o /dev/null "$MOODLE_URL/mod/lti/startltiadvregistration.php?url=$REG&sesskey=$SK" |
  grep -i '^location:' | sed 's/^[Ll]ocation: //' | tr -d '\r')
http madmin -o "$RL_ROOT/moodle-registration.html" "$LOC"
grep -q 'is registered' "$RL_ROOT/moodle-registration.html" && ok "moodle: dynamic registration accepted by the tool" ||
  { ko "moodle: dynamic registration (see $RL_ROOT/moodle-registration.html)"; exit 1; }
TYPE=$(q "select max(id) from mdl_lti_types")
CID=$(q "select clientid from mdl_lti_types where id=$TYPE")
echo "tool type $TYPE, client id $CID, state $(q "select state from mdl_lti_types where id=$TYPE") (2 = pending)"
q "select name||'='||value from mdl_lti_types_config where typeid=$TYPE and name in ('launchcontainer','acceptgrades','sendname','sendemailaddr','ltiservice_gradesynchronization','ltiservice_memberships','contentitem')"
form madmin "$MOODLE_URL/mod/lti/typessettings.php?action=update&id=$TYPE&sesskey=$SK" typessettings.php \
  'lti_customparameters=username=$User.username' | http madmin -o /dev/null --data @- "$MOODLE_URL/mod/lti/typessettings.php"
http madmin -o /dev/null -H 'Content-Type: application/json' \
  -d "[{\"index\":0,\"methodname\":\"mod_lti_update_tool_type\",\"args\":{\"id\":$TYPE,\"state\":1}}]" \
  "$MOODLE_URL/lib/ajax/service.php?sesskey=$SK&info=mod_lti_update_tool_type"
[ "$(q "select state from mdl_lti_types where id=$TYPE")" = 1 ] && ok "moodle: tool type $TYPE active" || ko "moodle: activate type $TYPE"
rm -f "$(jar tooladmin)"
http tooladmin -o /dev/null -H "Origin: $TOOL_URL" --data-urlencode "secret=$(cat "${DATA_DIR:-/work/reallms-data}/admin-secret")" "$TOOL_URL/admin/login"
http tooladmin -o /dev/null -H "Origin: $TOOL_URL" --data-urlencode "issuer=$MOODLE_URL" --data-urlencode "clientId=$CID" \
  -d active=true "$TOOL_URL/admin/platforms/active"
moodle_login mteacher teacher1 "$USER_PASS"
add_lti() { # name acceptgrades max
  form mteacher "$MOODLE_URL/course/modedit.php?add=lti&typeid=$TYPE&course=$C&section=1&return=0" modedit.php \
    "name=$1" "instructorchoiceacceptgrades=$2" "grade[modgrade_point]=$3" submitbutton2=Save |
    http mteacher -o /dev/null --data @- "$MOODLE_URL/course/modedit.php"
  q "select cm.id from mdl_course_modules cm join mdl_lti l on l.id=cm.instance and cm.module=(select id from mdl_modules where name='lti') where l.name='$1' and l.course=$C order by cm.id desc limit 1"
}
LAUNCHER=$(add_lti "Certificates" 1 100)
PROJECT=$(add_lti "Final project (tool)" 1 20)
form mteacher "$MOODLE_URL/course/modedit.php?update=$LAUNCHER&return=1" modedit.php instructorchoiceacceptgrades=0 submitbutton2=Save |
  http mteacher -o /dev/null --data @- "$MOODLE_URL/course/modedit.php"
jq --argjson t "$TYPE" --arg c "$CID" --argjson l "$LAUNCHER" --argjson p "$PROJECT" \
  '.lti = {typeid: $t, clientid: $c, launcher_cmid: $l, project_cmid: $p}' "$RL_ROOT/moodle-lab.json" > "$RL_ROOT/moodle-lab.json.new"
mv "$RL_ROOT/moodle-lab.json.new" "$RL_ROOT/moodle-lab.json"
ok "moodle: activities Certificates (cm $LAUNCHER, grade unticked) and Final project (tool) (cm $PROJECT, /20)"

#!/bin/bash
# Issue #15, language from the REAL launch: each learner launches the tool from the real Moodle 4.5.6 and
# the real Chamilo 1.11.28 with the language set in the LMS (moodle-i18n-setup.php, chamilo-i18n-setup.php);
# we record the launch_presentation.locale the platform sent and the language of the page the tool answered
# (<html lang> and its <h1>). OK/FAIL lines go to $RL_ROOT/outcomes.txt.
set -uo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
echo "== $(date -u +%H:%M) drive-languages" >> "$RL_ROOT/outcomes.txt"
PROJECT=$(jq -r .lti.project_cmid "$RL_ROOT/moodle-lab.json")
COPY=$(jq -r .lti.copy "$RL_ROOT/chamilo-lab.json")
locale_of() { jwt_payload "$1.idtoken" | jq -r '."https://purl.imsglobal.org/spec/lti/claim/launch_presentation".locale // "(none)"'; }
page_lang() { php -r '$d=new DOMDocument(); @$d->loadHTML(mb_encode_numericentity(file_get_contents($argv[1]), [0x80,0x10FFFF,0,0x1FFFFF], "UTF-8"));
  $h=$d->getElementsByTagName("h1")->item(0); echo $d->documentElement->getAttribute("lang"), "\t", $h ? trim(preg_replace("/\s+/u", " ", $h->textContent)) : "", "\n";' "$1"; }
# check LMS USER EXPECTED-LOCALE EXPECTED-LANG EXPECTED-H1 ("*": any h1, e.g. a teacher's course title)
check() {
  local out=$RL_ROOT/lang-$1-$2.html status sent lang h1
  if [ "$1" = moodle ]; then
    moodle_login "m$2" "$2" "$USER_PASS"
    status=$(lti_launch "m$2" "$MOODLE_URL/mod/lti/launch.php?id=$PROJECT" "$out")
  else
    chamilo_login "c$2" "$2" "$USER_PASS"; http "c$2" -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
    status=$(lti_launch "c$2" "$CHAMILO_URL/plugin/ims_lti/login.php?id=$COPY" "$out")
  fi
  sent=$(locale_of "$out"); IFS=$'\t' read -r lang h1 < <(page_lang "$out")
  local line="$1 $2: sent locale \"$sent\" -> page lang=$lang, h1 \"$h1\" ($status)"
  if [ "$sent" = "$3" ] && [ "$lang" = "$4" ] && { [ "$5" = "*" ] || [ "$h1" = "$5" ]; }; then ok "$line"; else ko "$line; expected \"$3\" -> $4 \"$5\""; fi
}
check moodle learner1 nl nl "Je certificaten"
check moodle learner2 de de "Ihre Zertifikate"
check moodle learner3 es_mx es "Sus certificados"
check moodle learner6 zh_cn en "Your certificates"
check moodle learner4 en en "Your certificates"
check chamilo learner1 nl nl "Je certificaten"
check chamilo learner2 de de "Ihre Zertifikate"
check chamilo learner3 fr fr "Vos certificats"
check chamilo learner4 es es "Sus certificados"
check chamilo learner6 el en "Your certificates"
# An error page in the launch's language: the Dutch learner opens the teacher page (403).
L=$(grep -o '/app/[^/"]*/' "$RL_ROOT/lang-moodle-learner1.html" | head -1)
http mlearner1 -o "$RL_ROOT/lang-moodle-learner1-403.html" -w '%{http_code}' "$TOOL_URL${L}teacher" > "$RL_ROOT/lang-403.status"
IFS=$'\t' read -r lang h1 < <(page_lang "$RL_ROOT/lang-moodle-learner1-403.html")
[ "$(cat "$RL_ROOT/lang-403.status")" = 403 ] && [ "$lang" = nl ] && ok "moodle learner1: the refused teacher page is Dutch (403, lang=nl, \"$h1\")" ||
  ko "moodle learner1: refused page $(cat "$RL_ROOT/lang-403.status") lang=$lang \"$h1\""
# Teachers: the teacher pages must say which language they are in too (<html lang>, for screen readers).
q() { su postgres -c "psql -d moodle -tAc \"$1\""; }
cdb() { mariadb --no-defaults -h127.0.0.1 -P$MARIADB_PORT -uroot -pchamilo chamilo -N -e "$1"; }
q "update mdl_user set lang='es_mx' where username='teacher1'" >/dev/null
cdb "update user set language='greek' where username='teacher1'"
check moodle teacher1 es_mx es "*"
check chamilo teacher1 el en "*"
q "update mdl_user set lang='en' where username='teacher1'" >/dev/null   # the other drive-*.sh read English pages
cdb "update user set language='english' where username='teacher1'"

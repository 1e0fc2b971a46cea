#!/bin/bash
# Issue #15, names in other scripts coming from the real LMS (after moodle-i18n-setup.php and
# chamilo-i18n-setup.php): Moodle's 王小明 (learner6) and ليلى حداد (learner7), Chamilo's Σοφία Παπαδοπούλου
# (learner6) and Анна Иванова (learner7). The teacher syncs and defines a certificate they qualify for; each
# learner launches from the LMS, claims it, downloads the PDF; the PDF is checked with pdftotext (the name
# is in it, as the LMS sent it) and pdffonts (every font embedded and one of ours: Noto/Inter/EB Garamond/
# Great Vibes from @fontsource, no system font), and rendered to a PNG in /work/notes/reallms-shots/.
# ONLY=moodle or ONLY=chamilo runs one platform's half.
set -uo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
SHOTS=${SHOTS:-/work/notes/reallms-shots}; mkdir -p "$SHOTS"
echo "== $(date -u +%H:%M) drive-names" >> "$RL_ROOT/outcomes.txt"
PROJECT=$(jq -r .lti.project_cmid "$RL_ROOT/moodle-lab.json")
COPY=$(jq -r .lti.copy "$RL_ROOT/chamilo-lab.json")
labels() { php -r '$d=new DOMDocument(); @$d->loadHTML(mb_encode_numericentity(file_get_contents($argv[1]), [0x80,0x10FFFF,0,0x1FFFFF], "UTF-8")); $x=new DOMXPath($d);
  foreach ($x->query("//input[@type=\"checkbox\"]") as $i) if (preg_match("/^Use “(.*)”$/u", $i->getAttribute("aria-label"), $m))
  echo $m[1], "\t", preg_replace("/^item\.|\.used$/", "", $i->getAttribute("name")), "\n";' "$1"; }
# define SESSION TEACHER-URL ITEM-NAME TITLE -> prints the definition's URL (80 % of that one item)
define() {
  local s=$1 u=$2 item=$3 title=$4 page=$RL_ROOT/names-defnew.html ov
  http "$s" -o "$page" "$u/definitions/new"
  ov=(itemsMode=selected "title=$title" thresholdPercent=80)
  while IFS=$'\t' read -r name id; do [ "$name" = "$item" ] && ov+=("item.$id.used=on") || ov+=("item.$id.used="); done < <(labels "$page")
  php "$RL_HERE/form-fields.php" definitions "${ov[@]}" < "$page" |
    http "$s" -o /dev/null -w '%{redirect_url}' -H "Origin: $TOOL_URL" --data @- "$u/definitions" | sed 's/?.*//'
}
sync_now() { form "$1" "$2" teacher/sync | http "$1" -o /dev/null -H "Origin: $TOOL_URL" --data @- "$2/sync"; sleep "${3:-10}"; }
# claim_and_check LMS USER EXPECTED-NAME DEFINITION-ID LEARNER-PAGE-FILE LEARNER-URL
claim_and_check() {
  local lms=$1 user=$2 name=$3 def=$4 page=$5 url=$6 s="$1-$2" cert pdf tag=$1-$2
  cert=$(php "$RL_HERE/form-fields.php" learner/claim "definitionId=$def" < "$page" |
    http "$s" -o "$RL_ROOT/names-$tag-cert.html" -L -w '%{url_effective}' -H "Origin: $TOOL_URL" --data @- "$url/claim")
  pdf=$(grep -o 'href="[^"]*" data-pdf' "$RL_ROOT/names-$tag-cert.html" | head -1 | sed 's/^href="//;s/" data-pdf$//;s/&amp;/\&/g')
  [ -n "$pdf" ] || { ko "$lms $user ($name): no PDF link on the certificate page $cert"; return; }
  case "$pdf" in http*) ;; *) pdf="$TOOL_URL$pdf";; esac
  for i in 1 2 3 4 5 6 7 8 9 10; do
    http "$s" -o "$SHOTS/names-$tag.pdf" -w '%{http_code} %{content_type}' "$pdf" | grep -q 'application/pdf' && break; sleep 3
  done
  local txt fonts bad
  txt=$(pdftotext -enc UTF-8 "$SHOTS/names-$tag.pdf" - 2>/dev/null | tr -s ' \n' ' ')
  fonts=$(pdffonts "$SHOTS/names-$tag.pdf" 2>/dev/null | tail -n +3)
  bad=$(echo "$fonts" | awk '$(NF-4) != "yes" {print $1}' | tr '\n' ' ')
  local ours; ours=$(echo "$fonts" | awk '{print $1}' | sed 's/^[A-Z]*+//' | sort -u | tr '\n' ' ')
  local foreign; foreign=$(echo "$ours" | tr ' ' '\n' | grep -v -E '^(Noto|Inter|EBGaramond|EB-Garamond|GreatVibes|Great-Vibes)' | grep . | tr '\n' ' ')
  pdftoppm -r 60 -png -singlefile "$SHOTS/names-$tag.pdf" "$SHOTS/names-$tag" 2>/dev/null
  local line="$lms $user: PDF names \"$name\"? fonts: $ours"
  # pdftotext writes right-to-left runs between bidi controls and may split an Arabic word where its
  # letters join: compare without spaces and controls.
  local flat want; flat=$(printf '%s' "$txt" | LC_ALL=C sed 's/\xe2\x80[\xaa-\xae]//g; s/\xe2\x81[\xa6-\xa9]//g' | tr -d ' ')
  want=$(printf '%s' "$name" | tr -d ' ')
  if [[ "$flat" == *"$want"* ]] && [ -z "$bad" ] && [ -z "$foreign" ]; then ok "$line"; else
    ko "$line — text: $(echo "$txt" | head -c 200); not embedded: $bad; not ours: $foreign"; fi
}

# Moodle: the teacher syncs (web services bring the Oral exam marks) and defines "80 % of Oral exam".
if [ "${ONLY:-}" != chamilo ]; then
moodle_login mteacher teacher1 "$USER_PASS"
U=$(lti_launch mteacher "$MOODLE_URL/mod/lti/launch.php?id=$PROJECT" "$RL_ROOT/names-m-teacher.html" | awk '{print $2}')
sync_now mteacher "$U"
DEF=$(define mteacher "$U" "Oral exam" "Oral exam passed ($(date -u +%H%M%S))")
echo "moodle definition: $DEF"
for pair in "learner6:王小明" "learner7:ليلى حداد"; do
  user=${pair%%:*}; expected=${pair#*:}
  moodle_login "moodle-$user" "$user" "$USER_PASS"
  L=$(lti_launch "moodle-$user" "$MOODLE_URL/mod/lti/launch.php?id=$PROJECT" "$RL_ROOT/names-moodle-$user.html" | awk '{print $2}')
  echo "moodle $user: name claim $(jwt_payload "$RL_ROOT/names-moodle-$user.html.idtoken" | jq -c '{name, given_name, family_name}')"
  # The name as the LMS sent it (Moodle's fullname(): "{firstname} {lastname}" unless the language pack says otherwise).
  sent=$(jwt_payload "$RL_ROOT/names-moodle-$user.html.idtoken" | jq -r .name)
  claim_and_check moodle "$user" "$sent" "${DEF##*/}" "$RL_ROOT/names-moodle-$user.html" "$L"
  case "$sent" in *"$expected"*|*"${expected#* }"*) ;; *) echo "  (Moodle sent \"$sent\" for $expected)";; esac
done

fi
[ "${ONLY:-}" = moodle ] && exit 0
# Chamilo: the teacher syncs (the SOAP course totals) and defines "80 % of the course total".
chamilo_login cteacher teacher1 "$USER_PASS"; http cteacher -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
U=$(lti_launch cteacher "$CHAMILO_URL/plugin/ims_lti/login.php?id=$COPY" "$RL_ROOT/names-c-teacher.html" | awk '{print $2}')
for user in learner6 learner7; do   # NRPS in Chamilo lists members; a first launch makes them known at once
  chamilo_login "chamilo-$user" "$user" "$USER_PASS"; http "chamilo-$user" -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
  lti_launch "chamilo-$user" "$CHAMILO_URL/plugin/ims_lti/login.php?id=$COPY" "$RL_ROOT/names-chamilo-$user.html" >/dev/null
done
sync_now cteacher "$U" 12
DEF=$(define cteacher "$U" "Course total (Chamilo gradebook)" "Chamilo total passed ($(date -u +%H%M%S))")
echo "chamilo definition: $DEF"
for pair in "learner6:Σοφία Παπαδοπούλου" "learner7:Анна Иванова"; do
  user=${pair%%:*}; expected=${pair#*:}
  L=$(lti_launch "chamilo-$user" "$CHAMILO_URL/plugin/ims_lti/login.php?id=$COPY" "$RL_ROOT/names-chamilo-$user.html" | awk '{print $2}')
  sent=$(jwt_payload "$RL_ROOT/names-chamilo-$user.html.idtoken" | jq -r .name)
  echo "chamilo $user: name claim \"$sent\""
  claim_and_check chamilo "$user" "$expected" "${DEF##*/}" "$RL_ROOT/names-chamilo-$user.html" "$L"
done

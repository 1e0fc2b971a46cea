#!/bin/bash
# Drives the real flows between the real Chamilo 1.11.28 and the tool (after chamilo-register-tool.sh,
# with the tool started by tool-serve.sh). OK/FAIL lines go to $RL_ROOT/outcomes.txt.
#  1. teacher and learner launches (learners' launches give the tool their username);
#  2. the flat-view CSV export imported on the tool's teacher page: rows matched by username?
#  3. the SOAP gradebook service as a grade source (chamiloGradebook in the platform file, tool restarted):
#     a certificate at 80 % of Chamilo's course total, then a grade changed in Chamilo -> stale.
set -uo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
LAB=$RL_ROOT/chamilo-lab.json
COPY=$(jq -r .lti.copy "$LAB")
db() { mariadb --no-defaults -h127.0.0.1 -P$MARIADB_PORT -uroot -pchamilo chamilo -N -e "$1"; }
echo "== $(date -u +%H:%M) drive-chamilo" >> "$RL_ROOT/outcomes.txt"
# The state chamilo-gradebook.sh made (a previous run may have changed it).
"$RL_HERE/chamilo-edit-grade.sh" "Written exam" learner2 16 >/dev/null

# 1. Launches (Chamilo's course tool page frames plugin/ims_lti/login.php?id=COPY).
chamilo_login cteacher teacher1 "$USER_PASS"; http cteacher -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
S=$(lti_launch cteacher "$CHAMILO_URL/plugin/ims_lti/login.php?id=$COPY" "$RL_ROOT/c-teacher.html")
U=$(echo "$S" | awk '{print $2}')
case "$S" in 200*"/teacher"*) ok "chamilo: teacher launch accepted";; *) ko "chamilo: teacher launch: $S"; exit 1;; esac
echo "claims: $(jwt_payload "$RL_ROOT/c-teacher.html.idtoken" | jq -c '{deployment: ."https://purl.imsglobal.org/spec/lti/claim/deployment_id", custom: ."https://purl.imsglobal.org/spec/lti/claim/custom", platform: ."https://purl.imsglobal.org/spec/lti/claim/tool_platform".family_code, product_family_code: ."https://purl.imsglobal.org/spec/lti/claim/tool_platform".product_family_code}')"
for l in learner1 learner2 learner3 learner4 learner5; do
  chamilo_login "c$l" $l "$USER_PASS"; http "c$l" -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
  S=$(lti_launch "c$l" "$CHAMILO_URL/plugin/ims_lti/login.php?id=$COPY" "$RL_ROOT/c-$l.html")
  case "$S" in 200*"/learner"*) ok "chamilo: $l launch accepted";; *) ko "chamilo: $l launch: $S";; esac
done
sync_now() { form cteacher "$U" teacher/sync | http cteacher -o /dev/null -H "Origin: $TOOL_URL" --data @- "$U/sync"; sleep "${1:-8}"; }
sync_now
echo "AGS/NRPS sync: $(http cteacher "$U/grades/history" | php "$RL_HERE/table-rows.php" | grep -m1 'Learning platform')"

# 2. The CSV export, imported as the teacher does it.
"$RL_HERE/chamilo-exports.sh" drive >/dev/null
CSV=$RL_HERE/../fixtures/csv/real/chamilo-1.11.28-drive.csv
LOC=$(http cteacher -o /dev/null -w '%{redirect_url}' -H "Origin: $TOOL_URL" -F "file=@$CSV;type=text/csv" "$U/grades/import")
SUMMARY=$(http cteacher "$LOC" | sed 's/<[^>]*>/ /g' | tr -s ' \n' | grep -o '[0-9]* learner rows [0-9]* matched [0-9]* not matched')
echo "CSV preview: $SUMMARY"
case "$SUMMARY" in *"5 matched"*) ok "chamilo: CSV import matched the 5 learners by username";; *) ko "chamilo: CSV import: $SUMMARY";; esac
# import_csv FILE: upload, give the maxima the file lacks (20, 10, 20) and say learner4's 0 is real, then Apply.
import_csv() {
  local loc page answers apply
  loc=$(http cteacher -o /dev/null -w '%{redirect_url}' -H "Origin: $TOOL_URL" -F "file=@$1;type=text/csv" "$U/grades/import")
  page=$RL_ROOT/c-import.html
  http cteacher -o "$page" "$loc"
  answers=$(php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); foreach($d->getElementsByTagName("form") as $f) if ($f->getAttribute("data-form")==="answers") echo $f->getAttribute("action");' "$page")
  if [ -n "$answers" ]; then
    php "$RL_HERE/form-fields.php" answers max-0=20 max-1=10 max-2=20 zero-is-real=on < "$page" |
      http cteacher -o /dev/null -H "Origin: $TOOL_URL" --data @- "$TOOL_URL$answers"
    http cteacher -o "$page" "$loc"
  fi
  echo "preview: $(sed 's/<[^>]*>/ /g' "$page" | tr -s ' \n' | grep -o '[0-9]* learner rows[^A]*' | head -1)"
  apply=$(php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); foreach($d->getElementsByTagName("form") as $f) if (substr($f->getAttribute("action"), -6)==="/apply") echo $f->getAttribute("action");' "$page")
  http cteacher -o /dev/null -w 'apply: %{http_code}\n' -H "Origin: $TOOL_URL" -X POST "$TOOL_URL$apply"
  sleep 3
}
import_csv "$CSV"
http cteacher -o "$RL_ROOT/c-defnew.html" "$U/definitions/new"
labels() { php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); $x=new DOMXPath($d);
  foreach ($x->query("//input[@type=\"checkbox\"]") as $i) if (preg_match("/^Use “(.*)”$/u", $i->getAttribute("aria-label"), $m))
  echo $m[1], "\t", preg_replace("/^item\.|\.used$/", "", $i->getAttribute("name")), "\n";' "$RL_ROOT/c-defnew.html"; }
echo "definition form offers: $(labels | cut -f1 | tr '\n' ',')"
OV=(itemsMode=selected "title=80 % over the Chamilo CSV activities ($(date -u +%H%M%S))")
while IFS=$'\t' read -r name id; do case "$name" in "Written exam"|"Oral exam"|"Project") ;; *) OV+=("item.$id.used=");; esac; done < <(labels)
DEF=$(php "$RL_HERE/form-fields.php" definitions "${OV[@]}" < "$RL_ROOT/c-defnew.html" |
  http cteacher -o /dev/null -w '%{redirect_url}' -H "Origin: $TOOL_URL" --data @- "$U/definitions" | sed 's/?.*//')
learners_of() { http cteacher "$DEF" | php "$RL_HERE/table-rows.php" | grep -v '^Name|'; }
learners_of
ELIG=$(learners_of | grep '|Eligible|' | cut -d'|' -f1 | sort | tr '\n' ',')
[ "$ELIG" = "Ada Lovelace,Blaise Pascal," ] && ok "chamilo CSV: eligible at 80 % over the 3 activities: exactly Ada (88.3) and Blaise (80)" || ko "chamilo CSV: eligible: $ELIG"
form cteacher "$DEF/generate" generate | http cteacher -o /dev/null -H "Origin: $TOOL_URL" --data @- "$DEF/generate"; sleep 10
VALID=$(learners_of | grep '|Valid' | cut -d'|' -f1 | sort | tr '\n' ',')
[ "$VALID" = "Ada Lovelace,Blaise Pascal," ] && ok "chamilo CSV: Generate all issued exactly those two" || ko "chamilo CSV: valid: $VALID"
"$RL_HERE/chamilo-edit-grade.sh" "Written exam" learner2 12
"$RL_HERE/chamilo-exports.sh" drive >/dev/null
import_csv "$CSV"
ROW=$(learners_of | grep '^Blaise Pascal')
case "$ROW" in *"|Stale"*) ok "chamilo CSV: after the regrade in Chamilo, a new export and its import, Blaise's certificate is stale ($ROW)";;
  *) ko "chamilo CSV: after the regrade and re-import: $ROW";; esac
"$RL_HERE/chamilo-edit-grade.sh" "Written exam" learner2 16 >/dev/null
rm -f "$CSV" "$RL_HERE/../fixtures/csv/real/chamilo-1.11.28-drive-only-numbers.csv"

# 3. The SOAP gradebook service as a grade source.
SECURITY_KEY=$(php -r 'include $argv[1]; echo $_configuration["security_key"];' "$CHAMILO_DIR/app/config/configuration.php")
if ! jq -e .chamiloGradebook "$RL_ROOT/platform-config/chamilo.json" >/dev/null; then
  jq --arg k "$SECURITY_KEY" '.chamiloGradebook = {securityKey: $k, callerIp: "127.0.0.1"}' "$RL_ROOT/platform-config/chamilo.json" > "$RL_ROOT/chamilo.json.new"
  mv "$RL_ROOT/chamilo.json.new" "$RL_ROOT/platform-config/chamilo.json"
  "$RL_HERE/tool-serve.sh" >/dev/null
fi
sync_now 10
RUN=$(http cteacher "$U/grades/history" | php "$RL_HERE/table-rows.php" | grep -m1 -i 'chamilo')
echo "SOAP sync: $RUN"
case "$RUN" in *"1 column, 5 scores"*"Complete"*) ok "chamilo: SOAP sync read 5 course totals";; *) ko "chamilo: SOAP sync: $RUN";; esac
http cteacher -o "$RL_ROOT/c-defnew.html" "$U/definitions/new"
labels() { php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); $x=new DOMXPath($d);
  foreach ($x->query("//input[@type=\"checkbox\"]") as $i) if (preg_match("/^Use “(.*)”$/u", $i->getAttribute("aria-label"), $m))
  echo $m[1], "\t", preg_replace("/^item\.|\.used$/", "", $i->getAttribute("name")), "\n";' "$RL_ROOT/c-defnew.html"; }
echo "definition form offers: $(labels | cut -f1 | tr '\n' ',')"
OV=(itemsMode=selected "title=80 % of Chamilo's course total ($(date -u +%H%M%S))")
while IFS=$'\t' read -r name id; do case "$name" in "Course total (Chamilo gradebook)") ;; *) OV+=("item.$id.used=");; esac; done < <(labels)
DEF=$(php "$RL_HERE/form-fields.php" definitions "${OV[@]}" < "$RL_ROOT/c-defnew.html" |
  http cteacher -o /dev/null -w '%{redirect_url}' -H "Origin: $TOOL_URL" --data @- "$U/definitions" | sed 's/?.*//')
learners_of() { http cteacher "$DEF" | php "$RL_HERE/table-rows.php" | grep -v '^Name|'; }
learners_of
ELIG=$(learners_of | grep '|Eligible|' | cut -d'|' -f1 | sort | tr '\n' ',')
[ "$ELIG" = "Ada Lovelace,Blaise Pascal," ] && ok "chamilo: eligible at 80 % of the course total: exactly Ada Lovelace (89) and Blaise Pascal (80)" || ko "chamilo: eligible: $ELIG"
form cteacher "$DEF/generate" generate | http cteacher -o /dev/null -H "Origin: $TOOL_URL" --data @- "$DEF/generate"; sleep 10
VALID=$(learners_of | grep '|Valid' | cut -d'|' -f1 | sort | tr '\n' ',')
[ "$VALID" = "Ada Lovelace,Blaise Pascal," ] && ok "chamilo: Generate all issued exactly those two" || ko "chamilo: valid: $VALID"
"$RL_HERE/chamilo-edit-grade.sh" "Written exam" learner2 12
sync_now 10
ROW=$(learners_of | grep '^Blaise Pascal')
case "$ROW" in *"|Stale"*) ok "chamilo: after Blaise's Written exam 16 -> 12 in Chamilo and one sync, his certificate is stale ($ROW)";;
  *) ko "chamilo: after the regrade: $ROW";; esac
"$RL_HERE/chamilo-edit-grade.sh" "Written exam" learner2 16 >/dev/null

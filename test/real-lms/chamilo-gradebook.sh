#!/bin/bash
# The teacher's gradebook work in Chamilo 1.11.28, through Chamilo's own forms, logged in as teacher1:
#  1. Course CERTLAB > Assessments (main/gradebook/index.php?cidReq=CERTLAB): opening it the first time
#     creates the course's root gradebook category (needed before the LTI tool is added: otherwise AGS 500).
#  2. "Add classroom activity" (gradebook_add_eval.php) x3: Written exam (max 20, weight 40),
#     Oral exam (max 10, weight 30), Project (max 20, weight 30).
#  3. Each activity's "Grade learners" form (gradebook_add_result.php?selecteval=ID): Chamilo pre-fills
#     every box with 0; learner5's Project box is cleared (left empty = no result score).
set -euo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
db() { mariadb --no-defaults -h127.0.0.1 -P$MARIADB_PORT -uroot -pchamilo chamilo -N -e "$1"; }
chamilo_login cteacher teacher1 "$USER_PASS"
http cteacher -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
CQ="cidReq=CERTLAB&id_session=0&gidReq=0&gradebook=1&origin="
http cteacher -o /dev/null "$CHAMILO_URL/main/gradebook/index.php?cidReq=CERTLAB&id_session=0&gidReq=0"
CAT=$(db "select id from gradebook_category where course_code='CERTLAB' and parent_id=0")
[ -n "$CAT" ] && ok "chamilo: opening Assessments created the root category $CAT" || { ko "chamilo: no gradebook category"; exit 1; }
add_eval() { # name max weight
  if [ -z "$(db "select id from gradebook_evaluation where name='$1' and category_id=$CAT")" ]; then
    form cteacher "$CHAMILO_URL/main/gradebook/gradebook_add_eval.php?$CQ&selectcat=$CAT" add_eval_form \
      "name=$1" "max=$2" "weight_mask=$3" submit=1 |
      http cteacher -o /dev/null --data @- "$CHAMILO_URL/main/gradebook/gradebook_add_eval.php?selectcat=$CAT&$CQ"
  fi
  db "select id from gradebook_evaluation where name='$1' and category_id=$CAT"
}
grade() { # evalid then userid=score... ("" = cleared box)
  local e=$1; shift; local ov=()
  for us in "$@"; do ov+=("score[${us%%=*}]=${us#*=}"); done
  # form-fields drops a field overridden with an empty value: a cleared box must still be posted, empty.
  local data
  data=$(form cteacher "$CHAMILO_URL/main/gradebook/gradebook_add_result.php?selecteval=$e&$CQ" add_result_form "${ov[@]}" submit=1)
  for us in "$@"; do [ -z "${us#*=}" ] && data="$data&score%5B${us%%=*}%5D="; done
  http cteacher -o /dev/null --data "$data" "$CHAMILO_URL/main/gradebook/gradebook_add_result.php?selectcat=&selecteval=$e&$CQ"
}
U() { jq -r ".users.$1" "$RL_ROOT/chamilo-lab.json"; }
L1=$(U learner1); L2=$(U learner2); L3=$(U learner3); L4=$(U learner4); L5=$(U learner5)
WRITTEN=$(add_eval "Written exam" 20 40); ORAL=$(add_eval "Oral exam" 10 30); PROJECT=$(add_eval "Project" 20 30)
if [ "$(db "select count(*) from gradebook_result where evaluation_id in ($WRITTEN,$ORAL,$PROJECT)")" = 0 ]; then
  grade "$WRITTEN" "$L1=18" "$L2=16" "$L3=16" "$L4=12" "$L5=19"
  grade "$ORAL" "$L1=9" "$L2=8" "$L3=8" "$L4=5" "$L5=10"
  grade "$PROJECT" "$L1=17" "$L2=16" "$L3=15" "$L4=10" "$L5="
fi
db "select e.name, u.username, r.score from gradebook_result r join gradebook_evaluation e on e.id=r.evaluation_id join user u on u.id=r.user_id order by e.id, u.username"
jq --argjson c "$CAT" --argjson w "$WRITTEN" --argjson o "$ORAL" --argjson p "$PROJECT" \
  '.gradebook = {category: $c, written: $w, oral: $o, project: $p}' "$RL_ROOT/chamilo-lab.json" > "$RL_ROOT/chamilo-lab.json.new"
mv "$RL_ROOT/chamilo-lab.json.new" "$RL_ROOT/chamilo-lab.json"

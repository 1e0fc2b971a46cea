#!/bin/bash
# Changes one learner's grade as the teacher does: Assessments > (activity) > "Edit results"
# (main/gradebook/gradebook_edit_result.php?selecteval=EVAL), which lists every learner's result.
# Caution observed: that form shows a result with no score as 0, so saving it turns every "no score"
# of the activity into a real 0. Usage: chamilo-edit-grade.sh "Oral exam" learner4 0
set -euo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
db() { mariadb --no-defaults -h127.0.0.1 -P$MARIADB_PORT -uroot -pchamilo chamilo -N -e "$1"; }
EVAL=$(db "select id from gradebook_evaluation where name='$1' and course_code='CERTLAB'")
RES=$(db "select r.id from gradebook_result r join user u on u.id=r.user_id where r.evaluation_id=$EVAL and u.username='$2'")
chamilo_login cteacher teacher1 "$USER_PASS"
http cteacher -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
CQ="cidReq=CERTLAB&id_session=0&gidReq=0&gradebook=0&origin="
form cteacher "$CHAMILO_URL/main/gradebook/gradebook_edit_result.php?selecteval=$EVAL&$CQ" edit_result_form "score[$RES]=$3" submit=1 |
  http cteacher -o /dev/null --data @- "$CHAMILO_URL/main/gradebook/gradebook_edit_result.php?selecteval=$EVAL&$CQ"
echo "$1 / $2 = $(db "select ifnull(score,'NULL') from gradebook_result where id=$RES")"

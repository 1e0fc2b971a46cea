#!/bin/bash
# Downloads Chamilo's gradebook flat-view export as the teacher does it:
#   Course CERTLAB > Assessments > "Flat view" icon (gradebook_flatview.php?selectcat=CAT)
#   > "CSV export" icon (same page with export_format=csv&export_report=export_report&selectcat=CAT).
# When the platform has a custom score ranking, that icon first opens a dialog with a checkbox
# "Only numbers" that adds only_score=1 to the URL (gradebook_flatview.php's script); we fetch both forms.
# Name: FILE [SUFFIX] -> test/fixtures/csv/real/chamilo-1.11.28-FILE.csv
set -euo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
OUT=${OUT:-$RL_HERE/../fixtures/csv/real}
NAME=${1:-flatview}
CAT=$(jq -r .gradebook.category "$RL_ROOT/chamilo-lab.json")
chamilo_login cteacher teacher1 "$USER_PASS"
http cteacher -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
CQ="cidReq=CERTLAB&id_session=0&gidReq=0&gradebook=1&origin="
http cteacher -o "$RL_ROOT/flatview.html" "$CHAMILO_URL/main/gradebook/gradebook_flatview.php?$CQ&selectcat=$CAT"
LINK=$(grep -o 'href="[^"]*export_format=csv[^"]*"' "$RL_ROOT/flatview.html" | head -1 | sed 's/^href="//;s/"$//;s/&amp;/\&/g')
[ -n "$LINK" ] || { ko "chamilo: no CSV export link on the flat view"; exit 1; }
http cteacher -D "$RL_ROOT/$NAME.headers" -o "$OUT/chamilo-1.11.28-$NAME.csv" "$CHAMILO_URL$LINK"
http cteacher -o "$OUT/chamilo-1.11.28-$NAME-only-numbers.csv" "$CHAMILO_URL$LINK&only_score=1"
grep -i '^content-disposition' "$RL_ROOT/$NAME.headers" | tr -d '\r'
head -3 "$OUT/chamilo-1.11.28-$NAME.csv" "$OUT/chamilo-1.11.28-$NAME-only-numbers.csv"

#!/bin/bash
# Downloads Moodle's gradebook export as a teacher does it:
#   Course > Grades > (select menu) Export > Plain text file (grade/export/txt/index.php?id=COURSE),
#   leave every grade item ticked, "Export format options": Grade export display types = Real
#   (the default), or Real + Percentage; separator Comma; then "Download" (the form posts to export.php).
# Writes test/fixtures/csv/real/moodle-4.5.6-real.csv and moodle-4.5.6-real-percentage.csv.
set -euo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
OUT=${OUT:-$RL_HERE/../fixtures/csv/real}
C=$(jq -r .courseid "$RL_ROOT/moodle-lab.json")
moodle_login mteacher teacher1 "$USER_PASS"
export_txt() { # file overrides...
  local f=$1; shift
  form mteacher "$MOODLE_URL/grade/export/txt/index.php?id=$C" export.php "$@" |
    http mteacher -o "$OUT/$f" -D "$RL_ROOT/$f.headers" --data @- "$MOODLE_URL/grade/export/txt/export.php"
  grep -i '^content-disposition' "$RL_ROOT/$f.headers" | tr -d '\r'
  head -2 "$OUT/$f"
}
export_txt moodle-4.5.6-real.csv
export_txt moodle-4.5.6-real-percentage.csv 'display[percentage]=2' # advcheckbox values (0, GRADE_DISPLAY_TYPE_PERCENTAGE=2)
# The columns before the grades come from "Grade export user profile fields" (Site administration >
# Grades > General settings > grade_export_userprofilefields, default firstname,lastname,idnumber,
# institution,department,email; grade/lib.php grade_helper::get_user_profile_fields). No Username unless
# the administrator adds it: then the export has a "Username" column.
DEF=$(cd "$MOODLE_DIR" && $MPHP admin/cli/cfg.php --name=grade_export_userprofilefields)
(cd "$MOODLE_DIR" && $MPHP admin/cli/cfg.php --name=grade_export_userprofilefields --set="firstname,lastname,username,idnumber,email" && $MPHP admin/cli/purge_caches.php)
export_txt moodle-4.5.6-real-with-username.csv
(cd "$MOODLE_DIR" && $MPHP admin/cli/cfg.php --name=grade_export_userprofilefields --set="$DEF" && $MPHP admin/cli/purge_caches.php)

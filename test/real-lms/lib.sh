# Helpers shared by the drive-*.sh scripts (source after env.sh).
# Each browser-like session is a cookie jar under $RL_ROOT/jars/.
mkdir -p "$RL_ROOT/jars"
jar() { echo "$RL_ROOT/jars/$1.txt"; }
# http SESSION curl-args... : curl with SESSION's cookies, silent, errors shown.
http() { local s=$1; shift; curl -sS -c "$(jar "$s")" -b "$(jar "$s")" "$@"; }
# moodle_login SESSION USERNAME PASSWORD: the login form, as a browser posts it (logintoken included).
moodle_login() {
  rm -f "$(jar "$1")"
  local lt
  lt=$(http "$1" "$MOODLE_URL/login/index.php" | grep -o 'name="logintoken" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  http "$1" -o /dev/null -d "username=$2" --data-urlencode "password=$3" -d "logintoken=$lt" "$MOODLE_URL/login/index.php"
  http "$1" -o /dev/null -L "$MOODLE_URL/login/index.php?testsession=0" || true
  moodle_sesskey "$1" >/dev/null || { echo "moodle login failed for $2" >&2; return 1; }
}
# moodle_sesskey SESSION: prints the session key Moodle puts in every page (M.cfg.sesskey).
moodle_sesskey() { http "$1" "$MOODLE_URL/my/" | grep -o '"sesskey":"[^"]*"' | head -1 | sed 's/.*:"//;s/"$//' | grep .; }
# chamilo_login SESSION USERNAME PASSWORD: the home page's login form.
chamilo_login() {
  rm -f "$(jar "$1")"
  http "$1" -o /dev/null "$CHAMILO_URL/index.php"
  http "$1" -o /dev/null -d "login=$2" --data-urlencode "password=$3" -d "submitAuth=1&_qf__formLogin=" "$CHAMILO_URL/index.php"
  http "$1" "$CHAMILO_URL/user_portal.php" | grep -c logout >/dev/null || { echo "chamilo login failed for $2" >&2; return 1; }
}
# form SESSION URL-OF-PAGE ACTION-SUBSTRING [NAME=VALUE...]: prints the url-encoded fields of a form.
form() { local s=$1 u=$2 a=$3; shift 3; http "$s" "$u" | php "$RL_HERE/form-fields.php" "$a" "$@"; }
ok() { echo "OK   $*"; echo "OK   $*" >> "$RL_ROOT/outcomes.txt"; }
ko() { echo "FAIL $*"; echo "FAIL $*" >> "$RL_ROOT/outcomes.txt"; }
# form_action FILE: the action of the first <form> in an HTML file (entities decoded).
form_action() { php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); $f=$d->getElementsByTagName("form")->item(0); echo $f? $f->getAttribute("action") : "";' "$1"; }
# lti_launch SESSION LAUNCH-URL OUT: follows an LMS launch as a browser with JavaScript would:
# the LMS's auto-submitted login-initiation form -> tool /lti/login (302 to the LMS's auth endpoint)
# -> the LMS's auto-submitted id_token form -> tool /lti/launch (redirects followed). OUT gets the last page.
lti_launch() {
  local s=$1 url=$2 out=$3 t; t=$(mktemp -d)
  http "$s" -o "$t/1.html" "$url"
  local a1; a1=$(form_action "$t/1.html")
  [ -n "$a1" ] || { cp "$t/1.html" "$out"; echo "no login-initiation form at $url" >&2; return 1; }
  # The login initiation: the tool answers 302 to the platform's auth URL, which answers the id_token form.
  php "$RL_HERE/form-fields.php" "" < "$t/1.html" | http "$s" -o "$t/2.html" -L -w '%{url_effective}\n' --data @- "$a1" > "$t/2.url"
  local a2; a2=$(form_action "$t/2.html")
  [ -n "$a2" ] || { cp "$t/2.html" "$out"; echo "no id_token form after $(cat "$t/2.url")" >&2; return 1; }
  php "$RL_HERE/form-fields.php" "" < "$t/2.html" > "$t/idtoken.txt"
  cp "$t/idtoken.txt" "$out.idtoken"
  http "$s" -o "$out" -L -w '%{http_code} %{url_effective}\n' --data @"$t/idtoken.txt" "$a2"
  rm -rf "$t"
}
# jwt_payload FILE-WITH-FORM-FIELDS: decodes the id_token's payload (no verification: for reading claims).
jwt_payload() { php -r 'parse_str(file_get_contents($argv[1]), $f); $p=explode(".", $f["id_token"] ?? $f["JWT"] ?? "")[1] ?? ""; echo base64_decode(strtr($p, "-_", "+/"));' "$1"; }

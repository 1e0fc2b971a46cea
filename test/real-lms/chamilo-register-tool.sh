#!/bin/bash
# Registers the tool in Chamilo 1.11.28 by hand (static), in the only order that works, then adds it to
# course CERTLAB as the teacher. Needs chamilo-plugin.sh, chamilo-gradebook.sh (the course gradebook must
# exist first) and tool-serve.sh's tool. Steps, as an administrator does them:
#  1. Administration > IMS/LTI client > "Add external tool" (plugin/ims_lti/create.php): Name, Launch URL,
#     LTI Version "LTI 1.3.0", Public key type **"RSA key" left empty** (the tool's PEM for Chamilo does not
#     exist yet, and the edit form shows the "Public key" box only for tools created with "RSA key": a tool
#     created with "Keyset URL" keeps a "Jwks URL" box, and Chamilo's token.php accepts only a PEM),
#     Login URL, Redirect URL; Advanced settings: Custom params "username=$User.username",
#     Assigment and Grades Service "Synchronize grades and column management"; Privacy: name, email.
#     (The create form's Names and Role Provisioning choice is ignored: create.php does not read 1p3_nrps.)
#  2. The tool's "Configuration settings for tool" page (tool_settings.php?id=N): Platform ID, Deployment ID,
#     Client ID, OIDC Auth URL, OAuth2 Access Token URL, Keyset URL -> $RL_ROOT/platform-config/chamilo.json,
#     then restart the tool (platform files are read at start only).
#  3. The tool's /admin: copy "The tool's public key for this platform" (PEM).
#  4. Chamilo: Edit the tool (edit.php?id=N): paste it in "Public key"; Names and Role Provisioning Service
#     "Use service"; Save.
#  5. As teacher1: Course > Settings > IMS/LTI client "Configure external tools" (plugin/ims_lti/configure.php)
#     > "Add" on Certificates > Save. Chamilo creates the gradebook evaluation "Certificates" (max 100,
#     weight 100) and the course tool link (start.php?id=COPY).
set -euo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
db() { mariadb --no-defaults -h127.0.0.1 -P$MARIADB_PORT -uroot -pchamilo chamilo -N -e "$1"; }
chamilo_login cadmin admin "$ADMIN_PASS"
form cadmin "$CHAMILO_URL/plugin/ims_lti/create.php" ism_lti_create_tool "name=Certificates" "description=Course certificates" \
  "launch_url=$TOOL_URL/lti/launch" public_key_type=rsa_key "jwks_url=" "login_url=$TOOL_URL/lti/login" \
  "redirect_url=$TOOL_URL/lti/launch" 'custom_params=username=$User.username' 1p3_ags=full 1p3_nrps=simple \
  share_name=1 share_email=1 submit=1 | http cadmin -o /dev/null --data @- "$CHAMILO_URL/plugin/ims_lti/create.php"
TOOL=$(db "select max(id) from plugin_ims_lti_tool where parent_id is null")
http cadmin -o "$RL_ROOT/tool_settings.html" "$CHAMILO_URL/plugin/ims_lti/tool_settings.php?id=$TOOL"
val() { sed 's/<[^>]*>/ /g' "$RL_ROOT/tool_settings.html" | tr -s ' \n' | grep -o "$1 [^ ]*" | head -1 | sed "s/^$1 //"; }
CID=$(val "Client ID"); DEP=$(val "Deployment ID")
echo "Chamilo tool $TOOL: client id $CID, deployment id $DEP, $(db "select advantage_services from plugin_ims_lti_tool where id=$TOOL")"
mkdir -p "$RL_ROOT/platform-config"
jq -n --arg i "$(val "Platform ID")" --arg c "$CID" --arg a "$(val "OIDC Auth URL")" --arg t "$(val "OAuth2 Access Token URL")" \
  --arg k "$(val "Keyset URL")" --arg d "$DEP" \
  '{name: "Lab Chamilo 1.11.28", issuer: $i, clientId: $c, authUrl: $a, tokenUrl: $t, jwksUrl: $k, deploymentIds: [$d], active: true}' \
  > "$RL_ROOT/platform-config/chamilo.json"
"$RL_HERE/tool-serve.sh"
rm -f "$(jar tooladmin)"
http tooladmin -o /dev/null -H "Origin: $TOOL_URL" --data-urlencode "secret=$(cat "${DATA_DIR:-/work/reallms-data}/admin-secret")" "$TOOL_URL/admin/login"
http tooladmin -o "$RL_ROOT/tool-admin.html" "$TOOL_URL/admin"
PEM=$(php -r '$d=new DOMDocument(); @$d->loadHTML(file_get_contents($argv[1])); $x=new DOMXPath($d);
  foreach ($x->query("//article[@data-client-id=\"".$argv[2]."\"]//pre[@class=\"pem\"]") as $p) { echo trim($p->textContent); break; }' \
  "$RL_ROOT/tool-admin.html" "$CID")
[ -n "$PEM" ] && ok "tool: PEM for Chamilo client $CID shown on /admin" || { ko "tool: no PEM for $CID on /admin"; exit 1; }
form cadmin "$CHAMILO_URL/plugin/ims_lti/edit.php?id=$TOOL" ims_lti_edit_tool "public_key=$PEM" 1p3_nrps=simple submit=1 |
  http cadmin -o /dev/null --data @- "$CHAMILO_URL/plugin/ims_lti/edit.php"
echo "after edit: $(db "select concat(advantage_services, ' pem ', length(public_key)) from plugin_ims_lti_tool where id=$TOOL")"
chamilo_login cteacher teacher1 "$USER_PASS"
http cteacher -o /dev/null "$CHAMILO_URL/courses/CERTLAB/index.php"
form cteacher "$CHAMILO_URL/plugin/ims_lti/configure.php?type=$TOOL&cidReq=CERTLAB&id_session=0&gidReq=0&gradebook=0&origin=" \
  ims_lti_add_tool submit=1 | http cteacher -o /dev/null --data @- "$CHAMILO_URL/plugin/ims_lti/configure.php"
COPY=$(db "select max(id) from plugin_ims_lti_tool where parent_id=$TOOL")
[ -n "$COPY" ] && ok "chamilo: tool added to CERTLAB (copy $COPY; course link $(db "select link from c_tool where link='ims_lti/start.php?id=$COPY'"))" ||
  ko "chamilo: adding the tool to CERTLAB"
db "select concat('gradebook evaluation: ', name, ' max ', max, ' weight ', weight) from gradebook_evaluation where name='Certificates'"
jq --argjson t "$TOOL" --argjson c "$COPY" --arg id "$CID" '.lti = {tool: $t, copy: $c, clientid: $id}' "$RL_ROOT/chamilo-lab.json" > "$RL_ROOT/chamilo-lab.json.new"
mv "$RL_ROOT/chamilo-lab.json.new" "$RL_ROOT/chamilo-lab.json"

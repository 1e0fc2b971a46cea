#!/bin/bash
# Enables Chamilo's IMS/LTI plugin as an administrator does it (logged in as admin):
#  1. Administration > Plugins (main/admin/settings.php?category=Plugins): tick "IMS/LTI", "Enable the
#     selected plugins". (The form uninstalls every plugin left unticked: we re-post the ones already on.)
#  2. Administration > Plugins > IMS/LTI "Configure" (main/admin/configure_plugin.php?name=ims_lti):
#     Enable = Yes, Save. This generates the platform key pair; every later save generates a new one.
#  3. Administration > Regions (main/admin/settings.php?category=Regions): ims_lti -> menu_administrator,
#     otherwise the Administration page has no "IMS/LTI client" link.
set -euo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
db() { mariadb --no-defaults -h127.0.0.1 -P$MARIADB_PORT -uroot -pchamilo chamilo -N -e "$1"; }
chamilo_login cadmin admin "$ADMIN_PASS"
http cadmin -o "$RL_ROOT/plugins.html" "$CHAMILO_URL/main/admin/settings.php?category=Plugins"
TOKEN=$(grep -o 'sec_token=[a-z0-9]*' "$RL_ROOT/plugins.html" | head -1)
ON=$(db "select subkey from settings_current where variable='status' and category='Plugins' and selected_value='installed'" | grep -v '^ims_lti$' || true)
DATA="plugin_ims_lti%5B%5D=on&submit_plugins="
for p in $ON; do DATA="$DATA&plugin_$p%5B%5D=on"; done
http cadmin -o /dev/null --data "$DATA" "$CHAMILO_URL/main/admin/settings.php?category=Plugins&$TOKEN"
if [ "$(db "select selected_value from settings_current where variable='ims_lti_enabled'")" != "true" ]; then
  http cadmin -o /dev/null -d 'enabled=true&_qf__ims_lti=&submit_button=' "$CHAMILO_URL/main/admin/configure_plugin.php?name=ims_lti"
fi
http cadmin -o /dev/null -d 'plugin_ims_lti%5B%5D=menu_administrator&submit_plugins=' "$CHAMILO_URL/main/admin/settings.php?category=Regions"
http cadmin -o "$RL_ROOT/admin.html" "$CHAMILO_URL/main/admin/index.php"
grep -q 'ims_lti/admin.php' "$RL_ROOT/admin.html" && ok "chamilo: Administration shows 'IMS/LTI client' (plugin on, region menu_administrator)" ||
  ko "chamilo: no IMS/LTI client link on Administration"
db "select variable, selected_value from settings_current where subkey='ims_lti'"

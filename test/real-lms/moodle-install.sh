#!/bin/bash
# Installs Moodle 4.5.6 on Postgres 15 (port 5432) and applies the site settings a local tool needs.
# Idempotent enough: skips the install when config.php already exists.
set -euo pipefail
. "$(dirname "$0")/env.sh"
pg_ctlcluster 15 main start 2>/dev/null || true
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='moodle'\"" | grep -q 1 ||
  su postgres -c "psql -c \"CREATE ROLE moodle LOGIN PASSWORD 'moodle'\""
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='moodle'\"" | grep -q 1 ||
  su postgres -c "createdb -O moodle -E UTF8 -T template0 moodle"
mkdir -p "$MOODLE_DATA"
cd "$MOODLE_DIR"
if [ ! -f config.php ]; then
  time nice -n 10 $MPHP admin/cli/install.php --non-interactive --agree-license \
    --wwwroot="$MOODLE_URL" --dataroot="$MOODLE_DATA" --dbtype=pgsql --dbhost=127.0.0.1 \
    --dbname=moodle --dbuser=moodle --dbpass=moodle --fullname="Lab Moodle" --shortname=lab \
    --adminuser=admin --adminpass="$ADMIN_PASS" --adminemail=admin@example.com
fi
cfg() { $MPHP admin/cli/cfg.php --name="$1" --set="$2"; }
# Site administration > General > Security > HTTP security: let Moodle fetch a tool on localhost:3100.
cfg curlsecurityblockedhosts ''
cfg curlsecurityallowedport "$(printf '443\n80\n%s' "$TOOL_PORT")"
# Site administration > Server > Email > Outgoing mail configuration: never send mail.
cfg noemailever 1
# Site administration > General > Advanced features: Enable web services; Server > Web services > Manage protocols: REST.
cfg enablewebservices 1
cfg webserviceprotocols rest
cfg enablecompletion 1
$MPHP admin/cli/purge_caches.php
echo "Moodle installed: $MOODLE_URL (admin / $ADMIN_PASS)"

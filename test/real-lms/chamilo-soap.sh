#!/bin/bash
# Calls Chamilo 1.11.28's SOAP gradebook service (main/webservices/gradebook.php,
# WSGetGradebookCategoryUserScore) the way a client without a SOAP library would: one rpc/encoded
# envelope per learner, POSTed with SOAPAction. Saves each answer byte for byte in
# test/fixtures/chamilo-soap/ (index.tsv: file, HTTP status, content type, case).
# The secret key (main/webservices/gradebook.php WSHelperVerifyKey, main/inc/lib/api.lib.php
# api_is_valid_secret_key): sha1(<client IP as Chamilo sees it> . $_configuration['security_key']),
# the security key being in Chamilo's app/config/configuration.php. If webservice-auth-ip.conf.php
# defines $ws_auth_ip, the key is sha1(security_key) alone.
set -euo pipefail
. "$(dirname "$0")/env.sh"; . "$RL_HERE/lib.sh"
OUT=${OUT:-$RL_HERE/../fixtures/chamilo-soap}
mkdir -p "$OUT"
URL=$CHAMILO_URL/main/webservices/gradebook.php
SECURITY_KEY=$(php -r 'include $argv[1]; echo $_configuration["security_key"];' "$CHAMILO_DIR/app/config/configuration.php")
sha1() { php -r 'echo sha1($argv[1]);' "$1"; }
KEY=$(sha1 "127.0.0.1$SECURITY_KEY")
envelope() { # course email secret
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:WSGradebook" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><SOAP-ENV:Body><ns1:WSGetGradebookCategoryUserScore><params xsi:type="ns1:WSGradebookCategoryScoreParams"><course_code xsi:type="xsd:string">%s</course_code><session_id xsi:type="xsd:string">0</session_id><email xsi:type="xsd:string">%s</email><secret_key xsi:type="xsd:string">%s</secret_key></params></ns1:WSGetGradebookCategoryUserScore></SOAP-ENV:Body></SOAP-ENV:Envelope>\n' "$1" "$2" "$3"
}
: > "$OUT/index.tsv.new"
call() { # name course email secret [extra curl args] -- case description in $CASE
  local name=$1 c=$2 e=$3 s=$4; shift 4
  local meta; meta=$(envelope "$c" "$e" "$s" | curl -sS -o "$OUT/$name.xml" -w '%{http_code}\t%{content_type}\t%{size_download}' \
    -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "urn:WSGradebook#WSGetGradebookCategoryUserScore"' \
    "$@" --data-binary @- "$URL")
  local ret; ret=$(php -r '$x=file_get_contents($argv[1]); preg_match("#<return[^>]*>(.*?)</return>|<faultstring[^>]*>(.*?)</faultstring>#s",$x,$m); echo ($m[1] ?? "") . ($m[2] ?? "");' "$OUT/$name.xml")
  printf '%s.xml\t%s\t%s\t%s\n' "$name" "$meta" "$ret" "$CASE" >> "$OUT/index.tsv.new"
  echo "$name: $meta -> $ret"
}
envelope CERTLAB learner1@example.com "$KEY" > "$OUT/request.learner1.xml"
curl -sS -o "$OUT/wsdl.xml" "$URL?wsdl"
for l in learner1 learner2 learner3 learner4 learner5; do CASE="$l's course total"; call "total.$l" CERTLAB "$l@example.com" "$KEY"; done
CASE="teacher1, enrolled as teacher"; call total.teacher1 CERTLAB teacher1@example.com "$KEY"
CASE="the admin, not in the course"; call total.not-enrolled CERTLAB admin@example.com "$KEY"
CASE="wrong secret key"; call fault.bad-key CERTLAB learner1@example.com 0000000000000000000000000000000000000000
CASE="unknown e-mail"; call fault.unknown-email CERTLAB nobody@example.com "$KEY"
CASE="unknown course code"; call fault.unknown-course NOPE learner1@example.com "$KEY"
CASE="X-Forwarded-For: 203.0.113.9 and the key computed for that address (the header chooses the IP in the hash)"
call total.learner1.forwarded-for CERTLAB learner1@example.com "$(sha1 "203.0.113.9$SECURITY_KEY")" -H 'X-Forwarded-For: 203.0.113.9'
# With an IP list (main/webservices/webservice-auth-ip.conf.php, from webservice-auth-ip.conf.dist.php) that
# does NOT contain 127.0.0.1: the key becomes sha1(security_key) and the list is not enforced ($ip_matches unused).
printf '<?php\n$ws_auth_ip = "10.9.8.7";\n' > "$CHAMILO_DIR/main/webservices/webservice-auth-ip.conf.php"
CASE="IP list 10.9.8.7 configured, caller 127.0.0.1, key sha1(security_key)"
call total.learner1.ip-list-not-matching CERTLAB learner1@example.com "$(sha1 "$SECURITY_KEY")"
CASE="IP list configured, caller 127.0.0.1, key sha1(ip.security_key)"
call fault.ip-list-ip-key CERTLAB learner1@example.com "$KEY"
rm -f "$CHAMILO_DIR/main/webservices/webservice-auth-ip.conf.php"
mv "$OUT/index.tsv.new" "$OUT/index.tsv"

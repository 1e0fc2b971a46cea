#!/bin/sh
# One-shot: the replica set members authenticate each other with a shared keyfile (400, owned by
# the image's mongodb user 999). Generated once into the mongo-keyfile volume, kept afterwards.
set -eu
if [ ! -s /keyfile/keyfile ]; then
  head -c 756 /dev/urandom | base64 | tr -d '\n' > /keyfile/keyfile
  echo "generated a new replica set keyfile"
fi
chmod 400 /keyfile/keyfile
chown 999:999 /keyfile/keyfile

#!/bin/sh
# Entry of the app container in docker-compose.yml. The secret key (secrets at rest, job tokens):
# TERARCHITECT_SECRET_KEY from .env when set; otherwise the key kept in the app-data volume
# (/data/secret.key), generated there (mode 0600) on the first start. It is handed to the app as
# TERARCHITECT_SECRET_KEY, never printed. Back the volume up with the database: without the key the
# stored secrets are unreadable (docs/RUNBOOK.md "Key rotation", "Backups and restore").
set -eu
if [ -z "${TERARCHITECT_SECRET_KEY:-}" ]; then
  file="${TERARCHITECT_DATA_DIR:-/data}/secret.key"
  if [ ! -s "$file" ]; then
    umask 077
    head -c 32 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_' >"$file.new"
    mv "$file.new" "$file"
    echo "terarchitect: generated the secret key into $file (the app-data volume); back it up with the database" >&2
  fi
  TERARCHITECT_SECRET_KEY="$(cat "$file")"
  export TERARCHITECT_SECRET_KEY
fi
exec "$@"

#!/usr/bin/env bash
# Smoke test of docker-compose.yml (runbook option A) on a machine without a container registry:
#   1. builds a stand-in PostgreSQL image FROM terarchitect-base:bookworm (Debian's postgresql-15,
#      with an entrypoint honouring the official image's POSTGRES_DB/USER/PASSWORD contract);
#   2. builds the app image from the same base (deploy/Dockerfile.app, after `npm run build`);
#   3. `docker-compose up`, checks /api/health on :5010 and the UI on :3000, that the people API
#      wants the admin token, and that the app uses PostgreSQL; then `docker-compose down -v`.
# Needs root, dockerd, docker-compose and the base image (scripts/provision-docker.sh provides all
# three). Ports: APP_PORT (default 15010) and UI_PORT (default 13000) so a running app is not
# disturbed; SMOKE_PROJECT names the compose project (default terarchitect-smoke-<pid>).
# test/deploy-compose.test.ts runs this in the suite and checks each `[compose-smoke]` line.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_IMAGE="${BASE_IMAGE:-terarchitect-base:bookworm}"
PG_IMAGE=terarchitect-test-postgres:15
export APP_PORT="${APP_PORT:-15010}" UI_PORT="${UI_PORT:-13000}"
project="${SMOKE_PROJECT:-terarchitect-smoke-$$}"
log() { printf '[compose-smoke] %s\n' "$*"; }
fail() { log "FAILED: $*"; exit 1; }
command -v docker-compose >/dev/null 2>&1 || fail "docker-compose is missing (scripts/provision-docker.sh installs it)"

if ! docker image inspect "$PG_IMAGE" >/dev/null 2>&1; then
  log "building $PG_IMAGE from $BASE_IMAGE (apt-get inside the build, ≈30 s)"
  ctx="$(mktemp -d)"
  cat >"$ctx/entrypoint.sh" <<'SH'
#!/bin/sh
set -e
export PGDATA=/var/lib/postgresql/data
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA" && chown postgres "$PGDATA" && chmod 700 "$PGDATA"
  printf '%s' "$POSTGRES_PASSWORD" >/tmp/pwfile && chown postgres /tmp/pwfile
  su postgres -c "/usr/lib/postgresql/15/bin/initdb -D $PGDATA -U $POSTGRES_USER --pwfile=/tmp/pwfile --auth=scram-sha-256" >/dev/null
  rm -f /tmp/pwfile
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $PGDATA -w start -o '-c listen_addresses='" >/dev/null
  PGPASSWORD="$POSTGRES_PASSWORD" psql -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -c "create database \"$POSTGRES_DB\"" >/dev/null
  su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $PGDATA -w stop" >/dev/null
fi
exec su postgres -c "exec /usr/lib/postgresql/15/bin/postgres -D $PGDATA"
SH
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE_IMAGE
RUN apt-get update -q && apt-get install -y -q --no-install-recommends postgresql-15 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/run/postgresql && chown postgres /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:\$PATH
COPY entrypoint.sh /usr/local/bin/entrypoint.sh
RUN chmod +x /usr/local/bin/entrypoint.sh
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
DOCKERFILE
  docker build -q -t "$PG_IMAGE" "$ctx" >/dev/null || fail "building $PG_IMAGE"
  rm -rf "$ctx"
fi

[ -f dist/server.js ] || node scripts/build.mjs
env_file="$(mktemp)"
cat >"$env_file" <<ENV
POSTGRES_PASSWORD=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
TERARCHITECT_ADMIN_TOKEN=admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
TERARCHITECT_WORKER_API_KEY=worker-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
TERARCHITECT_SECRET_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
BASE_IMAGE=$BASE_IMAGE
POSTGRES_IMAGE=$PG_IMAGE
ENV
compose() { docker-compose -p "$project" --env-file "$env_file" -f docker-compose.yml "$@"; }
cleanup() { compose down -v >/dev/null 2>&1 || true; rm -f "$env_file"; }
trap cleanup EXIT

log "docker-compose config"
compose config -q || fail "docker-compose.yml does not validate"
log "docker-compose up --build"
started=$(date +%s)
compose up -d --build >/dev/null 2>&1 || { compose logs --tail 40; fail "docker-compose up"; }
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$APP_PORT/api/health" >/dev/null 2>&1 && break
  sleep 0.5
done
health="$(curl -fsS "http://127.0.0.1:$APP_PORT/api/health")" || { compose logs --tail 40; fail "the app never answered on :$APP_PORT"; }
log "health on :$APP_PORT after $(( $(date +%s) - started )) s: $health"
echo "$health" | grep -q '"db":"postgres"' || fail "the app is not on PostgreSQL"
ui="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$UI_PORT/")"
people="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APP_PORT/api/projects")"
log "UI on :$UI_PORT: HTTP $ui; people API without the admin token: HTTP $people"
[ "$ui" = 200 ] || fail "the UI answered HTTP $ui"
[ "$people" = 401 ] || fail "the people API answered HTTP $people without the admin token"
user="$(compose exec -T app id -u 2>/dev/null | tr -d '\r')"
log "app runs as uid $user"
[ -n "$user" ] && [ "$user" != 0 ] || fail "the app container runs as root"
log "ok"

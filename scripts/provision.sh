#!/usr/bin/env bash
# Installs what the test suites need, idempotently (quick when everything is present). Run as
# root on CI and fresh machines; a non-root run only checks and reports what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
command -v git >/dev/null || need_apt+=(git)
command -v ip >/dev/null || need_apt+=(iproute2)
# test/deploy-systemd.test.ts verifies the coordinator's unit with systemd-analyze.
command -v systemd-analyze >/dev/null || need_apt+=(systemd)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "provision: missing ${need_apt[*]} and not root; install them" >&2
    exit 1
  fi
  echo "provision: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The Debian package starts a cluster of its own; the tests start theirs, so stop it.
if [ "$(id -u)" = 0 ] && command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_ctlcluster 15 main stop 2>/dev/null || true
fi

for part in docker chromium clis; do
  if [ -f "scripts/provision-$part.sh" ]; then bash "scripts/provision-$part.sh"; fi
done
echo "provision: ok"

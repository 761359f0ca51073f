#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (test/ui/) and the UI benches, as root.
# Idempotent and quick when /usr/bin/chromium is already there. `apt-get update` runs only when the
# first install attempt fails (missing or stale package lists). Works unattended (CI=true).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { printf '[provision-chromium] %s\n' "$*"; }

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "/usr/bin/chromium is missing and this is not root: apt-get install chromium"; exit 1
fi
log "installing chromium"
if ! apt-get install -y -q --no-install-recommends chromium fonts-liberation >/tmp/provision-chromium.log 2>&1; then
  log "apt-get update (package lists missing or stale)"
  apt-get update -q >>/tmp/provision-chromium.log 2>&1
  apt-get install -y -q --no-install-recommends chromium fonts-liberation >>/tmp/provision-chromium.log 2>&1 \
    || { tail -n 30 /tmp/provision-chromium.log; log "apt-get install failed"; exit 1; }
fi
/usr/bin/chromium --version >/dev/null 2>&1 || { log "chromium installed but does not start"; exit 1; }
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"

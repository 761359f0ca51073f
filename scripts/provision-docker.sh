#!/usr/bin/env bash
# Provisions what the Docker tests and the coordinator need on a Debian host, as root:
#   1. the Docker engine (Debian's docker.io), docker-compose, debootstrap and docker-registry (the
#      swarm suite's local registry), installed when missing;
#   2. a running dockerd (started detached, logging to /var/log/dockerd.log) answering on its socket;
#   3. the base image terarchitect-base:bookworm, built without any registry:
#      debootstrap minbase + git + ca-certificates from this machine's Debian mirror, plus the host's
#      node binary at /usr/local/bin/node, tarred and `docker import`ed (≈35 s, ≈277 MB).
# Idempotent: each step checks first, so a second run takes well under a second.
# Works unattended (CI=true): no prompts, progress on stdout, non-zero exit on any failure.
set -euo pipefail

BASE_IMAGE="${TERARCHITECT_BASE_IMAGE:-terarchitect-base:bookworm}"
SUITE=bookworm
SOCKET=/var/run/docker.sock
DOCKERD_LOG=/var/log/dockerd.log
export DEBIAN_FRONTEND=noninteractive

log() { printf '[provision-docker] %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  log "must run as root (apt-get, dockerd)"; exit 1
fi

# --- 1. packages -------------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# The docker-swarm suite's local registry (a process it starts itself on an address it picks).
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  # `apt-get update` only when needed: the first install attempt fails on missing/stale lists.
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/provision-apt.log 2>&1; then
    log "apt-get update (package lists missing or stale)"
    apt-get update -q >>/tmp/provision-apt.log 2>&1
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/provision-apt.log 2>&1 \
      || { tail -n 30 /tmp/provision-apt.log; log "apt-get install failed"; exit 1; }
  fi
  log "installed ${missing[*]}"
  # The package enables a registry service on :5000; the tests start their own and need none.
  if [[ " ${missing[*]} " == *" docker-registry "* ]]; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || service docker-registry stop >/dev/null 2>&1 || true
  fi
fi

# --- 2. dockerd ----------------------------------------------------------------------------------
socket_answers() { curl -fsS --max-time 2 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1 \
  || docker version >/dev/null 2>&1; }
if ! socket_answers; then
  log "starting dockerd (log: $DOCKERD_LOG)"
  # setsid + nohup: the daemon outlives this script and the shell that ran it.
  setsid nohup dockerd --host "unix://$SOCKET" >>"$DOCKERD_LOG" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    socket_answers && break
    sleep 0.25
  done
  if ! socket_answers; then
    tail -n 40 "$DOCKERD_LOG" || true
    log "dockerd did not answer on $SOCKET within 30 s"; exit 1
  fi
fi
log "dockerd answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

# --- 3. base image ------------------------------------------------------------------------------
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "base image $BASE_IMAGE present"
  exit 0
fi

# The mirror this machine's apt already uses (deb822 `URIs:` or one-line `deb URL suite`), so the
# build reaches the same Debian archive apt does. No mirror is assumed: without one this stops.
mirror=""
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  candidate=$(awk '
    /^[[:space:]]*#/ { next }
    /^URIs:/ { uri = $2 }
    /^Suites:/ { if (uri != "" && $0 ~ /[[:space:]]bookworm([[:space:]]|$)/) { print uri; exit } }
    /^deb[[:space:]]/ { if ($3 == "bookworm") { print ($2 ~ /^\[/ ? $3 : $2); exit } }
  ' "$f")
  if [ -n "$candidate" ]; then mirror="$candidate"; break; fi
done
if [ -z "$mirror" ]; then
  log "no apt source for $SUITE found in /etc/apt/sources.list or /etc/apt/sources.list.d/; add one (the Debian mirror this machine uses) and run again"
  exit 1
fi

node_bin="$(command -v node)"
workdir="$(mktemp -d /tmp/terarchitect-base.XXXXXX)"
cleanup() {
  # debootstrap mounts proc/sys (and may bind /dev) inside the target; a failed run can leave them
  # mounted. Unmount first and never cross into another filesystem while deleting.
  { grep -o " $workdir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mountpoint; do umount -l "$mountpoint" || true; done
  rm -rf --one-file-system "$workdir" || true
}
trap cleanup EXIT
log "debootstrap $SUITE from $mirror into $workdir/rootfs (takes ~30 s)"
started=$(date +%s)
debootstrap --variant=minbase --include=git,ca-certificates "$SUITE" "$workdir/rootfs" "$mirror" \
  >"$workdir/debootstrap.log" 2>&1 || { tail -n 30 "$workdir/debootstrap.log"; log "debootstrap failed"; exit 1; }
log "debootstrap done in $(( $(date +%s) - started )) s"

install -m 0755 "$node_bin" "$workdir/rootfs/usr/local/bin/node"
# The image is smaller without apt's caches and the downloaded .debs.
rm -rf "$workdir/rootfs/var/cache/apt/archives/"*.deb "$workdir/rootfs/var/lib/apt/lists/"*
log "importing $BASE_IMAGE (node $("$node_bin" --version))"
tar -C "$workdir/rootfs" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$BASE_IMAGE" >/dev/null
log "base image $BASE_IMAGE ready ($(docker image inspect "$BASE_IMAGE" --format '{{.Size}}') bytes) in $(( $(date +%s) - started )) s"

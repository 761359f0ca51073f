#!/bin/sh
# Entrypoint of the agent image (Dockerfile.agent). Starts a private dockerd when the container is
# meant for Docker-in-Docker, then runs the agent as AGENT_USER (the image's `agent`, uid 1000):
#
#   agent-entrypoint.sh ticket|review|ci_fix   → node /app/agent.js ticket|review|ci_fix
#   agent-entrypoint.sh node /app/agent.js …   → runs the command as given (the executors' default Cmd)
#   agent-entrypoint.sh node /app/agent.js pooled → a warm container's agent (AGENT_WARM_POOL): dockerd
#                                                  comes up first as always, then the agent waits for the
#                                                  job file the coordinator uploads (core/agent/wait-job.ts)
#
# dockerd stays root; the agent, and so the worker CLI and the project's commands, run unprivileged
# with the user's groups plus the group owning /var/run/docker.sock (the inner daemon's `docker`, or
# in dood the mounted host socket's, whose gid differs from host to host). Docker access is still
# root-equivalent inside the container: no uid can keep a secret that is in it, which is why none is.
# Started as non-root, or with AGENT_USER empty or unknown, the command runs as it is.
#
# AGENT_DIND: `auto` (default) starts dockerd unless the host daemon is reachable already (dood: a
# mounted /var/run/docker.sock or DOCKER_HOST) and goes on without it if it cannot start (the agent
# itself does not need Docker; the project's commands might); `required` fails instead; `off` never.
#
# cgroup v1 hosts mount the hierarchies read-only in a non-privileged container, and the inner runc
# must create cgroups: `mount -o remount,rw,bind` on each hierarchy works (measured: a plain
# `remount,rw` fails with EBUSY). Under --privileged they are rw already and this is a no-op.
set -eu

# AGENT_ENV_DIR (the kubernetes executor): the job's environment arrives as files, one per variable,
# from a Secret volume, so no value is in the Pod spec. Each file is exported (its content exactly,
# trailing newlines kept) before anything else runs; the files stay readable by root only.
if [ -n "${AGENT_ENV_DIR:-}" ]; then
  for file in "$AGENT_ENV_DIR"/*; do
    name="${file##*/}"
    case "$name" in [!A-Za-z_]*|*[!A-Za-z0-9_]*) continue ;; esac
    [ -f "$file" ] || continue
    value="$(cat "$file"; printf x)"
    export "$name=${value%x}"
  done
  unset AGENT_ENV_DIR file name value
fi

mode="${AGENT_DIND:-auto}"

start_dockerd() {
  if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
    for hierarchy in /sys/fs/cgroup/*/; do
      mount -o remount,rw,bind "$hierarchy" 2>/dev/null || true
    done
  fi
  dockerd >/var/log/dockerd.log 2>&1 &
  tries=0
  # Up to 30 s: the first start on a fresh /var/lib/docker volume takes a few seconds.
  until docker version >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 150 ] || ! kill -0 "$!" 2>/dev/null; then
      echo "agent-entrypoint: dockerd did not start; its log:" >&2
      tail -n 20 /var/log/dockerd.log >&2 || true
      return 1
    fi
    sleep 0.2
  done
  echo "agent-entrypoint: dockerd ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
}

if [ "$mode" != off ] && [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ] && command -v dockerd >/dev/null 2>&1; then
  if ! start_dockerd; then
    if [ "$mode" = required ]; then exit 1; fi
    echo "agent-entrypoint: continuing without Docker in the container (AGENT_DIND=required makes this fatal)" >&2
  fi
fi

run_as_agent() {
  user="${AGENT_USER:-}"
  if [ "$(id -u)" != 0 ] || [ -z "$user" ] || ! id "$user" >/dev/null 2>&1; then exec "$@"; fi
  groups="$(id -G "$user" | tr ' ' ',')"
  if [ -S /var/run/docker.sock ]; then groups="$groups,$(stat -c %g /var/run/docker.sock)"; fi
  # A fresh named volume's root is root-owned: hand the cache and the workspace to the user once.
  for dir in /cache "${AGENT_WORKSPACE:-/workspace}"; do
    if [ -d "$dir" ] && [ "$(stat -c %u "$dir")" = 0 ]; then chown "$user:" "$dir" 2>/dev/null || true; fi
  done
  HOME="$(getent passwd "$user" | cut -d: -f6)" USER="$user" LOGNAME="$user"
  export HOME USER LOGNAME
  exec setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --groups="$groups" -- "$@"
}

case "${1:-}" in
  ticket|review|ci_fix) run_as_agent node --enable-source-maps /app/agent.js "$@" ;;
  "") echo "usage: agent-entrypoint.sh ticket|review|ci_fix | <command…>" >&2; exit 2 ;;
  *) run_as_agent "$@" ;;
esac

#!/usr/bin/env bash
# Builds the agent image (Dockerfile.agent) on this host:
#
#   scripts/build-agent-image.sh                  # → terarchitect-agent:latest FROM terarchitect-base:bookworm
#   AGENT_IMAGE=my/agent:1 AGENT_BASE_IMAGE=node:20-bookworm-slim scripts/build-agent-image.sh
#
# Environment: AGENT_IMAGE (tag, default terarchitect-agent), AGENT_BASE_IMAGE (default the locally
# imported terarchitect-base:bookworm that scripts/provision-docker.sh makes, since no registry is
# reachable here), AGENT_IMAGE_EXTRA_CA (default: the *.crt files of /usr/local/share/ca-certificates,
# so the build's npm traffic passes a TLS-inspecting proxy this host trusts; '' = none),
# INSTALL_AIDER (auto|always|never), DOCKER_HOST.
#
# Package sources: the image's npm uses this host's npm registry (`npm config get registry`, passed as
# the NPM_REGISTRY build arg, credentials in the URL dropped), and pip this host's index when one is
# configured (PIP_INDEX_URL or `pip config get global.index-url`). Aider is installed when
# INSTALL_AIDER=always, or with auto when this host's pip can see aider-chat's pinned version.
#
# The CLI versions come from the PINS in scripts/provision-clis.sh, so the image runs exactly what
# the tests ran. The agent bundle is dist/agent.js; `npm run build` runs first when it is missing or
# older than the sources.
#
# Why the Engine API (plugins/executors/docker/engine.ts) and not `docker build`: the CLI in front of
# a daemon varies from host to host (here a docker 28 CLI without buildx talks to a 20.10 daemon, and
# the legacy builder and BuildKit differ in output and in how ARG/COPY behave), while POST /build with
# a tar context at the pinned API 1.41 behaves the same everywhere, and the client already scans the
# build stream for the errors a daemon reports inside an HTTP 200. The context is a temp dir holding
# only the Dockerfile, the bundle, the entrypoint and the HOME preparation script (kilobytes, not the
# repo with node_modules).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

tag="${AGENT_IMAGE:-terarchitect-agent}"
base="${AGENT_BASE_IMAGE:-terarchitect-base:bookworm}"
ca_dir="${AGENT_IMAGE_EXTRA_CA-/usr/local/share/ca-certificates}"

log() { printf '[build-agent-image] %s\n' "$*"; }

# --- the bundle ------------------------------------------------------------------------------------
stale=0
if [ ! -f dist/agent.js ] || [ ! -f dist/agent.js.map ]; then
  stale=1
elif [ -n "$(find agent.ts core plugins -name '*.ts' -newer dist/agent.js -print -quit)" ]; then
  stale=1
fi
if [ "$stale" = 1 ]; then
  log "building the bundle (npm run build)"
  node scripts/build.mjs
fi

# --- the context ---------------------------------------------------------------------------------
context="$(mktemp -d /tmp/terarchitect-agent-ctx.XXXXXX)"
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/dist" "$context/scripts"
cp Dockerfile.agent "$context/Dockerfile"
cp dist/agent.js dist/agent.js.map "$context/dist/"
cp scripts/agent-entrypoint.sh scripts/prepare-worker-homes.mjs "$context/scripts/"
chmod 755 "$context/scripts/agent-entrypoint.sh"

# --- build args ------------------------------------------------------------------------------------
pin() { grep -E "^\s*\"$1\|" scripts/provision-clis.sh | head -n1 | cut -d'|' -f3; }
extra_ca=""
if [ -n "$ca_dir" ] && [ -d "$ca_dir" ]; then
  extra_ca="$(find "$ca_dir" -maxdepth 1 -name '*.crt' -type f -exec cat {} + 2>/dev/null || true)"
fi
# A URL without its user:password part (build args are readable in the image's history).
strip_credentials() { printf '%s' "$1" | sed -E 's#^([a-z]+://)[^/@]*@#\1#'; }
npm_registry="$(strip_credentials "$(npm config get registry 2>/dev/null || true)")"
pip_index="${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}"
pip_index="$(strip_credentials "$pip_index")"
aider_version="$(sed -nE 's/^ARG AIDER_VERSION=(.+)$/\1/p' Dockerfile.agent)"
case "${INSTALL_AIDER:-auto}" in
  always) aider=yes ;;
  never) aider=no ;;
  *) if timeout 30 python3 -m pip index versions aider-chat 2>/dev/null | grep -qE "(^|[ ,])${aider_version//./\\.}(,|$)"; then aider=yes; else aider=no; fi ;;
esac

export BUILD_TAG="$tag" BUILD_CONTEXT="$context" BUILD_ARGS_JSON
BUILD_ARGS_JSON="$(BASE="$base" CLAUDE="$(pin claude)" OPENCODE="$(pin opencode)" CODEX="$(pin codex)" GEMINI="$(pin gemini)" \
  EXTRA_CA="$extra_ca" AIDER="$aider" NPM_REGISTRY="$npm_registry" PIP_INDEX="$pip_index" node -e '
    const e = process.env
    const args = { BASE_IMAGE: e.BASE, CLAUDE_CODE_VERSION: e.CLAUDE, OPENCODE_VERSION: e.OPENCODE, CODEX_VERSION: e.CODEX,
      GEMINI_CLI_VERSION: e.GEMINI, INSTALL_AIDER: e.AIDER, EXTRA_CA_PEM: e.EXTRA_CA, NPM_REGISTRY: e.NPM_REGISTRY, PIP_INDEX_URL: e.PIP_INDEX }
    const optional = ["EXTRA_CA_PEM", "NPM_REGISTRY", "PIP_INDEX_URL"]
    for (const [key, value] of Object.entries(args)) if (!value && !optional.includes(key)) throw new Error("no value for " + key)
    process.stdout.write(JSON.stringify(args))')"

log "building $tag FROM $base (claude $(pin claude), opencode $(pin opencode), codex $(pin codex), gemini $(pin gemini); aider: $aider)"
started=$(date +%s)
node --import ./scripts/ts-register.mjs --input-type=module -e '
  import { createDockerEngine } from "./plugins/executors/docker/engine.ts"
  const engine = createDockerEngine({ dockerHost: process.env.DOCKER_HOST })
  try {
    await engine.checkVersion()
    const { id } = await engine.imageBuild(process.env.BUILD_CONTEXT, {
      tag: process.env.BUILD_TAG,
      buildArgs: JSON.parse(process.env.BUILD_ARGS_JSON),
      onProgress: (line) => process.stdout.write(line),
    })
    process.stdout.write(`built ${id}\n`)
  } catch (error) {
    process.stderr.write(`[build-agent-image] build failed: ${error.message}\n`)
    process.exitCode = 1
  } finally {
    engine.close()
  }
'
log "$tag ready in $(( $(date +%s) - started ))s"

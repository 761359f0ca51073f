#!/usr/bin/env bash
# Installs the coding-agent CLIs the Worker plugins drive, pinned to exact versions, into a cache
# directory outside the repo (one npm prefix per CLI and version, so bumping a pin never mixes trees).
#
#   scripts/provision-clis.sh            # all four
#   scripts/provision-clis.sh codex      # only the named ones (claude opencode codex gemini)
#   scripts/provision-clis.sh --print    # print `name<TAB>bin path` lines for what is installed
#
# Idempotent: a CLI whose prefix already holds a working binary is skipped in a few milliseconds.
# Only the npm registry is used. Platform binaries arrive as optional npm dependencies
# (claude-code-linux-x64, opencode-linux-x64, @openai/codex@<v>-linux-x64); the packages'
# postinstall steps only copy/link those, they download nothing. Aider (Python) is not installed:
# there is no PyPI here.
set -euo pipefail

CLI_DIR="${TERARCHITECT_CLI_DIR:-$HOME/.cache/terarchitect/clis}"
# Under `npm test` npm exports its own prefix settings; the installs below must land in their own dirs.
unset npm_config_local_prefix npm_config_prefix npm_config_global npm_config_location

# name | npm package | pinned version | bin name. Bump versions here (and in docs/clis.md) together.
PINS=(
  "claude|@anthropic-ai/claude-code|2.1.330|claude"
  "opencode|opencode-ai|1.18.33|opencode"
  "codex|@openai/codex|0.169.0|codex"
  "gemini|@google/gemini-cli|0.61.0|gemini"
)

print_only=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --print) print_only=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) wanted+=("$arg") ;;
  esac
done

is_wanted() {
  [ "${#wanted[@]}" -eq 0 ] && return 0
  local w
  for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

failed=0
for pin in "${PINS[@]}"; do
  IFS='|' read -r name pkg version bin <<<"$pin"
  is_wanted "$name" || continue
  prefix="$CLI_DIR/$name-$version"
  exe="$prefix/node_modules/.bin/$bin"
  if [ "$print_only" -eq 1 ]; then
    [ -x "$exe" ] && printf '%s\t%s\n' "$name" "$exe"
    continue
  fi
  # The marker is written only after the binary answered --version, so an interrupted install
  # is redone rather than trusted.
  if [ -x "$exe" ] && [ -f "$prefix/.ok" ]; then
    echo "provision-clis: $name $version present ($exe)"
    continue
  fi
  echo "provision-clis: installing $pkg@$version into $prefix ..."
  start=$(date +%s)
  rm -rf "$prefix"
  mkdir -p "$prefix"
  printf '{"name":"terarchitect-cli-%s","private":true}\n' "$name" >"$prefix/package.json"
  # --ignore-scripts would skip the postinstall that links the native binary, so scripts run;
  # --no-audit/--no-fund/--no-update-notifier keep npm itself off the network beyond the registry.
  if ! (cd "$prefix" && npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
        --save-exact "$pkg@$version" >"$prefix/install.log" 2>&1); then
    echo "provision-clis: $name FAILED, see $prefix/install.log" >&2
    tail -n 20 "$prefix/install.log" >&2 || true
    failed=1
    continue
  fi
  # Every CLI answers --version without a network or a config; give it a bounded time anyway.
  if got=$(timeout 60 "$exe" --version </dev/null 2>&1); then
    echo "$got" >"$prefix/.ok"
    echo "provision-clis: $name $version ready in $(( $(date +%s) - start ))s ($got)"
  else
    echo "provision-clis: $name installed but '$bin --version' failed: $got" >&2
    failed=1
  fi
done
exit "$failed"

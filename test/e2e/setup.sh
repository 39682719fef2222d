#!/usr/bin/env bash
# Installs what the editor end-to-end tests need, outside the project's own dependencies:
#   - Debian packages: chromium, ripgrep, build-essential, libkrb5-dev (code-server's native
#     modules), neovim (second LSP client), bc, curl;
#   - code-server 4.100.3 (= VS Code 1.100.3, the last release whose engines.node is 20) and
#     playwright-core into $E2E_DIR (default .e2e/, ignored by git), never into package.json.
# Offline-friendly: @vscode/ripgrep's postinstall is fed Debian's rg instead of a GitHub download.
# Idempotent: a second run only checks.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
E2E_DIR=${E2E_DIR:-$ROOT/.e2e}
CS_VERSION=${CS_VERSION:-4.100.3}
PW_VERSION=${PW_VERSION:-1.65.1}
CS_DIR=$E2E_DIR/code-server-$CS_VERSION
export npm_config_yes=true   # /root/.npmrc has yes=false; node-pty's postinstall runs `npx node-gyp`
log() { echo "[setup] $*"; }

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v rg >/dev/null || need+=(ripgrep)
{ command -v g++ >/dev/null && command -v make >/dev/null; } || need+=(build-essential)
command -v python3 >/dev/null || need+=(python3)
command -v krb5-config >/dev/null || need+=(libkrb5-dev)
command -v bc >/dev/null || need+=(bc)
command -v curl >/dev/null || need+=(curl)
command -v nvim >/dev/null || need+=(neovim)
if ((${#need[@]})); then
  log "apt-get install ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x "$CS_DIR/node_modules/.bin/code-server" ]; then
  t0=$(date +%s)
  mkdir -p "$CS_DIR/tmp"
  # @vscode/ripgrep's postinstall looks in $TMPDIR/vscode-ripgrep-cache-<ver>/ before it tries
  # api.github.com: read the version and release tag from the npm tarballs and seed that cache.
  ( cd "$CS_DIR/tmp" && npm pack -q "code-server@$CS_VERSION" >/dev/null && npm pack -q "@vscode/ripgrep@$(
      tar xzOf code-server-"$CS_VERSION".tgz package/lib/vscode/npm-shrinkwrap.json |
      node -e 'console.log(JSON.parse(require("fs").readFileSync(0))
                 .packages["node_modules/@vscode/ripgrep"].version)')" >/dev/null )
  RGTGZ=$(ls "$CS_DIR"/tmp/vscode-ripgrep-*.tgz)
  RGVER=$(basename "$RGTGZ" .tgz); RGVER=${RGVER#vscode-ripgrep-}
  RGTAG=$(tar xzOf "$RGTGZ" package/lib/postinstall.js | sed -n "s/^const VERSION = '\(.*\)';/\1/p")
  mkdir -p "$CS_DIR/tmp/rgstage" "$CS_DIR/tmp/vscode-ripgrep-cache-$RGVER"
  cp "$(command -v rg)" "$CS_DIR/tmp/rgstage/rg"
  tar czf "$CS_DIR/tmp/vscode-ripgrep-cache-$RGVER/ripgrep-$RGTAG-x86_64-unknown-linux-musl.tar.gz" \
      -C "$CS_DIR/tmp/rgstage" rg
  [ -f "$CS_DIR/package.json" ] || echo '{"name":"e2e-code-server","private":true}' > "$CS_DIR/package.json"
  log "installing code-server $CS_VERSION into $CS_DIR (log: $CS_DIR/install.log)"
  # --unsafe-perm: code-server's postinstall.sh checks npm_config_unsafe_perm when run as root
  ( cd "$CS_DIR" && TMPDIR="$CS_DIR/tmp" npm install --no-audit --no-fund --unsafe-perm \
      "code-server@$CS_VERSION" ) > "$CS_DIR/install.log" 2>&1 || { tail -40 "$CS_DIR/install.log"; exit 1; }
  test -x "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
  rm -f "$CS_DIR"/tmp/*.tgz
  log "code-server installed in $(( $(date +%s) - t0 )) s ($(du -sh "$CS_DIR/node_modules" | cut -f1))"
fi

if [ ! -d "$E2E_DIR/pw/node_modules/playwright-core" ]; then
  mkdir -p "$E2E_DIR/pw"
  [ -f "$E2E_DIR/pw/package.json" ] || echo '{"name":"e2e-playwright","private":true}' > "$E2E_DIR/pw/package.json"
  ( cd "$E2E_DIR/pw" && npm install --no-audit --no-fund "playwright-core@$PW_VERSION" >/dev/null )
  log "playwright-core $PW_VERSION installed"
fi
log "ready: $CS_DIR/node_modules/.bin/code-server, $E2E_DIR/pw/node_modules/playwright-core"

#!/usr/bin/env bash
# End-to-end proof in a real VS Code: builds the .vsix, installs it into code-server 4.100.3,
# opens examples/ in headless Debian Chromium (playwright-core) and checks, on a file with a
# known lock-order violation: (a) the diagnostic in the Problems panel, (b) the hover on the lock
# expression, (c) that "KVM Lock Lint: Show race…" opens its webview. Saves docs/images/
# diagnostic.png, hover.png, race-demo.png and prints the open-to-first-diagnostic time and the
# .vsix size. Everything stays on 127.0.0.1; tools live in .e2e/ (test/e2e/setup.sh).
#
# Env: E2E_VSIX (test this .vsix instead of packaging), E2E_WS (folder to open; default examples/),
#      E2E_FILE (path under examples/ to open; default: the first lock-order finding of the CLI),
#      E2E_EXPECT (text expected in the Problems panel; default: that finding's message),
#      E2E_HOVER_LINE/COL, E2E_HOVER_EXPECT (where to hover, what the hover must say; default: the
#      lock held in that finding, e.g. "vcpu->mutex"),
#      PORT (18080), E2E_TIMEOUT_MS (60000), IMAGES (docs/images), KEEP_IMAGES=1 (do not copy).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/test/e2e
E2E_DIR=${E2E_DIR:-$ROOT/.e2e}
CS_VERSION=${CS_VERSION:-4.100.3}
CS=$E2E_DIR/code-server-$CS_VERSION/node_modules/.bin/code-server
PORT=${PORT:-18080}
RUN=$E2E_DIR/run            # short: code-server's unix sockets live under it (108-byte limit)
OUT=$E2E_DIR/out
IMAGES=${IMAGES:-$ROOT/docs/images}
WS=${E2E_WS:-$ROOT/examples}
ts() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(ts) - $1" | bc)"; }
log() { echo "[vscode.sh] $*"; }
T0=$(ts)

bash "$HERE/setup.sh"

# --- the extension under test -------------------------------------------------------------
t=$(ts)
if [ -n "${E2E_VSIX:-}" ]; then
  VSIX=$E2E_VSIX    # a .vsix built elsewhere (skips npm run package)
else
  (cd "$ROOT" && npm run -s package) > "$E2E_DIR/package.log" 2>&1 || { tail -30 "$E2E_DIR/package.log"; exit 1; }
  VSIX=$ROOT/kvm-locklint.vsix
fi
VSIX_BYTES=$(stat -c %s "$VSIX")
log "packaged $(basename "$VSIX"): $VSIX_BYTES bytes ($(numfmt --to=iec "$VSIX_BYTES")) in $(since "$t")s"

# --- which file, which diagnostic: ask the CLI, so the editor is checked against the same analyzer
if [ -z "${E2E_FILE:-}" ] || [ -z "${E2E_EXPECT:-}" ]; then
  node "$ROOT/bin/kvm-locklint.js" check --format json --root "$WS" --fail-on never "$WS" > "$E2E_DIR/cli.json" ||
    { log "the CLI failed on $WS"; exit 1; }
  # the finding, and where to hover: the lock held ("vcpu->mutex held here") when that is in the
  # same file, else the finding itself; the hover must name that lock
  read -r CLI_FILE CLI_LINE CLI_COL H_LINE H_COL H_EXPECT CLI_MSG < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const d = r.diagnostics.find((d) => d.code === "lock-order") || r.diagnostics[0];
    if (!d) { console.error("no diagnostics on examples/"); process.exit(1); }
    const held = (d.related || []).find((x) => x.file === d.file && / held here/.test(x.message));
    const h = held || d;
    const lock = held ? held.message.split(" ")[0] : "-";
    console.log(d.file, d.line, d.column, h.line, h.column, lock, d.message.replace(/\s+/g, " "));' "$E2E_DIR/cli.json")
  E2E_FILE=${E2E_FILE:-$CLI_FILE}
  E2E_EXPECT=${E2E_EXPECT:-$CLI_MSG}
  export E2E_LINE=${E2E_LINE:-$CLI_LINE} E2E_COL=${E2E_COL:-$CLI_COL}
  export E2E_HOVER_LINE=${E2E_HOVER_LINE:-$H_LINE} E2E_HOVER_COL=${E2E_HOVER_COL:-$H_COL}
  [ "$H_EXPECT" != - ] && export E2E_HOVER_EXPECT=${E2E_HOVER_EXPECT:-$H_EXPECT}
fi
log "file: $E2E_FILE; expecting: $E2E_EXPECT"

# --- a throwaway code-server ----------------------------------------------------------------
rm -rf "$RUN"; mkdir -p "$RUN"/{ud/User,ext,xdg-config,xdg-data,cache,tmp} "$OUT"
export TMPDIR=$RUN/tmp XDG_CONFIG_HOME=$RUN/xdg-config XDG_DATA_HOME=$RUN/xdg-data XDG_CACHE_HOME=$RUN/cache
# marketplace -> loopback port 9, where nothing listens
export EXTENSIONS_GALLERY='{"serviceUrl":"http://127.0.0.1:9/gallery","itemUrl":"http://127.0.0.1:9/item"}'
cat > "$RUN/ud/User/settings.json" <<'JSON'
{ "telemetry.telemetryLevel": "off", "update.mode": "none", "extensions.autoUpdate": false,
  "extensions.autoCheckUpdates": false, "extensions.ignoreRecommendations": true,
  "workbench.enableExperiments": false, "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false, "workbench.tips.enabled": false,
  "chat.commandCenter.enabled": false, "git.enabled": false, "workbench.colorTheme": "Default Dark Modern",
  "editor.hover.delay": 150, "files.exclude": { "**/.git": true } }
JSON
: > "$RUN/config.yaml"
CSARGS=(--config "$RUN/config.yaml" --user-data-dir "$RUN/ud" --extensions-dir "$RUN/ext")
"$CS" "${CSARGS[@]}" --install-extension "$VSIX" --force | tail -1

t=$(ts)
setsid "$CS" "${CSARGS[@]}" --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry \
  --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  "$WS" > "$OUT/code-server.log" 2>&1 &
CSPID=$!
# stop exactly our process group: code-server, its extension host and our language server
trap 'kill -- -"$CSPID" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
log "code-server listening after $(since "$t")s"

t=$(ts)
rc=0
node "$HERE/drive.mjs" "http://127.0.0.1:$PORT/?folder=$WS" "$E2E_FILE" "$E2E_EXPECT" "$OUT" || rc=$?
log "browser phase took $(since "$t")s"
if [ $rc = 0 ] && [ "${KEEP_IMAGES:-0}" != 1 ]; then
  mkdir -p "$IMAGES"
  cp "$OUT/diagnostic.png" "$OUT/hover.png" "$OUT/race-demo.png" "$OUT/lock-order.png" "$IMAGES/"
  log "screenshots copied to $IMAGES"
fi
[ -f "$OUT/timing.txt" ] && cat "$OUT/timing.txt"
log "vsix size: $VSIX_BYTES bytes ($(numfmt --to=iec "$VSIX_BYTES"))"
log "whole run: $(since "$T0")s"
[ $rc = 0 ] && log "E2E PASS" || { log "E2E FAIL (see $OUT/failure.png, $OUT/code-server.log)"; }
exit $rc

#!/usr/bin/env bash
# A second real LSP client: headless Neovim against `node bin/kvm-locklint-lsp.js --stdio`.
# Opens a file with a known lock-order violation, prints the diagnostics it received (and the
# hover on the lock expression), and fails if the lock-order diagnostic is missing.
#   test/e2e/nvim.sh [FILE.c [ROOT]]   default: the first lock-order finding of the CLI in examples/
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/test/e2e
E2E_DIR=${E2E_DIR:-$ROOT/.e2e}
command -v nvim >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim >/dev/null; }
[ -f "$ROOT/dist/server.js" ] || (cd "$ROOT" && npm run -s build)
mkdir -p "$E2E_DIR"
WS=${2:-${E2E_WS:-$ROOT/examples}}
FILE=${1:-}
HOVER_LINE= HOVER_COL=
if [ -z "$FILE" ]; then
  node "$ROOT/bin/kvm-locklint.js" check --format json --root "$WS" --fail-on never "$WS" > "$E2E_DIR/nvim-cli.json"
  # hover on the lock held in that finding ("vcpu->mutex held here") when it is in the same file
  read -r REL LINE COL < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const d = r.diagnostics.find((d) => d.code === "lock-order");
    if (!d) { console.error("the CLI finds no lock-order violation in " + process.argv[2]); process.exit(1); }
    const h = (d.related || []).find((x) => x.file === d.file && / held here/.test(x.message)) || d;
    console.log(d.file, h.line, h.column);' "$E2E_DIR/nvim-cli.json" "$WS")
  FILE=$WS/$REL
  HOVER_LINE=$((LINE - 1))
  # the lock expression: first "&" (or argument) after the call's "(" on that line
  HOVER_COL=$(node -e '
    const [f, l, c] = process.argv.slice(1); const s = require("fs").readFileSync(f, "utf8").split("\n")[l - 1] || "";
    const i = s.indexOf("(", c - 1); console.log(i < 0 ? c - 1 : i + 2 + (s[i + 1] === "&" ? 1 : 0));' "$FILE" "$LINE" "$COL")
fi
# LSP_SERVER: the server script to test (default the project's bin, i.e. dist/server.js)
export LSP_CMD=$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' node "${LSP_SERVER:-$ROOT/bin/kvm-locklint-lsp.js}" --stdio)
export LSP_ROOT=$WS HOVER_LINE HOVER_COL
# keep nvim's state (swap, lsp.log) out of $HOME
export XDG_DATA_HOME=$E2E_DIR/nvim/data XDG_CACHE_HOME=$E2E_DIR/nvim/cache XDG_STATE_HOME=$E2E_DIR/nvim/state XDG_CONFIG_HOME=$E2E_DIR/nvim/config
set +e
JSON=$(timeout 90 nvim --headless --clean -n -c "luafile $HERE/nvim-probe.lua" "$FILE" 2>"$E2E_DIR/nvim.stderr")
rc=$?
set -e
echo "$JSON" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const line = s.split("\n").find((l) => l.startsWith("{"));
    if (!line) { console.error("[nvim.sh] no output from Neovim"); process.exit(1); }
    const r = JSON.parse(line);
    console.log(`[nvim.sh] ${r.file}: ${r.diagnostics.length} diagnostics, first after ${r.seconds_to_first_diagnostic.toFixed(2)} s`);
    for (const d of r.diagnostics) console.log(`  ${d.lnum + 1}:${d.col + 1} [${d.code}] ${d.message}`);
    const h = r.hover && (typeof r.hover === "string" ? r.hover : r.hover.value || JSON.stringify(r.hover));
    console.log(`[nvim.sh] hover: ${h ? JSON.stringify(h).slice(0, 400) : "(none)"}`);
    if (!r.diagnostics.some((d) => d.code === "lock-order")) { console.error("[nvim.sh] FAIL: no lock-order diagnostic"); process.exit(1); }
    console.log("[nvim.sh] PASS");
  });'
status=$?
set -e
[ $rc -ne 0 ] && { echo "[nvim.sh] nvim exited $rc"; cat "$E2E_DIR/nvim.stderr" >&2; }
exit $(( status || rc ))

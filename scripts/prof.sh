#!/usr/bin/env bash
# Bundles the profiling scripts into $PROF_DIR (default /tmp/kvm-locklint-prof) with the WASM files beside them.
#   scripts/prof.sh edit [KERNEL_DIR]     N=20 edits of mmu.c, per-phase medians (scripts/prof-edit.ts)
#   scripts/prof.sh cold [KERNEL_DIR]     RUNS=4 fresh workspaces (scripts/prof-cold.ts)
# NODE_OPTIONS=--cpu-prof (and --cpu-prof-dir) profiles; summarise with scripts/cpuprofile-top.cjs.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?edit or cold}; shift
out=${PROF_DIR:-/tmp/kvm-locklint-prof}
mkdir -p "$out"
npx esbuild "scripts/prof-$what.ts" --bundle --platform=node --format=cjs --outfile="$out/prof-$what.js" \
  --alias:web-tree-sitter=./node_modules/web-tree-sitter/tree-sitter.cjs --log-level=warning
cp node_modules/web-tree-sitter/tree-sitter.wasm node_modules/tree-sitter-c/tree-sitter-c.wasm "$out/"
node "$out/prof-$what.js" "$@"

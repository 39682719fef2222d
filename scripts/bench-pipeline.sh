#!/usr/bin/env bash
# Cold-run timings as fresh processes, best of N (the machine may be shared):
#   parse-only (node startup + wasm load + parsing every file, one thread) vs the CLI with
#   --jobs 1 and --jobs 2, with the front end's end and the analysis' end from
#   KVM_LOCKLINT_TIMING.   Usage: scripts/bench-pipeline.sh [KERNEL_DIR] [N]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-$here/../kernel}
n=${2:-5}
cd "$kernel" || exit 2
dirs="arch/x86/kvm virt/kvm"
best() { sort -n | head -1; }
for i in $(seq "$n"); do
  node "$here/scripts/parse-only.cjs" $dirs | awk '{print $3}' >>/tmp/bench-parse.$$
  for j in 1 2; do
    s=$(date +%s%N)
    KVM_LOCKLINT_TIMING=1 node "$here/bin/kvm-locklint.js" --jobs $j $dirs 2>&1 >/dev/null | grep 'timing: front end' | sed 's/.*done at \([0-9]*\) ms.*/\1/' >>/tmp/bench-fe$j.$$
    e=$(date +%s%N)
    echo $(( (e - s) / 1000000 )) >>/tmp/bench-cli$j.$$
  done
done
echo "parse-only          best $(best </tmp/bench-parse.$$) ms"
for j in 1 2; do
  echo "cli --jobs $j: front end done at $(best </tmp/bench-fe$j.$$) ms, whole run $(best </tmp/bench-cli$j.$$) ms (best of $n)"
done
rm -f /tmp/bench-*.$$

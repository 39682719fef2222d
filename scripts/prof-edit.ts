/**
 * Edit re-check profile: loads arch/x86/kvm + virt/kvm into one Workspace, then N times inserts
 * a line in the middle of mmu.c and removes it again, printing per-phase medians and worsts, the
 * derived values re-derived and the per-function check re-runs of the first edits.
 *
 *   npx esbuild scripts/prof-edit.ts --bundle --platform=node --format=cjs --outfile=/tmp/prof/prof-edit.js \
 *     --alias:web-tree-sitter=./node_modules/web-tree-sitter/tree-sitter.cjs && cp dist/*.wasm /tmp/prof/
 *   N=20 node [--cpu-prof] /tmp/prof/prof-edit.js [KERNEL_DIR]      (then scripts/cpuprofile-top.cjs PROFILE editLoop)
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import path from 'node:path';
import { initFrontend } from '../server/frontend/parser';
import { createWorkspace } from '../server/engine/workspace';
import { parseLockingDoc } from '../model/rules';
import { derivationCount } from '../server/checks/derived';
import { collectCFiles } from '../server/cli/files';

async function main() {
  const root = path.resolve(process.argv[2] ?? path.join(process.cwd(), '..', 'kernel'));
  const rules = parseLockingDoc(fs.readFileSync(root + '/Documentation/virt/kvm/locking.rst', 'utf8'), 'locking.rst');
  await initFrontend();
  const files = collectCFiles([root + '/arch/x86/kvm', root + '/virt/kvm']).map((f) => ({ path: path.relative(root, f), text: fs.readFileSync(f, 'utf8') }));
  const ws = await createWorkspace({ rules });
  for (const f of files) ws.setFile(f.path, f.text);
  let r = ws.analyze();
  console.log('cold', r.stats.ms.toFixed(0));
  const mmu = files.find((f) => f.path.endsWith('mmu/mmu.c'))!;
  const lines = mmu.text.split('\n');
  const at = lines.findIndex((l, i) => i > lines.length / 2 && /^\tmutex_lock\(|^\twrite_lock\(/.test(l));
  editLoop(ws, mmu, lines, at);
}
function editLoop(ws: any, mmu: any, lines: string[], at: number) {
  let r: any;
  const N = Number(process.env.N ?? 10);
  const heap = (what: string): void => {
    const g = (globalThis as { gc?: () => void }).gc;
    if (!process.env.HEAP || !g) return;
    g();
    console.log(`heap after gc, ${what}: ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MB`);
    if (process.env.HEAP === 'snapshot') console.log('snapshot', v8.writeHeapSnapshot());
  };
  heap('before the edits');
  const agg: Record<string, number[]> = {};
  for (let i = 0; i < N; i++) {
    const inserted = '\tcond_resched();';
    const edited = [...lines.slice(0, at), inserted, ...lines.slice(at)].join('\n');
    for (const [text, ch] of [[edited, [{ range: { start: { line: at, column: 0 }, end: { line: at, column: 0 } }, text: inserted + '\n' }]], [mmu.text, [{ range: { start: { line: at, column: 0 }, end: { line: at + 1, column: 0 } }, text: '' }]]] as const) {
      const t0 = performance.now();
      ws.setFile(mmu.path, text as string, ch as any);
      const t1 = performance.now();
      const d0 = derivationCount(); (globalThis as any).__fc = {};
      r = ws.analyze();
      if (i < 2) console.log('derivations', derivationCount() - d0, 'recomputed', r.stats.recomputed, JSON.stringify((globalThis as any).__fc));
      const t2 = performance.now();
      (agg['setFile'] ??= []).push(t1 - t0);
      (agg['total'] ??= []).push(t2 - t0);
      for (const [k, v] of Object.entries(r.stats.phases ?? {})) (agg[k] ??= []).push(v as number);
    }
  }
  heap(`after ${N} edit pairs`);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log('totals in order', agg['total'].map((t) => t.toFixed(0)).join(' '));
  for (const [k, v] of Object.entries(agg)) console.log(k.padEnd(40), med(v).toFixed(1), Math.max(...v).toFixed(1));
}
main();

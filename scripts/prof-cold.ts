/**
 * Cold analysis profile: RUNS times a fresh Workspace over arch/x86/kvm + virt/kvm in this
 * thread, printing the front-end and analysis times and the analysis phases of each run (the
 * first runs warm the JIT).
 *
 *   (bundle like scripts/prof-edit.ts)   RUNS=4 [ONESHOT=1] node [--cpu-prof] /tmp/prof/prof-cold.js [KERNEL_DIR]
 *
 * ONESHOT=1 makes one-shot workspaces, as the command line does (WorkspaceOptions.oneShot).
 */
import fs from 'node:fs';
import path from 'node:path';
import { initFrontend } from '../server/frontend/parser';
import { createWorkspace } from '../server/engine/workspace';
import { parseLockingDoc } from '../model/rules';
import { collectCFiles } from '../server/cli/files';

async function main() {
  const root = path.resolve(process.argv[2] ?? path.join(process.cwd(), '..', 'kernel'));
  const rules = parseLockingDoc(fs.readFileSync(root + '/Documentation/virt/kvm/locking.rst', 'utf8'), 'locking.rst');
  await initFrontend();
  const files = collectCFiles([root + '/arch/x86/kvm', root + '/virt/kvm']).map((f) => ({ path: path.relative(root, f), text: fs.readFileSync(f, 'utf8') }));
  for (let i = 0; i < Number(process.env.RUNS ?? 3); i++) await coldRun(files, rules);
}
async function coldRun(files: any[], rules: any) {
  const ws = await createWorkspace({ rules, oneShot: process.env.ONESHOT === '1' });
  const t0 = performance.now();
  for (const f of files) ws.setFile(f.path, f.text);
  const t1 = performance.now();
  const r = ws.analyze();
  const t2 = performance.now();
  console.log('frontend', (t1 - t0).toFixed(0), 'analyze', (t2 - t1).toFixed(0));
  console.log(Object.entries(r.stats.phases ?? {}).map(([k, v]) => `${k}=${(v as number).toFixed(0)}`).join(' '));
}
main();

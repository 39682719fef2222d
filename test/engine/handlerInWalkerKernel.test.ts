/**
 * A bug written into a handler of the real TDP MMU (skipped without ../kernel): age_gfn_range is
 * called by kvm_tdp_mmu_handle_gfn through its `handler` parameter inside rcu_read_lock(). A
 * mutex taken in the handler is reported at the call that passes it, naming the walker and its
 * RCU section; the unedited tree has no finding there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLockingDoc } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';
import { collectCFiles } from '../../server/cli/files';

const KERNEL = path.resolve(__dirname, '../../../kernel');
const TDP = 'arch/x86/kvm/mmu/tdp_mmu.c';

function inFile(m: Map<string, Finding[]>, file: string): Finding[] {
  return [...m.values()].flat().filter((f) => f.file === file);
}

describe.skipIf(!fs.existsSync(path.join(KERNEL, TDP)))('a sleeping handler of the real TDP MMU walker', () => {
  it('is reported where the handler is passed, with the walker and its RCU section', async () => {
    const doc = path.join(KERNEL, 'Documentation/virt/kvm/locking.rst');
    const rules = parseLockingDoc(fs.readFileSync(doc, 'utf8'), doc);
    const ws = await createWorkspace({ rules });
    for (const f of collectCFiles([path.join(KERNEL, 'arch/x86/kvm'), path.join(KERNEL, 'virt/kvm')])) ws.setFile(path.relative(KERNEL, f), fs.readFileSync(f, 'utf8'));
    expect(inFile(ws.analyze().findings, TDP)).toEqual([]);

    const text = fs.readFileSync(path.join(KERNEL, TDP), 'utf8');
    const lines = text.split('\n');
    const handler = lines.findIndex((l) => /^static bool age_gfn_range\(/.test(l));
    expect(handler).toBeGreaterThan(0);
    const body = lines.indexOf('{', handler);
    lines.splice(body + 1, 0, '\tmutex_lock(&kvm->slots_lock);', '\tmutex_unlock(&kvm->slots_lock);');
    ws.setFile(TDP, lines.join('\n'));

    const found = inFile(ws.analyze().findings, TDP);
    expect(found.map((f) => f.code)).toEqual(['sleep-in-atomic']);
    expect(found[0].functionName).toMatch(/age_gfn_range$/);
    expect(found[0].message).toMatch(/^age_gfn_range may sleep .* but kvm_tdp_mmu_handle_gfn calls it inside an RCU read-side section/);
    expect(found[0].related.some((r) => /rcu held here by kvm_tdp_mmu_handle_gfn/.test(r.message))).toBe(true);
  });
});

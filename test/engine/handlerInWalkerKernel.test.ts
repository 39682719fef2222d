/**
 * Bugs written into handlers of the real x86 KVM code (skipped without ../kernel):
 * - age_gfn_range is called by kvm_tdp_mmu_handle_gfn through its `handler` parameter inside
 *   rcu_read_lock(): a mutex taken in it is reported at the call that passes it, naming the
 *   walker and its RCU section;
 * - do_set_msr is passed by KVM_SET_MSRS to msr_io, which passes it on to __msr_io: kvm->lock
 *   taken in it is a lock-order violation under kvm_vcpu_ioctl's vcpu->mutex.
 * The unedited tree has neither finding.
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

describe.skipIf(!fs.existsSync(path.join(KERNEL, TDP)))('handlers in the real x86 KVM code', () => {
  it('reports a sleeping TDP MMU handler where it is passed, with the walker and its RCU section', async () => {
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

  it('follows a handler passed on twice: KVM_SET_MSRS passes do_set_msr to msr_io, which passes it to __msr_io', async () => {
    const doc = path.join(KERNEL, 'Documentation/virt/kvm/locking.rst');
    const rules = parseLockingDoc(fs.readFileSync(doc, 'utf8'), doc);
    const ws = await createWorkspace({ rules });
    for (const f of collectCFiles([path.join(KERNEL, 'arch/x86/kvm'), path.join(KERNEL, 'virt/kvm')])) ws.setFile(path.relative(KERNEL, f), fs.readFileSync(f, 'utf8'));
    const before = [...ws.analyze().findings.values()].flat().filter((f) => f.code === 'lock-order');
    expect(before).toEqual([]);

    const X86 = 'arch/x86/kvm/x86.c';
    const lines = fs.readFileSync(path.join(KERNEL, X86), 'utf8').split('\n');
    const handler = lines.findIndex((l) => /^static int do_set_msr\(/.test(l));
    expect(handler).toBeGreaterThan(0);
    const body = lines.indexOf('{', handler);
    lines.splice(body + 1, 0, '\tmutex_lock(&vcpu->kvm->lock);', '\tmutex_unlock(&vcpu->kvm->lock);');
    ws.setFile(X86, lines.join('\n'));

    const order = [...ws.analyze().findings.values()].flat().filter((f) => f.code === 'lock-order');
    expect(order.map((f) => `${f.file} ${f.functionName}`)).toEqual(['virt/kvm/kvm_main.c kvm_vcpu_ioctl']);
    expect(order[0].related.map((r) => r.message)).toContain('calls msr_io with handler do_set_msr');
  });
});

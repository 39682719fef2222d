/**
 * spte-nonatomic lets `*sptep = spte` pass when every caller hands in the address of a variable of
 * its own: the verdict on one file's store reads the other files' calls, so an edit of a caller
 * alone must turn it on and off again, as a fresh analysis would.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';

const rules = builtinRules();

// Our own C in KVM's idioms.
const WALK = `
bool walk_last_spte(struct kvm_vcpu *vcpu, u64 addr, u64 *sptep)
{
	u64 spte = 0ull;

	walk_shadow_page_lockless_begin(vcpu);
	spte = mmu_spte_get_lockless(vcpu->arch.root_sptep);
	walk_shadow_page_lockless_end(vcpu);
	*sptep = spte;
	return is_shadow_present_pte(spte);
}
`;

const caller = (arg: string) => `
int mmio_fault_demo(struct kvm_vcpu *vcpu, u64 addr, u64 *leaf)
{
	u64 spte;

	return walk_last_spte(vcpu, addr, ${arg}) ? (int)(spte & 1) : 0;
}
`;

function nonatomic(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values()) for (const f of list) if (f.code === 'spte-nonatomic') out.push(`${f.file}:${f.range.start.line + 1}`);
  return out.sort();
}

async function fresh(files: Record<string, string>): Promise<string[]> {
  const ws = await createWorkspace({ rules });
  for (const [path, text] of Object.entries(files)) ws.setFile(path, text);
  return nonatomic(ws.analyze().findings);
}

describe('spte-nonatomic: out-parameters judged by their callers', () => {
  it('follows a caller that stops and starts passing its own variable', async () => {
    const ws = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/mmu/walk.c', WALK);
    ws.setFile('arch/x86/kvm/mmu/fault.c', caller('&spte'));
    expect(nonatomic(ws.analyze().findings)).toEqual([]);

    ws.setFile('arch/x86/kvm/mmu/fault.c', caller('leaf'));
    const reported = nonatomic(ws.analyze().findings);
    expect(reported).toEqual(['arch/x86/kvm/mmu/walk.c:9']);
    expect(await fresh({ 'arch/x86/kvm/mmu/walk.c': WALK, 'arch/x86/kvm/mmu/fault.c': caller('leaf') })).toEqual(reported);

    ws.setFile('arch/x86/kvm/mmu/fault.c', caller('&spte'));
    expect(nonatomic(ws.analyze().findings)).toEqual([]);
  });

  it('reports the store when nothing calls the function', async () => {
    expect(await fresh({ 'arch/x86/kvm/mmu/walk.c': WALK })).toEqual(['arch/x86/kvm/mmu/walk.c:9']);
  });
});

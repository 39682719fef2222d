/**
 * spte-nonatomic lets `*sptep = spte` pass when every caller hands in the address of a variable of
 * its own: the verdict on one file's store reads the other files' calls, so an edit of a caller
 * alone must turn it on and off again, as a fresh analysis would.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import { createWorkspace } from '../../server/engine/workspace';
import { codeFindings, freshCodeFindings } from '../support/codeFindings';

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

const nonatomic = (m: Parameters<typeof codeFindings>[0]) => codeFindings(m, 'spte-nonatomic');
const fresh = (files: Record<string, string>) => freshCodeFindings(files, 'spte-nonatomic');

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

/**
 * spte-nonatomic judges a helper that stores plainly through its SPTE pointer by its callers when
 * some of them test the old value: the verdict moves between files with an edit of one caller,
 * and the incremental result must be the fresh one.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import { createWorkspace } from '../../server/engine/workspace';
import { codeFindings, freshCodeFindings } from '../support/codeFindings';

const rules = builtinRules();

// Our own C in KVM's idioms.
const HELPER = `
void tdp_store(u64 *sptep, u64 new_spte)
{
	WRITE_ONCE(*sptep, new_spte);
}
`;

const callers = (test: boolean) => `
void zap_one(struct kvm *kvm, u64 *sptep, u64 old_spte)
{
	write_lock(&kvm->mmu_lock);
	if (!spte_has_volatile_bits(old_spte))
		tdp_store(sptep, SHADOW_NONPRESENT_VALUE);
	write_unlock(&kvm->mmu_lock);
}

void clear_one(struct kvm *kvm, u64 *sptep, u64 old_spte)
{
	write_lock(&kvm->mmu_lock);
	${test ? 'if (!kvm_tdp_mmu_spte_need_atomic_update(old_spte, 1))' : ''}
		tdp_store(sptep, old_spte & ~1ull);
	write_unlock(&kvm->mmu_lock);
}
`;

const nonatomic = (m: Parameters<typeof codeFindings>[0]) => codeFindings(m, 'spte-nonatomic');
const fresh = (files: Record<string, string>) => freshCodeFindings(files, 'spte-nonatomic');
const H = 'arch/x86/kvm/mmu/store.c';
const C = 'arch/x86/kvm/mmu/zap.c';

describe('spte-nonatomic: a store helper judged at its callers', () => {
  it('moves the finding to the call that stops testing, and drops it when the test is back', async () => {
    const ws = await createWorkspace({ rules });
    ws.setFile(H, HELPER);
    ws.setFile(C, callers(true));
    expect(nonatomic(ws.analyze().findings)).toEqual([]);

    ws.setFile(C, callers(false));
    const reported = nonatomic(ws.analyze().findings);
    expect(reported).toEqual([`${C}:14`]);
    expect(await fresh({ [H]: HELPER, [C]: callers(false) })).toEqual(reported);

    ws.setFile(C, callers(true));
    expect(nonatomic(ws.analyze().findings)).toEqual([]);
  });

  it('reports the store itself when no caller tests', async () => {
    const none = callers(false).replace('if (!spte_has_volatile_bits(old_spte))', '');
    expect(await fresh({ [H]: HELPER, [C]: none })).toEqual([`${H}:4`]);
  });
});

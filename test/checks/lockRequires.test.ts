import { describe, expect, it } from 'vitest';
import { analyze, lineOf, lines, ofCode } from './helpers';

const H = '#include "../fixtures/include/kvm_mini.h"\n';

describe('lock-requires', () => {
  it('moves an assert up through callers that neither hold nor take the lock, and reports once at the root', async () => {
    const a = H + `
static void commit(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->slots_lock);
	kvm->arch.nr_mmu_pages++;
}
static void prepare(struct kvm *kvm)
{
	commit(kvm);
}
static void locked_root(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	prepare(kvm);
	mutex_unlock(&kvm->slots_lock);
}
static void racy_root(struct kvm *kvm)
{
	prepare(kvm);
}
static void asserting_root(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->slots_lock);
	prepare(kvm);
}
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/mmu/mmu.c': a }), 'lock-requires');
    expect(lines(out)).toEqual([lineOf(a, 'static void racy_root') + 2]);
    expect(out[0].message).toContain('commit() requires kvm->slots_lock held (lockdep_assert_held at mmu.c:');
    expect(out[0].related.map((r) => r.message)).toEqual(['calls prepare', 'calls commit', 'requires kvm->slots_lock: lockdep_assert_held(kvm->slots_lock)']);
  });

  it('waives asserts that paths skip, but not one after an early return', async () => {
    const a = H + `
static void waived(struct kvm *kvm, int teardown)
{
	if (!teardown)
		lockdep_assert_held(&kvm->lock);
	kvm->arch.nr_mmu_pages = 0;
}
static void early(struct kvm *kvm, int n)
{
	if (!n)
		return;
	lockdep_assert_held(&kvm->lock);
	kvm->arch.nr_mmu_pages = n;
}
static void root(struct kvm *kvm)
{
	waived(kvm, 1);
	early(kvm, 2);
}
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/x86.c': a }), 'lock-requires');
    expect(lines(out)).toEqual([lineOf(a, 'early(kvm, 2);')]);
  });

  it('applies "must also take" rules by architecture and leaves common-code functions called from other arches alone', async () => {
    const body = (name: string) => `
static void ${name}(struct kvm *kvm)
{
	spin_lock(&kvm->arch.tdp_mmu_pages_lock);
	kvm->arch.nr_mmu_pages++;
	spin_unlock(&kvm->arch.tdp_mmu_pages_lock);
}
`;
    const common = H + `
static void zap_fast(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->slots_lock);
}
int kvm_get_log(struct kvm *kvm)
{
	zap_fast(kvm);
	return 0;
}
`;
    const out = ofCode(
      await analyze({ 'arch/x86/kvm/mmu/tdp_mmu.c': H + body('count_roots'), 'arch/arm64/kvm/mmu.c': H + body('arm_count'), 'virt/kvm/kvm_main.c': common }),
      'lock-requires',
    );
    expect(out.map((f) => `${f.file}:${f.range.start.line + 1}`)).toEqual([`arch/x86/kvm/mmu/tdp_mmu.c:${lineOf(H + body('count_roots'), 'spin_lock')}`]);
    expect(out[0].message).toContain('kvm->arch.tdp_mmu_pages_lock is taken without kvm->mmu_lock held');
  });
});

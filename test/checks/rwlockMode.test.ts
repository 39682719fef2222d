import { describe, expect, it } from 'vitest';
import { analyze, lineOf, lines, ofCode } from './helpers';

const H = '#include "../fixtures/include/kvm_mini.h"\n';

describe('rwlock-mode', () => {
  it('reports a write-mode requirement reached under read_lock through calls, and a read_lock released with write_unlock', async () => {
    const a = H + `
void kvm_lockdep_assert_mmu_lock_held(struct kvm *kvm, bool shared);
static void zap_exclusive(struct kvm *kvm)
{
	kvm_lockdep_assert_mmu_lock_held(kvm, false);
}
static void zap_either(struct kvm *kvm, bool shared)
{
	kvm_lockdep_assert_mmu_lock_held(kvm, shared);
}
static void helper(struct kvm *kvm)
{
	zap_exclusive(kvm);
}
static void shared_walk(struct kvm *kvm)
{
	read_lock(&kvm->mmu_lock);
	zap_either(kvm, true);
	helper(kvm);
	write_unlock(&kvm->mmu_lock);
}
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/mmu/tdp_mmu.c': a }), 'rwlock-mode');
    expect(lines(out)).toEqual([lineOf(a, '\thelper(kvm);'), lineOf(a, 'write_unlock')]);
    expect(out[0].message).toContain('helper() requires kvm->mmu_lock held for write');
    expect(out[0].message).toContain('through zap_exclusive');
    expect(out[1].message).toContain('write_unlock() releases kvm->mmu_lock in write mode, but it is held for read here');
  });

  it('accepts the write-then-read sequence and write requirements under KVM_MMU_LOCK', async () => {
    const a = H + `
static void rmap_part(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
}
static void tdp_part(struct kvm *kvm)
{
	lockdep_assert_held_read(&kvm->mmu_lock);
}
static void both(struct kvm *kvm)
{
	write_lock(&kvm->mmu_lock);
	rmap_part(kvm);
	write_unlock(&kvm->mmu_lock);
	read_lock(&kvm->mmu_lock);
	tdp_part(kvm);
	read_unlock(&kvm->mmu_lock);
	KVM_MMU_LOCK(kvm);
	rmap_part(kvm);
	KVM_MMU_UNLOCK(kvm);
}
`;
    expect(ofCode(await analyze({ 'arch/x86/kvm/mmu/mmu.c': a }), 'rwlock-mode')).toEqual([]);
  });
});

import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keys, lineOf, rules612, SHARED, spteFindings } from './spteTestUtil';

describe('spte-lockless-write', () => {
  it('reports a plain write in a function called inside the lockless walk, with the chain from the walk', async () => {
    const c = `
static void fix_spte(u64 *sptep, u64 new_spte)
{
	*sptep = new_spte; // A
}

static int fast_pf(struct kvm_vcpu *vcpu, u64 *sptep)
{
	u64 spte;

	walk_shadow_page_lockless_begin(vcpu); // BEGIN
	spte = mmu_spte_get_lockless(sptep);
	if (is_mmu_writable_spte(spte))
		fix_spte(sptep, spte | PT_WRITABLE_MASK); // CALL
	walk_shadow_page_lockless_end(vcpu);
	fix_spte(sptep, spte);
	return 0;
}`;
    const f = await spteFindings(c);
    expect(keys(f)).toEqual([`spte-lockless-write@${lineOf(c, '// A')}`]);
    expect(f[0].message).toMatch(/called from fast_pf\(\) inside walk_shadow_page_lockless_begin\/end/);
    expect(f[0].message).toMatch(/only cmpxchg/);
    expect(f[0].related.map((r) => [r.range.start.line, r.message])).toEqual([
      [lineOf(c, '// BEGIN'), 'lockless walk begins here'],
      [lineOf(c, '// CALL'), 'calls fix_spte here'],
    ]);
  });

  it('is reported once, with this code, not also as spte-nonatomic or spte-tlb-flush', async () => {
    const c = `
static void f(struct kvm_vcpu *vcpu, u64 *sptep)
{
	u64 spte;

	kvm_tdp_mmu_walk_lockless_begin();
	spte = kvm_tdp_mmu_read_spte(sptep);
	__update_clear_spte_fast(sptep, spte | 1); // A
	mmu_spte_update(sptep, spte & ~PT_WRITABLE_MASK); // B
	kvm_tdp_mmu_walk_lockless_end();
}`;
    expect(keys(await spteFindings(c))).toEqual([`spte-lockless-write@${lineOf(c, '// A')}`, `spte-lockless-write@${lineOf(c, '// B')}`].sort());
  });

  it('a shared flag: atomic on the shared path and the write-lock helper on the other is fine; the helper on both is not', async () => {
    const c = `
static int link_sp(struct kvm *kvm, struct tdp_iter *iter, u64 spte, bool shared)
{
	int ret;

	if (shared) {
		ret = tdp_mmu_set_spte_atomic(kvm, iter, spte);
		if (ret)
			return ret;
	} else {
		tdp_mmu_iter_set_spte(kvm, iter, spte);
	}
	return 0;
}

static void zap_root(struct kvm *kvm, struct tdp_iter *iter, bool shared)
{
	if (!is_shadow_present_pte(iter->old_spte))
		return;
	tdp_mmu_iter_set_spte(kvm, iter, SHADOW_NONPRESENT_VALUE); // A
}`;
    const f = await spteFindings(c);
    expect(keys(f)).toEqual([`spte-lockless-write@${lineOf(c, '// A')}`]);
    expect(f[0].message).toMatch(/`shared` is true/);
  });

  it('asserted read mode counts; a write-mode re-take ends the shared section', async () => {
    const c = `
static void wrprot(struct kvm *kvm, struct tdp_iter *iter)
{
	lockdep_assert_held_read(&kvm->mmu_lock);
	iter->old_spte = kvm_tdp_mmu_write_spte(iter->sptep, iter->old_spte, iter->old_spte & ~PT_WRITABLE_MASK, iter->level); // A
}

static void clear_dirty(struct kvm *kvm, struct tdp_iter *iter)
{
	kvm_lockdep_assert_mmu_lock_held(kvm, true);
	tdp_mmu_clear_spte_bits(iter->sptep, iter->old_spte, PT_DIRTY_MASK, iter->level); // B
}

static void upgrade(struct kvm *kvm, struct tdp_iter *iter)
{
	read_lock(&kvm->mmu_lock);
	tdp_mmu_set_spte_atomic(kvm, iter, 0);
	read_unlock(&kvm->mmu_lock);
	write_lock(&kvm->mmu_lock);
	iter->old_spte = kvm_tdp_mmu_write_spte(iter->sptep, iter->old_spte, 0, iter->level);
	write_unlock(&kvm->mmu_lock);
}`;
    expect(keys(await spteFindings(c))).toEqual([`spte-lockless-write@${lineOf(c, '// A')}`, `spte-lockless-write@${lineOf(c, '// B')}`].sort());
  });

  it('a callee that asserts the write lock is exclusive (a mode mismatch is rwlock-mode\'s business)', async () => {
    expect(
      await spteFindings(`
static void zap_one(struct kvm *kvm, u64 *sptep)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	mmu_spte_clear_track_bits(kvm, sptep);
}

static void walker(struct kvm *kvm, u64 *sptep)
{
	read_lock(&kvm->mmu_lock);
	zap_one(kvm, sptep);
	read_unlock(&kvm->mmu_lock);
}`),
    ).toEqual([]);
  });

  it('the body of an atomic writer must be atomic even with no caller in the workspace', async () => {
    const c = `
static int __tdp_mmu_set_spte_atomic(struct tdp_iter *iter, u64 new_spte)
{
	WRITE_ONCE(*iter->sptep, new_spte); // A
	return 0;
}

static bool fast_pf_fix_direct_spte(struct kvm_vcpu *vcpu, u64 *sptep, u64 old_spte, u64 new_spte)
{
	return try_cmpxchg64(sptep, &old_spte, new_spte);
}`;
    const f = await spteFindings(c);
    expect(keys(f)).toEqual([`spte-lockless-write@${lineOf(c, '// A')}`]);
    expect(f[0].message).toMatch(/atomic \(cmpxchg\) SPTE writer/);
  });

  it('read-only lockless walks, xchg freezing, unlinked tables and atomic bit operations are fine', async () => {
    expect(
      await spteFindings(`
static int get_walk(struct kvm_vcpu *vcpu, u64 **sptes, u64 *out, int n)
{
	int i;

	walk_shadow_page_lockless_begin(vcpu);
	for (i = 0; i < n; i++)
		out[i] = mmu_spte_get_lockless(sptes[i]);
	walk_shadow_page_lockless_end(vcpu);
	return n;
}

static void remove_pt(struct kvm *kvm, u64 *pt, struct kvm_mmu_page *sp)
{
	int i;

	read_lock(&kvm->mmu_lock);
	for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		kvm_tdp_mmu_write_spte_atomic(&pt[i], FROZEN_SPTE);
		sp->spt[i] = SHADOW_NONPRESENT_VALUE;
		clear_bit(PT_WRITABLE_SHIFT, (unsigned long *)&pt[i]);
	}
	read_unlock(&kvm->mmu_lock);
}`),
    ).toEqual([]);
  });

  it.skipIf(!fs.existsSync(SHARED))('cites the fast page fault section for lockless walks', async () => {
    const f = await spteFindings(
      `
static void f(struct kvm_vcpu *vcpu, u64 *sptep)
{
	walk_shadow_page_lockless_begin(vcpu);
	*sptep |= PT_WRITABLE_MASK;
	walk_shadow_page_lockless_end(vcpu);
}`,
      rules612(),
    );
    expect(f).toHaveLength(1);
    expect(f[0].ruleRef).toBe('locking.rst:65');
    expect(f[0].message).toContain('"Fast page fault"');
  });
});

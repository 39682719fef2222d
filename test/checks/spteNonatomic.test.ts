import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keys, lineOf, rules612, SHARED, spteFindings } from './spteTestUtil';

describe('spte-nonatomic', () => {
  it('reports a fast clear with no volatility test, inside a helper that takes no lock itself', async () => {
    const c = `
static u64 clear_track_bits(struct kvm *kvm, u64 *sptep)
{
	u64 old = *sptep;

	__update_clear_spte_fast(sptep, SHADOW_NONPRESENT_VALUE); // A
	return old;
}`;
    const f = await spteFindings(c);
    expect(keys(f)).toEqual([`spte-nonatomic@${lineOf(c, '// A')}`]);
    expect(f[0].message).toMatch(/__update_clear_spte_fast\(\) is a plain store to an SPTE that may hold volatile bits/);
    expect(f[0].message).toMatch(/spte_has_volatile_bits\(\)/);
    expect(f[0].functionName).toBe('clear_track_bits');
  });

  it.skipIf(!fs.existsSync(SHARED))('cites the "Dirty bit tracking" section of the tree\'s locking.rst', async () => {
    const c = `
static void zap(struct kvm *kvm, u64 *sptep)
{
	write_lock(&kvm->mmu_lock);
	*sptep = SHADOW_NONPRESENT_VALUE;
	write_unlock(&kvm->mmu_lock);
}`;
    const f = await spteFindings(c, rules612());
    expect(f).toHaveLength(1);
    expect(f[0].ruleRef).toBe('locking.rst:148');
    expect(f[0].message).toContain('locking.rst:148, "2) Dirty bit tracking"');
    expect(f[0].message).toMatch(/Holding mmu_lock for write does not help/);
  });

  it('built-in rules cite the Exception section by name', async () => {
    const f = await spteFindings(`
static void zap(u64 *sptep)
{
	WRITE_ONCE(*sptep, SHADOW_NONPRESENT_VALUE);
}`);
    expect(f).toHaveLength(1);
    expect(f[0].ruleRef).toBe('locking.rst, Exception section');
    expect(f[0].message).toContain('WRITE_ONCE(*sptep, ...)');
  });

  it('accepts every spelling of the guard: !present || !volatile, present && volatile -> slow, early return, TDP predicate', async () => {
    const f = await spteFindings(`
static u64 a(u64 *sptep)
{
	u64 old = *sptep;

	if (!is_shadow_present_pte(old) || !spte_has_volatile_bits(old))
		__update_clear_spte_fast(sptep, SHADOW_NONPRESENT_VALUE);
	else
		old = __update_clear_spte_slow(sptep, SHADOW_NONPRESENT_VALUE);
	return old;
}

static u64 b(u64 *sptep, u64 new_spte)
{
	u64 old = *sptep;

	if (is_shadow_present_pte(old) && spte_has_volatile_bits(old))
		old = __update_clear_spte_slow(sptep, new_spte);
	else
		__update_clear_spte_fast(sptep, new_spte);
	return old;
}

static u64 c(u64 *sptep, u64 old_spte, u64 new_spte, int level)
{
	if (kvm_tdp_mmu_spte_need_atomic_write(old_spte, level))
		return kvm_tdp_mmu_write_spte_atomic(sptep, new_spte);
	__kvm_tdp_mmu_write_spte(sptep, new_spte);
	return old_spte;
}

static void d(struct kvm *kvm, u64 *sptep)
{
	if (unlikely(is_mmio_spte(kvm, *sptep)))
		WRITE_ONCE(*sptep, SHADOW_NONPRESENT_VALUE);
}`);
    expect(keys(f)).toEqual([]);
  });

  it('a guard on one path does not cover another path to the same kind of write', async () => {
    const c = `
static void f(u64 *sptep, bool zap)
{
	u64 old = *sptep;

	if (zap) {
		if (!spte_has_volatile_bits(old))
			__update_clear_spte_fast(sptep, SHADOW_NONPRESENT_VALUE);
	} else {
		__update_clear_spte_fast(sptep, old & ~PT_WRITABLE_MASK); // A
	}
}`;
    expect(keys(await spteFindings(c))).toEqual([`spte-nonatomic@${lineOf(c, '// A')}`]);
  });

  it('a test of the NEW value proves nothing about the old one', async () => {
    const c = `
static void f(u64 *sptep, u64 new_spte)
{
	if (!is_shadow_present_pte(new_spte))
		__update_clear_spte_fast(sptep, new_spte); // A
}`;
    expect(keys(await spteFindings(c))).toEqual([`spte-nonatomic@${lineOf(c, '// A')}`]);
  });

  it('mmu_spte_clear_no_track: trusted for parents and MMIO SPTEs, reported on a leaf', async () => {
    const c = `
static void parent(struct kvm *kvm, u64 *parent_pte)
{
	mmu_spte_clear_no_track(parent_pte);
}

static void zap_pte(struct kvm *kvm, u64 *spte, int level)
{
	u64 pte = *spte;

	if (is_shadow_present_pte(pte)) {
		if (is_last_spte(pte, level))
			mmu_spte_clear_no_track(spte); // A
	} else if (is_mmio_spte(kvm, pte)) {
		mmu_spte_clear_no_track(spte);
	}
}`;
    const f = await spteFindings(c);
    expect(keys(f)).toEqual([`spte-nonatomic@${lineOf(c, '// A')}`]);
    expect(f[0].message).toMatch(/on a leaf SPTE/);
    expect(f[0].message).toMatch(/mmu_spte_clear_track_bits/);
  });

  it('__set_spte needs a not-present old SPTE; mmu_spte_set checks that itself', async () => {
    const c = `
static void f(u64 *sptep, u64 spte)
{
	if (is_shadow_present_pte(*sptep))
		__set_spte(sptep, spte); // A
	if (!is_shadow_present_pte(*sptep))
		__set_spte(sptep, spte);
	mmu_spte_set(sptep, spte);
}`;
    expect(keys(await spteFindings(c))).toEqual([`spte-nonatomic@${lineOf(c, '// A')}`]);
  });

  it('out-parameters: a value handed back is not an SPTE write, an SPTE constant stored through the same shape is', async () => {
    const c = `
static bool get_mmio(u64 addr, u64 *sptep)
{
	u64 sptes[4];

	if (!addr) {
		*sptep = 0ull;
		return false;
	}
	sptes[0] = addr;
	*sptep = sptes[0];
	return true;
}

static u64 *last_sptep(struct tdp_iter *iter, u64 *spte)
{
	*spte = iter->old_spte;
	return iter->sptep;
}

static void clear(u64 *sptep)
{
	*sptep = SHADOW_NONPRESENT_VALUE; // A
}`;
    expect(keys(await spteFindings(c))).toEqual([`spte-nonatomic@${lineOf(c, '// A')}`]);
  });

  it('FROZEN ownership covers only the SPTE this thread froze, and only after the freeze', async () => {
    const c = `
static int zap_frozen(struct kvm *kvm, struct tdp_iter *iter, struct tdp_iter *other)
{
	__kvm_tdp_mmu_write_spte(iter->sptep, SHADOW_NONPRESENT_VALUE); // A
	if (!try_cmpxchg64(iter->sptep, &iter->old_spte, FROZEN_SPTE))
		return -EBUSY;
	__kvm_tdp_mmu_write_spte(iter->sptep, SHADOW_NONPRESENT_VALUE);
	__kvm_tdp_mmu_write_spte(other->sptep, SHADOW_NONPRESENT_VALUE); // B
	return 0;
}`;
    expect(keys(await spteFindings(c))).toEqual([`spte-nonatomic@${lineOf(c, '// A')}`, `spte-nonatomic@${lineOf(c, '// B')}`].sort());
  });

  it('the bodies of the plain primitives are definitions, not uses; a conditional helper\'s body is checked', async () => {
    const c = `
void __update_clear_spte_fast(u64 *sptep, u64 spte)
{
	WRITE_ONCE(*sptep, spte);
}

void __kvm_tdp_mmu_write_spte(u64 *sptep, u64 new_spte)
{
	WRITE_ONCE(*sptep, new_spte);
}

u64 mmu_spte_update_no_track(u64 *sptep, u64 new_spte)
{
	u64 old_spte = *sptep;

	__update_clear_spte_fast(sptep, new_spte); // A
	return old_spte;
}`;
    expect(keys(await spteFindings(c))).toEqual([`spte-nonatomic@${lineOf(c, '// A')}`]);
  });

  it('entries of a page table being built are not reachable yet', async () => {
    expect(
      await spteFindings(`
static void fill(struct kvm_mmu_page *sp, u64 huge)
{
	int i;

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		sp->spt[i] = huge | i;
}`),
    ).toEqual([]);
  });

  it('honours a suppression comment', async () => {
    expect(
      await spteFindings(`
static void zap(u64 *sptep)
{
	/* kvm-locklint: ignore spte-nonatomic */
	__update_clear_spte_fast(sptep, SHADOW_NONPRESENT_VALUE);
}`),
    ).toEqual([]);
  });

  it('survives broken C', async () => {
    const f = await spteFindings(`
static void zap(u64 *sptep
{
	if (!spte_has_volatile_bits(*sptep)
		__update_clear_spte_fast(sptep, ;
	*sptep = 
`);
    expect(Array.isArray(f)).toBe(true);
  });
});

import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keys, lineOf, rules612, SHARED, spteFindings } from './spteTestUtil';

describe('spte-tlb-flush', () => {
  it('reports mmu_spte_update() and spte_wrprot_for_clear_dirty() called for effect only, including a (void) cast', async () => {
    const c = `
static void f(struct kvm *kvm, u64 *sptep)
{
	write_lock(&kvm->mmu_lock);
	mmu_spte_update(sptep, *sptep & ~PT_WRITABLE_MASK); // A
	(void)mmu_spte_update(sptep, *sptep & ~PT_DIRTY_MASK); // B
	spte_wrprot_for_clear_dirty(sptep); // C
	write_unlock(&kvm->mmu_lock);
}`;
    const f = await spteFindings(c);
    expect(keys(f)).toEqual(['// A', '// B', '// C'].map((m) => `spte-tlb-flush@${lineOf(c, m)}`).sort());
    expect(f[0].message).toMatch(/result of mmu_spte_update\(\) is dropped/);
    expect(f[0].message).toMatch(/stale TLB entry/);
  });

  it('accepts every use of the result: OR-ed, tested, stored, returned, passed on', async () => {
    expect(
      await spteFindings(`
bool consume(bool flush);

static bool f(struct kvm *kvm, u64 *sptep)
{
	bool flush = false, r;

	flush |= mmu_spte_update(sptep, 0);
	if (mmu_spte_update(sptep, 1))
		kvm_flush_remote_tlbs(kvm);
	r = mmu_spte_update(sptep, 2);
	consume(mmu_spte_update(sptep, 3));
	return flush || r || mmu_spte_update(sptep, 4);
}`),
    ).toEqual([]);
  });

  it('follows wrappers that return the flag, through two levels, and shows where each returns it', async () => {
    const c = `
static bool protect_one(u64 *sptep)
{
	return mmu_spte_update(sptep, *sptep & ~PT_WRITABLE_MASK); // INNER
}

static bool protect_gfn(u64 *sptep)
{
	if (!is_writable_pte(*sptep))
		return false;
	return protect_one(sptep); // OUTER
}

static void caller(struct kvm *kvm, u64 *sptep)
{
	bool flush = protect_gfn(sptep);

	protect_gfn(sptep); // A
	protect_one(sptep); // B
	if (flush)
		kvm_flush_remote_tlbs(kvm);
}`;
    const f = await spteFindings(c);
    expect(keys(f)).toEqual([`spte-tlb-flush@${lineOf(c, '// A')}`, `spte-tlb-flush@${lineOf(c, '// B')}`].sort());
    const a = f.find((x) => x.range.start.line === lineOf(c, '// A'))!;
    expect(a.message).toMatch(/result of protect_gfn\(\) is dropped; it returns mmu_spte_update\(\)'s/);
    expect(a.related.map((r) => r.range.start.line)).toEqual([lineOf(c, '// OUTER'), lineOf(c, '// INNER')]);
  });

  it('helpers whose result is not a flush flag are not reported when dropped', async () => {
    expect(
      await spteFindings(`
static void age(struct kvm *kvm, u64 *sptep)
{
	write_lock(&kvm->mmu_lock);
	mmu_spte_update_no_track(sptep, mark_spte_for_access_track(*sptep));
	mmu_spte_clear_track_bits(kvm, sptep);
	write_unlock(&kvm->mmu_lock);
}`),
    ).toEqual([]);
  });

  it.skipIf(!fs.existsSync(SHARED))('cites "3) flush tlbs due to spte updated" of the tree\'s document', async () => {
    const f = await spteFindings(
      `
static void f(u64 *sptep)
{
	mmu_spte_update(sptep, 0);
}`,
      rules612(),
    );
    expect(f).toHaveLength(1);
    expect(f[0].ruleRef).toBe('locking.rst:200');
    expect(f[0].message).toContain('"3) flush tlbs due to spte updated"');
  });
});

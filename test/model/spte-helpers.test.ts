import { describe, expect, it } from 'vitest';
import { SPTE_HELPERS, SPTE_MASKS, SPTE_PREDICATES, spteHelper, spteMask } from '../../model/spte/helpers';

const REQUIRED = [
  'mmu_spte_set',
  'mmu_spte_update',
  'mmu_spte_update_no_track',
  'mmu_spte_clear_track_bits',
  'mmu_spte_clear_no_track',
  '__set_spte',
  '__update_clear_spte_fast',
  '__update_clear_spte_slow',
  'mmu_spte_get_lockless',
  'spte_wrprot_for_clear_dirty',
  'fast_pf_fix_direct_spte',
  'kvm_tdp_mmu_write_spte_atomic',
  '__kvm_tdp_mmu_write_spte',
  'kvm_tdp_mmu_write_spte',
  'tdp_mmu_clear_spte_bits',
  '__tdp_mmu_set_spte_atomic',
  'tdp_mmu_set_spte_atomic',
  'tdp_mmu_zap_spte_atomic',
  'tdp_mmu_set_spte',
  'tdp_mmu_iter_set_spte',
  'WRITE_ONCE',
  'try_cmpxchg64',
  'cmpxchg64',
  'xchg',
];

describe('SPTE helper contracts', () => {
  it('cover every helper the checks and hovers need, once each', () => {
    for (const name of REQUIRED) expect(spteHelper(name), name).toBeDefined();
    expect(new Set(SPTE_HELPERS.map((h) => h.name)).size).toBe(SPTE_HELPERS.length);
  });

  it('have a one-sentence safeWhen and a short summary', () => {
    for (const h of SPTE_HELPERS) {
      expect(h.safeWhen.trim().endsWith('.'), h.name).toBe(true);
      expect(h.summary.length, h.name).toBeLessThan(320);
      expect(h.summary.length, h.name).toBeGreaterThan(20);
    }
  });

  it('mark every cmpxchg-based write as must-check', () => {
    for (const h of SPTE_HELPERS.filter((h) => h.atomicity === 'cmpxchg')) expect(h.mustCheckResult, h.name).toBe(true);
  });

  it('encode the lockless and shared-mode writers as cmpxchg, and plain stores as plain', () => {
    expect(spteHelper('fast_pf_fix_direct_spte')).toMatchObject({ atomicity: 'cmpxchg', requiresLock: 'lockless-ok' });
    expect(spteHelper('tdp_mmu_set_spte_atomic')).toMatchObject({ atomicity: 'cmpxchg', requiresLock: 'mmu_lock-read' });
    expect(spteHelper('tdp_mmu_set_spte')).toMatchObject({ atomicity: 'conditional', requiresLock: 'mmu_lock-write' });
    expect(spteHelper('WRITE_ONCE')).toMatchObject({ atomicity: 'plain', requiresLock: 'mmu_lock-write' });
    expect(spteHelper('mmu_spte_get_lockless')?.atomicity).toBe('read');
  });

  it('say which results carry a TLB flush duty', () => {
    const flushers = SPTE_HELPERS.filter((h) => h.returnsFlushNeeded).map((h) => h.name).sort();
    expect(flushers).toEqual(['mmu_spte_update', 'spte_wrprot_for_clear_dirty']);
    for (const h of SPTE_HELPERS.filter((h) => h.returnsFlushNeeded)) expect(h.mustCheckResult).toBe(true);
  });

  it('resolve aliases and reject unknown names', () => {
    expect(spteHelper('try_cmpxchg')?.name).toBe('try_cmpxchg64');
    expect(spteHelper('atomic64_fetch_and')?.atomicity).toBe('atomic-bitop');
    expect(spteHelper('kvm_vcpu_ioctl')).toBeUndefined();
  });
});

describe('SPTE masks and predicates for hovers', () => {
  it('explain the masks the document and the code talk about', () => {
    for (const name of [
      'SPTE_MMU_PRESENT_MASK',
      'shadow_accessed_mask',
      'shadow_dirty_mask',
      'PT_WRITABLE_MASK',
      'shadow_mmu_writable_mask',
      'shadow_host_writable_mask',
      'SHADOW_NONPRESENT_VALUE',
      'FROZEN_SPTE',
      'shadow_acc_track_mask',
    ]) {
      expect(spteMask(name)?.meaning, name).toMatch(/\w/);
    }
    expect(spteMask('SPTE_MMU_PRESENT_MASK')?.value).toBe('bit 11');
    expect(new Set(SPTE_MASKS.map((m) => m.name)).size).toBe(SPTE_MASKS.length);
  });

  it('describe both generations of the atomic-update predicate', () => {
    const names = SPTE_PREDICATES.map((p) => p.name);
    expect(names).toContain('spte_has_volatile_bits');
    expect(names).toContain('spte_needs_atomic_update');
  });
});

import { describe, expect, it } from 'vitest';
import { spteHoverMarkdown } from '../../server/checks/spteHover';

describe('spteHoverMarkdown', () => {
  it('describes helpers from their contracts, including what the checks hold callers to', () => {
    const u = spteHoverMarkdown('mmu_spte_update')!;
    expect(u).toMatch(/^\*\*mmu_spte_update\*\* — SPTE helper \(shadow MMU\)/);
    expect(u).toMatch(/spte-tlb-flush/);
    const f = spteHoverMarkdown('__update_clear_spte_fast')!;
    expect(f).toMatch(/Write: plain/);
    expect(f).toMatch(/Callers must ensure: no volatile bits/);
    expect(spteHoverMarkdown('mmu_spte_set')).not.toMatch(/Callers must ensure/);
  });

  it('describes masks with their 6.12 value and predicates with their role as guards', () => {
    expect(spteHoverMarkdown('shadow_mmu_writable_mask')).toMatch(/bit 10 .*bit 58/);
    expect(spteHoverMarkdown('FROZEN_SPTE')).toMatch(/SHADOW_NONPRESENT_VALUE \| 0x5a0/);
    expect(spteHoverMarkdown('spte_has_volatile_bits')).toMatch(/plain store to the SPTE is safe/);
  });

  it('returns null for anything else', () => {
    expect(spteHoverMarkdown('kvm_vcpu_ioctl')).toBeNull();
    expect(spteHoverMarkdown('')).toBeNull();
  });
});

/**
 * Hover text for SPTE names that are not helper calls: masks and constants (`PT_WRITABLE_MASK`,
 * `FROZEN_SPTE`, `shadow_mmu_writable_mask`) and predicates (`spte_has_volatile_bits`), plus the
 * helpers themselves, all from model/spte/helpers.ts. The engine's hover answers helper CALLS
 * (server/engine/hover.ts); this covers any identifier, for the engine to fall back on.
 */
import { SPTE_PREDICATES, spteHelper, spteMask } from '../../model/spte/helpers';

const PREDICATES = new Map(SPTE_PREDICATES.map((p) => [p.name, p] as const));

/** Why a predicate matters to the SPTE checks, when it is one of their guards. */
const GUARD_NOTE: Record<string, string> = {
  spte_has_volatile_bits: 'When it returns false (and mmu_lock is held for write), a plain store to the SPTE is safe: spte-nonatomic accepts writes on that branch.',
  spte_needs_atomic_update: 'When it returns false, a plain store to the SPTE is safe: spte-nonatomic accepts writes on that branch.',
  is_shadow_present_pte: 'When it returns false, nothing outside mmu_lock changes the SPTE, so a plain store is safe.',
  kvm_tdp_mmu_spte_need_atomic_write: 'TDP MMU: present, last-level and volatile. When false, a plain store is safe under the write lock.',
};

export function spteHoverMarkdown(name: string): string | null {
  const h = spteHelper(name);
  if (h) {
    const lines = [`**${h.name}** — SPTE ${h.family === 'primitive' ? 'primitive' : `helper (${h.family} MMU)`}`, h.summary];
    lines.push(`Write: ${h.atomicity}; requires: ${h.requiresLock}; returns ${h.returns}.`);
    lines.push(`Safe when: ${h.safeWhen}`);
    if (h.callerMustEnsure && !h.selfChecked) lines.push(`Callers must ensure: ${h.callerMustEnsure.replace(/-/g, ' ')} (checked by spte-nonatomic).`);
    if (h.returnsFlushNeeded) lines.push('Returns whether a TLB flush is needed: dropping the result is reported (spte-tlb-flush).');
    else if (h.mustCheckResult) lines.push('Its result must be checked.');
    return lines.join('\n\n');
  }
  const m = spteMask(name);
  if (m) return [`**${m.name}** — SPTE bit/mask`, `Value (Linux 6.12): ${m.value}`, m.meaning].join('\n\n');
  const p = PREDICATES.get(name);
  if (p) return [`**${p.name}()** — SPTE predicate`, p.meaning, GUARD_NOTE[p.name]].filter(Boolean).join('\n\n');
  return null;
}

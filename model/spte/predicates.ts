/**
 * KVM's SPTE predicates, written from what they mean (Linux 6.12 spte.h/spte.c and the newer
 * spte_needs_atomic_update()), over the `Spte` record of ./bits.ts.
 *
 * Convention: predicates that the kernel only ever asks about shadow-present SPTEs (volatile
 * bits, atomic update, access tracking) answer `false` for a non-present SPTE, which is what
 * every caller does anyway by testing presence first.
 */
import type { Spte } from './bits';

export function isShadowPresent(s: Spte): boolean {
  return s.present;
}

/** Hardware W bit. */
export function isWritable(s: Spte): boolean {
  return s.w;
}

export function isMmuWritable(s: Spte): boolean {
  return s.mmuWritable;
}

export function isHostWritable(s: Spte): boolean {
  return s.hostWritable;
}

/** The per-SPTE A/D type is not DISABLED (WRPROT_ONLY still counts as enabled). */
export function adEnabled(s: Spte): boolean {
  return !s.adDisabled;
}

/**
 * Marked for access tracking: A/D is disabled for this SPTE and aging has cleared all of R, W and
 * X, so the hardware sees it as not present while KVM still considers it present.
 */
export function isAccessTracked(s: Spte): boolean {
  return s.present && s.adDisabled && !s.r && !s.w && !s.x;
}

/** With A/D: the A bit. Without: "has not been marked for access tracking since the last access". */
export function isAccessed(s: Spte): boolean {
  return adEnabled(s) ? s.accessed : !isAccessTracked(s);
}

/** With A/D: the D bit. Without: the W bit (writes are tracked by write-protection). */
export function isDirty(s: Spte): boolean {
  return adEnabled(s) ? s.dirty : s.w;
}

/**
 * Fast page fault may change this SPTE without mmu_lock: set W on an MMU-writable but not yet
 * writable SPTE, or restore the R/X bits that access tracking saved.
 */
export function canFastPfMakeWritable(s: Spte): boolean {
  return s.present && ((s.mmuWritable && !s.w) || isAccessTracked(s));
}

/**
 * Linux 6.12 `spte_has_volatile_bits()`: someone outside mmu_lock may change the SPTE, so an
 * update must be an atomic exchange. Three sources of change:
 *  1. fast page fault may set W (MMU-writable but W clear);
 *  2. fast page fault may restore an access-tracked SPTE;
 *  3. the CPU may set A (A clear) or D (W set and D clear) when A/D is enabled.
 */
export function hasVolatileBits(s: Spte): boolean {
  if (!s.present) return false;
  if (s.mmuWritable && !s.w) return true;
  if (isAccessTracked(s)) return true;
  if (adEnabled(s) && (!s.accessed || (s.w && !s.dirty))) return true;
  return false;
}

/**
 * The two generations of the "must this update be atomic?" rule.
 *  - `any-volatile`: locking.rst up to 6.12 (`spte_has_volatile_bits()`): any bit that may change
 *    outside mmu_lock forces an atomic exchange, the Accessed bit included.
 *  - `dirty-matters`: the newer `spte_needs_atomic_update()` (named by the 2025 locking.rst):
 *    the Accessed bit is ignored, because KVM tolerates losing it (aging does not even flush
 *    TLBs, an A bit lost only makes a page look older); losing Dirty or a W set by fast page
 *    fault is not tolerable. A/D-disabled SPTEs are always atomic in that generation because
 *    aging may mark them for access tracking outside mmu_lock.
 */
export type AtomicUpdateRule = 'any-volatile' | 'dirty-matters';

export function needsAtomicUpdate(s: Spte, rule: AtomicUpdateRule): boolean {
  if (rule === 'any-volatile') return hasVolatileBits(s);
  if (!s.present) return false;
  if (s.mmuWritable && !s.w) return true;
  if (s.adDisabled) return true;
  return s.w && !s.dirty;
}

/**
 * The rule that predates fast page fault (and that locking.rst's "Dirty bit tracking" story
 * calls the original code): a read-only SPTE whose Accessed bit is already set was thought to
 * be stable, so it was updated with a plain store. Kept to replay the lost-Dirty race.
 */
export function preFastPfStableSpte(s: Spte): boolean {
  return s.accessed && !s.w;
}

/** Which rule generation a locking document describes. */
export function atomicRuleForDocument(text: string): AtomicUpdateRule {
  return /spte_needs_atomic_update\s*\(/.test(text) ? 'dirty-matters' : 'any-volatile';
}

/** `check_spte_writable_invariants`: MMU-writable implies Host-writable; W implies MMU-writable. */
export function checkWritableInvariants(s: Spte): string[] {
  if (!s.present) return [];
  const problems: string[] = [];
  if (s.mmuWritable && !s.hostWritable) problems.push('MMU-writable SPTE is not Host-writable');
  if (s.w && !s.mmuWritable) problems.push('writable SPTE is not MMU-writable');
  return problems;
}

/**
 * Aging: with A/D, clear the Accessed bit; without, save R and X in the ignored bits and clear
 * R/W/X (W is not saved). An already tracked or non-present SPTE is returned unchanged.
 */
export function markForAccessTrack(s: Spte): Spte {
  if (!s.present) return s;
  if (adEnabled(s)) return { ...s, accessed: false };
  if (isAccessTracked(s)) return s;
  return { ...s, savedR: s.r, savedX: s.x, r: false, w: false, x: false };
}

/** Undo access tracking: put the saved R/X back and clear the saved bits. W stays clear. */
export function restoreAccessTrack(s: Spte): Spte {
  if (!isAccessTracked(s)) return s;
  return { ...s, r: s.savedR, x: s.savedX, savedR: false, savedX: false };
}

/**
 * 6.12 `mmu_spte_update()`'s answer for a present->present update: the TLB must be flushed when
 * the old SPTE was MMU-writable and the new one is not writable (a CPU may cache a W that fast
 * page fault set), or when Accessed or Dirty goes from 1 to 0.
 */
export function flushNeededOnUpdate(oldSpte: Spte, newSpte: Spte): boolean {
  if (!oldSpte.present) return false;
  if (oldSpte.mmuWritable && !newSpte.w) return true;
  if (isAccessed(oldSpte) && !isAccessed(newSpte)) return true;
  if (isDirty(oldSpte) && !isDirty(newSpte)) return true;
  return false;
}

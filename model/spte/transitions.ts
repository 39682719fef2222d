/**
 * SPTE changes made by the actors of the race scenarios: fast page fault, the CPU's page walker,
 * write protection. Pure functions over `Spte`.
 */
import type { Spte } from './bits';
import { adEnabled, isAccessTracked, restoreAccessTrack } from './predicates';

export type Access = 'read' | 'write' | 'exec';

/** Would the hardware allow this access through the SPTE without faulting? */
export function accessAllowed(s: Spte, access: Access): boolean {
  if (!s.present) return false;
  if (access === 'write') return s.w;
  if (access === 'exec') return s.x;
  return s.r;
}

/**
 * The new SPTE fast page fault would install for a fault of kind `access` on `old`, or null when
 * it bails (not present, spurious fault, nothing it may fix locklessly). Mirrors 6.12's decision:
 * restore access tracking, then set W if the fault is a write and the SPTE is MMU-writable.
 */
export function fastPageFaultFix(old: Spte, access: Access): Spte | null {
  if (!old.present || accessAllowed(old, access)) return null;
  let next = old;
  if (isAccessTracked(next)) next = restoreAccessTrack(next);
  if (access === 'write' && old.mmuWritable) next = { ...next, w: true };
  if (next === old || !accessAllowed(next, access)) return null;
  return next;
}

/**
 * The CPU's page walker on an access through `s` (it sets A, and D for a write, atomically).
 * Returns null when the access faults instead.
 */
export function hardwareAccess(s: Spte, access: Access): Spte | null {
  if (!accessAllowed(s, access)) return null;
  if (!adEnabled(s)) return s;
  return { ...s, accessed: true, dirty: s.dirty || access === 'write' };
}

/** spte_write_protect: clear W, and MMU-writable too when protecting a shadowed guest page table. */
export function writeProtect(s: Spte, ptProtect: boolean): Spte {
  if (!s.present) return s;
  return { ...s, w: false, mmuWritable: ptProtect ? false : s.mmuWritable };
}

/**
 * The contracts of KVM's SPTE write helpers (x86 shadow MMU and TDP MMU, Linux 6.12), as data.
 * The analyzer's SPTE checks (`spte-nonatomic`, `spte-lockless-write`, `spte-tlb-flush`) and the
 * hover provider read this table; the wording is ours.
 */

/** How the helper writes the SPTE. */
export type SpteAtomicity =
  /** a plain store (WRITE_ONCE): a concurrent change between read and store is lost */
  | 'plain'
  /** an unconditional atomic exchange: nothing is lost, the real old value is returned */
  | 'atomic-xchg'
  /** compare-and-exchange against a snapshot: fails if anything changed since the snapshot */
  | 'cmpxchg'
  /** an atomic single-bit operation (clear_bit, test_and_clear_bit, fetch_and) */
  | 'atomic-bitop'
  /** plain or atomic, chosen at run time from the old value's volatile bits */
  | 'conditional'
  /** only reads */
  | 'read';

/** What the caller must hold. */
export type SpteLockRequirement =
  | 'mmu_lock-write'
  | 'mmu_lock-read'
  | 'mmu_lock-any'
  /** fine on a lockless walk (RCU or IRQs off), no mmu_lock needed */
  | 'lockless-ok'
  | 'none';

export interface SpteHelperContract {
  name: string;
  atomicity: SpteAtomicity;
  requiresLock: SpteLockRequirement;
  /** One sentence: when using it is correct. */
  safeWhen: string;
  /** The return value says whether the caller must flush TLBs. */
  returnsFlushNeeded: boolean;
  /** Ignoring the result is a bug (failed cmpxchg, flush needed). */
  mustCheckResult: boolean;
  /** One or two sentences for hovers. */
  summary: string;
  /** MMU family: shadow (rmap) MMU, TDP MMU, or a generic kernel primitive applied to an SPTE. */
  family: 'shadow' | 'tdp' | 'primitive';
  /** What the function returns, in a few words. */
  returns: string;
  /**
   * For plain writers: what the CALLER must have established about the SPTE for the plain store
   * to be safe (the SPTE checks verify it at each call site). `no-volatile-bits`: not present, or
   * spte_has_volatile_bits() false; `not-present`: not shadow-present; `non-leaf-or-mmio`: a
   * parent SPTE or an MMIO SPTE, whose bits nothing changes outside mmu_lock.
   */
  callerMustEnsure?: 'no-volatile-bits' | 'not-present' | 'non-leaf-or-mmio';
  /** The helper checks (WARNs on) its own precondition, so its call sites are not judged. */
  selfChecked?: boolean;
}

export const SPTE_HELPERS: readonly SpteHelperContract[] = [
  // ---- shadow (rmap) MMU, mmu.c ----
  {
    name: 'mmu_spte_set',
    callerMustEnsure: 'not-present',
    selfChecked: true,
    family: 'shadow',
    atomicity: 'plain',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'The old SPTE is not shadow-present, so neither fast page fault nor the CPU can be changing it.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'nothing',
    summary:
      'Installs an SPTE over a non-present one with a plain store. Warns if the old SPTE was present: present SPTEs must go through mmu_spte_update.',
  },
  {
    name: 'mmu_spte_update',
    family: 'shadow',
    atomicity: 'conditional',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Always under mmu_lock for write, provided the caller acts on the returned flush flag.',
    returnsFlushNeeded: true,
    mustCheckResult: true,
    returns: 'true if TLBs must be flushed',
    summary:
      'Updates a present SPTE: plain store if the old value has no volatile bits, else xchg. Returns true when the update needs a TLB flush (old SPTE MMU-writable and new not writable, or Accessed/Dirty cleared); dropping that result can leave a stale writable TLB entry.',
  },
  {
    name: 'mmu_spte_update_no_track',
    family: 'shadow',
    atomicity: 'conditional',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Under mmu_lock for write, when the caller does not need the A/D and flush bookkeeping (aging).',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the old SPTE',
    summary:
      'The update behind mmu_spte_update without the A/D propagation and flush decision: plain store or xchg depending on the old value\'s volatile bits; returns the old SPTE.',
  },
  {
    name: 'mmu_spte_clear_track_bits',
    family: 'shadow',
    atomicity: 'conditional',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Under mmu_lock for write, for leaf SPTEs being zapped; the xchg path catches bits set concurrently.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the old SPTE',
    summary:
      'Zaps a leaf SPTE to the non-present value (xchg if it was present with volatile bits, else a plain store) and moves its Accessed/Dirty state to the page. The caller flushes TLBs for the zap.',
  },
  {
    name: 'mmu_spte_clear_no_track',
    callerMustEnsure: 'non-leaf-or-mmio',
    family: 'shadow',
    atomicity: 'plain',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Only for non-leaf or MMIO SPTEs, whose bits nobody changes outside mmu_lock.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'nothing',
    summary:
      'Clears an SPTE with a plain store and no A/D bookkeeping. Correct for parent (non-leaf) and MMIO SPTEs only; on a leaf SPTE it can lose a Dirty bit.',
  },
  {
    name: '__set_spte',
    callerMustEnsure: 'not-present',
    family: 'shadow',
    atomicity: 'plain',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Through mmu_spte_set only: the old SPTE is not present.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'nothing',
    summary:
      'Low-level plain store of a whole SPTE (on 32-bit hosts, high half first, then low half). No checks of its own.',
  },
  {
    name: '__update_clear_spte_fast',
    callerMustEnsure: 'no-volatile-bits',
    family: 'shadow',
    atomicity: 'plain',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'The caller has checked that the old SPTE was not present or had no volatile bits.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'nothing',
    summary:
      'Low-level plain store used for updates and clears of stable SPTEs. A bit set concurrently by fast page fault or the CPU is lost.',
  },
  {
    name: '__update_clear_spte_slow',
    family: 'shadow',
    atomicity: 'atomic-xchg',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Always; needed whenever the old SPTE may change outside mmu_lock.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the real old SPTE',
    summary:
      'Low-level atomic exchange of an SPTE that returns the value really replaced, including bits set concurrently by fast page fault or the CPU.',
  },
  {
    name: 'mmu_spte_get_lockless',
    family: 'shadow',
    atomicity: 'read',
    requiresLock: 'lockless-ok',
    safeWhen: 'Inside walk_shadow_page_lockless_begin/end, which keeps the page table from being freed.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'a snapshot of the SPTE',
    summary:
      'Reads an SPTE without mmu_lock (32-bit hosts retry until both halves agree). The value may be stale by the time it is used.',
  },
  {
    name: 'spte_wrprot_for_clear_dirty',
    family: 'shadow',
    atomicity: 'atomic-bitop',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Under mmu_lock for write; the atomic bit clear cannot lose a concurrent change to other bits.',
    returnsFlushNeeded: true,
    mustCheckResult: true,
    returns: 'true if W was set (flush needed)',
    summary:
      'Clears W with an atomic test-and-clear to reset dirty tracking on SPTEs without usable Dirty bits; returns whether W was set, i.e. whether TLBs must be flushed.',
  },
  {
    name: 'fast_pf_fix_direct_spte',
    family: 'shadow',
    atomicity: 'cmpxchg',
    requiresLock: 'lockless-ok',
    safeWhen: 'On a lockless walk of a DIRECT shadow page or the TDP MMU, where the SPTE\'s gfn cannot change (the gfn->pfn ABA).',
    returnsFlushNeeded: false,
    mustCheckResult: true,
    returns: 'false if the SPTE changed (retry or fall back)',
    summary:
      'Fast page fault\'s only write: cmpxchg from the snapshot to the fixed SPTE, and mark the gfn dirty when W went 0->1. Fails if anything changed since the snapshot.',
  },
  // ---- TDP MMU, tdp_iter.h / tdp_mmu.c ----
  {
    name: 'kvm_tdp_mmu_read_spte',
    family: 'tdp',
    atomicity: 'read',
    requiresLock: 'lockless-ok',
    safeWhen: 'Under RCU, which keeps TDP page tables alive.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'a snapshot of the SPTE',
    summary: 'Reads a TDP SPTE under RCU; the snapshot feeds the iterator\'s old_spte.',
  },
  {
    name: 'kvm_tdp_mmu_write_spte_atomic',
    family: 'tdp',
    atomicity: 'atomic-xchg',
    requiresLock: 'mmu_lock-any',
    safeWhen: 'When the caller wants the real old value, e.g. freezing entries of a page table being removed.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the real old SPTE',
    summary: 'Atomically exchanges a TDP SPTE and returns the value it replaced.',
  },
  {
    name: '__kvm_tdp_mmu_write_spte',
    callerMustEnsure: 'no-volatile-bits',
    family: 'tdp',
    atomicity: 'plain',
    requiresLock: 'mmu_lock-any',
    safeWhen: 'No one else can write the SPTE: it is FROZEN and owned by the caller, or mmu_lock is held for write and the old value has no volatile bits.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'nothing',
    summary:
      'Plain store of a TDP SPTE. Correct on a FROZEN SPTE (no other thread touches it) or for stable SPTEs under the write lock.',
  },
  {
    name: 'kvm_tdp_mmu_write_spte',
    family: 'tdp',
    atomicity: 'conditional',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Under mmu_lock for write: the helper picks xchg when the old leaf SPTE has volatile bits.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the old SPTE (real value when xchg was used)',
    summary:
      'Writes a TDP SPTE: xchg if the old value is a present leaf with volatile bits, else a plain store. Returns the old value to use for bookkeeping.',
  },
  {
    name: 'tdp_mmu_clear_spte_bits',
    family: 'tdp',
    atomicity: 'conditional',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Under mmu_lock for write: an atomic fetch-and is used when the old leaf SPTE has volatile bits.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the old SPTE',
    summary: 'Clears some bits of a TDP SPTE (aging, dirty clearing): atomic and-not when volatile, else plain store of old & ~mask.',
  },
  {
    name: '__tdp_mmu_set_spte_atomic',
    family: 'tdp',
    atomicity: 'cmpxchg',
    requiresLock: 'mmu_lock-read',
    safeWhen: 'Under mmu_lock for read with RCU, the iterator has not yielded, and the old SPTE is not FROZEN.',
    returnsFlushNeeded: false,
    mustCheckResult: true,
    returns: '0, or -EBUSY with old_spte refreshed',
    summary:
      'cmpxchg of the iterator\'s SPTE from iter->old_spte to the new value; on failure it reloads old_spte and returns -EBUSY, so the caller must retry or give up.',
  },
  {
    name: 'tdp_mmu_set_spte_atomic',
    family: 'tdp',
    atomicity: 'cmpxchg',
    requiresLock: 'mmu_lock-read',
    safeWhen: 'Under mmu_lock for read (asserted) with RCU; the caller handles -EBUSY.',
    returnsFlushNeeded: false,
    mustCheckResult: true,
    returns: '0, or -EBUSY',
    summary:
      'The shared-mode TDP write: cmpxchg plus the bookkeeping of the change. Must-check: a failure means another thread changed the SPTE first.',
  },
  {
    name: 'tdp_mmu_set_spte_atomic_no_dirty_log',
    family: 'tdp',
    atomicity: 'cmpxchg',
    requiresLock: 'mmu_lock-read',
    safeWhen: 'Older kernels (5.1x): under mmu_lock for read with RCU; the caller handles a failure.',
    returnsFlushNeeded: false,
    mustCheckResult: true,
    returns: 'true on success, false when the SPTE changed',
    summary:
      'The shared-mode TDP write of 5.1x kernels, without the dirty-log bookkeeping: cmpxchg from iter->old_spte to the new value. A false result means another thread changed the SPTE first.',
  },
  {
    name: 'tdp_mmu_zap_spte_atomic',
    family: 'tdp',
    atomicity: 'cmpxchg',
    requiresLock: 'mmu_lock-read',
    safeWhen: 'Under mmu_lock for read (asserted); the caller handles -EBUSY.',
    returnsFlushNeeded: false,
    mustCheckResult: true,
    returns: '0, or -EBUSY',
    summary:
      'Zaps in shared mode: cmpxchg to FROZEN, flush TLBs for the gfn, then a plain store of the non-present value (safe because the SPTE is frozen). Flushes by itself.',
  },
  {
    name: 'tdp_mmu_set_spte',
    family: 'tdp',
    atomicity: 'conditional',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Under mmu_lock for write (asserted); neither the old nor the new value may be FROZEN.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the old SPTE',
    summary:
      'Exclusive-mode TDP write (xchg when the old leaf is volatile) plus bookkeeping. The caller decides and performs any TLB flush.',
  },
  {
    name: 'tdp_mmu_iter_set_spte',
    family: 'tdp',
    atomicity: 'conditional',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'Under mmu_lock for write, on an iterator that has not yielded.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'nothing (updates iter->old_spte)',
    summary: 'tdp_mmu_set_spte on the iterator\'s SPTE, storing the real old value back into iter->old_spte.',
  },
  // ---- generic primitives applied to an SPTE ----
  {
    name: 'WRITE_ONCE',
    callerMustEnsure: 'no-volatile-bits',
    family: 'primitive',
    atomicity: 'plain',
    requiresLock: 'mmu_lock-write',
    safeWhen: 'On a reachable SPTE only under mmu_lock for write with no volatile bits, or on a page table nobody else can reach yet.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'nothing',
    summary:
      'A plain store to an SPTE. It loses any bit that fast page fault or the CPU sets between the read and the store.',
  },
  {
    name: 'try_cmpxchg64',
    family: 'primitive',
    atomicity: 'cmpxchg',
    requiresLock: 'lockless-ok',
    safeWhen: 'Whenever the result is checked and the snapshot still identifies the same mapping.',
    returnsFlushNeeded: false,
    mustCheckResult: true,
    returns: 'true on success; updates the expected value on failure',
    summary: 'Compare-and-exchange on an SPTE: the only kind of write allowed on a lockless path. Must check the result.',
  },
  {
    name: 'cmpxchg64',
    family: 'primitive',
    atomicity: 'cmpxchg',
    requiresLock: 'lockless-ok',
    safeWhen: 'Whenever the returned old value is compared with the expected one.',
    returnsFlushNeeded: false,
    mustCheckResult: true,
    returns: 'the value found',
    summary: 'Compare-and-exchange on an SPTE returning the value found; success means it equals the expected value.',
  },
  {
    name: 'xchg',
    family: 'primitive',
    atomicity: 'atomic-xchg',
    requiresLock: 'mmu_lock-any',
    safeWhen: 'When the caller owns the SPTE\'s fate (under mmu_lock) and uses the returned old value for A/D and flush decisions.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the real old value',
    summary: 'Atomic exchange on an SPTE: no concurrently set bit is lost, as long as the returned old value is used.',
  },
  {
    name: 'clear_bit',
    family: 'primitive',
    atomicity: 'atomic-bitop',
    requiresLock: 'mmu_lock-any',
    safeWhen: 'For one-bit changes (aging clears Accessed) where other bits may change concurrently.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'nothing',
    summary: 'Atomically clears one bit of an SPTE; other bits changed concurrently are preserved.',
  },
  {
    name: 'test_and_clear_bit',
    family: 'primitive',
    atomicity: 'atomic-bitop',
    requiresLock: 'mmu_lock-any',
    safeWhen: 'For one-bit changes whose previous value the caller needs.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'the previous value of the bit',
    summary: 'Atomically clears one bit of an SPTE and reports whether it was set.',
  },
  {
    name: 'READ_ONCE',
    family: 'primitive',
    atomicity: 'read',
    requiresLock: 'lockless-ok',
    safeWhen: 'Always; the value is a snapshot.',
    returnsFlushNeeded: false,
    mustCheckResult: false,
    returns: 'a snapshot',
    summary: 'A single untorn read of an SPTE; anything decided from it may be stale by the time of the write.',
  },
];

const BY_NAME = new Map(SPTE_HELPERS.map((h) => [h.name, h] as const));

/** Aliases that share a contract. */
const ALIASES: Record<string, string> = {
  atomic64_fetch_and: 'clear_bit',
  try_cmpxchg: 'try_cmpxchg64',
  cmpxchg: 'cmpxchg64',
  xchg64: 'xchg',
  __get_spte_lockless: 'mmu_spte_get_lockless',
};

export function spteHelper(name: string): SpteHelperContract | undefined {
  return BY_NAME.get(name) ?? (ALIASES[name] ? BY_NAME.get(ALIASES[name]) : undefined);
}

// ---- masks and constants ---------------------------------------------------------------------

export interface SpteMaskInfo {
  name: string;
  /** Value or bit position in Linux 6.12, as text (per paging mode where it differs). */
  value: string;
  meaning: string;
}

export const SPTE_MASKS: readonly SpteMaskInfo[] = [
  {
    name: 'SPTE_MMU_PRESENT_MASK',
    value: 'bit 11',
    meaning: 'Software bit: KVM considers the SPTE shadow-present, even if the hardware sees it as not present (access tracking).',
  },
  {
    name: 'PT_WRITABLE_MASK',
    value: 'bit 1',
    meaning: 'Hardware writable bit (same position for EPT). Fast page fault may set it without mmu_lock when the SPTE is MMU-writable.',
  },
  { name: 'PT_WRITABLE_SHIFT', value: '1', meaning: 'Bit number of the hardware writable bit.' },
  {
    name: 'shadow_mmu_writable_mask',
    value: 'bit 10 (shadow paging, NPT); bit 58 (EPT)',
    meaning: 'The guest allows writes and KVM has not write-protected the gfn for shadowing; clearing it always needs a TLB flush.',
  },
  {
    name: 'shadow_host_writable_mask',
    value: 'bit 9 (shadow paging, NPT); bit 57 (EPT)',
    meaning: 'The host mapping and memslot allow writes; fixed when the SPTE is created.',
  },
  { name: 'DEFAULT_SPTE_HOST_WRITABLE', value: 'bit 9', meaning: 'Host-writable bit outside EPT.' },
  { name: 'DEFAULT_SPTE_MMU_WRITABLE', value: 'bit 10', meaning: 'MMU-writable bit outside EPT.' },
  { name: 'EPT_SPTE_HOST_WRITABLE', value: 'bit 57', meaning: 'Host-writable bit with EPT.' },
  { name: 'EPT_SPTE_MMU_WRITABLE', value: 'bit 58', meaning: 'MMU-writable bit with EPT.' },
  {
    name: 'shadow_accessed_mask',
    value: 'bit 5 (shadow paging, NPT); bit 8 (EPT with A/D); 0 (EPT without A/D)',
    meaning: 'Accessed bit, set by the CPU on any access when A/D is enabled. Losing it only makes a page look older.',
  },
  {
    name: 'shadow_dirty_mask',
    value: 'bit 6 (shadow paging, NPT); bit 9 (EPT with A/D); 0 (EPT without A/D)',
    meaning: 'Dirty bit, set by the CPU on a write through a writable SPTE. Losing it loses data written to the page.',
  },
  { name: 'PT_ACCESSED_MASK', value: 'bit 5', meaning: 'Accessed bit of legacy page tables.' },
  { name: 'PT_DIRTY_MASK', value: 'bit 6', meaning: 'Dirty bit of legacy page tables.' },
  { name: 'PT_PRESENT_MASK', value: 'bit 0', meaning: 'Hardware present bit of legacy page tables.' },
  {
    name: 'shadow_present_mask',
    value: 'bit 0 (shadow paging, NPT); EPT R plus suppress-#VE (EPT)',
    meaning: 'Bits that make an SPTE present to the hardware.',
  },
  {
    name: 'shadow_acc_track_mask',
    value: '0 (shadow paging, NPT); EPT R|W|X = 0x7 (EPT)',
    meaning: 'Bits cleared to mark an A/D-disabled SPTE for access tracking; all clear means access-tracked.',
  },
  {
    name: 'SHADOW_ACC_TRACK_SAVED_BITS_MASK',
    value: 'R|X (0x5)',
    meaning: 'The permission bits saved when an SPTE is marked for access tracking (W is not saved).',
  },
  {
    name: 'SHADOW_ACC_TRACK_SAVED_BITS_SHIFT',
    value: '54',
    meaning: 'Where the saved R and X bits go (bits 54 and 56).',
  },
  {
    name: 'SPTE_TDP_AD_MASK',
    value: 'bits 52-53',
    meaning: 'Per-SPTE A/D type: ENABLED (0), DISABLED (1 << 52) or WRPROT_ONLY (2 << 52).',
  },
  {
    name: 'SPTE_TDP_AD_DISABLED',
    value: '1 << 52',
    meaning: 'The SPTE has no hardware A/D bits; aging uses access tracking and writes are tracked with W.',
  },
  {
    name: 'SPTE_TDP_AD_WRPROT_ONLY',
    value: '2 << 52',
    meaning: 'A/D bits work but dirty logging must write-protect (e.g. nested EPT with PML); counts as A/D enabled.',
  },
  {
    name: 'SPTE_TDP_AD_ENABLED',
    value: '0',
    meaning: 'Hardware sets Accessed and Dirty in this SPTE.',
  },
  {
    name: 'SHADOW_NONPRESENT_VALUE',
    value: 'BIT(63) on 64-bit hosts, 0 on 32-bit',
    meaning: 'The value of a non-present SPTE; bit 63 suppresses EPT #VE.',
  },
  {
    name: 'FROZEN_SPTE',
    value: 'SHADOW_NONPRESENT_VALUE | 0x5a0',
    meaning: 'TDP MMU only: a non-present placeholder a thread installs with cmpxchg to own an SPTE while it flushes; others must not write it and retry.',
  },
  {
    name: 'PT64_NX_MASK',
    value: 'bit 63',
    meaning: 'No-execute bit of legacy page tables (shadow_nx_mask outside EPT).',
  },
];

const MASK_BY_NAME = new Map(SPTE_MASKS.map((m) => [m.name, m] as const));

export function spteMask(name: string): SpteMaskInfo | undefined {
  return MASK_BY_NAME.get(name);
}

// ---- predicates, for hovers ------------------------------------------------------------------

export interface SptePredicateInfo {
  name: string;
  meaning: string;
}

export const SPTE_PREDICATES: readonly SptePredicateInfo[] = [
  { name: 'is_shadow_present_pte', meaning: 'Tests only the software MMU-present bit.' },
  { name: 'is_writable_pte', meaning: 'Tests the hardware W bit.' },
  { name: 'is_mmu_writable_spte', meaning: 'Tests the MMU-writable bit: fast page fault may set W.' },
  { name: 'is_access_track_spte', meaning: 'A/D disabled and R/W/X all clear: aging marked it, fast page fault may restore it.' },
  { name: 'is_accessed_spte', meaning: 'Accessed bit with A/D, otherwise "not access-tracked".' },
  { name: 'is_dirty_spte', meaning: 'Dirty bit with A/D, otherwise the W bit.' },
  {
    name: 'spte_has_volatile_bits',
    meaning:
      'Up to 6.12: the SPTE may change outside mmu_lock (W settable by fast page fault, access-tracked, or A/D the CPU may still set), so updates must be atomic.',
  },
  {
    name: 'spte_needs_atomic_update',
    meaning:
      'Newer kernels: like spte_has_volatile_bits but ignores the Accessed bit (losing it is harmless); A/D-disabled SPTEs always need atomic updates.',
  },
  { name: 'check_spte_writable_invariants', meaning: 'MMU-writable implies Host-writable, and W implies MMU-writable.' },
  { name: 'mark_spte_for_access_track', meaning: 'Aging: clear A, or save R/X and clear R/W/X when A/D is disabled.' },
  { name: 'restore_acc_track_spte', meaning: 'Put the saved R/X back; W stays clear.' },
];

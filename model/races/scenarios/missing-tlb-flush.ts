/**
 * locking.rst, fast page fault, "3) flush tlbs due to spte updated": when an SPTE goes from
 * writable to read-only the TLBs must be flushed, and whether it WAS writable can change under
 * the updater's feet because fast page fault sets W without mmu_lock.
 */
import { makeSpte, type Spte, spteEquals } from '../../spte/bits';
import { hasVolatileBits, isMmuWritable, preFastPfStableSpte } from '../../spte/predicates';
import { fastPageFaultFix, hardwareAccess, writeProtect } from '../../spte/transitions';
import type { Actor } from '../../explore/types';
import type { ScenarioSpec } from '../types';

interface State {
  spte: Spte;
  /** CPU 1's TLB caches a writable translation of the page. */
  tlbWritable: boolean;
  /** rmap_write_protect has returned: its caller relies on the page being read-only. */
  protectedDone: boolean;
  /** The guest wrote the page after that. */
  lateWrite: boolean;
}

interface Locals {
  old: Spte | null;
  next: Spte | null;
  flush: boolean;
}

const NO_LOCALS: Locals = { old: null, next: null, flush: false };

const INITIAL: State = {
  spte: makeSpte({ r: true, x: true, w: false, hostWritable: true, mmuWritable: true, accessed: true, dirty: true, pfn: 1 }),
  tlbWritable: false,
  protectedDone: false,
  lateWrite: false,
};

const STALE_TLB =
  'A write landed after rmap_write_protect reported the page read-only: CPU 1 still had a writable ' +
  'TLB entry because the updater saw a read-only SPTE and did not flush.';

function writeProtector(variant: 'buggy' | 'fixed'): Actor<State, Locals> {
  const buggy = variant === 'buggy';
  return {
    name: 'CPU 0: rmap_write_protect',
    locals: NO_LOCALS,
    steps: [
      {
        id: 'read',
        label: 'old_spte = *spte',
        run: (s, l) => ({ state: s, locals: { ...l, old: s.spte, next: writeProtect(s.spte, true) } }),
      },
      {
        id: 'store',
        label: buggy
          ? 'spte = new_spte (old_spte read-only and Accessed)'
          : 'volatile ? old_spte = xchg(spte, new_spte) : spte = new_spte',
        run: (s, l) => {
          const atomic = buggy ? !preFastPfStableSpte(l.old!) : hasVolatileBits(l.old!);
          if (!atomic) return { state: { ...s, spte: l.next! }, locals: l, note: 'plain store' };
          return { state: { ...s, spte: l.next! }, locals: { ...l, old: s.spte }, note: 'xchg' };
        },
      },
      {
        id: 'flush',
        label: buggy
          ? 'if (old_spte.W) kvm_flush_remote_tlbs()'
          : 'if (is_mmu_writable_spte(old_spte)) kvm_flush_remote_tlbs()',
        run: (s, l) => {
          const flush = buggy ? l.old!.w : isMmuWritable(l.old!) && !l.next!.w;
          if (!flush) return { state: s, locals: { ...l, flush }, note: 'no flush' };
          return { state: { ...s, tlbWritable: false }, locals: { ...l, flush }, note: 'TLBs flushed' };
        },
      },
      {
        id: 'return',
        label: 'write_unlock(mmu_lock); the page is treated as read-only',
        run: (s, l) => ({ state: { ...s, protectedDone: true }, locals: l }),
      },
    ],
  };
}

const vcpu: Actor<State, Locals> = {
  name: 'CPU 1: vCPU',
  locals: NO_LOCALS,
  steps: [
    {
      id: 'read',
      label: 'fast page fault: old_spte = *spte',
      run: (s, l) => {
        const next = fastPageFaultFix(s.spte, 'write');
        if (!next) return { state: s, locals: l, done: true, note: 'nothing to fix: slow path' };
        return { state: s, locals: { ...l, old: s.spte, next } };
      },
    },
    {
      id: 'cmpxchg',
      label: 'cmpxchg(spte, old_spte, old_spte | W)',
      run: (s, l) => {
        if (!spteEquals(s.spte, l.old!)) return { state: s, locals: l, done: true, note: 'failed: the SPTE changed' };
        return { state: { ...s, spte: l.next! }, locals: l, note: 'spte.W = 1' };
      },
    },
    {
      id: 'fill',
      label: 'guest write: the page walk caches a writable translation in the TLB',
      run: (s, l) => {
        const after = hardwareAccess(s.spte, 'write');
        if (!after) return { state: s, locals: l, done: true, note: 'SPTE read-only: faults' };
        return { state: { ...s, spte: after, tlbWritable: true }, locals: l };
      },
    },
    {
      id: 'write',
      label: 'guest writes the page again',
      run: (s, l) => {
        if (s.tlbWritable) {
          return s.protectedDone
            ? { state: { ...s, lateWrite: true }, locals: l, note: 'TLB hit on the stale writable entry' }
            : { state: s, locals: l, note: 'TLB hit' };
        }
        const after = hardwareAccess(s.spte, 'write');
        if (!after) return { state: s, locals: l, note: 'TLB miss, SPTE read-only: faults' };
        return { state: { ...s, spte: after, tlbWritable: true }, locals: l, note: 'TLB miss, SPTE writable' };
      },
    },
  ],
};

export const missingTlbFlush: ScenarioSpec<State, Locals> = {
  info: {
    id: 'missing-tlb-flush',
    title: 'Missing TLB flush: write protection decided on a stale read-only SPTE',
    docRef: {
      document: 'locking.rst',
      section: '2. Exception / Fast page fault',
      story: '3) flush tlbs due to spte updated',
    },
    description:
      'The SPTE is read-only for dirty logging (W=0) but MMU-writable. CPU 0 write-protects the gfn under ' +
      'mmu_lock (rmap_write_protect -> mmu_spte_update, clearing W and MMU-writable), flushes TLBs if it thinks ' +
      'the SPTE was writable, and returns: its caller now relies on the page being read-only (e.g. it shadows a ' +
      'guest page table there). CPU 1 is a vCPU: fast page fault sets W with cmpxchg, the guest write caches a ' +
      'writable translation in its TLB, and the guest writes again.',
    actors: [
      { name: 'CPU 0: rmap_write_protect', role: 'mmu_lock holder making the SPTE read-only (present -> present update)' },
      { name: 'CPU 1: vCPU', role: 'fast page fault out of mmu_lock, then guest writes through its TLB' },
    ],
    variants: {
      buggy:
        'CPU 0 decides from its own read: the SPTE was read-only, so a plain store and no flush. Fast page fault ' +
        'made it writable in between and CPU 1 cached that in its TLB: rmap_write_protect finds and leaves a ' +
        'read-only SPTE while a writable translation survives, and the guest writes a page KVM thinks is protected. ' +
        'Dropping the "flush needed" result of mmu_spte_update() has the same effect.',
      fixed:
        '6.12 mmu_spte_update(): the MMU-writable SPTE is volatile so it is exchanged atomically, and the flush is ' +
        'decided by "old SPTE MMU-writable and new one not writable", which no lockless change can make false. ' +
        'The stale TLB entry is always flushed before the write protection is relied on.',
    },
    invariants: [{ id: 'no-stale-writable-tlb', message: STALE_TLB }],
  },
  initial: () => [{ label: 'spte.W = 0, MMU-writable, TLBs empty', state: INITIAL }],
  system: (variant) => ({
    actors: [writeProtector(variant), vcpu],
    invariants: [{ id: 'no-stale-writable-tlb', message: STALE_TLB, when: 'always', holds: (s) => !s.lateWrite }],
  }),
  spte: (s) => s.spte,
  extras: (s) =>
    [s.tlbWritable ? 'CPU 1 TLB: writable' : 'CPU 1 TLB: -', s.protectedDone ? 'write-protected' : '', s.lateWrite ? 'LATE WRITE' : '']
      .filter(Boolean)
      .join('; '),
};

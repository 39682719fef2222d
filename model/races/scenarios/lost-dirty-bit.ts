/**
 * locking.rst, fast page fault, "2) Dirty bit tracking": an updater under mmu_lock decides from
 * a stale read that the SPTE is stable and overwrites it with a plain store, while fast page
 * fault makes it writable and the guest's write sets Dirty. The Dirty bit is lost.
 */
import { makeSpte, type Spte, spteEquals } from '../../spte/bits';
import { hasVolatileBits, isDirty, preFastPfStableSpte } from '../../spte/predicates';
import { fastPageFaultFix, hardwareAccess, writeProtect } from '../../spte/transitions';
import type { Actor } from '../../explore/types';
import type { ScenarioSpec } from '../types';

interface State {
  spte: Spte;
  /** The guest wrote the page through the SPTE. */
  guestWrote: boolean;
  /** The updater reported the page dirty (kvm_set_pfn_dirty / flush for a cleared D). */
  pfnDirtyReported: boolean;
  /** gfns marked in the dirty log by fast page fault. */
  dirtyLog: number[];
}

interface Locals {
  old: Spte | null;
  next: Spte | null;
}

const NO_LOCALS: Locals = { old: null, next: null };

const DIRTY_LOST =
  'The Dirty bit is lost: the guest wrote the page through a writable SPTE, but neither the final SPTE ' +
  'has Dirty set nor did the updater report the page dirty.';

const INITIAL: State = {
  spte: makeSpte({ r: true, x: true, w: false, hostWritable: true, mmuWritable: true, accessed: true, dirty: false, pfn: 1 }),
  guestWrote: false,
  pfnDirtyReported: false,
  dirtyLog: [],
};

function updater(variant: 'buggy' | 'fixed'): Actor<State, Locals> {
  const buggy = variant === 'buggy';
  return {
    name: 'CPU 0: mmu_spte_update',
    locals: NO_LOCALS,
    steps: [
      {
        id: 'read',
        label: 'old_spte = *spte',
        run: (s, l) => ({ state: s, locals: { ...l, old: s.spte, next: writeProtect(s.spte, true) } }),
      },
      {
        id: 'check',
        label: buggy ? 'if (old_spte.Accessed == 1 && old_spte.W == 0)' : 'if (!spte_has_volatile_bits(old_spte))',
        run: (s, l) => {
          const stable = buggy ? preFastPfStableSpte(l.old!) : !hasVolatileBits(l.old!);
          return stable
            ? { state: s, locals: l, goto: 'plain', note: 'true: plain store' }
            : { state: s, locals: l, goto: 'xchg', note: 'false: atomic' };
        },
      },
      {
        id: 'plain',
        label: 'spte = new_spte (plain store)',
        run: (s, l) => ({ state: { ...s, spte: l.next! }, locals: l, goto: 'report' }),
      },
      {
        id: 'xchg',
        label: 'old_spte = xchg(spte, new_spte)',
        run: (s, l) => ({ state: { ...s, spte: l.next! }, locals: { ...l, old: s.spte } }),
      },
      {
        id: 'report',
        label: 'if (old_spte.Dirty && !new_spte.Dirty) kvm_set_pfn_dirty()',
        run: (s, l) => {
          const report = isDirty(l.old!) && !isDirty(l.next!);
          return report
            ? { state: { ...s, pfnDirtyReported: true }, locals: l, note: 'page marked dirty' }
            : { state: s, locals: l, note: 'old_spte.Dirty == 0: nothing reported' };
        },
      },
    ],
  };
}

function fastPageFault(): Actor<State, Locals> {
  return {
    name: 'CPU 1: fast page fault',
    locals: NO_LOCALS,
    steps: [
      {
        id: 'read',
        label: 'old_spte = *spte (lockless)',
        run: (s, l) => {
          const next = fastPageFaultFix(s.spte, 'write');
          if (!next) return { state: s, locals: l, done: true, note: 'nothing to fix locklessly: slow path' };
          return { state: s, locals: { old: s.spte, next } };
        },
      },
      {
        id: 'cmpxchg',
        label: 'cmpxchg(spte, old_spte, old_spte | W): spte.W = 1',
        run: (s, l) => {
          if (!spteEquals(s.spte, l.old!)) return { state: s, locals: l, done: true, note: 'failed: the SPTE changed' };
          const dirtyLog = s.dirtyLog.includes(1) ? s.dirtyLog : [...s.dirtyLog, 1];
          return { state: { ...s, spte: l.next!, dirtyLog }, locals: l, note: 'ok, gfn1 marked in the dirty log' };
        },
      },
      {
        id: 'write',
        label: 'memory write on the spte: spte.Dirty = 1',
        run: (s, l) => {
          const after = hardwareAccess(s.spte, 'write');
          if (!after) return { state: s, locals: l, done: true, note: 'SPTE no longer writable: faults again' };
          return { state: { ...s, spte: after, guestWrote: true }, locals: l };
        },
      },
    ],
  };
}

export const lostDirtyBit: ScenarioSpec<State, Locals> = {
  info: {
    id: 'lost-dirty-bit',
    title: 'Lost Dirty bit: non-atomic SPTE update racing with fast page fault',
    docRef: {
      document: 'locking.rst',
      section: '2. Exception / Fast page fault',
      story: '2) Dirty bit tracking',
    },
    description:
      'The SPTE is read-only for dirty logging (W=0) but MMU-writable, and its Accessed bit is set. ' +
      'CPU 0 holds mmu_lock and write-protects it with mmu_spte_update(): it reads the old SPTE, decides ' +
      'whether a plain store is safe, stores the new value and reports a cleared Dirty bit to the page. ' +
      'CPU 1 takes a write fault: fast page fault sets W with cmpxchg without mmu_lock, and the guest\'s write ' +
      'then makes the CPU set Dirty. (Documents up to 6.12 tell it with mmu_spte_clear_track_bits(), the 2025 ' +
      'one with mmu_spte_update(); the race is the same.)',
    actors: [
      { name: 'CPU 0: mmu_spte_update', role: 'mmu_lock holder updating a present SPTE (write protection)' },
      { name: 'CPU 1: fast page fault', role: 'vCPU fixing a write fault out of mmu_lock, then the guest write' },
    ],
    variants: {
      buggy:
        'The original rule: a read-only SPTE with Accessed set is taken as stable, so CPU 0 uses a plain store. ' +
        'Fast page fault sets W and the write sets D between CPU 0\'s read and its store: the store wipes D and ' +
        'CPU 0, looking at its stale copy, reports nothing. The Dirty bit is lost.',
      fixed:
        'spte_has_volatile_bits(): W clear but MMU-writable counts as volatile, so CPU 0 uses xchg, gets the ' +
        'SPTE as it really was (W=1, D=1) and reports the page dirty. (spte_needs_atomic_update() of newer ' +
        'kernels classifies this SPTE the same way.)',
    },
    invariants: [
      { id: 'dirty-not-lost', message: DIRTY_LOST },
    ],
  },
  initial: () => [{ label: 'spte.W = 0, spte.Accessed = 1 (MMU-writable)', state: INITIAL }],
  system: (variant) => ({
    actors: [updater(variant), fastPageFault()],
    invariants: [
      {
        id: 'dirty-not-lost',
        message: DIRTY_LOST,
        when: 'end',
        holds: (s) => !s.guestWrote || (s.spte.present && isDirty(s.spte)) || s.pfnDirtyReported,
      },
    ],
  }),
  spte: (s) => s.spte,
  extras: (s) =>
    [
      s.guestWrote ? 'guest wrote' : '',
      s.pfnDirtyReported ? 'page reported dirty' : '',
      s.dirtyLog.length ? `dirty log: ${s.dirtyLog.map((g) => 'gfn' + g).join(',')}` : '',
    ]
      .filter(Boolean)
      .join('; '),
};

/**
 * The newer rule (spte_needs_atomic_update(), named by the 2025 locking.rst) lets mmu_spte_update
 * use a plain store when the only bit that may change under it is Accessed. This scenario shows
 * what that tolerates: the CPU may set A between the read and the store and the A bit is lost,
 * while a Dirty bit is never lost.
 */
import { makeSpte, type Spte } from '../../spte/bits';
import { isAccessed, isDirty, needsAtomicUpdate } from '../../spte/predicates';
import { hardwareAccess, writeProtect } from '../../spte/transitions';
import type { Actor, Invariant } from '../../explore/types';
import type { LabelledState, RaceVariant, ScenarioSpec } from '../types';

interface State {
  spte: Spte;
  /** The guest accessed the page through the SPTE (the CPU set A). */
  guestAccessed: boolean;
  /** The guest wrote the page through the SPTE (the CPU set D). */
  guestWrote: boolean;
  /** The updater passed a cleared A bit on to the page (kvm_set_pfn_accessed). */
  pfnAccessedReported: boolean;
  /** The updater passed a cleared D bit on to the page (kvm_set_pfn_dirty). */
  pfnDirtyReported: boolean;
}

interface Locals {
  old: Spte | null;
  next: Spte | null;
}

const NO_LOCALS: Locals = { old: null, next: null };

function start(spte: Partial<Spte>): State {
  return {
    spte: makeSpte({ r: true, x: true, hostWritable: true, pfn: 1, ...spte }),
    guestAccessed: false,
    guestWrote: false,
    pfnAccessedReported: false,
    pfnDirtyReported: false,
  };
}

const INITIAL: LabelledState<State>[] = [
  { label: 'writable and already Dirty, Accessed cleared by aging', state: start({ w: true, mmuWritable: true, dirty: true }) },
  { label: 'writable and clean, Accessed cleared by aging', state: start({ w: true, mmuWritable: true, dirty: false }) },
  { label: 'read-only (not MMU-writable), Accessed cleared by aging', state: start({ w: false, mmuWritable: false }) },
];

const DIRTY_LOST =
  'The Dirty bit is lost: the guest wrote the page, but neither the final SPTE has Dirty set nor did the ' +
  'updater report the page dirty.';
const ACCESSED_LOST =
  'The Accessed bit is lost: the CPU set A between the updater\'s read and its plain store, and nothing ' +
  'reported the access. (The pre-2025 "any volatile bit" rule forbids this.)';

const updater: Actor<State, Locals> = {
  name: 'CPU 0: mmu_spte_update',
  locals: NO_LOCALS,
  steps: [
    {
      id: 'read',
      label: 'old_spte = *spte; new_spte = write-protected old_spte',
      run: (s, l) => ({ state: s, locals: { old: s.spte, next: writeProtect(s.spte, true) } }),
    },
    {
      id: 'store',
      label: 'spte_needs_atomic_update(old_spte) ? xchg(spte, new_spte) : spte = new_spte',
      run: (s, l) =>
        needsAtomicUpdate(l.old!, 'dirty-matters')
          ? { state: { ...s, spte: l.next! }, locals: { ...l, old: s.spte }, note: 'xchg' }
          : { state: { ...s, spte: l.next! }, locals: l, note: 'plain store: only A may change' },
    },
    {
      id: 'report',
      label: 'pass cleared A/D bits of old_spte on to the page',
      run: (s, l) => {
        const a = isAccessed(l.old!) && !isAccessed(l.next!);
        const d = isDirty(l.old!) && !isDirty(l.next!);
        return {
          state: { ...s, pfnAccessedReported: s.pfnAccessedReported || a, pfnDirtyReported: s.pfnDirtyReported || d },
          locals: l,
          note: [a ? 'accessed' : '', d ? 'dirty' : ''].filter(Boolean).join(', ') || 'nothing to report',
        };
      },
    },
  ],
};

const guest: Actor<State, Locals> = {
  name: 'CPU 1: guest access',
  locals: NO_LOCALS,
  steps: [
    {
      id: 'access',
      label: 'the guest touches the page: the CPU sets A (and D on a write)',
      run: (s, l) =>
        (['read', 'write'] as const).map((kind) => {
          const after = hardwareAccess(s.spte, kind);
          if (!after) return { state: s, locals: l, note: `${kind}: faults` };
          return {
            state: { ...s, spte: after, guestAccessed: true, guestWrote: s.guestWrote || kind === 'write' },
            locals: l,
            note: kind === 'write' ? 'write: A = 1, D = 1' : 'read: A = 1',
          };
        }),
    },
  ],
};

function invariants(variant: RaceVariant): Invariant<State, Locals>[] {
  return [
    {
      id: 'dirty-not-lost',
      message: DIRTY_LOST,
      when: 'end',
      holds: (s) => !s.guestWrote || (s.spte.present && isDirty(s.spte)) || s.pfnDirtyReported,
    },
    {
      id: 'accessed-not-lost',
      message: ACCESSED_LOST,
      when: 'end',
      tolerated: variant === 'fixed',
      holds: (s) => !s.guestAccessed || (s.spte.present && isAccessed(s.spte)) || s.pfnAccessedReported,
    },
  ];
}

export const accessedOnly: ScenarioSpec<State, Locals> = {
  info: {
    id: 'accessed-only',
    title: 'Accessed-only volatility: the newer rule may lose an Accessed bit, never a Dirty bit',
    docRef: {
      document: 'locking.rst (2025)',
      section: '2. Exception / Fast page fault',
      story: '2) Dirty bit tracking, spte_needs_atomic_update()',
    },
    description:
      'CPU 0 write-protects a present SPTE with mmu_spte_update() under mmu_lock, choosing a plain store or xchg ' +
      'by the newer rule, spte_needs_atomic_update(): atomic only if fast page fault may set W, A/D is disabled, ' +
      'or the CPU may still set Dirty (W=1, D=0). The Accessed bit is ignored. CPU 1 is the guest touching the ' +
      'page once (read or write), the CPU setting A and, on a write, D. Three starting SPTEs: writable and dirty, ' +
      'writable and clean, read-only; A is clear in all three (aged).',
    actors: [
      { name: 'CPU 0: mmu_spte_update', role: 'mmu_lock holder updating a present SPTE with the newer atomicity rule' },
      { name: 'CPU 1: guest access', role: 'the guest and the CPU\'s page walker setting Accessed/Dirty' },
    ],
    variants: {
      buggy:
        'Judged by the old documents\' rule, which wants every volatile bit preserved: with only A volatile, the ' +
        'plain store may wipe an A bit the CPU set after CPU 0\'s read. The counterexample shows the Accessed bit ' +
        'lost; the Dirty invariant holds in every interleaving even here.',
      fixed:
        'Judged by what the newer rule protects: no Dirty bit is lost in any interleaving, because an SPTE the CPU ' +
        'could still dirty (W=1, D=0) is always exchanged atomically. The schedules that lose A are counted as ' +
        'tolerated: a lost Accessed bit only makes the page look older to reclaim (KVM does not even flush TLBs ' +
        'when aging), while a lost Dirty bit loses data.',
    },
    invariants: [
      { id: 'dirty-not-lost', message: DIRTY_LOST },
      { id: 'accessed-not-lost', message: ACCESSED_LOST },
    ],
  },
  initial: () => INITIAL,
  system: (variant) => ({ actors: [updater, guest], invariants: invariants(variant) }),
  spte: (s) => s.spte,
  extras: (s) =>
    [
      s.guestWrote ? 'guest wrote' : s.guestAccessed ? 'guest read' : '',
      s.pfnAccessedReported ? 'page reported accessed' : '',
      s.pfnDirtyReported ? 'page reported dirty' : '',
    ]
      .filter(Boolean)
      .join('; '),
  notes: (variant) =>
    variant === 'fixed'
      ? [
          'Why losing A is harmless: Accessed only feeds page aging; a lost A makes a recently used page look ' +
            'older, at worst an early reclaim. Losing Dirty would let the host drop or skip writing back data the ' +
            'guest wrote, so the newer rule still forces an atomic update whenever the CPU may set Dirty.',
        ]
      : [],
};

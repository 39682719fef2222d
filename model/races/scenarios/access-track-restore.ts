/**
 * locking.rst, "Lockless Access Tracking": without EPT A/D bits, aging marks an SPTE not-present
 * to the hardware (saving R/X), and fast page fault restores it without mmu_lock. The restore
 * must be a cmpxchg: a plain store of a value computed from a stale read can bring back an SPTE
 * that was zapped in between.
 */
import { makeSpte, NONPRESENT_SPTE, type Spte, spteEquals } from '../../spte/bits';
import { hasVolatileBits, isAccessed, markForAccessTrack } from '../../spte/predicates';
import { fastPageFaultFix } from '../../spte/transitions';
import type { Actor } from '../../explore/types';
import type { ScenarioSpec } from '../types';

type Holder = '' | 'aging' | 'zap';

interface State {
  spte: Spte;
  /** Holder of kvm->mmu_lock (write mode), '' when free. */
  mmuLock: Holder;
  /** The MMU notifier zapped the SPTE: the host may now free the page. */
  zapped: boolean;
  /** Aging reported the page young. */
  young: boolean;
}

interface Locals {
  old: Spte | null;
  next: Spte | null;
}

const NO_LOCALS: Locals = { old: null, next: null };

const INITIAL: State = {
  spte: makeSpte({ r: true, x: true, w: false, hostWritable: true, mmuWritable: true, adDisabled: true, pfn: 1 }),
  mmuLock: '',
  zapped: false,
  young: false,
};

const RESURRECTED =
  'A zapped SPTE came back: the MMU notifier cleared it (the host may free pfn1), but a stale lockless ' +
  'restore stored a present SPTE over it, so the guest can reach a page the host no longer backs.';

function locked(holder: Exclude<Holder, ''>, name: string, body: Actor<State, Locals>['steps']): Actor<State, Locals> {
  return {
    name,
    locals: NO_LOCALS,
    steps: [
      {
        id: 'lock',
        label: 'write_lock(&kvm->mmu_lock)',
        enabled: (s) => s.mmuLock === '',
        run: (s, l) => ({ state: { ...s, mmuLock: holder }, locals: l }),
      },
      ...body,
      {
        id: 'unlock',
        label: 'write_unlock(&kvm->mmu_lock)',
        run: (s, l) => ({ state: { ...s, mmuLock: '' }, locals: l }),
      },
    ],
  };
}

const aging = locked('aging', 'CPU 0: aging (clear_flush_young)', [
  {
    id: 'age',
    label: 'spte = mark_spte_for_access_track(spte) (xchg: the SPTE is volatile)',
    run: (s, l) => {
      if (!s.spte.present) return { state: s, locals: l, note: 'not present: nothing to age' };
      const young = isAccessed(s.spte);
      const atomic = hasVolatileBits(s.spte);
      return {
        state: { ...s, spte: markForAccessTrack(s.spte), young: s.young || young },
        locals: l,
        note: `${young ? 'young' : 'old'}; R/X saved, RWX cleared${atomic ? '' : ' (plain store)'}`,
      };
    },
  },
]);

const zap = locked('zap', 'CPU 2: MMU notifier unmap', [
  {
    id: 'zap',
    label: 'mmu_spte_clear_track_bits(): spte = non-present; flush TLBs',
    run: (s, l) => ({ state: { ...s, spte: NONPRESENT_SPTE, zapped: true }, locals: l }),
  },
]);

function fastPageFault(variant: 'buggy' | 'fixed'): Actor<State, Locals> {
  const buggy = variant === 'buggy';
  return {
    name: 'CPU 1: fast page fault (read)',
    locals: NO_LOCALS,
    steps: [
      {
        id: 'read',
        label: 'guest read faults; old_spte = *spte (lockless)',
        run: (s, l) => {
          if (s.spte.present && s.spte.r) return { state: s, locals: l, done: true, note: 'readable: no fault' };
          const next = fastPageFaultFix(s.spte, 'read');
          if (!next) return { state: s, locals: l, done: true, note: 'not restorable: slow path' };
          return { state: s, locals: { old: s.spte, next }, note: 'access-tracked' };
        },
      },
      buggy
        ? {
            id: 'restore',
            label: 'spte = restore_acc_track_spte(old_spte) (plain store)',
            run: (s, l) => ({ state: { ...s, spte: l.next! }, locals: l }),
          }
        : {
            id: 'restore',
            label: 'cmpxchg(spte, old_spte, restore_acc_track_spte(old_spte))',
            run: (s, l) =>
              spteEquals(s.spte, l.old!)
                ? { state: { ...s, spte: l.next! }, locals: l, note: 'restored' }
                : { state: s, locals: l, note: 'failed: the SPTE changed; retry from the slow path' },
          },
    ],
  };
}

export const accessTrackRestore: ScenarioSpec<State, Locals> = {
  info: {
    id: 'access-track-restore',
    title: 'Access-tracking restore: a stale lockless restore resurrects a zapped SPTE',
    docRef: {
      document: 'locking.rst',
      section: '2. Exception',
      story: 'Lockless Access Tracking',
    },
    description:
      'EPT without A/D bits: the SPTE is A/D-disabled, readable and executable. CPU 0 ages it under mmu_lock ' +
      '(kvm_mmu_notifier_clear_flush_young): R/X are saved in ignored bits and RWX cleared, so the hardware sees ' +
      'it not present. CPU 1 is a vCPU whose read then faults; fast page fault restores the saved bits without ' +
      'mmu_lock. CPU 2 is the MMU notifier unmapping the page (swap-out): under mmu_lock it zaps the SPTE.',
    actors: [
      { name: 'CPU 0: aging (clear_flush_young)', role: 'MMU notifier aging: marks the SPTE for access tracking' },
      { name: 'CPU 1: fast page fault (read)', role: 'vCPU restoring an access-tracked SPTE out of mmu_lock' },
      { name: 'CPU 2: MMU notifier unmap', role: 'host invalidation: zaps the SPTE under mmu_lock' },
    ],
    variants: {
      buggy:
        'The restore is a plain store of a value computed from the lockless read. If the notifier zaps the SPTE ' +
        'between the read and the store, the store brings the old mapping back: the guest keeps access to a page ' +
        'the host was told is unmapped. (The same stale store could also undo an aging pass.)',
      fixed:
        'The restore is a cmpxchg against the value read, as fast page fault does: after a zap (or any other ' +
        'change) it fails and the fault is retried on the slow path under mmu_lock.',
    },
    invariants: [{ id: 'zapped-stays-zapped', message: RESURRECTED }],
  },
  initial: () => [{ label: 'A/D disabled, spte r-x, mmu_lock free', state: INITIAL }],
  system: (variant) => ({
    actors: [aging, fastPageFault(variant), zap],
    invariants: [
      { id: 'zapped-stays-zapped', message: RESURRECTED, when: 'always', holds: (s) => !(s.zapped && s.spte.present) },
    ],
  }),
  spte: (s) => s.spte,
  extras: (s) =>
    [s.mmuLock ? `mmu_lock: ${s.mmuLock}` : '', s.zapped ? 'zapped' : '', s.young ? 'reported young' : '']
      .filter(Boolean)
      .join('; '),
};

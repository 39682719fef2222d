/**
 * locking.rst, fast page fault, "1) The mapping from gfn to pfn": cmpxchg only proves that the
 * SPTE's value is the same, not that it still stands for the same gfn. On an indirect shadow
 * page the pfn can be freed, reused for another gfn and mapped again at the same SPTE.
 */
import { makeSpte, NONPRESENT_SPTE, type Spte, spteEquals } from '../../spte/bits';
import { fastPageFaultFix, hardwareAccess } from '../../spte/transitions';
import type { Actor, StepOutcome } from '../../explore/types';
import type { ScenarioSpec } from '../types';

interface State {
  spte: Spte;
  /** The gfn the guest PTE (shadowed by the indirect shadow page) points to. */
  gpte: number;
  /** Host mapping gfn -> pfn (index = gfn; 0 = not mapped). */
  gfnToPfn: number[];
  /** Which gfn's data a host page holds (index = pfn; 0 = free). */
  pfnOwner: number[];
  /** pfn whose refcount CPU 0 holds (0 = none). */
  pinned: number;
  /** gfns marked in the dirty bitmap. */
  dirtyLog: number[];
  /** gfns whose page the guest wrote. */
  written: number[];
}

interface Locals {
  gfn: number;
  pfn: number;
  old: Spte | null;
  next: Spte | null;
}

const NO_LOCALS: Locals = { gfn: 0, pfn: 0, old: null, next: null };

/** The SPTE a shadow page fault builds for a pfn: read-only for dirty logging, MMU-writable. */
function shadowSpte(pfn: number): Spte {
  return makeSpte({ r: true, x: true, w: false, hostWritable: true, mmuWritable: true, accessed: true, dirty: false, pfn });
}

const INITIAL: State = {
  spte: shadowSpte(1),
  gpte: 1,
  gfnToPfn: [0, 1, 0],
  pfnOwner: [0, 1, 0],
  pinned: 0,
  dirtyLog: [],
  written: [],
};

const GFN2_LOST =
  'A gfn is lost in the dirty bitmap: the guest wrote a page that now holds gfn2, but fast page fault ' +
  'marked the gfn it read before the race (gfn1).';

function addOnce(list: number[], v: number): number[] {
  return list.includes(v) ? list : [...list, v];
}

function fastPageFault(variant: 'buggy' | 'fixed'): Actor<State, Locals> {
  const pinned = variant === 'fixed';
  const exit = pinned ? { goto: 'unpin' as const } : { done: true as const };
  const cmpxchg = {
    id: 'cmpxchg',
    label: (_s: State, l: Locals) => `if (cmpxchg(spte, old_spte, old_spte+W)) mark_page_dirty(gfn${l.gfn})`,
    run: (s: State, l: Locals): StepOutcome<State, Locals> => {
      if (!spteEquals(s.spte, l.old!)) return { state: s, locals: l, ...exit, note: 'cmpxchg failed: the SPTE changed' };
      return {
        state: { ...s, spte: l.next!, dirtyLog: addOnce(s.dirtyLog, l.gfn) },
        locals: l,
        note: `cmpxchg succeeded, gfn${l.gfn} marked dirty`,
      };
    },
  };
  const write = {
    id: 'write',
    label: 'the guest\'s write goes to the page the SPTE maps',
    run: (s: State, l: Locals): StepOutcome<State, Locals> => {
      const after = hardwareAccess(s.spte, 'write');
      if (!after) return { state: s, locals: l, ...exit, note: 'SPTE not writable: faults again' };
      const owner = s.pfnOwner[after.pfn];
      return {
        state: { ...s, spte: after, written: addOnce(s.written, owner) },
        locals: l,
        ...(pinned ? {} : { done: true }),
        note: `pfn${after.pfn} holds gfn${owner}`,
      };
    },
  };
  if (!pinned) {
    return {
      name: 'CPU 0: fast page fault (indirect SP)',
      locals: NO_LOCALS,
      steps: [
        {
          id: 'read',
          label: (s) => `old_spte = *spte (the fault is on gfn${s.gpte})`,
          run: (s, l) => {
            const next = fastPageFaultFix(s.spte, 'write');
            if (!next) return { state: s, locals: l, done: true, note: 'nothing to fix locklessly' };
            return { state: s, locals: { ...l, gfn: s.gpte, old: s.spte, next } };
          },
        },
        cmpxchg,
        write,
      ],
    };
  }
  return {
    name: 'CPU 0: fast page fault (pfn pinned)',
    locals: NO_LOCALS,
    steps: [
      {
        id: 'pin',
        label: (s) => `pfn = gfn_to_pfn(gfn${s.gpte}); hold a reference (pin)`,
        run: (s, l) => {
          const gfn = s.gpte;
          const pfn = s.gfnToPfn[gfn];
          if (!pfn) return { state: s, locals: l, done: true, note: 'gfn not mapped: slow path' };
          return { state: { ...s, pinned: pfn }, locals: { ...l, gfn, pfn }, note: `pfn${pfn} pinned` };
        },
      },
      {
        id: 'read',
        label: 'old_spte = *spte; bail unless it maps the pinned pfn',
        run: (s, l) => {
          const next = fastPageFaultFix(s.spte, 'write');
          if (!next || s.spte.pfn !== l.pfn) return { state: s, locals: l, goto: 'unpin', note: 'nothing to fix: slow path' };
          return { state: s, locals: { ...l, old: s.spte, next } };
        },
      },
      cmpxchg,
      write,
      {
        id: 'unpin',
        label: (_s, l) => `put_page(pfn${l.pfn})`,
        run: (s, l) => {
          const stillMapped = s.gfnToPfn.includes(l.pfn);
          const pfnOwner = stillMapped ? s.pfnOwner : s.pfnOwner.map((g, p) => (p === l.pfn ? 0 : g));
          return {
            state: { ...s, pinned: 0, pfnOwner },
            locals: l,
            note: stillMapped ? undefined : `last reference: pfn${l.pfn} freed`,
          };
        },
      },
    ],
  };
}

const hostAndGuest: Actor<State, Locals> = {
  name: 'CPU 1: host swap-out, guest remap',
  locals: NO_LOCALS,
  steps: [
    {
      id: 'zap',
      label: 'pfn1 is swapped out: spte = 0',
      run: (s, l) => {
        const pfn = s.gfnToPfn[1];
        const gfnToPfn = s.gfnToPfn.map((p, g) => (g === 1 ? 0 : p));
        const keep = s.pinned === pfn;
        const pfnOwner = keep ? s.pfnOwner : s.pfnOwner.map((g, p) => (p === pfn ? 0 : g));
        return {
          state: { ...s, spte: NONPRESENT_SPTE, gfnToPfn, pfnOwner },
          locals: l,
          note: keep ? `pfn${pfn} is pinned: not freed` : `pfn${pfn} freed`,
        };
      },
    },
    {
      id: 'realloc',
      label: 'a free page is re-allocated for gfn2',
      enabled: (s) => s.pfnOwner.some((g, p) => p > 0 && g === 0),
      run: (s, l) =>
        s.pfnOwner
          .map((g, p) => ({ g, p }))
          .filter(({ g, p }) => p > 0 && g === 0)
          .map(({ p }) => ({
            state: {
              ...s,
              pfnOwner: s.pfnOwner.map((g, q) => (q === p ? 2 : g)),
              gfnToPfn: s.gfnToPfn.map((q, g) => (g === 2 ? p : q)),
            },
            locals: l,
            note: `pfn${p} is re-alloced for gfn2`,
          })),
    },
    {
      id: 'remap',
      label: 'gpte is changed to point to gfn2 by the guest',
      run: (s, l) => ({ state: { ...s, gpte: 2 }, locals: l }),
    },
    {
      id: 'refault',
      label: (s) => `shadow page fault maps gfn2: spte = pfn${s.gfnToPfn[2]}`,
      run: (s, l) => ({ state: { ...s, spte: shadowSpte(s.gfnToPfn[s.gpte]) }, locals: l }),
    },
  ],
};

export const gfnPfnAba: ScenarioSpec<State, Locals> = {
  info: {
    id: 'gfn-pfn-aba',
    title: 'gfn->pfn ABA: fast page fault on an indirect shadow page marks the wrong gfn dirty',
    docRef: {
      document: 'locking.rst',
      section: '2. Exception / Fast page fault',
      story: '1) The mapping from gfn to pfn',
    },
    description:
      'At the beginning the guest PTE points to gfn1, the host maps gfn1 to pfn1 and the SPTE maps pfn1 ' +
      '(read-only for dirty logging, MMU-writable). CPU 0 takes a write fault on it and runs fast page fault: it ' +
      'reads old_spte, then cmpxchg()es W in and marks gfn1 dirty. Meanwhile on CPU 1 the host swaps pfn1 out ' +
      '(the SPTE is zapped), a free page is re-allocated for gfn2, the guest changes its PTE to gfn2, and a ' +
      'shadow page fault maps gfn2\'s page at the same SPTE. cmpxchg compares values only, and the SPTE does not ' +
      'hold the gfn.',
    actors: [
      { name: 'CPU 0: fast page fault', role: 'vCPU fixing a write fault out of mmu_lock, then the guest write' },
      { name: 'CPU 1: host swap-out, guest remap', role: 'host reclaim, page allocator, guest, and a shadow page fault' },
    ],
    variants: {
      buggy:
        'Fast page fault on an indirect shadow page, as the document\'s table: if pfn1 itself is re-allocated for ' +
        'gfn2, the new SPTE is bit-for-bit the old one, cmpxchg succeeds, gfn1 is marked dirty and the guest\'s ' +
        'write lands in gfn2\'s page: gfn2 is lost in the dirty bitmap.',
      fixed:
        'The document\'s solution for indirect shadow pages: pin the pfn before the cmpxchg. With the reference ' +
        'held, pfn1 cannot be freed and reused for gfn2, so a re-created SPTE maps another pfn and the cmpxchg ' +
        'fails. (For direct shadow pages and the TDP MMU the SPTE\'s gfn is fixed, which is why KVM only runs fast ' +
        'page fault there.)',
    },
    invariants: [{ id: 'dirty-log-complete', message: GFN2_LOST }],
  },
  initial: () => [{ label: 'gpte = gfn1, gfn1 is mapped to pfn1 on host, spte = pfn1', state: INITIAL }],
  system: (variant) => ({
    actors: [fastPageFault(variant), hostAndGuest],
    invariants: [
      {
        id: 'dirty-log-complete',
        message: GFN2_LOST,
        when: 'end',
        holds: (s) => s.written.every((g) => s.dirtyLog.includes(g)),
      },
    ],
  }),
  spte: (s) => s.spte,
  extras: (s) =>
    [
      `gpte -> gfn${s.gpte}`,
      s.pinned ? `pfn${s.pinned} pinned` : '',
      `dirty bitmap {${s.dirtyLog.map((g) => 'gfn' + g).join(',')}}`,
      s.written.length ? `written {${s.written.map((g) => 'gfn' + g).join(',')}}` : '',
    ]
      .filter(Boolean)
      .join('; '),
};

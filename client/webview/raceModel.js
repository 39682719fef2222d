// @ts-check
/*
 * Pure helpers of the race-demo webview: which actors a schedule has, which state fields changed
 * at a step, how an SPTE record reads bit by bit, where the invariant breaks. No DOM here, so the
 * tests can run it in Node; the page loads it as a classic script (window.KvmRaceModel).
 */
(function (root) {
  'use strict';

  /**
   * The SPTE fields of the model (model/spte/bits.ts), in display order, with the bit a 6.12 EPT
   * entry keeps them in. A/D-disabled is the value 1 of the two-bit A/D type field 52-53.
   */
  const SPTE_BITS = [
    { key: 'present', label: 'present', bit: 11, title: 'software MMU-present (SPTE_MMU_PRESENT_MASK)' },
    { key: 'r', label: 'R', bit: 0, title: 'hardware readable' },
    { key: 'w', label: 'W', bit: 1, title: 'hardware writable' },
    { key: 'x', label: 'X', bit: 2, title: 'hardware executable' },
    { key: 'accessed', label: 'A', bit: 8, title: 'Accessed (set by the CPU when A/D is enabled)' },
    { key: 'dirty', label: 'D', bit: 9, title: 'Dirty (set by the CPU on a write when A/D is enabled)' },
    { key: 'adDisabled', label: 'A/D off', bit: 52, title: 'A/D type DISABLED: aging by access tracking' },
    { key: 'savedR', label: 'saved R', bit: 54, title: 'R saved by mark-for-access-track' },
    { key: 'savedX', label: 'saved X', bit: 56, title: 'X saved by mark-for-access-track' },
    { key: 'hostWritable', label: 'Host-W', bit: 57, title: 'host-writable: set at creation, never changes while present' },
    { key: 'mmuWritable', label: 'MMU-W', bit: 58, title: 'MMU-writable: fast page fault may set W without mmu_lock' },
  ];

  /** @param {unknown} v */
  function isPlainObject(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  }

  /** An SPTE record of the model: boolean `present` and a numeric `pfn`. @param {unknown} v */
  function isSpte(v) {
    return isPlainObject(v) && typeof v.present === 'boolean' && typeof v.pfn === 'number';
  }

  /**
   * Actor names in order of first appearance (the columns of the timeline), so the table reads
   * like the document's "CPU 0 | CPU 1" tables.
   * @param {{actor: string}[] | null | undefined} steps
   */
  function actorsOf(steps) {
    const out = [];
    for (const s of steps || []) if (!out.includes(s.actor)) out.push(s.actor);
    return out;
  }

  /**
   * Leaves of a state, keyed by path (`spte.w`, `locals[0].old`), SPTE records kept whole so they
   * can be drawn bit by bit.
   * @param {unknown} state
   * @returns {{ sptes: {path: string, spte: Record<string, unknown>}[], fields: {path: string, value: unknown}[] }}
   */
  function flattenState(state) {
    /** @type {{path: string, spte: Record<string, unknown>}[]} */
    const sptes = [];
    /** @type {{path: string, value: unknown}[]} */
    const fields = [];
    /** @param {unknown} v @param {string} path @param {number} depth */
    const walk = (v, path, depth) => {
      if (isSpte(v)) sptes.push({ path: path || 'spte', spte: /** @type {Record<string, unknown>} */ (v) });
      else if (depth < 6 && isPlainObject(v) && Object.keys(v).length > 0) {
        for (const [k, child] of Object.entries(v)) walk(child, path ? `${path}.${k}` : k, depth + 1);
      } else if (depth < 6 && Array.isArray(v) && v.length > 0 && v.some((e) => isPlainObject(e))) {
        v.forEach((child, i) => walk(child, `${path}[${i}]`, depth + 1));
      } else fields.push({ path: path || 'state', value: v });
    };
    walk(state, '', 0);
    return { sptes, fields };
  }

  /** Paths (including `spte.bit` paths) whose value differs between two states. @param {unknown} prev @param {unknown} cur */
  function changedPaths(prev, cur) {
    const changed = new Set();
    if (prev === undefined || prev === null) return changed;
    const index = (/** @type {unknown} */ s) => {
      const m = new Map();
      const { sptes, fields } = flattenState(s);
      for (const f of fields) m.set(f.path, JSON.stringify(f.value));
      for (const { path, spte } of sptes) for (const [k, v] of Object.entries(spte)) m.set(`${path}.${k}`, JSON.stringify(v));
      return m;
    };
    const a = index(prev);
    const b = index(cur);
    for (const [k, v] of b) if (a.get(k) !== v) changed.add(k);
    for (const k of a.keys()) if (!b.has(k)) changed.add(k);
    return changed;
  }

  /**
   * The frames of the demo: frame 0 is the initial state, frame i the state after step i. A
   * result without a counterexample (the fixed variant) still has its initial state.
   * @param {any} result
   */
  function framesOf(result) {
    const steps = Array.isArray(result && result.counterexample) ? result.counterexample : [];
    let initial = result ? (result.initialState !== undefined ? result.initialState : result.counterexampleInitial) : undefined;
    if (initial === undefined || initial === null) initial = steps.length ? steps[0].state : undefined;
    /** @type {{ index: number, actor: string | null, step: string, note?: string, state: unknown }[]} */
    const frames = [];
    if (initial !== undefined) {
      const label = result && typeof result.initialLabel === 'string' && result.initialLabel ? `initial: ${result.initialLabel}` : 'initial state';
      frames.push({ index: 0, actor: null, step: label, state: initial });
    }
    steps.forEach((s, i) => frames.push({ index: frames.length, actor: s.actor, step: s.step, note: s.note, state: s.state }));
    return frames;
  }

  /** Timeline columns: the scenario's actors (also those that never move), else those in the schedule. @param {any} result */
  function columnsOf(result) {
    const listed = result && Array.isArray(result.actors) ? result.actors.map((/** @type {any} */ a) => (typeof a === 'string' ? a : a && a.name)).filter(Boolean) : [];
    for (const a of actorsOf(result && result.counterexample)) if (!listed.includes(a)) listed.push(a);
    return listed;
  }

  /** "locking.rst § 2. Exception / Fast page fault, 2) Dirty bit tracking" @param {unknown} ref */
  function docRefText(ref) {
    if (!ref) return '';
    if (typeof ref === 'string') return ref;
    const r = /** @type {any} */ (ref);
    const where = [r.document, r.section && `§ ${r.section}`].filter(Boolean).join(' ');
    return [where, r.story].filter(Boolean).join(', ');
  }

  /**
   * The frame where the invariant is broken: the explorer stops a schedule where an 'always'
   * invariant breaks and judges 'end' invariants at the end, so it is the last one. -1 if none.
   * @param {any} result
   */
  function violationFrame(result) {
    if (!result || !Array.isArray(result.counterexample) || result.counterexample.length === 0) return -1;
    const marked = result.counterexample.findIndex((/** @type {any} */ s) => s && (s.violation || s.broken));
    // frames are offset by one when the initial state is frame 0
    const offset = framesOf(result).length - result.counterexample.length;
    return (marked >= 0 ? marked : result.counterexample.length - 1) + offset;
  }

  /** The message of the broken invariant, however the model names it. @param {any} result */
  function brokenInvariantText(result) {
    const b = result && (result.brokenInvariant || result.violation || result.invariant);
    if (!b) return '';
    if (typeof b === 'string') return b;
    return b.message || b.id || '';
  }

  /**
   * The SPTE as a 64-bit EPT entry (6.12 layout), hex; a non-present SPTE is
   * SHADOW_NONPRESENT_VALUE (only the suppress-#VE bit 63).
   * @param {Record<string, unknown>} spte
   */
  function eptHex(spte) {
    let v = 1n << 63n;
    if (spte.present) {
      v |= BigInt(Math.max(0, Math.floor(Number(spte.pfn) || 0))) << 12n;
      for (const b of SPTE_BITS) if (spte[b.key] === true) v |= 1n << BigInt(b.bit);
    }
    return '0x' + v.toString(16).padStart(16, '0');
  }

  /** "1 234" style grouping without locale surprises. @param {unknown} n */
  function formatCount(n) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return String(n ?? '?');
    return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  }

  /** @param {unknown} ms */
  function formatMs(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '? ms';
    return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
  }

  /** One-line summary of the exploration, as the header shows it. @param {any} r */
  function summaryText(r) {
    const parts = [
      `${formatCount(r.statesExplored)} states`,
      `${formatCount(r.interleavings)} interleavings${r.interleavingsExact === false ? ' (acyclic schedules)' : ''}`,
      formatMs(r.ms),
    ];
    if (r.truncated) parts.push('truncated');
    return parts.join(' · ');
  }

  /** The verdict line: a violation count, or the fixed variant's "no violation in N interleavings". @param {any} r */
  function verdictText(r) {
    const v = typeof r.violations === 'number' ? r.violations : r.counterexample ? 1 : 0;
    if (v === 0) return `No violation in ${formatCount(r.interleavings)} interleavings`;
    return `${formatCount(v)} of ${formatCount(r.interleavings)} interleavings break the invariant`;
  }

  const api = {
    SPTE_BITS,
    isSpte,
    eptHex,
    actorsOf,
    columnsOf,
    docRefText,
    flattenState,
    changedPaths,
    framesOf,
    violationFrame,
    brokenInvariantText,
    formatCount,
    formatMs,
    summaryText,
    verdictText,
  };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.KvmRaceModel = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);

/**
 * Positions move in place. An edit shifts every function below it by some lines; instead of
 * copying those functions' facts (and, downstream, their flows, summaries, derived values and
 * findings), the front end moves their `Pos` objects: whatever refers to a range (a witness
 * chain, a related location, a cached finding) refers to the same object and reads the new line
 * without being touched, and the facts stay the same objects, so nothing downstream re-runs.
 *
 * What this asks of the rest of the engine:
 * - A range is known by its object, not by its line: signatures name ranges by identity
 *   (`idOf`), so a move changes no signature, while a range replaced by another object (a
 *   re-extracted statement) does. Messages name places with markers that are written out when
 *   findings are reported (checks/places.ts).
 * - Anything kept from an analysis refers to the ranges of the current facts: a re-extracted
 *   function's new facts take over the Range objects of its previous version wherever a range
 *   is at the same place (`adoptRanges`), so that a caller's witness chain that kept such a
 *   range keeps moving with the function; a function whose facts are new objects is analysed
 *   again rather than copied from its previous analysis.
 */
import type { FieldFunctionBinding, FunctionFacts, GlobalLockDef, Pos, Range } from './facts';

/** Every range of a function's facts (a range object shared by several slots comes once per slot). */
function forEachRange(fn: FunctionFacts, f: (r: Range) => void): void {
  f(fn.range);
  f(fn.nameRange);
  for (const b of fn.blocks) {
    for (const o of b.ops) f(o.range);
    if (b.returnRange) f(b.returnRange);
  }
}

/** Moves one file-scope item (a function's facts, the static locks and bindings it defines) down by `d` lines. */
export function shiftItem(d: number, fn: FunctionFacts | null, globals: readonly GlobalLockDef[], bindings: readonly FieldFunctionBinding[]): void {
  if (d === 0) return;
  // A Pos object may be shared by several ranges: each moves once.
  const seen = new Set<Pos>();
  const move = (r: Range): void => {
    if (!seen.has(r.start)) {
      seen.add(r.start);
      r.start.line += d;
    }
    if (!seen.has(r.end)) {
      seen.add(r.end);
      r.end.line += d;
    }
  };
  if (fn) forEachRange(fn, move);
  for (const g of globals) move(g.range);
  for (const b of bindings) move(b.range);
}

/** Where an edit replaced old text [lo, oldHi) by new text [lo, newHi), with both texts' line indexes. */
export interface PositionMapping {
  lo: number;
  oldHi: number;
  newHi: number;
  oldOffset: (p: Pos) => number;
  newPos: (offset: number) => Pos;
}

/**
 * Gives the new facts of re-extracted functions the Range objects of the previous versions
 * (`previous`, facts no longer used) at the same place. Every old position outside the edited
 * text is first moved to where that text is now; a new range with the same start and end as an
 * old one then becomes that old object.
 */
export function adoptRanges(previous: readonly FunctionFacts[], fresh: readonly FunctionFacts[], m: PositionMapping): void {
  if (previous.length === 0 || fresh.length === 0) return;
  const d = m.newHi - m.oldHi;
  const mapped = new Map<Pos, Pos | null>();
  const target = (p: Pos): Pos | null => {
    let t = mapped.get(p);
    if (t === undefined) {
      const off = m.oldOffset(p);
      t = off < m.lo ? p : off >= m.oldHi ? m.newPos(off + d) : null;
      mapped.set(p, t);
    }
    return t;
  };
  const pool = new Map<string, Range>();
  for (const fn of previous) {
    forEachRange(fn, (r) => {
      target(r.start);
      target(r.end);
    });
  }
  for (const [p, t] of mapped) {
    if (t && t !== p) {
      p.line = t.line;
      p.column = t.column;
    }
  }
  for (const fn of previous) {
    forEachRange(fn, (r) => {
      const k = key(r);
      if (!pool.has(k)) pool.set(k, r);
    });
  }
  const adopt = (r: Range): Range => pool.get(key(r)) ?? r;
  for (const fn of fresh) {
    fn.range = adopt(fn.range);
    fn.nameRange = adopt(fn.nameRange);
    for (const b of fn.blocks) {
      for (const o of b.ops) o.range = adopt(o.range);
      if (b.returnRange) b.returnRange = adopt(b.returnRange);
    }
  }
}

function key(r: Range): string {
  return `${r.start.line}:${r.start.column}:${r.end.line}:${r.end.column}`;
}

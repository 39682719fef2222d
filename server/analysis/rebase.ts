/**
 * Flows kept across an analysis. A flow that the solver keeps for the same facts but rebuilds the
 * summary of (callee summaries changed only in what its dataflow does not read) is a copy
 * (`copyFlow`); caches compare contents with `sameFlowContent`. `PositionMap` tells caches which
 * positions of the previous analysis are still valid: those of functions whose flow is the same
 * object. (Positions themselves move in place, see frontend/moves.ts.)
 */
import type { Range } from '../frontend/facts';
import type { FunctionFlow } from './types';

/** A copy of a flow -> the flow first analysed with that content (see copyFlow). */
const copyOf = new WeakMap<FunctionFlow, FunctionFlow>();

/**
 * The same analysis as a new object: for a function whose callees' summaries changed only in
 * what its dataflow does not read. Caches keyed by flow object look again (what they read of
 * the callees may have changed); values derived from the flow's content alone may be kept
 * (sameFlowContent).
 */
export function copyFlow(flow: FunctionFlow): FunctionFlow {
  const next = { ...flow };
  copyOf.set(next, copyOf.get(flow) ?? flow);
  return next;
}

/** Are two flows the same object or copies of one (equal contents, see copyFlow)? */
export function sameFlowContent(a: FunctionFlow | undefined, b: FunctionFlow | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (copyOf.get(a) ?? a) === (copyOf.get(b) ?? b);
}

/** Lines [start, end] of the previous text that moved by `delta` unchanged. */
interface Segment {
  start: number;
  end: number;
  delta: number;
}

/**
 * How positions of the previous analysis map onto the current one, for caches that keep results
 * across an edit: a position in a changed file maps only when it lies in a function whose flow
 * is the same object or a rebase of it (moved whole lines, same analysis). Anything else in a
 * changed file (an edited function, a re-analysed one, text between functions) does not map, and
 * a cached result that refers to it must be recomputed.
 */
export class PositionMap {
  private readonly files = new Map<string, Segment[]>();
  private sorted = true;
  /** Moved objects by original (null: does not map), shared by every cache moved in one analysis. */
  readonly memo = new WeakMap<object, object | null>();

  /** Records that the function `prev` (previous flow) now lives as `next` (same or rebased). */
  addFunction(prev: FunctionFlow, next: FunctionFlow): boolean {
    if (next !== prev) return false;
    const delta = 0;
    let list = this.files.get(prev.fn.file);
    if (!list) this.files.set(prev.fn.file, (list = []));
    list.push({ start: prev.fn.range.start.line, end: prev.fn.range.end.line, delta });
    this.sorted = false;
    return true;
  }

  /** A changed file with no mapped function (every position in it is stale). */
  addFile(file: string): void {
    if (!this.files.has(file)) this.files.set(file, []);
  }

  /** The flow `flow` was rebased from in this analysis, if any. */
  predecessor(_flow: FunctionFlow): FunctionFlow | undefined {
    return undefined;
  }

  touches(file: string): boolean {
    return this.files.has(file);
  }

  get size(): number {
    return this.files.size;
  }

  private sort(): void {
    if (this.sorted) return;
    for (const l of this.files.values()) l.sort((a, b) => a.start - b.start);
    this.sorted = true;
  }

  /** Line delta for a range of `file`: 0 for an unchanged file, null when it does not map. */
  deltaOf(file: string, r: Range): number | null {
    const list = this.files.get(file);
    if (!list) return 0;
    this.sort();
    let lo = 0;
    let hi = list.length - 1;
    const line = r.start.line;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = list[mid];
      if (line < s.start) hi = mid - 1;
      else if (line > s.end) lo = mid + 1;
      else return r.end.line <= s.end ? s.delta : null;
    }
    return null;
  }

  /** The range moved onto the current text (the same object when it did not move), or null. */
  range(file: string, r: Range): Range | null {
    const d = this.deltaOf(file, r);
    if (d === null) return null;
    return d === 0 ? r : null;
  }
}

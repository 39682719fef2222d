/**
 * Flows kept across an analysis. A flow that the solver keeps for the same facts but rebuilds the
 * summary of (callee summaries changed only in what its dataflow does not read) is a copy
 * (`copyFlow`); caches compare contents with `sameFlowContent`. `ValidPositions` tells caches which
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

/** Lines [start, end] of a function whose flow is kept (the same object as before the edit). */
interface Span {
  start: number;
  end: number;
}

/** What `ValidPositions.holdsAll` looks at: a finding's place and its related places. */
export interface Placed {
  file: string;
  range: Range;
  related: readonly { file: string; range: Range }[];
}

/**
 * Which positions of the previous analysis are still valid, for caches that keep results across
 * an edit. Positions move in place (frontend/moves.ts), so a kept result reads the current lines;
 * what it must not do is point into code that was analysed again. A position in a changed file
 * is valid only when it lies in a function whose flow is the same object as before the edit;
 * anything else in a changed file (an edited function, a re-analysed one, text between
 * functions) is not, and a cached result that refers to it must be recomputed. Positions in
 * files that did not change are valid.
 */
export class ValidPositions {
  private readonly files = new Map<string, Span[]>();
  private sorted = true;

  /** Records that the function of `prev` (its flow before the edit) still has that flow (`next`). */
  addFunction(prev: FunctionFlow, next: FunctionFlow): boolean {
    if (next !== prev) return false;
    let list = this.files.get(prev.fn.file);
    if (!list) this.files.set(prev.fn.file, (list = []));
    list.push({ start: prev.fn.range.start.line, end: prev.fn.range.end.line });
    this.sorted = false;
    return true;
  }

  /** A changed file (every position in it is stale unless a kept function holds it). */
  addFile(file: string): void {
    if (!this.files.has(file)) this.files.set(file, []);
  }

  /** Is `file` one of the changed files? */
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

  /** Is a range of `file` still valid (an unchanged file, or inside a kept function)? */
  holds(file: string, r: Range): boolean {
    const list = this.files.get(file);
    if (!list) return true;
    this.sort();
    let lo = 0;
    let hi = list.length - 1;
    const line = r.start.line;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = list[mid];
      if (line < s.start) hi = mid - 1;
      else if (line > s.end) lo = mid + 1;
      else return r.end.line <= s.end;
    }
    return false;
  }

  /** Are all places of these findings (their ranges and related locations) still valid? */
  holdsAll(list: readonly Placed[]): boolean {
    for (const f of list) {
      if (!this.holds(f.file, f.range)) return false;
      for (const r of f.related) if (!this.holds(r.file, r.range)) return false;
    }
    return true;
  }
}

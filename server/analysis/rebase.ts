/**
 * An edit moves every function below it by some lines; their facts are new objects with the same
 * content. Re-running the dataflow for all of them is the bulk of an incremental re-check, so a
 * flow and summary are instead *rebased*: same analysis, ops re-keyed to the new objects, ranges
 * moved by the line delta. Only valid when the two bodies are identical up to that delta and no
 * callee's summary changed (the solver checks the latter).
 */
import type { Block, FunctionFacts, Op, Range } from '../frontend/facts';
import { sameSignatures } from './signatures';
import type { ChainStep, FunctionFlow, HeldLock, OpContext, Summary, TakeInfo, Witness } from './types';

function rangeDelta(a: Range, b: Range): number | null {
  const d = b.start.line - a.start.line;
  if (b.end.line - a.end.line !== d || a.start.column !== b.start.column || a.end.column !== b.end.column) return null;
  return d;
}

/** Structural equality of facts values (plain data); a key holding undefined counts as absent. */
function sameValue(a: unknown, b: unknown, skip?: string): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (k === skip || x[k] === undefined) continue;
    n++;
    if (!sameValue(x[k], y[k])) return false;
  }
  for (const k in y) if (k !== skip && y[k] !== undefined) n--;
  return n === 0;
}

function sameOp(a: Op, b: Op, delta: number): boolean {
  if (a.k !== b.k || a.api !== b.api || rangeDelta(a.range, b.range) !== delta) return false;
  // Everything but the range must be equal.
  return sameValue(a, b, 'range');
}

function sameBlock(a: Block, b: Block, delta: number): boolean {
  if (a.ops.length !== b.ops.length || a.succ.length !== b.succ.length) return false;
  // A function the front end moved keeps its edge lists.
  if (a.succ !== b.succ) for (let i = 0; i < a.succ.length; i++) {
    const x = a.succ[i];
    const y = b.succ[i];
    if (x.to !== y.to || x.cond?.variable !== y.cond?.variable || x.cond?.value !== y.cond?.value) return false;
  }
  if (!!a.returnRange !== !!b.returnRange) return false;
  if (a.returnRange && rangeDelta(a.returnRange, b.returnRange!) !== delta) return false;
  for (let i = 0; i < a.ops.length; i++) if (!sameOp(a.ops[i], b.ops[i], delta)) return false;
  return true;
}

/** The line delta when `b` is `a` moved by whole lines (same body otherwise), else null. */
export function shiftOf(a: FunctionFacts, b: FunctionFacts): number | null {
  if (a.name !== b.name || a.file !== b.file || a.blocks.length !== b.blocks.length || a.entry !== b.entry || a.exit !== b.exit) return null;
  if (a.hasErrors !== b.hasErrors || a.isWeak !== b.isWeak || a.returnType !== b.returnType || a.returnsPointer !== b.returnsPointer) return null;
  const delta = rangeDelta(a.range, b.range);
  if (delta === null || rangeDelta(a.nameRange, b.nameRange) !== delta) return null;
  if (!sameValue(a.params, b.params) || !sameValue(a.annotations, b.annotations)) return null;
  for (let i = 0; i < a.blocks.length; i++) if (!sameBlock(a.blocks[i], b.blocks[i], delta)) return null;
  return delta;
}

function shiftRange(r: Range, d: number): Range {
  return { start: { line: r.start.line + d, column: r.start.column }, end: { line: r.end.line + d, column: r.end.column } };
}

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

/** New flow -> the flow it was rebased from (PositionMap uses it for one analysis). */
const rebasedFrom = new WeakMap<FunctionFlow, FunctionFlow>();

/**
 * Moves a flow of `old` onto `fn` (which is `old` moved by `delta` lines). `moved`: the function
 * merely moved (nothing it reads changed), so results about it may be moved too (PositionMap).
 */
export function rebaseFlow(flow: FunctionFlow, fn: FunctionFacts, delta: number, moved = true): FunctionFlow {
  const old = flow.fn;
  const opMap = new Map<Op, Op>();
  const oldBlocks = old.blocks;
  const newBlocks = fn.blocks;
  for (let b = 0; b < oldBlocks.length; b++) {
    const from = oldBlocks[b].ops;
    const to = newBlocks[b].ops;
    for (let i = 0; i < from.length; i++) opMap.set(from[i], to[i]);
  }
  // Most flows hold nothing anywhere: the moved copies of held locks and of the context lists
  // that mention them are made (and their memo tables allocated) only when there are some.
  let heldMap: Map<HeldLock, HeldLock> | undefined;
  let heldArrays: Map<readonly HeldLock[], readonly HeldLock[]> | undefined;
  const moveHeld = (h: HeldLock): HeldLock => {
    if (h.file !== old.file) return h;
    let m = (heldMap ??= new Map()).get(h);
    if (!m) {
      m = { ...h, range: shiftRange(h.range, delta) };
      heldMap.set(h, m);
    }
    return m;
  };
  const moveHeldArray = (a: readonly HeldLock[]): readonly HeldLock[] => {
    if (a.length === 0) return a;
    let m = (heldArrays ??= new Map()).get(a);
    if (!m) {
      m = a.map(moveHeld);
      heldArrays.set(a, m);
    }
    return m;
  };
  // Context lists may be shared between ops (a stateless flow has one for all): move each once.
  let ctxLists: Map<OpContext[], OpContext[]> | undefined;
  let lastFrom: OpContext[] | undefined;
  let lastTo: OpContext[] | undefined;
  const moveContexts = (ctxs: OpContext[]): OpContext[] => {
    if (ctxs === lastFrom) return lastTo!;
    let m = ctxLists?.get(ctxs);
    if (!m) {
      let held = false;
      for (const c of ctxs) if (c.held.length !== 0) held = true;
      m = held ? ctxs.map((c) => ({ held: moveHeldArray(c.held), callerReleased: c.callerReleased, irqOff: c.irqOff, preemptOff: c.preemptOff })) : ctxs;
      // The first list goes into the table when a second one shows up.
      if (lastFrom !== undefined) (ctxLists ??= new Map([[lastFrom, lastTo!]])).set(ctxs, m);
    }
    lastFrom = ctxs;
    lastTo = m;
    return m;
  };
  const contexts = new Map<Op, OpContext[]>();
  for (const [op, ctxs] of flow.contexts) contexts.set(opMap.get(op)!, moveContexts(ctxs));
  const locks = new Map<Op, FunctionFlow['locks'] extends Map<Op, infer V> ? V : never>();
  for (const [op, ref] of flow.locks) locks.set(opMap.get(op)!, ref);
  const targets = new Map<Op, string[]>();
  for (const [op, t] of flow.targets) targets.set(opMap.get(op)!, t);
  const exits: FunctionFlow['exits'] = [];
  for (const e of flow.exits) {
    // A state holding nothing has no position in it: the same object serves.
    const state = e.state.held.length === 0 ? e.state : { ...e.state, held: moveHeldArray(e.state.held) };
    exits.push({ range: shiftRange(e.range, delta), state });
  }
  const next: FunctionFlow = {
    fn,
    contexts,
    locks,
    targets,
    exits,
    events: flow.events.length === 0 ? flow.events : flow.events.map((e) => ({ ...e, op: opMap.get(e.op)! })),
    truncated: flow.truncated,
  };
  if (moved) {
    // One generation only: a link kept on `flow` would chain every earlier version of the
    // function to the newest one, and no WeakMap entry would ever be collected.
    rebasedFrom.delete(flow);
    rebasedFrom.set(next, flow);
  }
  return next;
}

/** Moves the positions a summary holds for its own function. */
export function rebaseSummary(sum: Summary, fn: FunctionFacts, delta: number): Summary {
  // Many witnesses share a step (every lock taken through one call): move each step once.
  const moved = new Map<ChainStep, ChainStep>();
  const moveStep = (s: ChainStep | undefined): ChainStep | undefined => {
    if (!s || s.file !== fn.file || s.function !== fn.name) return s;
    let m = moved.get(s);
    if (!m) moved.set(s, (m = { file: s.file, range: shiftRange(s.range, delta), function: s.function, what: s.what }));
    return m;
  };
  const moveWitness = (w: Witness): Witness => ({ depth: w.depth, step: moveStep(w.step), next: w.next });
  const takes = new Map<string, TakeInfo>();
  // Literals of the one shape summarize makes (a spread of these is slow).
  for (const [k, t] of sum.takes) {
    takes.set(k, {
      cls: t.cls,
      resolved: t.resolved,
      kind: t.kind,
      mode: t.mode,
      depth: t.depth,
      step: moveStep(t.step),
      next: t.next,
      trylock: t.trylock,
      callerReleased: t.callerReleased,
      param: t.param,
      fields: t.fields,
    });
  }
  const syncs = new Map<string, Witness>();
  for (const [k, w] of sum.syncs) syncs.set(k, moveWitness(w));
  const next: Summary = {
    ...sum,
    takes,
    syncs,
    maySleep: sum.maySleep && moveWitness(sum.maySleep),
    requires: sum.requires.length === 0 ? sum.requires : sum.requires.map((r) => (r.file === fn.file ? { ...r, range: shiftRange(r.range, delta) } : r)),
  };
  sameSignatures(sum, next);
  return next;
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
    const delta = next === prev ? 0 : rebasedFrom.get(next) === prev ? next.fn.range.start.line - prev.fn.range.start.line : null;
    if (delta === null) return false;
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
  predecessor(flow: FunctionFlow): FunctionFlow | undefined {
    return rebasedFrom.get(flow);
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
    return d === 0 ? r : shiftRange(r, d);
  }
}

/**
 * What the SPTE checks need from one function, found in one pass over its ops and kept per
 * function object (facts and flows are new objects whenever their content may have changed), so
 * that an analysis only scans the functions an edit replaced:
 *
 *  - its SPTE ops (./spteContext.ts spteOps);
 *  - for spte-tlb-flush: the "flush needed" results it drops, the calls whose result it discards,
 *    and what it returns (a bool-returning function only);
 *  - per flow: the names it calls through calls the shared-context search may enter (its edges
 *    in the call graph that ./spteWorkspace.ts keeps).
 */
import { SPTE_HELPERS, spteHelper, type SpteAtomicity, type SpteHelperContract } from '../../model/spte/helpers';
import type { CallOp, FunctionFacts, SpteOp } from '../frontend/facts';
import type { FunctionFlow } from '../analysis/types';
import { rangeWithin } from './places';

// ---- helper contracts by name (asked for every call of every function: memoised) ------------------

const CONTRACTS = new Map<string, SpteHelperContract | null>();

/** The contract of an SPTE helper, or undefined (a memo of model/spte/helpers' spteHelper). */
export function contractByName(name: string): SpteHelperContract | undefined {
  let c = CONTRACTS.get(name);
  if (c === undefined) {
    if (CONTRACTS.size > 200_000) CONTRACTS.clear();
    c = spteHelper(name) ?? null;
    CONTRACTS.set(name, c);
  }
  return c ?? undefined;
}

export function isAtomic(a: SpteAtomicity): boolean {
  return a === 'cmpxchg' || a === 'atomic-xchg' || a === 'atomic-bitop';
}

/**
 * Calls of SPTE helpers with a plain, conditional or read contract are judged at the call site by
 * that contract; the shared-context search does not enter their bodies. Atomic writers are
 * entered: their bodies must keep the promise.
 */
const JUDGED = new Map<string, boolean>();
export function judgedAtCallSite(name: string): boolean {
  let v = JUDGED.get(name);
  if (v === undefined) {
    if (JUDGED.size > 200_000) JUDGED.clear();
    const c = contractByName(name);
    JUDGED.set(name, (v = !!c && !isAtomic(c.atomicity)));
  }
  return v;
}

/** An atomic SPTE writer by contract. */
export function isAtomicWriter(name: string): boolean {
  const c = contractByName(name);
  return !!c && isAtomic(c.atomicity);
}

// ---- per function ---------------------------------------------------------------------------------

export const FLUSH_HELPERS: ReadonlySet<string> = new Set(SPTE_HELPERS.filter((h) => h.returnsFlushNeeded).map((h) => h.name));
const BOOLISH = /^(bool|_Bool|int|u8|u32|unsigned)$/;

/** What spte-tlb-flush reports in one function. */
export interface DroppedResults {
  /** Flush helpers whose result is dropped. */
  droppedHelpers: SpteOp[];
  /** Direct calls of non-helpers whose result is dropped. */
  discardedCalls: CallOp[];
}

const NO_DROPS: DroppedResults = { droppedHelpers: [], discardedCalls: [] };
const DROPS = new WeakMap<FunctionFacts, DroppedResults>();

/** Asked only of functions with SPTE ops and callers of flush wrappers. */
export function droppedResults(fn: FunctionFacts): DroppedResults {
  let info = DROPS.get(fn);
  if (info) return info;
  const droppedHelpers: SpteOp[] = [];
  const discardedCalls: CallOp[] = [];
  for (const b of fn.blocks) {
    for (const op of b.ops) {
      if (op.k === 'spte') {
        if (op.access === 'helper' && op.helper && FLUSH_HELPERS.has(op.helper) && op.resultUsed === false) droppedHelpers.push(op);
      } else if (op.k === 'call' && !op.indirect && op.discarded && !contractByName(op.callee)) {
        discardedCalls.push(op);
      }
    }
  }
  info = droppedHelpers.length || discardedCalls.length ? { droppedHelpers, discardedCalls } : NO_DROPS;
  DROPS.set(fn, info);
  return info;
}

const NO_RETURNED: (SpteOp | CallOp)[] = [];

/** A function whose result may be a "flush needed" flag (and that is not an SPTE helper itself). */
function boolish(fn: FunctionFacts): boolean {
  return BOOLISH.test(fn.returnType) && !fn.returnsPointer && !contractByName(fn.name);
}

function isReturnedFlushHelper(op: SpteOp): boolean {
  return op.access === 'helper' && !!op.helper && FLUSH_HELPERS.has(op.helper) && op.resultUsed !== false;
}
const RETURNED = new WeakMap<FunctionFacts, (SpteOp | CallOp)[]>();

/**
 * Flush helpers whose result is used and direct calls whose result is used, inside `return`
 * statements of a bool-returning function: what may make it a flush wrapper.
 */
export function returnedCalls(fn: FunctionFacts): (SpteOp | CallOp)[] {
  if (!boolish(fn)) return NO_RETURNED;
  let out = RETURNED.get(fn);
  if (out) return out;
  for (const b of fn.blocks) {
    const ret = b.returnRange;
    if (!ret) continue;
    for (const op of b.ops) {
      if (!rangeWithin(op.range, ret)) continue;
      if (op.k === 'spte') {
        if (isReturnedFlushHelper(op)) (out ??= []).push(op);
      } else if (op.k === 'call' && !op.indirect && !op.discarded) {
        (out ??= []).push(op);
      }
    }
  }
  out ??= NO_RETURNED;
  RETURNED.set(fn, out);
  return out;
}

// ---- per flow ---------------------------------------------------------------------------------------

/** One flow as the workspace state sees it. */
export interface FlowScan {
  /** Does the function have SPTE ops? */
  spte: boolean;
  /** Names it may enter through calls the shared-context search follows (unique, in call order). */
  edges: readonly string[];
}

const SCANS = new WeakMap<FunctionFlow, FlowScan>();
const NO_EDGES: readonly string[] = [];

/**
 * One pass over the function's blocks (the cold analysis runs it for every flow): SPTE ops or
 * not, the call edges, and what the function returns (kept for returnedCalls).
 */
export function scanFlow(flow: FunctionFlow): FlowScan {
  let s = SCANS.get(flow);
  if (s) return s;
  const fn = flow.fn;
  const wantReturned = boolish(fn) && !RETURNED.has(fn);
  let returned: (SpteOp | CallOp)[] | undefined;
  let spte = false;
  const blocks = fn.blocks;
  for (let bi = 0; bi < blocks.length; bi++) {
    const b = blocks[bi];
    const ops = b.ops;
    const ret = wantReturned ? b.returnRange : undefined;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op.k === 'spte') {
        spte = true;
        if (ret && isReturnedFlushHelper(op) && rangeWithin(op.range, ret)) (returned ??= []).push(op);
      } else if (ret && op.k === 'call' && !op.indirect && !op.discarded && rangeWithin(op.range, ret)) (returned ??= []).push(op);
    }
  }
  // The call edges, from the flow's call targets: one entry per call op, in op order (dataflow.ts
  // analyzeFunction; a copyFlow shares them), so the same edges in the same order as a walk over the ops.
  let edges: string[] | undefined;
  for (const [op, ts] of flow.targets) {
    if (op.k !== 'call' || ts.length === 0 || judgedAtCallSite(op.callee)) continue;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      if (t !== op.callee && judgedAtCallSite(t)) continue;
      if (!edges) edges = [t];
      else if (!edges.includes(t)) edges.push(t);
    }
  }
  if (wantReturned) RETURNED.set(fn, returned ?? NO_RETURNED);
  s = { spte, edges: edges ?? NO_EDGES };
  SCANS.set(flow, s);
  return s;
}

/** `cur` has the body, calls and targets of `old` (the same facts under a new flow: a copy, mostly). */
export function adoptScan(old: FunctionFlow, cur: FunctionFlow): void {
  const s = SCANS.get(old);
  if (s && !SCANS.has(cur)) SCANS.set(cur, s);
}

export function sameEdges(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

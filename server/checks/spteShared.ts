/**
 * Where SPTEs may be written by other threads at the same time as by this one, so that only
 * cmpxchg / xchg / atomic bit operations are safe ("lockless" in the sense of the locking
 * document's Exception section):
 *
 *  - between walk_shadow_page_lockless_begin/end or kvm_tdp_mmu_walk_lockless_begin/end (fast
 *    page fault, get_mmio_spte's walk);
 *  - under mmu_lock held for read (the TDP MMU's shared mode), taken here (dataflow contexts) or
 *    asserted (`lockdep_assert_held_read`, `kvm_lockdep_assert_mmu_lock_held(kvm, true)`);
 *  - on the `shared == true` paths of a function with a `bool shared` parameter;
 *  - in functions called (transitively) from any of those places, up to MAX_DEPTH calls deep.
 *
 * Each op gets the first reason found, with the related locations that prove it. Writes after a
 * write-mode acquisition or assertion of mmu_lock are exclusive again. Calls of SPTE helpers that
 * have a contract are judged at the call site, so the search does not enter their bodies.
 */
import type { AssertOp, AcquireOp, FunctionFacts, Op } from '../frontend/facts';
import type { FunctionFlow, HeldLock, OpContext, Summary } from '../analysis/types';
import type { CheckContext } from './check';
import type { RelatedLocation } from './finding';
import { contractByName, isAtomic, judgedAtCallSite } from './spteScan';
import { MAX_DEPTH, spteWorkspace, type SpteWorkspace } from './spteWorkspace';

export type SharedKind = 'lockless-walk' | 'read-lock' | 'shared-param' | 'contract' | 'reached';

export interface SharedReason {
  kind: SharedKind;
  /** One line for the message: "inside walk_shadow_page_lockless_begin/end", ... */
  what: string;
  /** Proof, outermost first: "lockless walk begins here" -> "calls f" -> ... */
  related: RelatedLocation[];
}

const BEGIN = new Set(['walk_shadow_page_lockless_begin', 'kvm_tdp_mmu_walk_lockless_begin']);
const END = new Set(['walk_shadow_page_lockless_end', 'kvm_tdp_mmu_walk_lockless_end']);

function isMmuLock(op: AcquireOp | AssertOp | { lock: { fields: string[]; text: string } }): boolean {
  const f = op.lock.fields;
  return (f.length > 0 && f[f.length - 1] === 'mmu_lock') || /mmu_lock\b/.test(op.lock.text);
}

/** mmu_lock taken or asserted in write mode: from here on the walk is exclusive. */
function makesExclusive(op: Op): boolean {
  if (op.k === 'acquire') return op.mode === 'write' && isMmuLock(op);
  if (op.k === 'assert') return !op.negated && !op.weak && op.mode === 'write' && isMmuLock(op);
  return false;
}

function sharedParam(fn: FunctionFacts): string | undefined {
  return fn.params.find((p) => p.name === 'shared' && !p.pointer)?.name;
}

interface Walk {
  /** Continue from this op (exclusive) or from the block's start. */
  block: number;
  from: number;
}

/**
 * Marks every op reachable from the start points, stopping at `stop` ops (not marked) and never
 * taking edges that `skipEdge` refuses. Linear in the CFG size.
 */
function sweep(
  fn: FunctionFacts,
  starts: Walk[],
  stop: (op: Op) => boolean,
  skipEdge: (cond: { variable: string; value: string } | undefined) => boolean,
  mark: (op: Op) => void,
): void {
  const startedAt = new Int32Array(fn.blocks.length).fill(-1);
  const stack = [...starts];
  while (stack.length) {
    const { block, from } = stack.pop()!;
    const b = fn.blocks[block];
    if (!b) continue;
    if (from === 0) {
      if (startedAt[block] === 0) continue;
      startedAt[block] = 0;
    }
    let stopped = false;
    for (let i = from; i < b.ops.length; i++) {
      const op = b.ops[i];
      if (stop(op)) {
        stopped = true;
        break;
      }
      mark(op);
    }
    if (stopped) continue;
    for (const e of b.succ) if (!skipEdge(e.cond)) stack.push({ block: e.to, from: 0 });
  }
}

/** Local reasons per flow, kept across analyses (the solver keeps a flow object while nothing it reads changed). */
const LOCAL = new WeakMap<FunctionFlow, Map<Op, SharedReason> | null>();

function localOf(flow: FunctionFlow, ctx: CheckContext): Map<Op, SharedReason> | null {
  let local = LOCAL.get(flow);
  if (local === undefined) {
    local = localReasons(flow, ctx);
    LOCAL.set(flow, local);
  }
  return local;
}

/** The ops a sweep from the entry marks (SPTE ops and calls, in the order it marks them), per function. */
const REACHED = new WeakMap<FunctionFacts, Op[]>();
const CONTRACT = new WeakMap<FunctionFacts, Op[]>();

function marked(fn: FunctionFacts, skipShared: boolean): Op[] {
  const cache = skipShared ? REACHED : CONTRACT;
  let ops = cache.get(fn);
  if (ops) return ops;
  const out: Op[] = [];
  const sp = skipShared ? sharedParam(fn) : undefined;
  sweep(
    fn,
    [{ block: fn.entry, from: 0 }],
    makesExclusive,
    // A callee with a `shared` flag decides for itself: its exclusive branch is not shared.
    (c) => !!sp && !!c && c.variable === sp && c.value === 'zero',
    (op) => {
      if (op.k === 'spte' || op.k === 'call') out.push(op);
    },
  );
  cache.set(fn, (ops = out));
  return ops;
}

function markAll(m: Map<Op, SharedReason>, ops: readonly Op[], reason: SharedReason): void {
  for (const op of ops) if (!m.has(op)) m.set(op, reason);
}

/** Sources first by position: the order decides which of two equally short chains a callee shows. */
const byPosition = (a: FunctionFlow, b: FunctionFlow): number =>
  a.fn.file < b.fn.file ? -1 : a.fn.file > b.fn.file ? 1 : a.fn.range.start.line - b.fn.range.start.line || a.fn.range.start.column - b.fn.range.start.column;

export interface SharedContexts {
  /** Why `op` of `fn` may run concurrently with other SPTE writers, or undefined. */
  reasonAt(fn: FunctionFacts, op: Op): SharedReason | undefined;
}

/**
 * Every function's reasons: its own (local) ones, then, breadth first from the functions that
 * have some, the callees it reaches on those paths (each entered once, from the nearest caller).
 * Only functions that can reach an SPTE op within the depth left are entered (ws.dist): what
 * the others would get is never asked for.
 */
function compute(ws: SpteWorkspace, ctx: CheckContext): Map<FunctionFacts, Map<Op, SharedReason>> {
  const reasons = new Map<FunctionFacts, Map<Op, SharedReason>>();
  const queue: { flow: FunctionFlow; reason: SharedReason; depth: number }[] = [];
  const enteredFrom = new Map<FunctionFacts, number>();
  const enqueueCallees = (flow: FunctionFlow, depth: number): void => {
    if (depth >= MAX_DEPTH) return;
    const m = reasons.get(flow.fn);
    if (!m) return;
    for (const [op, why] of m) {
      if (op.k !== 'call' || judgedAtCallSite(op.callee)) continue;
      for (const t of flow.targets.get(op) ?? []) {
        if (judgedAtCallSite(t)) continue;
        // Entering t is useless unless an SPTE op is near enough below it.
        const below = ws.dist.get(t);
        if (below === undefined || depth + 1 + below > MAX_DEPTH) continue;
        for (const callee of ws.flowsOf(t)) {
          const prev = enteredFrom.get(callee.fn);
          if (prev !== undefined && prev <= depth + 1) continue;
          enteredFrom.set(callee.fn, depth + 1);
          const step: RelatedLocation = { file: flow.fn.file, range: op.range, message: `calls ${t} here` };
          queue.push({
            flow: callee,
            depth: depth + 1,
            reason: {
              kind: 'reached',
              what: why.kind === 'reached' ? why.what : `in a function called from ${flow.fn.name}() ${why.what}`,
              related: [...why.related, step],
            },
          });
        }
      }
    }
  };

  // Local reasons first, for every function near enough to an SPTE op.
  const sources: FunctionFlow[] = [];
  for (const name of ws.dist.keys()) for (const flow of ws.flowsOf(name)) if (localOf(flow, ctx)) sources.push(flow);
  sources.sort(byPosition);
  for (const flow of sources) reasons.set(flow.fn, new Map(localOf(flow, ctx)!));
  for (const flow of sources) enqueueCallees(flow, 0);
  for (let head = 0; head < queue.length; head++) {
    const { flow, reason, depth } = queue[head];
    let m = reasons.get(flow.fn);
    if (!m) reasons.set(flow.fn, (m = new Map()));
    markAll(m, marked(flow.fn, true), reason);
    enqueueCallees(flow, depth);
  }
  // Last (the reasons above carry a better witness): the body of an atomic SPTE writer
  // (fast_pf_fix_direct_spte, __tdp_mmu_set_spte_atomic, ...) must be atomic even when no caller
  // is in the workspace, because its callers rely on its contract on lockless paths.
  for (const flow of ws.spteFlows) {
    const fn = flow.fn;
    const c = contractByName(fn.name);
    if (!c || !isAtomic(c.atomicity)) continue;
    const reason: SharedReason = {
      kind: 'contract',
      what: `in ${fn.name}(), which callers use as an atomic (${c.atomicity}) SPTE writer on lockless paths`,
      related: [{ file: fn.file, range: fn.nameRange, message: `${fn.name}(): ${c.safeWhen}` }],
    };
    let m = reasons.get(fn);
    if (!m) reasons.set(fn, (m = new Map()));
    markAll(m, marked(fn, false), reason);
  }
  return reasons;
}

/** The ops of `flow` that have a reason of their own, or null when the function has none. */
function localReasons(flow: FunctionFlow, ctx: CheckContext): Map<Op, SharedReason> | null {
  const fn = flow.fn;
  const sp = sharedParam(fn);
  // Quick pre-scan: most functions have no source of shared context at all.
  let sources = !!sp;
  let readAcquire = false;
  for (const b of fn.blocks) {
    for (const op of b.ops) {
      if ((op.k === 'call' && BEGIN.has(op.callee)) || (op.k === 'assert' && op.mode === 'read')) sources = true;
      else if (op.k === 'acquire' && op.mode === 'read' && isMmuLock(op)) sources = readAcquire = true;
      else if (op.k === 'call' && flow.targets.get(op)?.length === 1 && returnsReadHeld(ctx, flow.targets.get(op)![0])) sources = readAcquire = true;
    }
  }
  if (!sources) return null;
  const m = new Map<Op, SharedReason>();
  const setter =
    (reason: SharedReason) =>
    (op: Op): void => {
      if ((op.k === 'spte' || op.k === 'call') && !m.has(op)) m.set(op, reason);
    };
  const rel = (op: Op, message: string): RelatedLocation => ({ file: fn.file, range: op.range, message });
  const blocks = fn.blocks;
  for (let block = 0; block < blocks.length; block++) {
    const ops = blocks[block].ops;
    for (let index = 0; index < ops.length; index++) {
      const op = ops[index];
      if (op.k === 'call' && BEGIN.has(op.callee)) {
        // 1. Lockless walks.
        const reason: SharedReason = {
          kind: 'lockless-walk',
          what: `inside ${op.callee.replace(/_begin$/, '_begin/end')} (no mmu_lock)`,
          related: [rel(op, 'lockless walk begins here')],
        };
        sweep(fn, [{ block, from: index + 1 }], (o) => o.k === 'call' && END.has(o.callee), () => false, setter(reason));
      } else if (op.k === 'assert' && !op.negated && !op.weak && op.mode === 'read' && isMmuLock(op)) {
        // 2a. mmu_lock asserted held for read.
        const reason: SharedReason = {
          kind: 'read-lock',
          what: 'where mmu_lock is asserted held for read (shared mode: other vCPUs write SPTEs with cmpxchg at the same time)',
          related: [rel(op, 'mmu_lock asserted held for read here')],
        };
        sweep(fn, [{ block, from: index + 1 }], makesExclusive, () => false, setter(reason));
      }
      // 2b. mmu_lock taken for read here (dataflow contexts), for the ops that matter.
      if (!readAcquire || (op.k !== 'spte' && op.k !== 'call')) continue;
      const read = readHeld(flow.contexts.get(op));
      if (!read) continue;
      if (!m.has(op)) {
        m.set(op, {
          kind: 'read-lock',
          what: 'under mmu_lock held for read (shared mode: other vCPUs write SPTEs with cmpxchg at the same time)',
          related: [{ file: read.file, range: read.range, message: read.via ? `mmu_lock taken for read here (in ${read.via})` : 'mmu_lock taken for read here' }],
        });
      }
    }
  }

  // 3. The `shared == true` paths of a function with a `shared` flag.
  if (sp) {
    const reason: SharedReason = {
      kind: 'shared-param',
      what: `on a path where \`${sp}\` is true (mmu_lock held for read by the caller)`,
      related: [{ file: fn.file, range: fn.nameRange, message: `${fn.name}() may be called with ${sp} = true` }],
    };
    sweep(
      fn,
      [{ block: fn.entry, from: 0 }],
      makesExclusive,
      (c) => !!c && c.variable === sp && c.value === 'zero',
      setter(reason),
    );
  }
  return m.size > 0 ? m : null;
}

/** A callee that returns holding mmu_lock for read (rare; from its summary, asked for every call: memoised per summary). */
const RETURNS_READ = new WeakMap<Summary, boolean>();
function returnsReadHeld(ctx: CheckContext, name: string): boolean {
  const sum = ctx.summaryOf(name);
  if (!sum) return false;
  let v = RETURNS_READ.get(sum);
  if (v === undefined) {
    v = sum.effects.some((e) => e.effect === 'acquire' && e.mode === 'read' && /(^|\.)mmu_lock$/.test(e.cls));
    RETURNS_READ.set(sum, v);
  }
  return v;
}

function isMmuLockClass(h: HeldLock): boolean {
  return h.cls === 'kvm.mmu_lock' || h.cls.endsWith('.mmu_lock') || h.fields[h.fields.length - 1] === 'mmu_lock';
}

/** The read-mode mmu_lock of some context in which mmu_lock is not also held for write. */
function readHeld(ctxs: readonly OpContext[] | undefined): HeldLock | undefined {
  if (!ctxs) return undefined;
  for (const c of ctxs) {
    let read: HeldLock | undefined;
    let write = false;
    for (const h of c.held) {
      if (!isMmuLockClass(h)) continue;
      if (h.mode === 'write') write = true;
      else read ??= h;
    }
    if (read && !write) return read;
  }
  return undefined;
}

/** The reasons of the last analysis that changed anything they read, kept with the workspace state. */
const RESULTS = new WeakMap<SpteWorkspace, { at: number; reasons: Map<FunctionFacts, Map<Op, SharedReason>> }>();
const CACHE = new WeakMap<CheckContext, SharedContexts>();

/** One analysis per check run, shared by the SPTE checks (and reused while nothing it reads changed). */
export function sharedContexts(ctx: CheckContext): SharedContexts {
  let s = CACHE.get(ctx);
  if (s) return s;
  const ws = spteWorkspace(ctx);
  let r = RESULTS.get(ws);
  if (!r || r.at < ws.sharedChangedAt) RESULTS.set(ws, (r = { at: ws.analyses, reasons: compute(ws, ctx) }));
  const reasons = r.reasons;
  s = { reasonAt: (fn, op) => reasons.get(fn)?.get(op) };
  CACHE.set(ctx, s);
  return s;
}

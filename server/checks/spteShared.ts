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
import { spteHelper, type SpteAtomicity } from '../../model/spte/helpers';
import type { AssertOp, AcquireOp, FunctionFacts, Op } from '../frontend/facts';
import type { FunctionFlow, HeldLock, OpContext } from '../analysis/types';
import type { CheckContext } from './check';
import { spteOps } from './spteContext';
import type { RelatedLocation } from './finding';

const MAX_DEPTH = 6;

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

function isAtomic(a: SpteAtomicity): boolean {
  return a === 'cmpxchg' || a === 'atomic-xchg' || a === 'atomic-bitop';
}

/**
 * Calls of SPTE helpers with a plain, conditional or read contract are judged at the call site by
 * that contract; the search does not enter their bodies. Atomic writers are entered: their bodies
 * must keep the promise.
 */
function judgedAtCallSite(name: string): boolean {
  const c = spteHelper(name);
  return !!c && !isAtomic(c.atomicity);
}

/** An atomic SPTE writer by contract (the cheap test first: this runs for every flow). */
function isAtomicWriter(name: string): boolean {
  const c = spteHelper(name);
  return !!c && isAtomic(c.atomicity);
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

/**
 * Local reasons per flow, kept across analyses: the solver keeps a function's flow object until
 * the function or a callee's summary changes, so an edit re-examines only what it touched.
 */
const LOCAL = new WeakMap<FunctionFlow, Map<Op, SharedReason> | null>();

export class SharedContexts {
  private readonly reasons = new Map<FunctionFacts, Map<Op, SharedReason>>();
  private readonly flowsByName = new Map<string, FunctionFlow[]>();

  constructor(private readonly ctx: CheckContext) {
    for (const f of ctx.flows) {
      const list = this.flowsByName.get(f.fn.name);
      if (list) list.push(f);
      else this.flowsByName.set(f.fn.name, [f]);
    }
    this.compute();
  }

  /** Why `op` of `fn` may run concurrently with other SPTE writers, or undefined. */
  reasonAt(fn: FunctionFacts, op: Op): SharedReason | undefined {
    return this.reasons.get(fn)?.get(op);
  }

  private mapOf(fn: FunctionFacts): Map<Op, SharedReason> {
    let m = this.reasons.get(fn);
    if (!m) this.reasons.set(fn, (m = new Map()));
    return m;
  }

  private setter(fn: FunctionFacts, reason: SharedReason): (op: Op) => void {
    const m = this.mapOf(fn);
    return (op) => {
      if ((op.k === 'spte' || op.k === 'call') && !m.has(op)) m.set(op, reason);
    };
  }

  private compute(): void {
    const queue: { flow: FunctionFlow; reason: SharedReason; depth: number }[] = [];
    const enteredFrom = new Map<FunctionFacts, number>();
    const enqueueCallees = (flow: FunctionFlow, depth: number): void => {
      if (depth >= MAX_DEPTH) return;
      const m = this.reasons.get(flow.fn);
      if (!m) return;
      for (const [op, why] of m) {
        if (op.k !== 'call' || judgedAtCallSite(op.callee)) continue;
        for (const t of flow.targets.get(op) ?? []) {
          if (judgedAtCallSite(t)) continue;
          for (const callee of this.flowsByName.get(t) ?? []) {
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

    // Local reasons first, for every function.
    for (const flow of this.ctx.flows) {
      let local = LOCAL.get(flow);
      if (local === undefined) {
        local = this.local(flow) ? new Map(this.reasons.get(flow.fn)) : null;
        LOCAL.set(flow, local);
      } else if (local) {
        this.reasons.set(flow.fn, new Map(local));
      }
      if (local) enqueueCallees(flow, 0);
    }
    while (queue.length) {
      const { flow, reason, depth } = queue.shift()!;
      const fn = flow.fn;
      const sp = sharedParam(fn);
      sweep(
        fn,
        [{ block: fn.entry, from: 0 }],
        makesExclusive,
        // A callee with a `shared` flag decides for itself: its exclusive branch is not shared.
        (c) => !!sp && !!c && c.variable === sp && c.value === 'zero',
        this.setter(fn, reason),
      );
      enqueueCallees(flow, depth);
    }
    // Last (the reasons above carry a better witness): the body of an atomic SPTE writer
    // (fast_pf_fix_direct_spte, __tdp_mmu_set_spte_atomic, ...) must be atomic even when no caller
    // is in the workspace, because its callers rely on its contract on lockless paths.
    for (const flow of this.ctx.flows) if (isAtomicWriter(flow.fn.name) && spteOps(flow.fn).length > 0) this.contractBody(flow.fn);
  }

  private contractBody(fn: FunctionFacts): void {
    const c = spteHelper(fn.name);
    if (!c || !isAtomic(c.atomicity)) return;
    const reason: SharedReason = {
      kind: 'contract',
      what: `in ${fn.name}(), which callers use as an atomic (${c.atomicity}) SPTE writer on lockless paths`,
      related: [{ file: fn.file, range: fn.nameRange, message: `${fn.name}(): ${c.safeWhen}` }],
    };
    sweep(fn, [{ block: fn.entry, from: 0 }], makesExclusive, () => false, this.setter(fn, reason));
  }

  /** Marks the ops of `flow` that have a reason of their own; false when the function has none. */
  private local(flow: FunctionFlow): boolean {
    const fn = flow.fn;
    const sp = sharedParam(fn);
    // Quick pre-scan: most functions have no source of shared context at all.
    let sources = !!sp;
    let readAcquire = false;
    for (const b of fn.blocks) {
      for (const op of b.ops) {
        if ((op.k === 'call' && BEGIN.has(op.callee)) || (op.k === 'assert' && op.mode === 'read')) sources = true;
        else if (op.k === 'acquire' && op.mode === 'read' && isMmuLock(op)) sources = readAcquire = true;
        else if (op.k === 'call' && flow.targets.get(op)?.length === 1 && this.returnsReadHeld(flow.targets.get(op)![0])) sources = readAcquire = true;
      }
    }
    if (!sources) return false;
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
          sweep(fn, [{ block, from: index + 1 }], (o) => o.k === 'call' && END.has(o.callee), () => false, this.setter(fn, reason));
        } else if (op.k === 'assert' && !op.negated && !op.weak && op.mode === 'read' && isMmuLock(op)) {
          // 2a. mmu_lock asserted held for read.
          const reason: SharedReason = {
            kind: 'read-lock',
            what: 'where mmu_lock is asserted held for read (shared mode: other vCPUs write SPTEs with cmpxchg at the same time)',
            related: [rel(op, 'mmu_lock asserted held for read here')],
          };
          sweep(fn, [{ block, from: index + 1 }], makesExclusive, () => false, this.setter(fn, reason));
        }
        // 2b. mmu_lock taken for read here (dataflow contexts), for the ops that matter.
        if (!readAcquire || (op.k !== 'spte' && op.k !== 'call')) continue;
        const read = readHeld(flow.contexts.get(op));
        if (!read) continue;
        const m = this.mapOf(fn);
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
        this.setter(fn, reason),
      );
    }
    return this.reasons.has(fn);
  }

  /** A callee that returns holding mmu_lock for read (rare; from its summary). */
  private returnsReadHeld(name: string): boolean {
    const sum = this.ctx.summaryOf(name);
    return !!sum && sum.effects.some((e) => e.effect === 'acquire' && e.mode === 'read' && /(^|\.)mmu_lock$/.test(e.cls));
  }
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

const CACHE = new WeakMap<CheckContext, SharedContexts>();

/** One analysis per check run, shared by the SPTE checks. */
export function sharedContexts(ctx: CheckContext): SharedContexts {
  let s = CACHE.get(ctx);
  if (!s) CACHE.set(ctx, (s = new SharedContexts(ctx)));
  return s;
}

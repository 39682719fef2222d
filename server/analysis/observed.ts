/**
 * Observed nestings: at every reached acquisition and call, which locks are held and which are
 * taken (directly, or inside the callee with its chain). The raw material of lock-order,
 * lock-cycle and the other ordering checks.
 */
import { LAST_REFERENCE_DESTRUCTORS, LAZY_INITIALIZERS } from '../../model/kvmTypes';
import type { CallOp, LockKind, Op } from '../frontend/facts';
import type { ClassResolver } from './classes';
import { mapThroughArgs } from './dataflow';
import { externalSummary } from './summaries';
import type { FunctionFlow, HeldLock, OpContext, Summary, TakeInfo } from './types';
import { callStepText } from './chains';

export interface Taken {
  cls: string;
  resolved: boolean;
  kind: LockKind;
  mode: 'read' | 'write';
  trylock: boolean;
  /** The first link of the witness: the acquire op itself, or the call and where to continue. */
  witness: TakeInfo;
  /** The callee, when taken inside a call. */
  callee?: string;
}

export interface Acquisition {
  flow: FunctionFlow;
  op: Op;
  contexts: OpContext[];
  taken: Taken[];
}

/**
 * What `op` (an acquire op or a call) takes: the lock itself, or what the callee's summaries
 * take mapped through the arguments. `nestable`: only resolved, blocking acquisitions (no
 * trylock), the ones that make a nesting; the others are not built at all.
 */
function takenAt(
  flow: FunctionFlow,
  op: Op,
  resolver: ClassResolver,
  summaryOf: (name: string) => Summary | undefined,
  nestable: boolean,
): Taken[] {
  const fn = flow.fn;
  if (op.k === 'acquire') {
    const ref = flow.locks.get(op)!;
    const trylock = /trylock/.test(op.api);
    if (nestable && (trylock || !ref.resolved)) return [];
    const kind = op.kind !== 'unknown' ? op.kind : ref.fieldKind ?? 'unknown';
    const witness: TakeInfo = {
      cls: ref.cls,
      resolved: ref.resolved,
      kind,
      mode: op.mode,
      depth: 1,
      step: { file: fn.file, range: op.range, function: fn.name, what: `takes ${ref.cls}` },
      fields: ref.fields,
    };
    return [{ cls: ref.cls, resolved: ref.resolved, kind, mode: op.mode, trylock, witness }];
  }
  if (op.k !== 'call') return [];
  const targets = flow.targets.get(op) ?? [];
  const names = targets.length ? targets : op.indirect ? [] : [op.callee];
  const taken: Taken[] = [];
  for (const name of names) {
    const sum = summaryOf(name) ?? externalSummary(name);
    if (!sum || LAST_REFERENCE_DESTRUCTORS.has(name) || LAZY_INITIALIZERS.has(name)) continue;
    for (const [key, t] of sum.takes) {
      if (nestable && t.trylock) continue;
      let cls = t.cls;
      let resolved = t.resolved;
      if (!t.resolved && t.param !== undefined) {
        const m = mapThroughArgs(resolver, fn, op as CallOp, { cls: t.cls, resolved: false, inst: '', param: t.param, fields: t.fields });
        cls = m.cls;
        resolved = m.resolved;
      }
      if (nestable && !resolved) continue;
      // Built field by field (not spread from `t`): one object shape, much cheaper to make.
      const witness: TakeInfo = {
        cls,
        resolved,
        kind: t.kind,
        mode: t.mode,
        trylock: t.trylock,
        callerReleased: t.callerReleased,
        param: t.param,
        fields: t.fields,
        depth: t.depth + 1,
        step: { file: fn.file, range: op.range, function: fn.name, what: callStepText(op as CallOp, name) },
        next: { fn: name, key },
      };
      taken.push({ cls, resolved, kind: t.kind, mode: t.mode, trylock: !!t.trylock, witness, callee: name });
    }
  }
  return taken;
}

/** Calls `visit` for every reached acquire op and every reached call that takes locks. */
export function forEachAcquisition(
  flow: FunctionFlow,
  resolver: ClassResolver,
  summaryOf: (name: string) => Summary | undefined,
  visit: (a: Acquisition) => void,
  onlyUnderLocks = false,
): void {
  for (const [op, contexts] of flow.contexts) {
    if (onlyUnderLocks && contexts.every((c) => c.held.length === 0)) continue;
    if (op.k !== 'acquire' && op.k !== 'call') continue;
    const taken = takenAt(flow, op, resolver, summaryOf, false);
    if (taken.length) visit({ flow, op, contexts, taken });
  }
}

/** "Holds `held` while taking `taken`" at `op`: one observed nesting of two different classes. */
export interface NestingPair {
  flow: FunctionFlow;
  op: Op;
  held: HeldLock;
  taken: Taken;
  /**
   * The callee `op` passes the handler `taken.callee` to, when that callee (not this flow) holds
   * `held` at its call through the parameter (FunctionFlow.handlerContexts).
   */
  within?: string;
}

const pairCache = new WeakMap<FunctionFlow, NestingPair[]>();

/** The distinct lists of held locks with a resolved lock in `contexts` (contexts often share one), in order. */
function heldLists(contexts: readonly OpContext[]): (readonly HeldLock[])[] | undefined {
  let helds: (readonly HeldLock[])[] | undefined;
  for (const c of contexts) {
    if (!c.held.some((h) => h.resolved)) continue;
    if (!helds) helds = [c.held];
    else if (!helds.includes(c.held)) helds.push(c.held);
  }
  return helds;
}

/**
 * The nestings of one function (resolved classes, trylocks excluded, same class excluded), one
 * per (op, held class, taken class). Cached per flow: a flow is replaced whenever the function or
 * a callee's summary changes, so the cache never goes stale (chains are expanded on demand).
 */
export function nestingPairs(flow: FunctionFlow, resolver: ClassResolver, summaryOf: (name: string) => Summary | undefined): NestingPair[] {
  const cached = pairCache.get(flow);
  if (cached) return cached;
  const out: NestingPair[] = [];
  // One pair per (position, held class, taken class): ops sharing a position count once.
  // (Nested maps, not a joined string key: the class strings keep their hashes.)
  const seen = new Map<number, Map<string, Set<string>>>();
  for (const [op, contexts] of flow.contexts) {
    if (op.k !== 'acquire' && op.k !== 'call') continue;
    const helds = heldLists(contexts);
    const handlers = op.k === 'call' ? flow.handlerContexts?.get(op) : undefined;
    if (!helds && !handlers) continue;
    const taken = takenAt(flow, op, resolver, summaryOf, true);
    if (!taken.length) continue;
    const pos = op.range.start.line * 100000 + op.range.start.column;
    let atOp = seen.get(pos);
    if (!atOp) seen.set(pos, (atOp = new Map()));
    const pair = (h: HeldLock, t: Taken, within?: string): void => {
      if (!h.resolved || h.cls === t.cls) return;
      // The callee releases this very lock before taking the other one.
      if (t.witness.callerReleased?.includes(h.cls)) return;
      let inner = atOp!.get(h.cls);
      if (!inner) atOp!.set(h.cls, (inner = new Set()));
      if (inner.has(t.cls)) return;
      inner.add(t.cls);
      out.push(within ? { flow, op, held: h, taken: t, within } : { flow, op, held: h, taken: t });
    };
    for (const t of taken) {
      if (helds) for (const held of helds) for (const h of held) pair(h, t);
      // A handler runs inside the callee it is passed to, with what that callee holds there.
      const calleeContexts = t.callee !== undefined ? handlers?.get(t.callee) : undefined;
      const calleeHelds = calleeContexts && heldLists(calleeContexts);
      if (calleeHelds) for (const held of calleeHelds) for (const h of held) pair(h, t, (op as CallOp).callee);
    }
  }
  pairCache.set(flow, out);
  return out;
}

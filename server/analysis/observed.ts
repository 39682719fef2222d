/**
 * Observed nestings: at every reached acquisition and call, which locks are held and which are
 * taken (directly, or inside the callee with its chain). The raw material of lock-order,
 * lock-cycle and the other ordering checks.
 */
import { LAST_REFERENCE_DESTRUCTORS } from '../../model/kvmTypes';
import type { CallOp, LockKind, Op } from '../frontend/facts';
import type { ClassResolver } from './classes';
import { mapThroughArgs } from './dataflow';
import { externalSummary } from './summaries';
import type { FunctionFlow, HeldLock, OpContext, Summary, TakeInfo } from './types';

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

/** Calls `visit` for every reached acquire op and every reached call that takes locks. */
export function forEachAcquisition(
  flow: FunctionFlow,
  resolver: ClassResolver,
  summaryOf: (name: string) => Summary | undefined,
  visit: (a: Acquisition) => void,
  onlyUnderLocks = false,
): void {
  const fn = flow.fn;
  for (const [op, contexts] of flow.contexts) {
    if (onlyUnderLocks && contexts.every((c) => c.held.length === 0)) continue;
    if (op.k === 'acquire') {
      const ref = flow.locks.get(op)!;
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
      visit({ flow, op, contexts, taken: [{ cls: ref.cls, resolved: ref.resolved, kind, mode: op.mode, trylock: /trylock/.test(op.api), witness }] });
    } else if (op.k === 'call') {
      const targets = flow.targets.get(op) ?? [];
      const names = targets.length ? targets : op.indirect ? [] : [op.callee];
      const taken: Taken[] = [];
      for (const name of names) {
        const sum = summaryOf(name) ?? externalSummary(name);
        if (!sum || LAST_REFERENCE_DESTRUCTORS.has(name)) continue;
        for (const [key, t] of sum.takes) {
          let cls = t.cls;
          let resolved = t.resolved;
          if (!t.resolved && t.param !== undefined) {
            const m = mapThroughArgs(resolver, fn, op as CallOp, { cls: t.cls, resolved: false, inst: '', param: t.param, fields: t.fields });
            cls = m.cls;
            resolved = m.resolved;
          }
          const witness: TakeInfo = {
            ...t,
            cls,
            resolved,
            depth: t.depth + 1,
            step: { file: fn.file, range: op.range, function: fn.name, what: `calls ${name}` },
            next: { fn: name, key },
          };
          taken.push({ cls, resolved, kind: t.kind, mode: t.mode, trylock: !!t.trylock, witness, callee: name });
        }
      }
      if (taken.length) visit({ flow, op, contexts, taken });
    }
  }
}

/** "Holds `held` while taking `taken`" at `op`: one observed nesting of two different classes. */
export interface NestingPair {
  flow: FunctionFlow;
  op: Op;
  held: HeldLock;
  taken: Taken;
}

const pairCache = new WeakMap<FunctionFlow, NestingPair[]>();

/**
 * The nestings of one function (resolved classes, trylocks excluded, same class excluded), one
 * per (op, held class, taken class). Cached per flow: a flow is replaced whenever the function or
 * a callee's summary changes, so the cache never goes stale (chains are expanded on demand).
 */
export function nestingPairs(flow: FunctionFlow, resolver: ClassResolver, summaryOf: (name: string) => Summary | undefined): NestingPair[] {
  const cached = pairCache.get(flow);
  if (cached) return cached;
  const out: NestingPair[] = [];
  const seen = new Set<string>();
  forEachAcquisition(
    flow,
    resolver,
    summaryOf,
    (a) => {
      for (const t of a.taken) {
        if (t.trylock || !t.resolved) continue;
        for (const c of a.contexts) {
          for (const h of c.held) {
            if (!h.resolved || h.cls === t.cls) continue;
            // The callee releases this very lock before taking the other one.
            if (t.witness.callerReleased?.includes(h.cls)) continue;
            const k = `${a.op.range.start.line}:${a.op.range.start.column}|${h.cls}|${t.cls}`;
            if (seen.has(k)) continue;
            seen.add(k);
            out.push({ flow, op: a.op, held: h, taken: t });
          }
        }
      }
    },
    true,
  );
  pairCache.set(flow, out);
  return out;
}

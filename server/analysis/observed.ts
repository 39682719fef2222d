/**
 * Observed nestings: at every reached acquisition and call, which locks are held and which are
 * taken (directly, or inside the callee with its chain). The raw material of lock-order,
 * lock-cycle and the other ordering checks.
 */
import type { CallOp, Op } from '../frontend/facts';
import type { ClassResolver } from './classes';
import { mapThroughArgs } from './dataflow';
import { externalSummary } from './summaries';
import type { LockKind } from '../frontend/facts';
import type { FunctionFlow, OpContext, Summary, TakeInfo } from './types';

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
): void {
  const fn = flow.fn;
  for (const [op, contexts] of flow.contexts) {
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
        if (!sum) continue;
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

/**
 * Which flows (`ctx.flows`, chosen and other definitions) appeared and which went away since the
 * previous analysis, for checks that keep whole-workspace aggregates built from per-flow
 * contributions (the lock graph, the callers of each name): they apply the difference instead of
 * going over every flow again. One pass over the flows per analysis, shared by every user.
 */
import type { FunctionFlow } from '../analysis/types';
import type { CheckContext } from './check';

export interface FlowDelta {
  /** The delta leads from the flow set of analysis `from` to that of analysis `to`. */
  from: number;
  to: number;
  added: readonly FunctionFlow[];
  removed: readonly FunctionFlow[];
}

interface FlowSet {
  generation: number;
  /** flow -> the generation it was last seen in. */
  seen: Map<FunctionFlow, number>;
}

const STORE_KEY = 'flowDelta';
const perContext = new WeakMap<CheckContext, FlowDelta>();

/**
 * The flows added and removed since the analysis this was last asked in. Without the engine's
 * store, every flow is added (from 0 to 1). A user applies the delta when its aggregate is of
 * generation `from`, else it rebuilds from `ctx.flows`; either way it is then of generation `to`.
 */
export function flowDelta(ctx: CheckContext): FlowDelta {
  const memo = perContext.get(ctx);
  if (memo) return memo;
  let set = ctx.store?.get(STORE_KEY) as FlowSet | undefined;
  if (!set) {
    set = { generation: 0, seen: new Map() };
    ctx.store?.set(STORE_KEY, set);
  }
  const from = set.generation;
  const to = from + 1;
  const added: FunctionFlow[] = [];
  const seen = set.seen;
  const before = seen.size;
  let kept = 0;
  for (const flow of ctx.flows) {
    const g = seen.get(flow);
    if (g === to) continue; // listed twice
    if (g === undefined) added.push(flow);
    else kept++;
    seen.set(flow, to);
  }
  const removed: FunctionFlow[] = [];
  if (kept < before) {
    for (const [flow, g] of seen) {
      if (g === to) continue;
      removed.push(flow);
      seen.delete(flow);
    }
  }
  set.generation = to;
  const delta = { from, to, added, removed };
  perContext.set(ctx, delta);
  return delta;
}

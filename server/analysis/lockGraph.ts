/**
 * The lock graph observed across the workspace: an edge A -> B when some function holds A and
 * takes B (directly or through calls), at class level, same-class nesting excluded, each edge with
 * its shortest witness. SRCU/RCU read sides are not edges (readers do not block each other);
 * trylocks are not edges (they cannot block).
 */
import type { Range } from '../frontend/facts';
import type { ClassResolver } from './classes';
import { nestingPairs, type Taken } from './observed';
import type { FunctionFlow, HeldLock, Summary } from './types';

export interface ObservedEdge {
  from: string;
  to: string;
  /** The function holding `from`, and the op (acquire or call) that takes `to`. */
  file: string;
  range: Range;
  function: string;
  held: HeldLock;
  taken: Taken;
}

const NON_BLOCKING = new Set(['srcu', 'rcu']);

export function observedEdges(
  flows: readonly FunctionFlow[],
  resolver: ClassResolver,
  summaryOf: (name: string) => Summary | undefined,
): Map<string, Map<string, ObservedEdge>> {
  const edges = new Map<string, Map<string, ObservedEdge>>();
  for (const flow of flows) {
    for (const p of nestingPairs(flow, resolver, summaryOf)) {
      const { held: h, taken: t } = p;
      if (NON_BLOCKING.has(t.kind) || NON_BLOCKING.has(h.kind)) continue;
      let m = edges.get(h.cls);
      if (!m) edges.set(h.cls, (m = new Map()));
      const prev = m.get(t.cls);
      if (prev && prev.taken.witness.depth <= t.witness.depth) continue;
      m.set(t.cls, { from: h.cls, to: t.cls, file: flow.fn.file, range: p.op.range, function: flow.fn.name, held: h, taken: t });
    }
  }
  return edges;
}

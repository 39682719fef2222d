/**
 * lock-cycle: a cycle in the lock graph observed across the workspace (AB-BA and longer), at
 * class level. Reported once per cycle, at one of its edges, with every edge's chain as related
 * information. Cycles that contain a documented-order violation are left to lock-order.
 */
import { expandChain } from '../analysis/chains';
import { observedEdges, type ObservedEdge } from '../analysis/lockGraph';
import { stronglyConnected } from '../analysis/summaries';
import { chainToRelated, type Check, type CheckContext } from './check';
import type { Finding, RelatedLocation } from './finding';
import { ruleMeta } from './registry';

const MAX_CYCLES = 64;

/** Shortest cycle through `start` inside `members`, as a node list [start, ..., last] (last -> start closes it). */
function shortestCycle(start: string, members: Set<string>, edges: Map<string, Map<string, ObservedEdge>>): string[] | null {
  const prev = new Map<string, string>();
  const queue = [start];
  const seen = new Set([start]);
  while (queue.length) {
    const n = queue.shift()!;
    for (const to of edges.get(n)?.keys() ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [n];
        let cur = n;
        while (cur !== start) {
          cur = prev.get(cur)!;
          path.push(cur);
        }
        return path.reverse();
      }
      if (seen.has(to)) continue;
      seen.add(to);
      prev.set(to, n);
      queue.push(to);
    }
  }
  return null;
}

function canonical(cycle: string[]): string[] {
  let best = 0;
  for (let i = 1; i < cycle.length; i++) if (cycle[i] < cycle[best]) best = i;
  return [...cycle.slice(best), ...cycle.slice(0, best)];
}

export const lockCycleCheck: Check = {
  codes: ['lock-cycle'],
  run(ctx: CheckContext): Finding[] {
    const edges = observedEdges(ctx.flows, ctx.resolver, ctx.summaryOf);
    const nodes = new Set<string>();
    for (const [from, m] of edges) {
      nodes.add(from);
      for (const to of m.keys()) nodes.add(to);
    }
    const sccs = stronglyConnected([...nodes].sort(), (n) => [...(edges.get(n)?.keys() ?? [])]);
    const out: Finding[] = [];
    const severity = ruleMeta('lock-cycle').defaultSeverity;
    const reported = new Set<string>();
    for (const comp of sccs) {
      if (comp.length < 2) continue;
      const members = new Set(comp);
      for (const start of [...comp].sort()) {
        if (reported.size >= MAX_CYCLES) break;
        const cyc = shortestCycle(start, members, edges);
        if (!cyc) continue;
        const c = canonical(cyc);
        const key = c.join('>');
        if (reported.has(key)) continue;
        reported.add(key);
        const cycleEdges: ObservedEdge[] = c.map((from, i) => edges.get(from)!.get(c[(i + 1) % c.length])!);
        // A documented order is broken by one of the edges: lock-order reports it.
        if (cycleEdges.some((e) => ctx.orders.says(e.file, e.to, e.from))) continue;
        const names = [...c, c[0]].map((n) => ctx.display(n)).join(' -> ');
        const first = cycleEdges[0];
        const related: RelatedLocation[] = [];
        for (const e of cycleEdges) {
          related.push({ file: e.held.file, range: e.held.range, message: `${ctx.display(e.from)} held here (${e.function})` });
          related.push(...chainToRelated(ctx, expandChain(e.taken.witness, 'takes', ctx.summaryOf)));
        }
        const others = cycleEdges
          .slice(1)
          .map((e) => `${ctx.display(e.to)} inside ${ctx.display(e.from)} in ${e.function}`)
          .join(', ');
        out.push({
          code: 'lock-cycle',
          severity,
          file: first.file,
          range: first.range,
          message: `lock cycle ${names}: ${ctx.display(first.to)} is taken inside ${ctx.display(first.from)} here, and ${others}`,
          related,
          functionName: first.function,
        });
      }
    }
    return out;
  },
};

/**
 * lock-cycle: a cycle in the lock graph observed across the workspace (AB-BA and longer), at
 * class level. Reported once per cycle, at one of its edges, with every edge's chain as related
 * information. Cycles that contain a documented-order violation are left to lock-order. The
 * cycles of length one, a task taking a lock instance it holds, are ./lockSelf.ts.
 */
import { expandChain } from '../analysis/chains';
import { ObservedGraph, type ObservedEdge } from '../analysis/lockGraph';
import type { FunctionFlow } from '../analysis/types';
import { stronglyConnected } from '../analysis/summaries';
import { chainToRelated, type Check, type CheckContext } from './check';
import type { Finding, RelatedLocation } from './finding';
import { flowDelta } from './flowDelta';
import { ruleMeta } from './registry';
import { selfDeadlocks } from './lockSelf';

const MAX_CYCLES = 64;

/** Shortest cycle through `start` inside `members`, as a node list [start, ..., last] (last -> start closes it). */
function shortestCycle(start: string, members: Set<string>, successors: (n: string) => readonly string[]): string[] | null {
  const prev = new Map<string, string>();
  const queue = [start];
  const seen = new Set([start]);
  for (let qi = 0; qi < queue.length; qi++) {
    const n = queue[qi];
    for (const to of successors(n)) {
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

/** The graph's cycles (canonical node lists, at most MAX_CYCLES), found again only when its shape changes. */
interface CycleState {
  graph: ObservedGraph;
  /** flowDelta generation the graph is up to date with. */
  generation: number;
  shape: number;
  cycles: string[][];
}

function cyclesOf(graph: ObservedGraph): string[][] {
  const succ = new Map<string, string[]>();
  const successors = (n: string): string[] => {
    let s = succ.get(n);
    if (!s) succ.set(n, (s = graph.successors(n)));
    return s;
  };
  const sccs = stronglyConnected(graph.nodes(), successors);
  const out: string[][] = [];
  const found = new Set<string>();
  for (const comp of sccs) {
    if (comp.length < 2) continue;
    const members = new Set(comp);
    for (const start of [...comp].sort()) {
      if (found.size >= MAX_CYCLES) break;
      const cyc = shortestCycle(start, members, successors);
      if (!cyc) continue;
      const c = canonical(cyc);
      const key = c.join('>');
      if (found.has(key)) continue;
      found.add(key);
      out.push(c);
    }
  }
  return out;
}

const STORE_KEY = 'lockCycle:graph';

/** The cycles of the observed graph, the graph brought up to date from the flows that changed. */
function currentCycles(ctx: CheckContext): { graph: ObservedGraph; cycles: string[][] } {
  const inputs = { flows: ctx.flows, resolver: ctx.resolver, summaryOf: ctx.summaryOf };
  let st = ctx.store?.get(STORE_KEY) as CycleState | undefined;
  const delta = flowDelta(ctx);
  if (st && st.generation === delta.from) st.graph.apply(inputs, delta.added, delta.removed);
  else {
    if (!st) {
      st = { graph: new ObservedGraph(), generation: 0, shape: -1, cycles: [] };
      ctx.store?.set(STORE_KEY, st);
    }
    st.graph.rebuild(inputs);
  }
  st.generation = delta.to;
  if (st.shape !== st.graph.shapeVersion) {
    st.cycles = cyclesOf(st.graph);
    st.shape = st.graph.shapeVersion;
  }
  return st;
}

export const lockCycleCheck: Check = {
  codes: ['lock-cycle'],
  run(ctx: CheckContext): Finding[] {
    const { graph, cycles } = currentCycles(ctx);
    // Cycles of length one: a lock taken again by the task that holds it (./lockSelf.ts).
    const out: Finding[] = selfDeadlocks(ctx);
    if (!cycles.length) return out;
    const severity = ruleMeta('lock-cycle').defaultSeverity;
    const inputs = { flows: ctx.flows, resolver: ctx.resolver, summaryOf: ctx.summaryOf };
    const order = new Map<FunctionFlow, number>();
    ctx.flows.forEach((f, i) => order.has(f) || order.set(f, i));
    for (const c of cycles) {
      const cycleEdges: ObservedEdge[] = [];
      for (let i = 0; i < c.length; i++) {
        const e = graph.edge(c[i], c[(i + 1) % c.length], inputs, order);
        if (e) cycleEdges.push(e);
      }
      if (cycleEdges.length !== c.length) continue;
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
    return out;
  },
};

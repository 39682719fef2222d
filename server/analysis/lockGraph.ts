/**
 * The lock graph observed across the workspace: an edge A -> B when some function holds A and
 * takes B (directly or through calls), at class level, same-class nesting excluded, each edge with
 * its shortest witness. SRCU/RCU read sides are not edges (readers do not block each other);
 * trylocks are not edges (they cannot block).
 *
 * `ObservedGraph` keeps the graph across analyses as per-flow contributions (which class edges a
 * flow makes, at what depth): an analysis adds the contributions of new flows and drops those of
 * flows that went away, so an edit costs what it changed. Witnesses are looked up only for the
 * edges asked for (`edge`).
 */
import type { Range } from '../frontend/facts';
import type { ClassResolver } from './classes';
import { nestingPairs, type NestingPair, type Taken } from './observed';
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

function isEdge(p: NestingPair): boolean {
  return !NON_BLOCKING.has(p.taken.kind) && !NON_BLOCKING.has(p.held.kind);
}

function edgeOf(p: NestingPair): ObservedEdge {
  const fn = p.flow.fn;
  return { from: p.held.cls, to: p.taken.cls, file: fn.file, range: p.op.range, function: fn.name, held: p.held, taken: p.taken };
}

export function observedEdges(
  flows: readonly FunctionFlow[],
  resolver: ClassResolver,
  summaryOf: (name: string) => Summary | undefined,
): Map<string, Map<string, ObservedEdge>> {
  const edges = new Map<string, Map<string, ObservedEdge>>();
  for (const flow of flows) {
    for (const p of nestingPairs(flow, resolver, summaryOf)) {
      if (!isEdge(p)) continue;
      const { held: h, taken: t } = p;
      let m = edges.get(h.cls);
      if (!m) edges.set(h.cls, (m = new Map()));
      const prev = m.get(t.cls);
      if (prev && prev.taken.witness.depth <= t.witness.depth) continue;
      m.set(t.cls, edgeOf(p));
    }
  }
  return edges;
}

/** The class edges one flow makes: `from\0to` -> the smallest witness depth among its pairs. */
type Contribution = ReadonlyMap<string, number>;

const contributions = new WeakMap<FunctionFlow, Contribution>();
/** The contribution of the many flows that nest nothing (one object for all). */
const NO_EDGES: Contribution = new Map();

function edgeKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

/** A flow's contribution (kept per flow object). */
function contributionOf(flow: FunctionFlow, resolver: ClassResolver, summaryOf: (name: string) => Summary | undefined): Contribution {
  let c = contributions.get(flow);
  if (c) return c;
  const m = new Map<string, number>();
  for (const p of nestingPairs(flow, resolver, summaryOf)) {
    if (!isEdge(p)) continue;
    const k = edgeKey(p.held.cls, p.taken.cls);
    const d = p.taken.witness.depth;
    const cur = m.get(k);
    if (cur === undefined || d < cur) m.set(k, d);
  }
  c = m.size ? m : NO_EDGES;
  contributions.set(flow, c);
  return c;
}

export interface GraphInputs {
  flows: readonly FunctionFlow[];
  resolver: ClassResolver;
  summaryOf: (name: string) => Summary | undefined;
}

/**
 * The observed graph kept across analyses. `update` brings it to the current flows (a delta
 * when given, else a rebuild); `shapeVersion` changes whenever an edge appears or vanishes.
 */
export class ObservedGraph {
  /** edge key -> the flows that make it. */
  private byEdge = new Map<string, Set<FunctionFlow>>();
  /** from -> to -> number of flows making that edge. */
  private adjacency = new Map<string, Map<string, number>>();
  private shape = 0;

  get shapeVersion(): number {
    return this.shape;
  }

  clear(): void {
    this.byEdge.clear();
    this.adjacency.clear();
    this.shape++;
  }

  private add(flow: FunctionFlow, c: Contribution): void {
    for (const k of c.keys()) {
      let s = this.byEdge.get(k);
      if (!s) {
        this.byEdge.set(k, (s = new Set()));
        const i = k.indexOf('\u0000');
        const from = k.slice(0, i);
        let m = this.adjacency.get(from);
        if (!m) this.adjacency.set(from, (m = new Map()));
        m.set(k.slice(i + 1), 1);
        this.shape++;
      }
      s.add(flow);
    }
  }

  private remove(flow: FunctionFlow, c: Contribution): void {
    for (const k of c.keys()) {
      const s = this.byEdge.get(k);
      if (!s || !s.delete(flow) || s.size > 0) continue;
      this.byEdge.delete(k);
      const i = k.indexOf('\u0000');
      const from = k.slice(0, i);
      const m = this.adjacency.get(from);
      m?.delete(k.slice(i + 1));
      if (m && m.size === 0) this.adjacency.delete(from);
      this.shape++;
    }
  }

  /** Applies the flows added and removed since the last update. */
  apply(inputs: GraphInputs, added: readonly FunctionFlow[], removed: readonly FunctionFlow[]): void {
    const { resolver, summaryOf } = inputs;
    const contribs = added.map((f) => contributionOf(f, resolver, summaryOf));
    for (const f of removed) {
      const c = contributions.get(f);
      if (c) this.remove(f, c);
    }
    added.forEach((f, i) => this.add(f, contribs[i]));
  }

  rebuild(inputs: GraphInputs): void {
    this.clear();
    for (const f of inputs.flows) this.add(f, contributionOf(f, inputs.resolver, inputs.summaryOf));
  }

  /** Classes taken while `from` is held, sorted. */
  successors(from: string): string[] {
    return [...(this.adjacency.get(from)?.keys() ?? [])].sort();
  }

  nodes(): string[] {
    const s = new Set<string>();
    for (const [from, m] of this.adjacency) {
      s.add(from);
      for (const to of m.keys()) s.add(to);
    }
    return [...s].sort();
  }

  /**
   * The witness of an edge: its shallowest nesting, the first in `order` (flow -> position in
   * ctx.flows) among equals, as a fresh pass over the flows in that order would pick it.
   */
  edge(from: string, to: string, inputs: GraphInputs, order: ReadonlyMap<FunctionFlow, number>): ObservedEdge | undefined {
    const flows = this.byEdge.get(edgeKey(from, to));
    if (!flows) return undefined;
    let best: FunctionFlow | undefined;
    let bestDepth = Infinity;
    let bestPos = Infinity;
    for (const f of flows) {
      const d = contributionOf(f, inputs.resolver, inputs.summaryOf).get(edgeKey(from, to))!;
      const pos = order.get(f) ?? Infinity;
      if (d < bestDepth || (d === bestDepth && pos < bestPos)) {
        best = f;
        bestDepth = d;
        bestPos = pos;
      }
    }
    if (!best) return undefined;
    for (const p of nestingPairs(best, inputs.resolver, inputs.summaryOf)) {
      if (p.held.cls === from && p.taken.cls === to && isEdge(p) && p.taken.witness.depth === bestDepth) return edgeOf(p);
    }
    return undefined;
  }
}

/**
 * Exhaustive interleaving explorer: breadth-first over global states (shared state + each
 * actor's pc and locals), deduplicated by a canonical key. Breadth-first order makes the first
 * violating state found one with a shortest schedule, which becomes the counterexample.
 * Schedules are counted afterwards on the state graph (paths from roots to ends).
 */
import { stableKey } from './stable-key';
import type {
  Actor,
  ExploreOptions,
  ExploreResult,
  InvariantContext,
  InvariantTally,
  StepOutcome,
  System,
  TraceStep,
} from './types';

interface Via {
  actorIndex: number;
  label: string;
  stepId: string;
  note?: string;
}

interface Node<S, L> {
  state: S;
  pcs: number[];
  locals: L[];
  parent: number;
  via: Via | null;
  root: number;
  succ: number[];
  enabled: number[];
  /** Indices of invariants broken where a schedule ends here. */
  broken: number[];
  /** A non-tolerated invariant is broken here (the schedule stops). */
  violating: boolean;
}

const DEFAULT_MAX_STATES = 500_000;

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

function resolveGoto<S, L>(actor: Actor<S, L>, pc: number, out: StepOutcome<S, L>): number {
  if (out.done) return actor.steps.length;
  if (out.goto === undefined) return pc + 1;
  if (typeof out.goto === 'number') return out.goto;
  const idx = actor.steps.findIndex((s) => s.id === out.goto);
  if (idx < 0) throw new Error(`actor ${actor.name}: unknown step id '${out.goto}'`);
  return idx;
}

export function explore<S, L>(system: System<S, L>, options: ExploreOptions<S> = {}): ExploreResult<S> {
  const t0 = now();
  const { actors, invariants } = system;
  const maxStates = options.maxStates ?? DEFAULT_MAX_STATES;
  const keyOf = options.key ?? stableKey;
  const nodes: Node<S, L>[] = [];
  const index = new Map<string, number>();
  const roots: number[] = [];
  let transitions = 0;
  let truncated = false;
  let firstViolation = -1;

  const globalKey = (state: S, pcs: number[], locals: L[]) => keyOf(state) + '#' + pcs.join(',') + '#' + stableKey(locals);

  function enabledActors(state: S, pcs: number[], locals: L[]): number[] {
    const out: number[] = [];
    for (let i = 0; i < actors.length; i++) {
      const step = actors[i].steps[pcs[i]];
      if (!step) continue;
      if (step.enabled && !step.enabled(state, locals[i])) continue;
      out.push(i);
    }
    return out;
  }

  function addNode(state: S, pcs: number[], locals: L[], parent: number, via: Via | null, root: number): number {
    const key = globalKey(state, pcs, locals);
    const existing = index.get(key);
    if (existing !== undefined) return existing;
    const enabled = enabledActors(state, pcs, locals);
    const terminal = enabled.length === 0;
    const ctx: InvariantContext<L> = {
      locals,
      done: pcs.map((pc, i) => pc >= actors[i].steps.length),
      terminal,
    };
    const broken: number[] = [];
    let violating = false;
    for (let k = 0; k < invariants.length; k++) {
      const inv = invariants[k];
      if (inv.when === 'always' && !inv.tolerated && !inv.holds(state, ctx)) {
        broken.push(k);
        violating = true;
      }
    }
    if (!violating && terminal) {
      for (let k = 0; k < invariants.length; k++) {
        const inv = invariants[k];
        if ((inv.when === 'end' || inv.tolerated) && !inv.holds(state, ctx)) {
          broken.push(k);
          if (!inv.tolerated) violating = true;
        }
      }
    }
    const id = nodes.length;
    nodes.push({ state, pcs, locals, parent, via, root, succ: [], enabled: violating ? [] : enabled, broken, violating });
    index.set(key, id);
    if (violating && firstViolation < 0) firstViolation = id;
    return id;
  }

  const initialLocals = actors.map((a) => a.locals);
  const initialPcs = actors.map(() => 0);
  for (let r = 0; r < system.initial.length; r++) {
    const before = nodes.length;
    const id = addNode(system.initial[r], initialPcs, initialLocals, -1, null, r);
    if (id === before) roots.push(id);
  }

  for (let cur = 0; cur < nodes.length; cur++) {
    const node = nodes[cur];
    for (const i of node.enabled) {
      if (nodes.length >= maxStates) {
        truncated = true;
        break;
      }
      const actor = actors[i];
      const pc = node.pcs[i];
      const step = actor.steps[pc];
      const label = typeof step.label === 'function' ? step.label(node.state, node.locals[i]) : step.label;
      const produced = step.run(node.state, node.locals[i]);
      const outcomes = Array.isArray(produced) ? produced : [produced];
      for (const out of outcomes) {
        const pcs = node.pcs.slice();
        pcs[i] = resolveGoto(actor, pc, out);
        const locals = node.locals.slice();
        locals[i] = out.locals;
        const via: Via = { actorIndex: i, label, stepId: step.id, note: out.note };
        node.succ.push(addNode(out.state, pcs, locals, cur, via, node.root));
        transitions++;
      }
    }
    if (truncated) break;
  }

  const counts = countSchedules(nodes, roots, invariants.length);
  const byInvariant: InvariantTally[] = invariants.map((inv, k) => ({
    id: inv.id,
    message: inv.message,
    tolerated: !!inv.tolerated,
    states: 0,
    paths: counts.byInvariant[k],
  }));
  let terminalStates = 0;
  let violatingStates = 0;
  let deadlocks = 0;
  for (const n of nodes) {
    for (const k of n.broken) byInvariant[k].states++;
    if (n.violating) violatingStates++;
    if (n.succ.length === 0 && !n.violating) {
      terminalStates++;
      if (n.pcs.some((pc, i) => pc < actors[i].steps.length)) deadlocks++;
    }
  }

  let counterexample: TraceStep<S>[] | null = null;
  let counterexampleInitial: S | null = null;
  let brokenInvariant: { id: string; message: string } | null = null;
  if (firstViolation >= 0) {
    const trace: TraceStep<S>[] = [];
    let n = firstViolation;
    while (nodes[n].parent >= 0) {
      const via = nodes[n].via!;
      trace.push({
        actor: actors[via.actorIndex].name,
        actorIndex: via.actorIndex,
        step: via.note ? `${via.label} [${via.note}]` : via.label,
        stepId: via.stepId,
        ...(via.note ? { note: via.note } : {}),
        state: nodes[n].state,
      });
      n = nodes[n].parent;
    }
    trace.reverse();
    counterexample = trace;
    counterexampleInitial = nodes[n].state;
    const k = nodes[firstViolation].broken.find((b) => !invariants[b].tolerated)!;
    brokenInvariant = { id: invariants[k].id, message: invariants[k].message };
  }

  return {
    statesExplored: nodes.length,
    transitions,
    interleavings: counts.paths,
    interleavingsExact: counts.exact,
    terminalStates,
    violations: counts.violationPaths,
    violatingStates,
    deadlocks,
    byInvariant,
    counterexample,
    counterexampleInitial,
    brokenInvariant,
    truncated,
    ms: Math.round((now() - t0) * 100) / 100,
  };
}

interface Counts {
  paths: number;
  violationPaths: number;
  byInvariant: number[];
  exact: boolean;
}

/**
 * Paths from the roots to nodes without successors, counted with an iterative post-order DFS.
 * An edge back to a node still on the DFS stack closes a cycle; it is skipped and the count is
 * marked inexact.
 */
function countSchedules<S, L>(nodes: Node<S, L>[], roots: number[], nInv: number): Counts {
  const paths = new Float64Array(nodes.length);
  const viol = new Float64Array(nodes.length);
  const inv = new Float64Array(nodes.length * nInv);
  const color = new Uint8Array(nodes.length); // 0 new, 1 on stack, 2 done
  let exact = true;
  const stackNode: number[] = [];
  const stackEdge: number[] = [];

  for (const root of roots) {
    if (color[root] === 2) continue;
    stackNode.push(root);
    stackEdge.push(0);
    color[root] = 1;
    while (stackNode.length) {
      const top = stackNode.length - 1;
      const n = stackNode[top];
      const node = nodes[n];
      const e = stackEdge[top];
      if (e < node.succ.length) {
        stackEdge[top] = e + 1;
        const s = node.succ[e];
        if (color[s] === 0) {
          color[s] = 1;
          stackNode.push(s);
          stackEdge.push(0);
        } else if (color[s] === 1) {
          exact = false;
        }
        continue;
      }
      // post-order: all successors done
      if (node.succ.length === 0) {
        paths[n] = 1;
        viol[n] = node.violating ? 1 : 0;
        for (const k of node.broken) inv[n * nInv + k] = 1;
      } else {
        let p = 0;
        let v = 0;
        for (const s of node.succ) {
          if (color[s] !== 2) continue; // back edge
          p += paths[s];
          v += viol[s];
          for (let k = 0; k < nInv; k++) inv[n * nInv + k] += inv[s * nInv + k];
        }
        paths[n] = p;
        viol[n] = v;
      }
      color[n] = 2;
      stackNode.pop();
      stackEdge.pop();
    }
  }

  let total = 0;
  let totalViol = 0;
  const byInvariant = new Array<number>(nInv).fill(0);
  for (const r of roots) {
    total += paths[r];
    totalViol += viol[r];
    for (let k = 0; k < nInv; k++) byInvariant[k] += inv[r * nInv + k];
  }
  return { paths: total, violationPaths: totalViol, byInvariant, exact };
}

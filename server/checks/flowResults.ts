/**
 * Per-flow findings kept across analyses by a check's own `run`, updated from the flows added
 * and removed (./flowDelta.ts) instead of looking at every flow: an edit costs what it changed.
 * (The engine's FunctionCheckCache does the same for `runFunction` but still visits every flow
 * of every check each analysis.)
 *
 * A flow's findings are reused while it is the same object (positions move in place with the
 * code, frontend/moves.ts); findings of kept flows that point into an edited file are recomputed
 * when a place they name is no longer valid (ctx.valid). A check whose verdict on a flow reads
 * more than the flow and its callee summaries names what it reads (`watch`), and a flow watching
 * a name whose `changedNames` lists it is recomputed.
 *
 * Findings come out grouped by flow, not in `ctx.flows` order: fine for checks whose findings
 * lie inside the flow's own function (the engine sorts them by position per file).
 */
import type { FunctionFlow } from '../analysis/types';
import type { CheckContext } from './check';
import type { Finding } from './finding';
import { flowDelta } from './flowDelta';

export interface FlowResultsSpec {
  /** Key of the state in ctx.store. */
  key: string;
  compute(flow: FunctionFlow, ctx: CheckContext): Finding[];
  /**
   * Recompute every flow with findings in each analysis (their witness chains are read through
   * callee summaries deeper than the flow's identity covers); flows without findings are kept.
   */
  rerunWithFindings?: boolean;
  /** Names whose change (see changedNames) may change the flow's findings. */
  watch?(flow: FunctionFlow, ctx: CheckContext): readonly string[];
  /** Names changed since the previous analysis (null: anything may have): watchers are recomputed. */
  changedNames?(ctx: CheckContext): ReadonlySet<string> | null;
}

interface State {
  generation: number;
  /** Flows with findings (a flow not listed has none). */
  findings: Map<FunctionFlow, Finding[]>;
  /** name -> flows watching it. */
  watchers: Map<string, Set<FunctionFlow>>;
  /** The names each watching flow watches. */
  watched: Map<FunctionFlow, readonly string[]>;
}

const EMPTY: readonly string[] = [];

/** The check's findings for the current flows. */
export function flowResults(ctx: CheckContext, spec: FlowResultsSpec): Finding[] {
  const delta = flowDelta(ctx);
  let st = ctx.store?.get(spec.key) as State | undefined;
  const changedNames = spec.changedNames?.(ctx);
  const incremental = !!st && st.generation === delta.from && !!ctx.valid && (!spec.watch || changedNames !== null);
  if (!st || !incremental) {
    st = { generation: delta.to, findings: new Map(), watchers: new Map(), watched: new Map() };
    ctx.store?.set(spec.key, st);
    for (const flow of ctx.flows) add(st, flow, ctx, spec, spec.compute(flow, ctx));
    return collect(st);
  }
  st.generation = delta.to;
  const valid = ctx.valid!;
  const dirty = new Set<FunctionFlow>();
  // Kept flows whose findings point into an edited file: kept while every place is valid, else recomputed.
  for (const [flow, list] of st.findings) {
    if (spec.rerunWithFindings) {
      dirty.add(flow);
      continue;
    }
    if (!list.some((f) => valid.touches(f.file) || f.related.some((r) => valid.touches(r.file)))) continue;
    if (!valid.holdsAll(list)) dirty.add(flow);
  }
  for (const flow of delta.removed) remove(st, flow);
  for (const flow of delta.added) add(st, flow, ctx, spec, spec.compute(flow, ctx));
  if (changedNames) {
    for (const name of changedNames) for (const flow of st.watchers.get(name) ?? []) dirty.add(flow);
  }
  for (const flow of dirty) {
    if (!st.watched.has(flow) && !st.findings.has(flow)) continue; // removed meanwhile
    const list = spec.compute(flow, ctx);
    if (list.length) st.findings.set(flow, list);
    else st.findings.delete(flow);
  }
  return collect(st);
}

function add(st: State, flow: FunctionFlow, ctx: CheckContext, spec: FlowResultsSpec, list: Finding[]): void {
  if (list.length) st.findings.set(flow, list);
  const names = spec.watch?.(flow, ctx) ?? EMPTY;
  if (!names.length) return;
  st.watched.set(flow, names);
  for (const n of names) {
    let s = st.watchers.get(n);
    if (!s) st.watchers.set(n, (s = new Set()));
    s.add(flow);
  }
}

function remove(st: State, flow: FunctionFlow): void {
  st.findings.delete(flow);
  const names = st.watched.get(flow);
  if (!names) return;
  st.watched.delete(flow);
  for (const n of names) {
    const s = st.watchers.get(n);
    s?.delete(flow);
    if (s && s.size === 0) st.watchers.delete(n);
  }
}

function collect(st: State): Finding[] {
  const out: Finding[] = [];
  for (const list of st.findings.values()) for (const f of list) out.push(f);
  return out;
}

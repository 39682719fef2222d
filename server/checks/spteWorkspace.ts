/**
 * The whole-workspace state of the SPTE checks, kept across analyses in the engine's store and
 * brought up to date from the flows that changed (those that are not the objects the previous
 * analysis saw), so that an edit costs what it touched:
 *
 *  - every flow by name (the chosen definition first, then the others by position);
 *  - the flows with SPTE ops (the only places the checks report, apart from dropped results of
 *    flush wrappers);
 *  - the call graph in reverse and, for each name, how many calls away it is from a function
 *    with SPTE ops (up to MAX_DEPTH): the shared-context search (./spteShared.ts) only looks at
 *    functions that can reach an SPTE op, most of KVM's functions cannot;
 *  - spte-tlb-flush's wrappers that return a "flush needed" result, and the flows that drop one.
 *
 * Without a store (or when an analysis was missed) the changes are found by comparing every
 * flow with the state's, which for an empty state is a cold build.
 */
import type { FunctionFlow } from '../analysis/types';
import type { CallOp, FunctionFacts, SpteOp } from '../frontend/facts';
import type { CheckContext } from './check';
import type { RelatedLocation } from './finding';
import { chosenFlows } from './lockSupport';
import { adoptScan, droppedResults, returnedCalls, sameEdges, scanFlow } from './spteScan';

/** How many calls deep the shared-context search follows callees. */
export const MAX_DEPTH = 6;

export interface FlushSource {
  /** The contract helper the result comes from in the end. */
  helper: string;
  /** Where each wrapper returns it, outermost first. */
  related: RelatedLocation[];
}

type Change = [old: FunctionFlow | undefined, cur: FunctionFlow | undefined];

const byPosition = (a: FunctionFlow, b: FunctionFlow): number =>
  a.fn.file < b.fn.file ? -1 : a.fn.file > b.fn.file ? 1 : a.fn.range.start.line - b.fn.range.start.line || a.fn.range.start.column - b.fn.range.start.column;

export class SpteWorkspace {
  /** The chosen flow of each name and the other definitions' flows, as last seen. */
  private chosen = new Map<string, FunctionFlow>();
  private extras = new Map<FunctionFacts, FunctionFlow>();
  private extrasByName = new Map<string, FunctionFlow[]>();
  /** flowsOf() of the names asked for since they last changed. */
  private byName = new Map<string, readonly FunctionFlow[]>();
  readonly spteFlows = new Set<FunctionFlow>();
  /** Flows with SPTE ops, per name. */
  private spteCount = new Map<string, number>();
  /** callee -> callers, once per calling flow (a name with several definitions may be there more than once). */
  private callers = new Map<string, string[]>();
  /** Names at most MAX_DEPTH calls away from a function with SPTE ops, with that distance. */
  dist = new Map<string, number>();

  /** Bool-returning chosen functions with something in a return statement (spte-tlb-flush). */
  private candidates = new Map<string, { fn: FunctionFacts; ops: (SpteOp | CallOp)[] }>();
  /** Names of the candidates that return an SPTE flush helper's result directly. */
  private helperCandidates = new Set<string>();
  /** callee -> candidates that return a call of it. */
  private returnRefs = new Map<string, Set<string>>();
  wrappers = new Map<string, FlushSource>();
  /** Flows that discard the result of a call of a wrapper. */
  wrapperCallers: FunctionFlow[] = [];

  /** The solve whose changes were applied last (ctx.chosenChanges). */
  private source: object | undefined;
  private generation = -1;
  /** Analyses so far, and the one in which something the shared-context search reads changed last. */
  analyses = 0;
  sharedChangedAt = 0;

  update(ctx: CheckContext): void {
    this.analyses++;
    if (this.chosen.size === 0 && this.extras.size === 0 && this.callers.size === 0 && this.candidates.size === 0) {
      this.build(ctx);
      return;
    }
    const changes = this.changes(ctx);
    if (changes.length === 0) return;
    let graphChanged = false;
    let sharedChanged = false;
    let wrappersDirty = false;
    const touched = new Set<string>();
    const candidatesTouched = new Set<string>();
    /** Changes that are not the same facts under a new flow object (those are swapped in place). */
    const general: Change[] = [];
    const oldDist = this.dist;
    for (const change of changes) {
      const [old, cur] = change;
      const name = (cur ?? old)!.fn.name;
      touched.add(name);
      if (oldDist.has(name)) sharedChanged = true;
      if (old && cur && old.fn.name === name && old.fn === cur.fn) {
        // The same facts under a new flow (a copy, mostly): same SPTE ops, calls and targets.
        adoptScan(old, cur);
        if (this.spteFlows.delete(old)) this.spteFlows.add(cur);
        if (this.candidates.has(name)) candidatesTouched.add(name);
        continue;
      }
      general.push(change);
      const o = old ? scanFlow(old) : undefined;
      const c = cur ? scanFlow(cur) : undefined;
      if (!o || !c || o.spte !== c.spte || !sameEdges(o.edges, c.edges) || old!.fn.name !== name) graphChanged = true;
      if (old) this.remove(old);
      if (cur) this.add(cur);
      candidatesTouched.add(name);
      if (old && old.fn.name !== name) {
        touched.add(old.fn.name);
        candidatesTouched.add(old.fn.name);
        if (oldDist.has(old.fn.name)) sharedChanged = true;
      }
    }
    if (touched.size > 1000) this.byName.clear();
    else for (const name of touched) this.byName.delete(name);
    // Flush wrappers: chosen definitions only.
    for (const name of candidatesTouched) if (this.updateCandidate(name, this.chosen.get(name))) wrappersDirty = true;
    if (graphChanged) {
      this.dist = this.distances();
      if (!sameKeys(oldDist, this.dist)) sharedChanged = true;
      for (const name of touched) if (this.dist.has(name)) sharedChanged = true;
    }
    if (sharedChanged) this.sharedChangedAt = this.analyses;

    if (wrappersDirty) this.wrappers = this.findWrappers();
    this.findWrapperCallers();
  }

  /**
   * The first analysis: every flow is new. What update's general path does for an empty state
   * (same order of flows, callers and candidates), without tracking what changed.
   */
  private build(ctx: CheckContext): void {
    const chosen = chosenFlows(ctx);
    const cc = ctx.chosenChanges;
    this.source = cc?.source;
    this.generation = cc?.generation ?? -1;
    const extras = new Map<FunctionFacts, FunctionFlow>();
    for (const f of ctx.flows) if (chosen.get(f.fn.name) !== f) extras.set(f.fn, f);
    this.chosen = new Map(chosen);
    this.extras = extras;
    this.groupExtras();
    if (chosen.size === 0 && extras.size === 0) return;
    this.byName.clear();
    let wrappersDirty = false;
    for (const [name, flow] of chosen) {
      this.add(flow);
      if (this.updateCandidate(name, flow)) wrappersDirty = true;
    }
    for (const flow of extras.values()) this.add(flow);
    this.dist = this.distances();
    if (this.dist.size > 0) this.sharedChangedAt = this.analyses;
    if (wrappersDirty) this.wrappers = this.findWrappers();
    this.findWrapperCallers();
  }

  // ---- what changed ----------------------------------------------------------------------------

  /** Pairs (flow last seen, flow now) that differ; the state's maps are brought up to date. */
  private changes(ctx: CheckContext): Change[] {
    const out: Change[] = [];
    const chosen = chosenFlows(ctx);
    const cc = ctx.chosenChanges;
    const incremental = !!cc && ctx.chosen === chosen && this.source === cc.source && this.generation === cc.generation - 1;
    this.source = cc?.source;
    this.generation = cc?.generation ?? -1;
    const names: Iterable<string> = incremental ? cc.names : new Set([...this.chosen.keys(), ...chosen.keys()]);
    for (const name of names) {
      const old = this.chosen.get(name);
      const cur = chosen.get(name);
      if (old === cur) continue;
      out.push([old, cur]);
      if (cur) this.chosen.set(name, cur);
      else this.chosen.delete(name);
    }
    // The other definitions: the engine lists them after the chosen ones (SummarySolver.allFlows).
    let extras: Map<FunctionFacts, FunctionFlow> | undefined;
    if (incremental && ctx.flows.length >= chosen.size) {
      // Usually none changed: compare in place first.
      let same = ctx.flows.length - chosen.size === this.extras.size;
      for (let i = chosen.size; same && i < ctx.flows.length; i++) {
        const f = ctx.flows[i];
        if (this.extras.get(f.fn) !== f) same = false;
      }
      if (same) return out;
      extras = new Map();
      for (let i = chosen.size; i < ctx.flows.length; i++) {
        const f = ctx.flows[i];
        if (chosen.get(f.fn.name) === f) {
          extras = undefined;
          break;
        }
        extras.set(f.fn, f);
      }
    }
    if (!extras) {
      extras = new Map();
      for (const f of ctx.flows) if (chosen.get(f.fn.name) !== f) extras.set(f.fn, f);
    }
    const before = out.length;
    for (const [fn, f] of extras) {
      const old = this.extras.get(fn);
      if (old !== f) out.push([old, f]);
    }
    for (const [fn, old] of this.extras) if (!extras.has(fn)) out.push([old, undefined]);
    this.extras = extras;
    if (out.length > before) this.groupExtras();
    return out;
  }

  /** The other definitions by name, each list in source order. */
  private groupExtras(): void {
    this.extrasByName.clear();
    for (const f of this.extras.values()) {
      const list = this.extrasByName.get(f.fn.name);
      if (list) list.push(f);
      else this.extrasByName.set(f.fn.name, [f]);
    }
    for (const list of this.extrasByName.values()) if (list.length > 1) list.sort(byPosition);
  }

  private add(flow: FunctionFlow): void {
    const s = scanFlow(flow);
    const name = flow.fn.name;
    if (s.spte) {
      this.spteFlows.add(flow);
      this.spteCount.set(name, (this.spteCount.get(name) ?? 0) + 1);
    }
    for (const t of s.edges) {
      const list = this.callers.get(t);
      if (list) list.push(name);
      else this.callers.set(t, [name]);
    }
  }

  private remove(flow: FunctionFlow): void {
    const s = scanFlow(flow);
    const name = flow.fn.name;
    if (this.spteFlows.delete(flow)) {
      const n = (this.spteCount.get(name) ?? 1) - 1;
      if (n > 0) this.spteCount.set(name, n);
      else this.spteCount.delete(name);
    }
    for (const t of s.edges) {
      const list = this.callers.get(t);
      const i = list ? list.indexOf(name) : -1;
      if (i < 0) continue;
      list![i] = list![list!.length - 1];
      list!.pop();
      if (list!.length === 0) this.callers.delete(t);
    }
  }

  /** Reverse breadth-first search from the functions with SPTE ops, MAX_DEPTH calls up. */
  private distances(): Map<string, number> {
    const dist = new Map<string, number>();
    let frontier: string[] = [];
    for (const name of this.spteCount.keys()) {
      dist.set(name, 0);
      frontier.push(name);
    }
    for (let d = 1; d <= MAX_DEPTH && frontier.length; d++) {
      const next: string[] = [];
      for (const callee of frontier) {
        const cs = this.callers.get(callee);
        if (!cs) continue;
        for (const caller of cs) {
          if (dist.has(caller)) continue;
          dist.set(caller, d);
          next.push(caller);
        }
      }
      frontier = next;
    }
    return dist;
  }

  // ---- spte-tlb-flush wrappers --------------------------------------------------------------------

  /** Brings the candidate of `name` up to date; true when the wrappers may have changed. */
  private updateCandidate(name: string, flow: FunctionFlow | undefined): boolean {
    const old = this.candidates.get(name);
    const fn = flow?.fn;
    if (old && old.fn === fn) return false;
    const ops = fn ? returnedCalls(fn) : [];
    if (!old && ops.length === 0) return false;
    let dirty = false;
    if (old) {
      dirty ||= this.refersToFlush(old.ops);
      for (const op of old.ops) if (op.k === 'call') this.returnRefs.get(op.callee)?.delete(name);
      this.candidates.delete(name);
      this.helperCandidates.delete(name);
    }
    if (fn && ops.length) {
      dirty ||= this.refersToFlush(ops);
      this.candidates.set(name, { fn, ops });
      for (const op of ops) {
        if (op.k === 'spte') this.helperCandidates.add(name);
        else {
          let s = this.returnRefs.get(op.callee);
          if (!s) this.returnRefs.set(op.callee, (s = new Set()));
          s.add(name);
        }
      }
    }
    return dirty;
  }

  /** Returns an SPTE flush helper's result or a call of a current wrapper. */
  private refersToFlush(ops: readonly (SpteOp | CallOp)[]): boolean {
    return ops.some((op) => op.k === 'spte' || this.wrappers.has(op.callee));
  }

  /**
   * Wrappers by name, level by level: the functions that return a flush helper's result, then
   * those that return a call of one found on an earlier level, and so on; each one's witness is
   * its first return statement that does so.
   */
  private findWrappers(): Map<string, FlushSource> {
    const out = new Map<string, FlushSource>();
    const step = (fn: FunctionFacts, op: SpteOp | CallOp, name: string): RelatedLocation => ({
      file: fn.file,
      range: op.range,
      message: `${fn.name}() returns ${name}()'s "flush needed" result here`,
    });
    let frontier: string[] = [];
    for (const name of this.helperCandidates) {
      const c = this.candidates.get(name)!;
      const op = c.ops.find((o): o is SpteOp => o.k === 'spte')!;
      out.set(name, { helper: op.helper!, related: [step(c.fn, op, op.helper!)] });
      frontier.push(name);
    }
    while (frontier.length) {
      const level = new Map<string, FlushSource>();
      for (const w of frontier) {
        for (const name of this.returnRefs.get(w) ?? []) {
          if (out.has(name) || level.has(name)) continue;
          const c = this.candidates.get(name)!;
          for (const op of c.ops) {
            const inner = op.k === 'call' ? out.get(op.callee) : undefined;
            if (!inner) continue;
            level.set(name, { helper: inner.helper, related: [step(c.fn, op, (op as CallOp).callee), ...inner.related] });
            break;
          }
        }
      }
      for (const [name, src] of level) out.set(name, src);
      frontier = [...level.keys()];
    }
    return out;
  }

  /** The flows that call a wrapper (few: found through the call graph) and discard its result. */
  private findWrapperCallers(): void {
    const out = new Set<FunctionFlow>();
    for (const w of this.wrappers.keys()) {
      for (const caller of this.callers.get(w) ?? []) {
        for (const flow of this.flowsOf(caller)) {
          if (out.has(flow)) continue;
          if (droppedResults(flow.fn).discardedCalls.some((op) => this.wrappers.has(op.callee))) out.add(flow);
        }
      }
    }
    this.wrapperCallers = [...out];
  }

  /** Every flow of a name: the chosen one first, then the others by position. */
  flowsOf(name: string): readonly FunctionFlow[] {
    let list = this.byName.get(name);
    if (list) return list;
    const ch = this.chosen.get(name);
    const ex = this.extrasByName.get(name);
    list = ex ? (ch ? [ch, ...ex] : ex) : ch ? [ch] : [];
    this.byName.set(name, list);
    return list;
  }

  /** The direct calls of `name` in every flow that calls it. */
  directCallsOf(name: string): CallOp[] {
    return this.directCallSitesOf(name).map((s) => s.call);
  }

  /** The direct calls of `name`, each with the flow it is in. */
  directCallSitesOf(name: string): { flow: FunctionFlow; call: CallOp }[] {
    const out: { flow: FunctionFlow; call: CallOp }[] = [];
    for (const caller of new Set(this.callers.get(name) ?? [])) {
      for (const flow of this.flowsOf(caller)) {
        for (const b of flow.fn.blocks) for (const op of b.ops) if (op.k === 'call' && !op.indirect && op.callee === name) out.push({ flow, call: op });
      }
    }
    return out;
  }
}

function sameKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}

const KEY = 'spte:workspace';
const CURRENT = new WeakMap<CheckContext, SpteWorkspace>();

/**
 * The SPTE state brought up to date with this analysis (once per context): kept in the engine's
 * store when there is one, else built for this context alone.
 */
export function spteWorkspace(ctx: CheckContext): SpteWorkspace {
  let ws = CURRENT.get(ctx);
  if (ws) return ws;
  ws = ctx.store?.get(KEY) as SpteWorkspace | undefined;
  if (!ws) {
    ws = new SpteWorkspace();
    ctx.store?.set(KEY, ws);
  }
  try {
    ws.update(ctx);
  } catch (err) {
    // A half-applied update must not be built on: the next analysis starts over.
    ctx.store?.delete(KEY);
    throw err;
  }
  CURRENT.set(ctx, ws);
  return ws;
}

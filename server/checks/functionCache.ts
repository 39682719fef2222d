/**
 * Cache of per-function check results (Check.runFunction), keyed by flow object. An entry stays
 * valid while its flow is the current one, no file its findings refer to has changed, and the
 * check's `functionDeps` (versions of derived callee values) are the same.
 *
 * A re-check visits only the flows that can need re-running, not every flow: flows that are new
 * objects, flows whose entry an edit dropped, flows reading a name whose derived value changed
 * version (a reverse index name -> flows), flows whose key may have changed, and (for checks
 * that ask) flows with findings. The findings returned are kept per flow with findings (few), so
 * the output is made without walking every flow either. Anything the fast path cannot vouch for
 * (a check that skipped an analysis, unknown changes, a key that must be computed for every flow)
 * falls back to a walk over every flow, which is what a fresh computation would do.
 */
import type { ValidPositions } from '../analysis/keptFlows';
import type { FunctionFlow } from '../analysis/types';
import type { Check, CheckContext, FunctionDepsDelta } from './check';
import type { Finding } from './finding';

interface Entry {
  findings: Finding[];
  /** Files the findings point into (empty without findings). */
  files: ReadonlySet<string>;
  deps?: readonly (number | string)[];
  /** FunctionDepsDelta.key when the entry was made or last confirmed. */
  key?: string;
  /** FunctionDepsDelta.names of the flow (fixed per flow content). */
  names?: readonly string[];
  /** The analysis that last visited it in a walk over every flow (finds entries of gone flows). */
  mark: number;
}

/** What one check keeps. */
interface CheckState {
  byFlow: Map<FunctionFlow, Entry>;
  /** Flows whose entry has findings (the only entries with files, see invalidateFiles). */
  withFindings: Set<FunctionFlow>;
  /** Flows whose entry was dropped since the check last ran (invalidateFiles). */
  dirty: Set<FunctionFlow>;
  /** The analysis (FunctionCheckCache.serial) it last ran in; 0: never. */
  ran: number;
  /** The derived-value generation its entries were last confirmed against. */
  generation?: number;
  /** The value of a key function of no flow (FunctionDepsDelta.key) in the last analysis. */
  constKey?: string;
  /**
   * Flows by FunctionDepsDelta.names, kept per check (checks make a new `names` function per
   * analysis): brought up each incremental run with the flows that came and went, dropped by a
   * walk over every flow (anything may have changed).
   */
  index?: FlowIndex;
}

/**
 * Flows by the names a function of a flow gives (FunctionDepsDelta.names, or a flow's own name),
 * kept up to date from one analysis to the next with the flows that came and went.
 */
interface FlowIndex {
  /** Names of a flow (for a per-check index, the current analysis's function: see `run`). */
  namesOf: (flow: FunctionFlow) => readonly string[];
  /** The analysis whose flows it lists. */
  serial: number;
  byName: Map<string, Set<FunctionFlow>>;
  /** The names each listed flow was indexed under. */
  names: Map<FunctionFlow, readonly string[]>;
}

const EMPTY_FILES: ReadonlySet<string> = new Set();

function sameDeps(a: readonly (number | string)[] | undefined, b: readonly (number | string)[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function filesOf(findings: readonly Finding[]): ReadonlySet<string> {
  if (findings.length === 0) return EMPTY_FILES;
  const files = new Set<string>();
  for (const f of findings) {
    files.add(f.file);
    for (const r of f.related) files.add(r.file);
  }
  return files;
}

const ownName = (flow: FunctionFlow): readonly string[] => [flow.fn.name];

export class FunctionCheckCache {
  private states = new Map<Check, CheckState>();
  /** Analyses seen so far (a new `flows` array starts one). */
  private serial = 0;
  /** The flows of analysis `serial`, and how they differ from the previous analysis's. */
  private flows: readonly FunctionFlow[] | undefined;
  private added: FunctionFlow[] = [];
  private removed: FunctionFlow[] = [];
  /** `added`/`removed` are known (not the first analysis, no flow listed twice). */
  private diffKnown = false;
  /** A flow was listed twice: every check walks every flow (the walk reports it twice). */
  private duplicates = false;
  private indexes = new Map<(flow: FunctionFlow) => readonly string[], FlowIndex>();
  /** Position of each current flow in `flows` (made when first needed, then kept over in-place replacements). */
  private positions: Map<FunctionFlow, number> | undefined;

  /** Starts analysis `serial + 1` when `flows` is a new list: what came and went since the last. */
  private advance(flows: readonly FunctionFlow[]): void {
    if (flows === this.flows) return;
    // Indexes are brought to the analysis that ends here while its changes are known.
    for (const [namesOf, idx] of this.indexes) if (!this.bringUp(idx)) this.indexes.delete(namesOf);
    const prev = this.flows;
    this.serial++;
    this.flows = flows;
    const positions = this.positions;
    this.positions = undefined;
    this.added = [];
    this.removed = [];
    this.diffKnown = prev !== undefined && !this.duplicates;
    if (!this.diffKnown) {
      this.indexes.clear();
      return;
    }
    // The lists are built from maps in insertion order: most flows sit where they sat before,
    // so only the positions that differ are looked at (a flow that moved shows on both sides).
    const candAdded: FunctionFlow[] = [];
    const candRemoved: FunctionFlow[] = [];
    const differ: number[] = [];
    const n = Math.max(flows.length, prev!.length);
    for (let i = 0; i < n; i++) {
      const a = flows[i];
      const b = prev![i];
      if (a === b) continue;
      differ.push(i);
      if (a !== undefined) candAdded.push(a);
      if (b !== undefined) candRemoved.push(b);
    }
    const inAdded = new Set(candAdded);
    const inRemoved = new Set(candRemoved);
    if (inAdded.size !== candAdded.length) {
      // Listed twice: the walk over every flow handles it (and reports such a flow twice, as before).
      this.duplicates = true;
      this.diffKnown = false;
      this.added = [];
      this.indexes.clear();
      return;
    }
    for (const f of candAdded) if (!inRemoved.has(f)) this.added.push(f);
    for (const f of candRemoved) if (!inAdded.has(f)) this.removed.push(f);
    // Flows replaced in place (the usual edit) leave every other position as it was.
    if (positions && flows.length === prev!.length) {
      for (const f of candRemoved) positions.delete(f);
      for (const i of differ) positions.set(flows[i], i);
      this.positions = positions;
    }
  }

  private state(check: Check): CheckState {
    let s = this.states.get(check);
    if (!s) this.states.set(check, (s = { byFlow: new Map(), withFindings: new Set(), dirty: new Set(), ran: 0 }));
    return s;
  }

  /**
   * Drops the entries an edit made stale: an entry whose findings point into a changed file is
   * kept when every such place is still `valid` (positions move in place), else forgotten.
   * Without `valid`, every entry pointing into a changed file goes. Only entries with findings
   * point anywhere: the cost is that of the flows that came and went and of the findings, not
   * of every entry.
   */
  invalidateFiles(changed: ReadonlySet<string>, valid?: ValidPositions, flows?: readonly FunctionFlow[]): void {
    if (changed.size === 0) return;
    if (flows) this.advance(flows);
    if (valid && flows) {
      for (const s of this.states.values()) {
        for (const flow of [...s.withFindings]) {
          const e = s.byFlow.get(flow);
          if (!e) {
            s.withFindings.delete(flow);
            continue;
          }
          let touches = false;
          for (const f of e.files) if (valid.touches(f)) touches = true;
          if (touches && !valid.holdsAll(e.findings)) this.drop(s, flow);
        }
      }
      return;
    }
    for (const s of this.states.values()) {
      for (const flow of [...s.withFindings]) {
        if (changed.has(flow.fn.file)) continue; // replaced anyway (new facts, new flow)
        const e = s.byFlow.get(flow);
        if (!e) {
          s.withFindings.delete(flow);
          continue;
        }
        for (const f of e.files) {
          if (changed.has(f)) {
            this.drop(s, flow);
            break;
          }
        }
      }
    }
  }

  private drop(s: CheckState, flow: FunctionFlow): void {
    s.byFlow.delete(flow);
    s.withFindings.delete(flow);
    s.dirty.add(flow);
  }

  clear(): void {
    this.states.clear();
    this.indexes.clear();
    this.flows = undefined;
    this.positions = undefined;
    this.added = [];
    this.removed = [];
    this.diffKnown = false;
    this.duplicates = false;
  }

  /** Runs `check.runFunction` over all flows, reusing cached results; drops entries of flows that are gone. */
  run(check: Check, ctx: CheckContext): Finding[] {
    const fnCheck = check.runFunction;
    if (!fnCheck) return [];
    if (ctx.oneShot) {
      // Nothing is kept for a next analysis: every flow in order, asked what a first walk asks
      // (key, deps, findings), so that derived values are computed in the same order.
      const delta = check.functionDeps ? check.functionDepsDelta?.(ctx) : undefined;
      const constKey = delta && delta.key.length === 0 ? delta.key(undefined as unknown as FunctionFlow) : undefined;
      const out: Finding[] = [];
      for (const flow of ctx.flows) {
        if (constKey === undefined) delta?.key(flow);
        check.functionDeps?.call(check, flow, ctx);
        for (const f of fnCheck.call(check, flow, ctx)) out.push(f);
      }
      return out;
    }
    this.advance(ctx.flows);
    const s = this.state(check);
    const delta = check.functionDeps ? check.functionDepsDelta?.(ctx) : undefined;
    // The changed names are relative to the previous analysis: usable only if this check saw it.
    const changed = delta && s.generation === delta.changes.generation - 1 ? delta.changes.names : null;
    // Keys known unchanged only relative to the previous analysis, like `changed`.
    const keyChanges = changed ? delta?.keyChanges : undefined;
    s.generation = delta?.changes.generation;
    // A key function of no flow gives every flow the same key: called once.
    const constKey = delta && delta.key.length === 0 ? delta.key(undefined as unknown as FunctionFlow) : undefined;
    const sameConstKey = constKey !== undefined && constKey === s.constKey;
    s.constKey = constKey;

    const incremental =
      this.diffKnown &&
      s.ran === this.serial - 1 &&
      (!check.functionDeps || (changed !== null && (sameConstKey || (constKey === undefined && !!keyChanges))));
    s.ran = this.serial;
    const visit = (flow: FunctionFlow): Entry => this.visit(check, s, flow, ctx, delta, changed, keyChanges, constKey);
    if (!incremental) {
      s.index = undefined;
      return this.walkAll(s, ctx.flows, visit);
    }
    // Brought up while this analysis's changes are known, needed now or not (names of flows read
    // with this analysis's function: a previous one may read its own analysis's state).
    if (s.index) {
      s.index.namesOf = delta?.names ?? ownName;
      if (!this.bringUp(s.index)) s.index = undefined;
    }

    for (const flow of this.removed) {
      s.byFlow.delete(flow);
      s.withFindings.delete(flow);
    }
    const todo = new Set<FunctionFlow>();
    for (const flow of this.added) todo.add(flow);
    for (const flow of s.dirty) todo.add(flow);
    s.dirty.clear();
    if (check.rerunEntriesWithFindings === true) for (const flow of s.withFindings) todo.add(flow);
    if (delta && changed) {
      if (changed.size > 0) {
        const idx = this.checkIndex(s, delta.names);
        for (const name of changed) {
          const readers = idx.byName.get(name);
          if (readers) for (const flow of readers) todo.add(flow);
        }
      }
      if (keyChanges && keyChanges.size > 0) {
        const idx = this.index(ownName);
        for (const name of keyChanges) {
          const flows = idx.byName.get(name);
          if (flows) for (const flow of flows) todo.add(flow);
        }
      }
    }
    // In the order of a walk, so that anything a check computes on first use is computed alike.
    if (todo.size > 0) {
      const pos = this.positionsOfFlows();
      const order: FunctionFlow[] = [];
      for (const flow of todo) if (pos.has(flow)) order.push(flow);
      order.sort((a, b) => pos.get(a)! - pos.get(b)!);
      for (const flow of order) visit(flow);
    }
    return this.findingsInOrder(s);
  }

  /** The fresh-computation path: every flow visited in order; entries of gone flows dropped. */
  private walkAll(s: CheckState, flows: readonly FunctionFlow[], visit: (flow: FunctionFlow) => Entry): Finding[] {
    const serial = this.serial;
    const out: Finding[] = [];
    let distinct = 0;
    s.dirty.clear();
    for (const flow of flows) {
      const e = visit(flow);
      if (e.mark !== serial) {
        e.mark = serial;
        distinct++;
      } else if (!this.duplicates) {
        this.duplicates = true;
        this.diffKnown = false;
      }
      for (const f of e.findings) out.push(f);
    }
    if (s.byFlow.size > distinct) {
      for (const [flow, e] of s.byFlow) {
        if (e.mark === serial) continue;
        s.byFlow.delete(flow);
        s.withFindings.delete(flow);
      }
    }
    return out;
  }

  /** Findings of the flows with findings, in the order of `ctx.flows` (as a walk gives them). */
  private findingsInOrder(s: CheckState): Finding[] {
    const out: Finding[] = [];
    if (s.withFindings.size === 0) return out;
    let flows = [...s.withFindings];
    if (flows.length > 1) {
      const pos = this.positionsOfFlows();
      flows = flows.sort((a, b) => pos.get(a)! - pos.get(b)!);
    }
    for (const flow of flows) for (const f of s.byFlow.get(flow)!.findings) out.push(f);
    return out;
  }

  private positionsOfFlows(): Map<FunctionFlow, number> {
    if (this.positions) return this.positions;
    const pos = new Map<FunctionFlow, number>();
    const flows = this.flows!;
    for (let i = 0; i < flows.length; i++) pos.set(flows[i], i);
    return (this.positions = pos);
  }

  /** Brings the entry of one flow up to date (re-running the check only when it must). */
  private visit(
    check: Check,
    s: CheckState,
    flow: FunctionFlow,
    ctx: CheckContext,
    delta: FunctionDepsDelta | undefined,
    changed: ReadonlySet<string> | null,
    keyChanges: ReadonlySet<string> | null | undefined,
    constKey: string | undefined,
  ): Entry {
    const cached = s.byFlow.get(flow);
    let e = cached;
    if (e && check.rerunEntriesWithFindings === true && e.findings.length > 0) e = undefined;
    const depsOf = check.functionDeps;
    if (e && !depsOf) return e; // depends on the flow (and the files its findings point into) only
    const key =
      constKey !== undefined ? constKey : e && keyChanges && e.key !== undefined && !keyChanges.has(flow.fn.name) ? e.key : delta?.key(flow);
    // A flow whose key changed may read other names (a flow becomes judged, ...).
    const keyMoved = cached !== undefined && cached.key !== undefined && cached.key !== key;
    if (keyMoved && s.index) {
      removeFromIndex(s.index, flow);
      addToIndex(s.index, flow, delta!.names(flow));
    }
    if (e && changed && e.key === key) {
      const names = (e.names ??= delta!.names(flow));
      let hit = false;
      for (let i = 0; i < names.length && !hit; i++) hit = changed.has(names[i]);
      if (!hit) return e;
    }
    const deps = depsOf?.call(check, flow, ctx);
    if (e && sameDeps(e.deps, deps)) {
      e.key = key;
      if (keyMoved) e.names = undefined;
      return e;
    }
    const findings = check.runFunction!.call(check, flow, ctx);
    const fresh: Entry = { findings, files: filesOf(findings), deps, key, names: keyMoved ? undefined : cached?.names, mark: cached?.mark ?? 0 };
    s.byFlow.set(flow, fresh);
    if (findings.length > 0) s.withFindings.add(flow);
    else s.withFindings.delete(flow);
    return fresh;
  }

  /**
   * The index of flows by `namesOf`, brought to this analysis: made over every flow once, then
   * updated with the flows that came and went.
   */
  private index(namesOf: (flow: FunctionFlow) => readonly string[]): FlowIndex {
    let idx = this.indexes.get(namesOf);
    if (idx && this.bringUp(idx)) return idx;
    idx = { namesOf, serial: this.serial, byName: new Map(), names: new Map() };
    for (const flow of this.flows!) addToIndex(idx, flow, namesOf(flow));
    this.indexes.set(namesOf, idx);
    return idx;
  }

  /** The check's index of flows by `names` (made over every flow when it has none). */
  private checkIndex(s: CheckState, namesOf: (flow: FunctionFlow) => readonly string[]): FlowIndex {
    if (s.index && s.index.serial === this.serial) return s.index;
    const idx: FlowIndex = { namesOf, serial: this.serial, byName: new Map(), names: new Map() };
    for (const flow of this.flows!) addToIndex(idx, flow, namesOf(flow));
    return (s.index = idx);
  }

  /** Brings an index to this analysis if it lists the previous one's flows (false: it cannot be). */
  private bringUp(idx: FlowIndex): boolean {
    if (idx.serial === this.serial) return true;
    if (idx.serial !== this.serial - 1 || !this.diffKnown) return false;
    for (const flow of this.added) addToIndex(idx, flow, idx.namesOf(flow));
    for (const flow of this.removed) removeFromIndex(idx, flow);
    idx.serial = this.serial;
    return true;
  }
}

function addToIndex(idx: FlowIndex, flow: FunctionFlow, names: readonly string[]): void {
  if (idx.names.has(flow)) removeFromIndex(idx, flow);
  idx.names.set(flow, names);
  for (const name of names) {
    const set = idx.byName.get(name);
    if (set) set.add(flow);
    else idx.byName.set(name, new Set([flow]));
  }
}

function removeFromIndex(idx: FlowIndex, flow: FunctionFlow): void {
  const names = idx.names.get(flow);
  if (!names) return;
  idx.names.delete(flow);
  for (const name of names) {
    const set = idx.byName.get(name);
    if (set?.delete(flow) && set.size === 0) idx.byName.delete(name);
  }
}

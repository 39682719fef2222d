/**
 * Per-function values that checks derive from a function's flow and from the same values of its
 * callees (a function's lock requirements, the events it exposes to its callers, ...), kept
 * across analyses. An entry is reused when its function's flow is the same object and every
 * callee value it read still has the signature it had then ("verifying traces" with early
 * cutoff): an edit re-derives the edited functions and only those callers whose inputs really
 * changed. A value's signature must cover everything callers use, positions of witness chains
 * included (chains are shared by reference, so a caller keeps pointing at the old steps).
 *
 * Recursion is cut like a fresh computation would cut it: a function still being derived reads
 * as `empty` (with the signature '') to the callees it reaches, and the entry records that, so
 * a reused entry equals what a fresh computation in the same order gives.
 */
import { sameFlowContent, type PositionMap } from '../analysis/rebase';
import type { FunctionFlow } from '../analysis/types';
import type { ChainStep } from '../analysis/types';
import type { CheckContext } from './check';

interface Dep {
  name: string;
  sig: string;
  /** Read while `name` was being derived (the recursion cut): not a reason to re-derive. */
  cut?: boolean;
}

interface Entry<V> {
  flow: FunctionFlow;
  value: V;
  sig: string;
  /** Bumped whenever the signature changes: what per-function check results compare. */
  version: number;
  /** Callee values read while deriving this one, with the signature each had. */
  deps: Dep[];
}

let nextVersion = 1;
/** Values derived so far (all caches), for measurements. */
export let derivations = 0;
export function derivationCount(): number {
  return derivations;
}

/**
 * Invalidation is pushed, not pulled: an analysis marks stale the entries whose flow changed
 * (and the readers of names that appeared or vanished), re-derives them before the first read,
 * and marks stale the readers of every value whose signature changed, to a fixpoint. Entries
 * nothing reached stay valid without being looked at, so a re-check costs what changed plus
 * one identity comparison per entry.
 */
export class DerivedCache<V> {
  private entries = new Map<string, Entry<V>>();
  /** name -> names whose entry read it (absent names included, recursion cuts not). */
  private readers = new Map<string, Set<string>>();
  /** Entries to re-derive before anything is read in this analysis. */
  private stale = new Set<string>();
  /** Entries known to be current in this analysis (validated or derived). */
  private current = new Map<string, Entry<V>>();
  private inProgress = new Set<string>();
  /** The deps list of the entry being derived (reads are recorded there). */
  private recording: Dep[] | undefined;
  private ctx: CheckContext | undefined;
  private config = '';
  private flushing = false;
  /** Analyses begun so far (a consumer of `changes()` must have seen every one of them). */
  private generation = 0;
  /** Names whose version changed (or that vanished) in this analysis; null: everything may have. */
  private changedNames: Set<string> | null = null;

  constructor(
    readonly empty: V,
    private readonly signature: (v: V) => string,
    private readonly flowOf: (ctx: CheckContext, name: string) => FunctionFlow | undefined,
    /** Moves a value's positions over an edit (null: a position does not map); absent: re-derive. */
    private readonly move?: (v: V, moved: PositionMap) => V | null,
  ) {}

  /** Signatures before this analysis moved them (name -> old signature). */
  private movedFrom = new Map<string, string>();

  /**
   * A stale entry that only moved: its flow is the same or rebased, and every value it read is
   * the same or only moved. Its value is then moved too (same version: what it says is equal).
   */
  private tryMove(name: string, prev: Entry<V>, flow: FunctionFlow): Entry<V> | undefined {
    const moved = this.ctx?.moved;
    if (!this.move || !moved || (prev.flow !== flow && moved.predecessor(flow) !== prev.flow)) return undefined;
    const rec = this.recording;
    this.recording = undefined;
    const deps: Dep[] = [];
    try {
      for (const d of prev.deps) {
        if (d.cut) {
          deps.push(d);
          continue;
        }
        const cur = this.entry(d.name);
        const sig = cur?.sig ?? '';
        if (sig !== d.sig && this.movedFrom.get(d.name) !== d.sig) return undefined;
        deps.push(sig === d.sig ? d : { name: d.name, sig });
      }
    } finally {
      this.recording = rec;
    }
    const value = this.move(prev.value, moved);
    if (value === null) return undefined;
    const sig = value === prev.value ? prev.sig : this.signature(value);
    if (sig !== prev.sig) this.movedFrom.set(name, prev.sig);
    return { flow, value, sig, version: prev.version, deps };
  }

  /** Derives a value from a flow (reading callee values through `get`); set per analysis. */
  private derive: (flow: FunctionFlow) => V = () => this.empty;

  /** Starts an analysis; `config` names everything global the values depend on (rules, options). */
  begin(ctx: CheckContext, config: string, derive: (flow: FunctionFlow) => V): void {
    if (this.ctx === ctx) return;
    this.derive = derive;
    this.ctx = ctx;
    this.generation++;
    this.changedNames = new Set();
    this.current = new Map();
    this.inProgress.clear();
    this.recording = undefined;
    const leftover = this.stale.size > 0;
    this.stale.clear();
    this.movedFrom = new Map();
    if (config !== this.config) {
      this.chosenSource = undefined;
      this.changedNames = null;
      this.entries.clear();
      this.readers.clear();
      this.config = config;
      return;
    }
    // Only the names whose chosen flow changed need a look when this cache saw the previous
    // analysis through to the end (nothing left stale): every other name has the flow it had.
    const cc = ctx.chosenChanges;
    const incremental = !!cc && this.chosenSource === cc.source && this.chosenGeneration === cc.generation - 1 && !leftover;
    this.chosenSource = cc?.source;
    this.chosenGeneration = cc?.generation ?? -1;
    const names: Iterable<string> = incremental ? cc.names : new Set([...this.entries.keys(), ...this.readers.keys()]);
    for (const name of names) {
      const flow = this.flowOf(ctx, name);
      const e = this.entries.get(name);
      // A copy of the same flow (callee summaries changed in what the dataflow does not read) is
      // the same input: derived values read callees' summaries only through their derived values.
      if (e) {
        if (!sameFlowContent(flow, e.flow)) this.stale.add(name);
        continue;
      }
      // Names read while absent that now have a flow: their readers read '' and must look again.
      if (!flow) continue;
      const rs = this.readers.get(name);
      if (rs) for (const r of rs) this.stale.add(r);
    }
  }

  /** The solve whose flow changes this cache last looked at (ctx.chosenChanges). */
  private chosenSource: object | undefined;
  private chosenGeneration = -1;

  get = (name: string): V => this.entry(name)?.value ?? this.empty;

  /** Version of a name's value (0 when it has none): equal versions mean equal values. */
  version(name: string): number {
    return this.entry(name)?.version ?? 0;
  }

  /**
   * What changed in this analysis, once every stale entry is re-derived: the names whose version
   * differs from the previous analysis (`names` null: anything may differ). Valid for a consumer
   * that looked at generation `generation - 1` last (new names appear only with new callers).
   */
  changes(): { generation: number; names: ReadonlySet<string> | null } {
    if (this.stale.size > 0 && !this.flushing) this.flush();
    return { generation: this.generation, names: this.changedNames };
  }

  /** Re-derives every stale entry (and the readers of those whose signature changed). */
  private flush(): void {
    this.flushing = true;
    try {
      while (this.stale.size > 0) {
        const name = this.stale.values().next().value as string;
        this.entry(name);
        this.stale.delete(name);
      }
    } finally {
      this.flushing = false;
    }
  }

  private invalidateReaders(name: string): void {
    const rs = this.readers.get(name);
    if (!rs) return;
    for (const r of rs) {
      if (this.inProgress.has(r)) continue;
      this.current.delete(r);
      this.stale.add(r);
    }
  }

  private setDeps(name: string, oldDeps: readonly Dep[] | undefined, deps: readonly Dep[]): void {
    if (oldDeps) for (const d of oldDeps) if (!d.cut) this.readers.get(d.name)?.delete(name);
    for (const d of deps) {
      if (d.cut) continue;
      let rs = this.readers.get(d.name);
      if (!rs) this.readers.set(d.name, (rs = new Set()));
      rs.add(name);
    }
  }

  private entry(name: string): Entry<V> | undefined {
    if (this.stale.size > 0 && !this.flushing) this.flush();
    const rec = this.recording;
    const done = this.current.get(name);
    if (done) {
      rec?.push({ name, sig: done.sig });
      return done;
    }
    if (this.inProgress.has(name)) {
      rec?.push({ name, sig: '', cut: true });
      return undefined;
    }
    const ctx = this.ctx!;
    const flow = this.flowOf(ctx, name);
    const prev = this.entries.get(name);
    if (!flow) {
      if (prev) {
        this.entries.delete(name);
        this.changedNames?.add(name);
        this.setDeps(name, prev.deps, []);
        if (prev.sig !== '') this.invalidateReaders(name);
      }
      this.stale.delete(name);
      rec?.push({ name, sig: '' });
      return undefined;
    }
    let e = prev && sameFlowContent(prev.flow, flow) && !this.stale.has(name) ? prev : undefined;
    if (e && e.flow !== flow) this.entries.set(name, (e = { ...e, flow }));
    if (!e && prev) {
      this.inProgress.add(name);
      try {
        e = this.tryMove(name, prev, flow);
      } finally {
        this.inProgress.delete(name);
      }
      if (e) {
        this.entries.set(name, e);
        this.stale.delete(name);
        if (e.sig !== prev.sig) this.invalidateReaders(name);
      }
    }
    if (!e) {
      this.inProgress.add(name);
      const deps: Dep[] = [];
      this.recording = deps;
      let value: V;
      try {
        value = this.derive(flow);
      } finally {
        this.recording = rec;
        this.inProgress.delete(name);
      }
      const sig = this.signature(value);
      derivations++;
      e = prev && prev.sig === sig ? { flow, value: prev.value, sig, version: prev.version, deps } : { flow, value, sig, version: nextVersion++, deps };
      if (e.version !== prev?.version) this.changedNames?.add(name);
      this.entries.set(name, e);
      this.setDeps(name, prev?.deps, deps);
      this.stale.delete(name);
      if (!prev || prev.sig !== sig) this.invalidateReaders(name);
    }
    this.current.set(name, e);
    rec?.push({ name, sig: e.sig });
    return e;
  }

  /** Is a value being derived (reads are being recorded)? */
  get recordingNow(): boolean {
    return this.recording !== undefined;
  }

  /** Is the value of `name` being derived right now (a caller inside its recursion)? */
  busy(name: string): boolean {
    return this.inProgress.has(name);
  }

  /** Forgets names that no longer exist (call after an analysis, with the current names). */
  prune(alive: (name: string) => boolean): void {
    for (const [name, e] of this.entries) {
      if (alive(name)) continue;
      this.entries.delete(name);
      this.changedNames?.add(name);
      this.setDeps(name, e.deps, []);
    }
  }
}

/**
 * The cache of `key` for this workspace: kept in the context's persistent store when the engine
 * gives one, else per context (one analysis, nothing reused).
 */
const perContext = new WeakMap<CheckContext, Map<string, unknown>>();
export function derivedCache<V>(ctx: CheckContext, key: string, config: string, make: () => DerivedCache<V>, derive: (flow: FunctionFlow) => V): DerivedCache<V> {
  let store = ctx.store;
  if (!store) {
    store = perContext.get(ctx);
    if (!store) perContext.set(ctx, (store = new Map()));
  }
  let c = store.get(key) as DerivedCache<V> | undefined;
  if (!c) store.set(key, (c = make()));
  c.begin(ctx, config, derive);
  return c;
}

/** A witness chain as text, positions included (for signatures). */
export function chainSig(l: { step: { file: string; range: { start: { line: number; column: number } }; what: string }; next?: unknown } | undefined): string {
  let out = '';
  for (let c = l as { step: { file: string; range: { start: { line: number; column: number } }; what: string }; next?: unknown } | undefined; c; c = c.next as typeof c) {
    out += `${c.step.file}:${c.step.range.start.line}:${c.step.range.start.column}:${c.step.what}>`;
  }
  return out;
}

const ids = new WeakMap<object, number>();
let nextId = 1;
/** A number naming an object (for configuration keys). */
export function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

interface MovableLink {
  step: ChainStep;
  next?: MovableLink;
  length: number;
}

/** A witness chain with its positions moved (shared tails stay shared), or null. */
export function moveLink<L extends MovableLink>(l: L, moved: PositionMap): L | null {
  const memo = moved.memo;
  const stack: L[] = [];
  let c: L | undefined = l;
  let tail: L | null | undefined;
  while (c) {
    const m = memo.get(c) as L | null | undefined;
    if (m !== undefined) {
      tail = m;
      break;
    }
    stack.push(c);
    c = c.next as L | undefined;
  }
  if (tail === null) {
    for (const x of stack) memo.set(x, null);
    return null;
  }
  let next: L | null | undefined = tail;
  for (let i = stack.length - 1; i >= 0; i--) {
    const x = stack[i];
    const range = next === null ? null : moved.range(x.step.file, x.step.range);
    if (!range) {
      for (let j = i; j >= 0; j--) memo.set(stack[j], null);
      return null;
    }
    const out: L = range === x.step.range && next === x.next ? x : ({ ...x, step: range === x.step.range ? x.step : { ...x.step, range }, next: next ?? undefined } as L);
    memo.set(x, out);
    next = out;
  }
  return next ?? null;
}

/**
 * Moves derived values made of records with a witness `chain` and optionally an `origin`
 * position (the shape of the checks' derived values): arrays of them, one, or null.
 */
export function moveChained<V>(v: V, moved: PositionMap): V | null {
  type Rec = { chain?: MovableLink; origin?: { file: string; range: ChainStep['range'] } };
  const one = (r: Rec): Rec | null => {
    const chain = r.chain ? moveLink(r.chain, moved) : undefined;
    if (chain === null) return null;
    let origin = r.origin;
    if (origin) {
      const range = moved.range(origin.file, origin.range);
      if (!range) return null;
      if (range !== origin.range) origin = { ...origin, range };
    }
    return chain === r.chain && origin === r.origin ? r : { ...r, chain, origin };
  };
  if (v === null || v === undefined) return v;
  if (Array.isArray(v)) {
    let out: Rec[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const m = one(v[i] as Rec);
      if (!m) return null;
      if (m !== v[i]) (out ??= [...(v as Rec[])])[i] = m;
    }
    return (out ?? v) as V;
  }
  return one(v as Rec) as V | null;
}

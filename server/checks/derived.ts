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
import type { FunctionFlow } from '../analysis/types';
import type { CheckContext } from './check';

interface Entry<V> {
  flow: FunctionFlow;
  value: V;
  sig: string;
  /** Bumped whenever the signature changes: what per-function check results compare. */
  version: number;
  /** Callee values read while deriving this one, with the signature each had. */
  deps: { name: string; sig: string }[];
}

let nextVersion = 1;

export class DerivedCache<V> {
  private entries = new Map<string, Entry<V>>();
  /** Entries known to be current in this analysis (validated or derived). */
  private current = new Map<string, Entry<V>>();
  private inProgress = new Set<string>();
  /** The deps list of the entry being derived (reads are recorded there). */
  private recording: { name: string; sig: string }[] | undefined;
  private ctx: CheckContext | undefined;
  private config = '';

  constructor(
    readonly empty: V,
    private readonly signature: (v: V) => string,
    private readonly flowOf: (ctx: CheckContext, name: string) => FunctionFlow | undefined,
  ) {}

  /** Derives a value from a flow (reading callee values through `get`); set per analysis. */
  private derive: (flow: FunctionFlow) => V = () => this.empty;

  /** Starts an analysis; `config` names everything global the values depend on (rules, options). */
  begin(ctx: CheckContext, config: string, derive: (flow: FunctionFlow) => V): void {
    if (this.ctx === ctx) return;
    this.derive = derive;
    this.ctx = ctx;
    this.current = new Map();
    this.inProgress.clear();
    this.recording = undefined;
    if (config !== this.config) {
      this.entries.clear();
      this.config = config;
    }
  }

  get = (name: string): V => this.entry(name)?.value ?? this.empty;

  /** Version of a name's value (0 when it has none): equal versions mean equal values. */
  version(name: string): number {
    return this.entry(name)?.version ?? 0;
  }

  private entry(name: string): Entry<V> | undefined {
    const rec = this.recording;
    const done = this.current.get(name);
    if (done) {
      rec?.push({ name, sig: done.sig });
      return done;
    }
    const ctx = this.ctx!;
    const flow = this.flowOf(ctx, name);
    if (!flow || this.inProgress.has(name)) {
      rec?.push({ name, sig: '' });
      return undefined;
    }
    this.inProgress.add(name);
    let e = this.entries.get(name);
    if (e && e.flow === flow) {
      // Validate outside any recording: a dep's own reads belong to it.
      this.recording = undefined;
      let ok = true;
      for (const d of e.deps) {
        const de = this.entry(d.name);
        if ((de?.sig ?? '') !== d.sig) {
          ok = false;
          break;
        }
      }
      if (!ok) e = undefined;
    } else e = undefined;
    if (!e) {
      const deps: { name: string; sig: string }[] = [];
      this.recording = deps;
      const value = this.derive(flow);
      const sig = this.signature(value);
      const prev = this.entries.get(name);
      e = prev && prev.sig === sig ? { flow, value: prev.value, sig, version: prev.version, deps } : { flow, value, sig, version: nextVersion++, deps };
      this.entries.set(name, e);
    }
    this.recording = rec;
    this.inProgress.delete(name);
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
    for (const name of this.entries.keys()) if (!alive(name)) this.entries.delete(name);
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

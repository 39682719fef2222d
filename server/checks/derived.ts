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
import { sameFlowContent } from '../analysis/keptFlows';
import type { FunctionFlow } from '../analysis/types';
import type { CheckContext } from './check';

/**
 * One name's derived value and bookkeeping, mutated in place (the cache owns it). A name read
 * while it has no flow has a node too (without a value): it holds the readers that must look
 * again when the name appears.
 */
interface Node<V> {
  name: string;
  /** Has a derived value (`flow`, `value`, `sig`, `version`); false: absent or forgotten. */
  has: boolean;
  flow: FunctionFlow | undefined;
  value: V;
  sig: string;
  /** Bumped whenever the value says something else: what per-function check results compare. */
  version: number;
  /** Bumped whenever the signature changes; 0 without a value. */
  sv: number;
  /** Nodes read while deriving this value, and the `sv` each had then (-1: a recursion cut). */
  deps: Node<V>[];
  depSv: number[];
  /** Bumped whenever `deps` is replaced: a reader link made under an older stamp is dead. */
  stamp: number;
  /** Nodes whose value read this one (with their stamp then; dead links are dropped lazily). */
  readers: Node<V>[];
  readerStamps: number[];
  /** Reader count above which dead links are swept on the next registration. */
  readersLimit: number;
  /** The analysis (generation) in which it was validated or derived; also caches absence. */
  at: number;
  /** Being derived (a read of it is the recursion cut). */
  busy: boolean;
  /** The recording that last recorded it (skips duplicate reads). */
  mark: number;
}

const NO_DEPS: never[] = [];

let nextVersion = 1;
let nextSv = 1;
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
 *
 * A read costs a map lookup and, while a value is being derived, two array pushes: dependencies
 * are recorded as nodes with signature versions, not as strings, and reader links are swept
 * lazily instead of being removed one by one.
 */
export class DerivedCache<V> {
  private nodes = new Map<string, Node<V>>();
  /** Entries to re-derive before anything is read in this analysis (in the order marked). */
  private stale = new Set<Node<V>>();
  /** Nodes being derived, innermost last (reset if an exception abandoned an analysis). */
  private busyNodes: Node<V>[] = [];
  /** The reads of the value being derived (undefined: not recording). */
  private recDeps: Node<V>[] | undefined;
  private recSv: number[] = [];
  private recId = 0;
  private recCount = 0;
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
  ) {}

  private node(name: string): Node<V> {
    return this.nodes.get(name) ?? this.newNode(name);
  }

  private newNode(name: string): Node<V> {
    const n: Node<V> = {
      name,
      has: false,
      flow: undefined,
      value: this.empty,
      sig: '',
      version: 0,
      sv: 0,
      deps: NO_DEPS,
      depSv: NO_DEPS,
      stamp: 0,
      readers: [],
      readerStamps: [],
      readersLimit: 8,
      at: 0,
      busy: false,
      mark: 0,
    };
    this.nodes.set(name, n);
    return n;
  }

  /** Derives a value from a flow (reading callee values through `get`); set per analysis. */
  private derive: (flow: FunctionFlow) => V = () => this.empty;

  /** Starts an analysis; `config` names everything global the values depend on (rules, options). */
  begin(ctx: CheckContext, config: string, derive: (flow: FunctionFlow) => V): void {
    if (this.ctx === ctx) return;
    this.derive = derive;
    this.ctx = ctx;
    this.keepReads = !ctx.oneShot;
    this.generation++;
    this.changedNames = new Set();
    for (const n of this.busyNodes) n.busy = false;
    this.busyNodes = [];
    this.recDeps = undefined;
    const leftover = this.stale.size > 0;
    this.stale.clear();
    if (config !== this.config) {
      this.chosenSource = undefined;
      this.changedNames = null;
      this.nodes.clear();
      this.nodeLists = new WeakMap();
      this.config = config;
      return;
    }
    // Only the names whose chosen flow changed need a look when this cache saw the previous
    // analysis through to the end (nothing left stale): every other name has the flow it had.
    const cc = ctx.chosenChanges;
    const incremental = !!cc && this.chosenSource === cc.source && this.chosenGeneration === cc.generation - 1 && !leftover;
    this.chosenSource = cc?.source;
    this.chosenGeneration = cc?.generation ?? -1;
    const names: Iterable<string> = incremental ? cc.names : [...this.nodes.keys()];
    for (const name of names) {
      const n = this.nodes.get(name);
      if (!n) continue;
      const flow = this.flowOf(ctx, name);
      // A copy of the same flow (callee summaries changed in what the dataflow does not read) is
      // the same input: derived values read callees' summaries only through their derived values.
      if (n.has) {
        if (!sameFlowContent(flow, n.flow)) this.stale.add(n);
        continue;
      }
      // Names read while absent that now have a flow: their readers read '' and must look again.
      if (!flow) continue;
      this.forLiveReaders(n, (r) => this.stale.add(r));
    }
  }

  /** The solve whose flow changes this cache last looked at (ctx.chosenChanges). */
  private chosenSource: object | undefined;
  private chosenGeneration = -1;

  get = (name: string): V => {
    const n = this.entry(name);
    return n ? n.value : this.empty;
  };

  /** Version of a name's value (0 when it has none): equal versions mean equal values. */
  version(name: string): number {
    const n = this.entry(name);
    return n ? n.version : 0;
  }

  /**
   * The versions of several names (what `version` gives for each), for a list the caller keeps
   * and does not change afterwards (a flow's callee list): its names are looked up once per
   * list, not on every call.
   */
  versions(names: readonly string[]): number[] {
    let nodes = this.nodeLists.get(names);
    if (!nodes) {
      nodes = names.map((name) => this.node(name));
      this.nodeLists.set(names, nodes);
    }
    const out = new Array<number>(nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      if (this.stale.size > 0 && !this.flushing) this.flush();
      const n = nodes[i];
      let r: Node<V> | undefined;
      if (n.at === this.generation) {
        if (this.recDeps) this.record(n, n.has ? n.sv : 0);
        r = n.has ? n : undefined;
      } else r = this.resolve(n);
      out[i] = r ? r.version : 0;
    }
    return out;
  }

  /** Nodes of the name lists given to `versions` (dropped with the nodes). */
  private nodeLists = new WeakMap<readonly string[], Node<V>[]>();

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
        const n = this.stale.values().next().value as Node<V>;
        this.resolve(n);
        this.stale.delete(n);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Calls `f` on every reader still reading `n` (sweeping dead links on the way). */
  private forLiveReaders(n: Node<V>, f: (r: Node<V>) => void): void {
    const rs = n.readers;
    const st = n.readerStamps;
    let w = 0;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      if (r.stamp !== st[i]) continue;
      rs[w] = r;
      st[w] = st[i];
      w++;
      f(r);
    }
    rs.length = w;
    st.length = w;
  }

  private invalidateReaders(n: Node<V>): void {
    if (n.readers.length === 0) return;
    this.forLiveReaders(n, (r) => {
      if (r.busy) return;
      r.at = 0;
      this.stale.add(r);
    });
  }

  /** Replaces the recorded reads of `n` (reader links of the old ones die with the stamp). */
  private setDeps(n: Node<V>, deps: Node<V>[], depSv: number[]): void {
    const stamp = ++n.stamp;
    n.deps = deps;
    n.depSv = depSv;
    for (let i = 0; i < deps.length; i++) {
      if (depSv[i] === -1) continue;
      const d = deps[i];
      if (d.readers.length >= d.readersLimit) {
        this.forLiveReaders(d, () => {});
        d.readersLimit = Math.max(8, 2 * d.readers.length);
      }
      d.readers.push(n);
      d.readerStamps.push(stamp);
    }
  }

  /** Records a read of `n` (with its signature version, or -1 for a recursion cut). */
  /** Whether reads are recorded (for re-checks; not in a one-shot analysis). */
  private keepReads = true;

  private record(n: Node<V>, sv: number): void {
    if (!this.keepReads) return;
    if (n.mark === this.recId) return;
    n.mark = this.recId;
    this.recDeps!.push(n);
    this.recSv.push(sv);
  }

  private entry(name: string): Node<V> | undefined {
    if (this.stale.size > 0 && !this.flushing) this.flush();
    let n = this.nodes.get(name);
    if (n && n.at === this.generation) {
      if (this.recDeps) this.record(n, n.has ? n.sv : 0);
      return n.has ? n : undefined;
    }
    return this.resolve(n ?? this.newNode(name));
  }

  /** Brings a node to this analysis (validated or derived); undefined: no value. */
  private resolve(n: Node<V>): Node<V> | undefined {
    if (n.at === this.generation) {
      if (this.recDeps) this.record(n, n.has ? n.sv : 0);
      return n.has ? n : undefined;
    }
    if (n.busy) {
      if (this.recDeps) this.record(n, -1);
      return undefined;
    }
    const flow = this.flowOf(this.ctx!, n.name);
    if (!flow) {
      if (n.has) {
        n.has = false;
        this.changedNames?.add(n.name);
        const hadSig = n.sig !== '';
        n.flow = undefined;
        n.value = this.empty;
        n.sig = '';
        n.version = 0;
        n.sv = 0;
        this.setDeps(n, NO_DEPS, NO_DEPS);
        if (hadSig) this.invalidateReaders(n);
      }
      this.stale.delete(n);
      n.at = this.generation;
      if (this.recDeps) this.record(n, 0);
      return undefined;
    }
    if (n.has && !this.stale.has(n) && sameFlowContent(n.flow, flow)) n.flow = flow;
    else {
      const recDeps = this.recDeps;
      const recSv = this.recSv;
      const recId = this.recId;
      const deps: Node<V>[] = [];
      const depSv: number[] = [];
      this.recDeps = deps;
      this.recSv = depSv;
      this.recId = ++this.recCount;
      this.markBusy(n);
      let value: V;
      try {
        value = this.derive(flow);
      } finally {
        this.recDeps = recDeps;
        this.recSv = recSv;
        this.recId = recId;
        this.unbusy(n);
      }
      const sig = this.signature(value);
      derivations++;
      const had = n.has;
      const sameSig = had && n.sig === sig;
      if (!sameSig) {
        n.value = value;
        n.sig = sig;
        n.sv = nextSv++;
        n.version = nextVersion++;
        this.changedNames?.add(n.name);
      }
      n.has = true;
      n.flow = flow;
      if (this.keepReads) this.setDeps(n, deps, depSv);
      this.stale.delete(n);
      if (!sameSig) this.invalidateReaders(n);
    }
    n.at = this.generation;
    if (this.recDeps) this.record(n, n.sv);
    return n;
  }

  /** Derivations nest: the busy nodes are a stack (what `begin` resets after an exception). */
  private markBusy(n: Node<V>): void {
    n.busy = true;
    this.busyNodes.push(n);
  }

  private unbusy(n: Node<V>): void {
    n.busy = false;
    this.busyNodes.pop();
  }

  /** Is a value being derived (reads are being recorded)? */
  get recordingNow(): boolean {
    return this.recDeps !== undefined;
  }

  /** Is the value of `name` being derived right now (a caller inside its recursion)? */
  busy(name: string): boolean {
    return this.busyNodes.length > 0 && (this.nodes.get(name)?.busy ?? false);
  }

  /** Forgets names that no longer exist (call after an analysis, with the current names). */
  prune(alive: (name: string) => boolean): void {
    for (const n of this.nodes.values()) {
      if (!n.has || alive(n.name)) continue;
      n.has = false;
      n.flow = undefined;
      n.value = this.empty;
      n.sig = '';
      n.version = 0;
      n.sv = 0;
      n.at = 0;
      this.changedNames?.add(n.name);
      this.setDeps(n, NO_DEPS, NO_DEPS);
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
    out += `${c.step.file}@${idOf(c.step.range)}:${c.step.what}>`;
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

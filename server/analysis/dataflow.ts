/**
 * Path-sensitive lockset analysis of one function over its CFG of lock ops.
 *
 * A state is the set of held locks, the irq-off / preempt-off depths and the values of tracked
 * flag variables. Edges with a condition on a variable are only followed when the state allows
 * them; conditional acquisitions (trylock, killable) split the state on their result variable.
 * Each block keeps at most MAX_STATES distinct states; beyond that they are joined (union of
 * held locks, environment forgotten) and the flow is marked truncated so that the checks that
 * need path precision stay quiet.
 */
import { KERNEL_CALLBACK_RUNNERS } from '../../model/kvmTypes';
import type { AccessPath, AcquireOp, Block, CallOp, FunctionFacts, LockKind, LockMode, Op } from '../frontend/facts';
import type { ClassResolver } from './classes';
import { callTargets, type WorkspaceIndex } from './index';
import type {
  CallerLock,
  ExitState,
  FlowEvent,
  FlowState,
  FunctionFlow,
  HeldLock,
  LockRef,
  NetEffect,
  OpContext,
  Summary,
} from './types';

const MAX_STATES = 16;
const NONE: readonly string[] = [];
const MAX_CONTEXTS_PER_OP = 16;
const MAX_DEPTH = 4;
const MAX_STEPS_PER_BLOCK = 64;

export interface FlowEnv {
  index: WorkspaceIndex;
  resolver: ClassResolver;
  summaryOf(name: string): Summary | undefined;
}

function instKey(cls: string, inst: string): string {
  return cls + '|' + inst;
}

function rootOf(path: AccessPath): string | undefined {
  const b = path.base;
  if (b.kind === 'var' || b.kind === 'global') return b.name;
  if (b.kind === 'call') return `${b.callee}(${b.arg ? rootOf(b.arg) ?? '' : ''})`;
  if (b.kind === 'pseudo') return b.name;
  return undefined;
}

export function lockRefOf(resolver: ClassResolver, path: AccessPath): LockRef {
  const r = resolver.resolve(path);
  const root = rootOf(path);
  const inst = root !== undefined ? `${root}:${path.fields.join('.')}` : r.cls;
  return { cls: r.cls, resolved: r.resolved, inst, root, fields: path.fields, path, fieldKind: r.fieldKind };
}

function paramIndex(fn: FunctionFacts, root: string | undefined): number | undefined {
  if (root === undefined) return undefined;
  const i = fn.params.findIndex((p) => p.name === root);
  return i >= 0 ? i : undefined;
}

function computeStateKey(s: FlowState): string {
  let k = '';
  for (const h of s.held) k += `${h.cls}|${h.inst}|${h.mode}${h.conditional ? '?' : ''}${h.mayDrop ? '~' : ''}${h.maybe ? '*' : ''};`;
  k += `#${s.irqOff},${s.preemptOff},${s.irqBelow}#`;
  const vars = Object.keys(s.env);
  if (vars.length > 1) vars.sort();
  for (const v of vars) k += `${v}=${s.env[v]};`;
  k += '#' + s.released.join(',') + '#' + s.calleeReleased.join(',') + '#' + s.failed.join(',') + '#';
  for (const c of s.fromCaller) k += instKey(c.cls, c.inst) + ',';
  return k;
}

/** The state without its environment: two states with the same lock part differ only in flags. */
function lockPartKey(s: FlowState): string {
  let k = '';
  for (const h of s.held) k += `${h.cls}|${h.inst}|${h.mode}${h.conditional ? '?' : ''}${h.mayDrop ? '~' : ''}${h.maybe ? '*' : ''};`;
  k += `#${s.irqOff},${s.preemptOff},${s.irqBelow}#` + s.released.join(',') + '#' + s.calleeReleased.join(',') + '#' + s.failed.join(',') + '#';
  for (const c of s.fromCaller) k += instKey(c.cls, c.inst) + ',';
  return k;
}

function intersectEnv(a: FlowState['env'], b: FlowState['env']): FlowState['env'] {
  const out: Record<string, FlowState['env'][string]> = {};
  for (const k of Object.keys(a)) if (b[k] === a[k]) out[k] = a[k];
  return out;
}

function heldKey(held: readonly HeldLock[]): string {
  let k = '';
  for (const h of held) k += `${h.cls}|${h.inst}|${h.mode};`;
  return k;
}

function union<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): T[] {
  const seen = new Set(a.map(key));
  const out = [...a];
  for (const x of b) if (!seen.has(key(x))) out.push(x);
  return out;
}

function joinStates(a: FlowState, b: FlowState): FlowState {
  const bKeys = new Set(b.held.map((h) => instKey(h.cls, h.inst)));
  const aKeys = new Set(a.held.map((h) => instKey(h.cls, h.inst)));
  const held: HeldLock[] = [];
  for (const h of a.held) {
    const other = b.held.find((x) => x.cls === h.cls && x.inst === h.inst);
    const mode: LockMode = h.mode === 'write' || other?.mode === 'write' ? 'write' : 'read';
    held.push(bKeys.has(instKey(h.cls, h.inst)) && mode === h.mode ? h : { ...h, mode, maybe: h.maybe || !other });
  }
  for (const h of b.held) if (!aKeys.has(instKey(h.cls, h.inst))) held.push({ ...h, maybe: true });
  return {
    held,
    irqOff: Math.max(a.irqOff, b.irqOff),
    preemptOff: Math.max(a.preemptOff, b.preemptOff),
    released: union(a.released, b.released, (x) => x),
    calleeReleased: union(a.calleeReleased, b.calleeReleased, (x) => x),
    fromCaller: union(a.fromCaller, b.fromCaller, (x) => instKey(x.cls, x.inst)),
    failed: a.failed.filter((x) => b.failed.includes(x)),
    irqBelow: Math.min(a.irqBelow, b.irqBelow),
    env: {},
    joined: true,
  };
}

/** Finds the held lock a release of `ref` matches: same instance, else the latest of the same class. */
function findHeld(held: readonly HeldLock[], cls: string, inst: string): number {
  let sameClass = -1;
  let samePath = -1;
  for (let i = held.length - 1; i >= 0; i--) {
    if (held[i].cls !== cls) {
      // The same path from the same variable named with another class (a callee's parameter type
      // resolved what the caller's path could not: `vcpu->arch.vcore->lock` without the arch
      // header) is the same lock.
      if (samePath < 0 && held[i].inst === inst && inst.includes(':')) samePath = i;
      continue;
    }
    if (held[i].inst === inst) return i;
    if (sameClass < 0) sameClass = i;
  }
  return samePath >= 0 ? samePath : sameClass;
}

function withEnv(s: FlowState, variable: string, value: FlowState['env'][string] | undefined): FlowState {
  const env = { ...s.env };
  if (value === undefined) delete env[variable];
  else env[variable] = value;
  return { ...s, env };
}

const clampDepth = (n: number): number => Math.max(0, Math.min(MAX_DEPTH, n));

/** After a callee that returns with interrupts on: ours are on, and our caller's too when we had none off. */
function irqsTurnedOn(s: FlowState): FlowState {
  return { ...s, irqOff: 0, irqBelow: s.irqOff === 0 ? clampDepth(s.irqBelow + 1) : s.irqBelow };
}

/** The function an argument names (`do_set_msr` passed as a callback), if it is one. */
export function functionArgument(index: WorkspaceIndex, arg: AccessPath | null | undefined): string | undefined {
  if (!arg || arg.fields.length !== 0) return undefined;
  const b = arg.base;
  if ((b.kind === 'var' || b.kind === 'global') && index.functions.has(b.name)) return b.name;
  return undefined;
}

/** Maps a callee-relative lock onto the caller: through the argument when rooted at a parameter. */
export function mapThroughArgs(
  resolver: ClassResolver,
  fn: FunctionFacts,
  call: CallOp,
  eff: { cls: string; resolved: boolean; inst: string; param?: number; fields: string[] },
): { cls: string; resolved: boolean; inst: string; param?: number; fields: string[] } {
  if (eff.param === undefined) return eff;
  const arg = call.args[eff.param];
  if (!arg) return eff;
  // The callee's path minus its root, appended to the argument's path.
  const calleeRest = eff.fields;
  const path: AccessPath = { text: arg.text, base: arg.base, fields: [...arg.fields, ...calleeRest] };
  const ref = lockRefOf(resolver, path);
  const cls = eff.resolved ? eff.cls : ref.cls;
  const resolved = eff.resolved || ref.resolved;
  return { cls, resolved, inst: ref.inst, param: paramIndex(fn, ref.root), fields: ref.fields };
}

/**
 * The flag variables worth tracking: results of conditional acquisitions, flags the function
 * assigns, and variables tested by more than one branch (correlated conditions such as
 * `if (shared) read_lock() else write_lock(); ... if (shared) read_unlock() ...`). Only in
 * functions that take or release something; elsewhere flags cannot change a lockset.
 */
function relevantVariables(fn: FunctionFacts, lockish: boolean): Set<string> {
  const out = new Set<string>();
  if (!lockish) return out;
  let testedIn: Map<string, number> | undefined;
  let anyCond = false;
  for (const b of fn.blocks) {
    for (const op of b.ops) {
      if (op.k === 'acquire' && op.resultVar) out.add(op.resultVar);
      else if (op.k === 'assign') out.add(op.variable);
    }
    // Each variable counted once per block.
    const succ = b.succ;
    for (let i = 0; i < succ.length; i++) {
      const c = succ[i].cond;
      if (!c) continue;
      anyCond = true;
      let again = false;
      for (let j = 0; j < i && !again; j++) if (succ[j].cond?.variable === c.variable) again = true;
      if (again) continue;
      testedIn ??= new Map();
      testedIn.set(c.variable, (testedIn.get(c.variable) ?? 0) + 1);
    }
  }
  // (A call's synthetic result `$N` is tested once, where the call is: relevant only when the
  // callee's net effect depends on it, which the caller adds.)
  if (testedIn) for (const [v, n] of testedIn) if (n >= 2 && !v.startsWith('$')) out.add(v);
  // A test inside a loop is met again on the next iteration (loop-invariant conditions).
  if (anyCond) {
    const inLoop = blocksInLoops(fn);
    for (const b of inLoop) for (const e of fn.blocks[b].succ) if (e.cond && !e.cond.variable.startsWith('$')) out.add(e.cond.variable);
  }
  return out;
}

/** Blocks that lie on a cycle of the CFG (iterative Tarjan over block indices). */
function blocksInLoops(fn: FunctionFacts): number[] {
  const n = fn.blocks.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const out: number[] = [];
  let counter = 0;
  // The DFS frames as two parallel stacks: block, and the next successor to look at.
  const frameBlock: number[] = [];
  const frameNext: number[] = [];
  for (let root = 0; root < n; root++) {
    if (index[root] >= 0) continue;
    frameBlock.push(root);
    frameNext.push(0);
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (frameBlock.length) {
      const top = frameBlock.length - 1;
      const v = frameBlock[top];
      const succ = fn.blocks[v].succ;
      if (frameNext[top] < succ.length) {
        const w = succ[frameNext[top]++].to;
        if (w < 0 || w >= n) continue;
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          frameBlock.push(w);
          frameNext.push(0);
        } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
      } else {
        frameBlock.pop();
        frameNext.pop();
        if (frameBlock.length) {
          const p = frameBlock[frameBlock.length - 1];
          low[p] = Math.min(low[p], low[v]);
        }
        if (low[v] === index[v]) {
          const comp: number[] = [];
          let w: number;
          do {
            w = stack.pop()!;
            onStack[w] = 0;
            comp.push(w);
          } while (w !== v);
          if (comp.length > 1 || fn.blocks[v].succ.some((e) => e.to === v)) out.push(...comp);
        }
      }
    }
  }
  return out;
}

/**
 * The flow of a stateless function: the same walk as the general analysis (depth-first, blocks
 * in the same order, so the exit's range is the same) with the single entry state.
 */
function statelessFlow(
  fn: FunctionFacts,
  locks: Map<Op, LockRef>,
  targets: Map<Op, string[]>,
  handlerContexts: FunctionFlow['handlerContexts'],
  detachedHandlers: FunctionFlow['detachedHandlers'],
): FunctionFlow {
  const contexts = new Map<Op, OpContext[]>();
  const exits: ExitState[] = [];
  // Every stateless flow shares the entry state and its one context list (nothing writes them).
  const initial = ENTRY_STATE;
  if (fn.entry === fn.exit) {
    exits.push({ state: initial, range: { start: fn.range.end, end: fn.range.end } });
    return { fn, contexts, locks, targets, exits, events: NO_EVENTS, truncated: false, handlerContexts, detachedHandlers };
  }
  const blocks = fn.blocks;
  const nBlocks = blocks.length;
  const ctxList = ENTRY_CONTEXTS;
  const seen = new Uint8Array(nBlocks);
  const work: number[] = [];
  let exitFrom = -1;
  const arrive = (b: number, from: number): void => {
    if (b < 0 || b >= nBlocks) return;
    if (b === fn.exit) {
      if (exitFrom < 0) exitFrom = from;
      return;
    }
    if (seen[b]) return;
    seen[b] = 1;
    work.push(b);
  };
  arrive(fn.entry, fn.entry);
  while (work.length) {
    const b = work.pop()!;
    const block = blocks[b];
    for (const op of block.ops) if (op.k !== 'assign') contexts.set(op, ctxList);
    for (const e of block.succ) arrive(e.to, b);
  }
  if (exitFrom >= 0) exits.push({ state: initial, range: blocks[exitFrom]?.returnRange ?? { start: fn.range.end, end: fn.range.end } });
  return { fn, contexts, locks, targets, exits, events: NO_EVENTS, truncated: false, handlerContexts, detachedHandlers };
}

/** The state on entry of every stateless flow, and the context list of all its ops (shared, never written). */
const ENTRY_STATE: FlowState = initialState();
const ENTRY_CONTEXTS: OpContext[] = [{ held: ENTRY_STATE.held, callerReleased: NONE, irqOff: 0, preemptOff: 0 }];
const NO_EVENTS: FlowEvent[] = [];

function initialState(): FlowState {
  return {
    held: [],
    irqOff: 0,
    preemptOff: 0,
    released: [],
    calleeReleased: [],
    fromCaller: [],
    failed: [],
    irqBelow: 0,
    env: {},
    joined: false,
  };
}

/**
 * What the call graph's construction already learnt of a function's calls (summaries.ts
 * planCalls): its call ops in block order with their targets (fresh arrays, or the shared empty
 * one), and whether it has no op other than calls, flag assignments and SPTE accesses.
 */
export interface CallPlan {
  calls: CallOp[];
  targets: string[][];
  onlyCalls: boolean;
}

export function analyzeFunction(fn: FunctionFacts, env: FlowEnv, plan?: CallPlan): FunctionFlow {
  const locks = new Map<Op, LockRef>();
  const targets = new Map<Op, string[]>();
  // Is the function stateless: no lock op, assertion, irq/preempt op, and no call to a function
  // with a net effect? Then every reached op sees the entry state and the path-sensitive walk
  // is replaced by a plain reachability walk (statelessFlow).
  let stateless = true;
  /** An acquire, release or drop-retake op (what makes flag variables worth tracking, with effectCalls). */
  let takesOrReleases = false;
  /** The calls whose callee has a net effect, with its summary (the walk reads no other). */
  let effectCalls: Map<Op, Summary> | undefined;
  /** The calls all of whose targets return with interrupts on (Summary.enablesIrqs). */
  let irqEnableCalls: Set<Op> | undefined;
  let handlerContexts: FunctionFlow['handlerContexts'];
  let detachedHandlers: FunctionFlow['detachedHandlers'];
  const call = (op: CallOp, t: string[]): void => {
    if (t.length > 0 && t.every((n) => env.summaryOf(n)?.enablesIrqs)) {
      stateless = false;
      (irqEnableCalls ??= new Set()).add(op);
    }
    // A function the kernel runs in a context of its own (an IPI handler, an RCU callback).
    if (!op.indirect && t.length === 0) {
      const runner = KERNEL_CALLBACK_RUNNERS.get(op.callee);
      const h = runner && functionArgument(env.index, op.args[runner.param]);
      if (h) (detachedHandlers ??= new Map()).set(op, h);
    }
    // Handlers passed to a callee that calls them through its parameter (msr_io(..., do_set_msr)).
    if (!op.indirect && t.length === 1) {
      const sum = env.summaryOf(t[0]);
      if (sum && sum.effects.length > 0) {
        stateless = false;
        (effectCalls ??= new Map()).set(op, sum);
      }
      const pc = sum?.paramCalls;
      if (pc) for (let j = 0; j < pc.length; j++) {
        const h = functionArgument(env.index, op.args[pc[j]]);
        if (!h || t.includes(h)) continue;
        t.push(h);
        const ctxs = sum!.paramContexts?.[j];
        if (ctxs) {
          let m = (handlerContexts ??= new Map()).get(op);
          if (!m) handlerContexts.set(op, (m = new Map()));
          m.set(h, ctxs);
        }
      }
    }
    targets.set(op, t);
  };
  if (plan?.onlyCalls) {
    // Only the calls matter, and they are listed: no walk over every op.
    const { calls, targets: ts } = plan;
    for (let i = 0; i < calls.length; i++) call(calls[i], ts[i]);
  } else {
    let nextCall = 0;
    for (const b of fn.blocks) {
      for (const op of b.ops) {
        if (op.k === 'acquire' || op.k === 'release' || op.k === 'dropRetake' || op.k === 'assert') {
          const ref = lockRefOf(env.resolver, op.lock);
          locks.set(op, ref);
          stateless = false;
          if (op.k !== 'assert') takesOrReleases = true;
        } else if (op.k === 'sync') {
          locks.set(op, lockRefOf(env.resolver, op.domain));
        } else if (op.k === 'call') {
          call(op, plan ? plan.targets[nextCall++] : callTargets(env.index, env.resolver, op));
        } else if (op.k !== 'spte' && op.k !== 'assign') {
          stateless = false;
        }
      }
    }
  }

  if (stateless) return statelessFlow(fn, locks, targets, handlerContexts, detachedHandlers);

  const relevant = relevantVariables(fn, takesOrReleases || effectCalls !== undefined);
  // Results of calls whose callee holds a lock on return for one kind of result only.
  if (effectCalls) for (const [op, sum] of effectCalls) if (op.k === 'call' && op.resultVar !== undefined && sum.effects.some((e) => e.heldWhen !== undefined)) relevant.add(op.resultVar);

  const contexts = new Map<Op, OpContext[]>();
  /** Per op, the keys of its recorded contexts (at most MAX_CONTEXTS_PER_OP: a list scan). */
  const contextKeys = new Map<Op, string[]>();
  // Keys memoised per object for this analysis only (module-wide weak tables cost the GC more).
  const stateKeys = new Map<FlowState, string>();
  const stateKey = (st: FlowState): string => {
    let k = stateKeys.get(st);
    if (k === undefined) {
      k = computeStateKey(st);
      stateKeys.set(st, k);
    }
    return k;
  };
  const heldKeys = new Map<readonly HeldLock[], string>();
  const contextKey = (st: FlowState): string => {
    let hk = heldKeys.get(st.held);
    if (hk === undefined) {
      hk = heldKey(st.held);
      heldKeys.set(st.held, hk);
    }
    let k = hk + `#${st.irqOff},${st.preemptOff}#`;
    for (const c of st.fromCaller) k += c.cls + ',';
    return k;
  };
  const events: FlowEvent[] = [];
  const eventKeys = new Set<string>();
  const exits: ExitState[] = [];
  const exitKeys = new Set<string>();
  let truncated = false;

  const record = (op: Op, s: FlowState): void => {
    let keys = contextKeys.get(op);
    let list: OpContext[];
    if (!keys) {
      contextKeys.set(op, (keys = []));
      contexts.set(op, (list = []));
    } else {
      list = contexts.get(op)!;
    }
    if (list.length >= MAX_CONTEXTS_PER_OP) return;
    const k = contextKey(s);
    if (keys.includes(k)) return;
    keys.push(k);
    list.push({ held: s.held, callerReleased: s.fromCaller.length ? s.fromCaller.map((c) => c.cls) : NONE, irqOff: s.irqOff, preemptOff: s.preemptOff });
  };
  const event = (e: FlowEvent): void => {
    const k = `${e.kind}@${e.op.range.start.line}:${e.op.range.start.column}`;
    if (eventKeys.has(k)) return;
    eventKeys.add(k);
    events.push(e);
  };

  const acquire = (s: FlowState, op: AcquireOp, ref: LockRef): FlowState => {
    // Read sides of SRCU/RCU nest (each unlock ends one level): keep up to two levels.
    const recursive = op.kind === 'srcu' || op.kind === 'rcu';
    const same = s.held.filter((h) => h.cls === ref.cls && h.inst === ref.inst).length;
    if (same > (recursive ? 1 : 0)) return s;
    const h: HeldLock = {
      cls: ref.cls,
      resolved: ref.resolved,
      inst: ref.inst,
      mode: op.mode,
      kind: op.kind !== 'unknown' ? op.kind : ref.fieldKind ?? 'unknown',
      file: fn.file,
      range: op.range,
      irqsOff: op.irqsOff,
      param: paramIndex(fn, ref.root),
      fields: ref.fields,
      fromConditionalOp: op.resultVar !== undefined,
      perInstance: op.perInstance,
    };
    const key = instKey(ref.cls, ref.inst);
    return {
      ...s,
      held: [...s.held, h],
      irqOff: op.irqsOff ? clampDepth(s.irqOff + 1) : s.irqOff,
      released: s.released.includes(key) ? s.released.filter((x) => x !== key) : s.released,
      calleeReleased: s.calleeReleased.includes(key) ? s.calleeReleased.filter((x) => x !== key) : s.calleeReleased,
      failed: s.failed.includes(key) ? s.failed.filter((x) => x !== key) : s.failed,
    };
  };

  const releaseLock = (
    s: FlowState,
    lock: { cls: string; resolved: boolean; inst: string; param?: number; fields: string[] },
    mode: LockMode,
    kind: LockKind,
    byCallee: boolean,
    irqsRestore: boolean,
    op: Op,
    ref?: LockRef,
  ): FlowState => {
    const i = findHeld(s.held, lock.cls, lock.inst);
    const key = instKey(lock.cls, lock.inst);
    if (i >= 0) {
      const h = s.held[i];
      const hk = instKey(h.cls, h.inst);
      return {
        ...s,
        held: [...s.held.slice(0, i), ...s.held.slice(i + 1)],
        irqOff: irqsRestore ? clampDepth(s.irqOff - 1) : s.irqOff,
        released: byCallee || s.released.includes(hk) ? s.released : [...s.released, hk],
        calleeReleased: byCallee && !s.calleeReleased.includes(hk) ? [...s.calleeReleased, hk] : s.calleeReleased,
      };
    }
    const irqOff = irqsRestore ? clampDepth(s.irqOff - 1) : s.irqOff;
    if (s.calleeReleased.includes(key)) return { ...s, irqOff };
    if (!byCallee && ref) {
      const released = s.released.includes(key) || s.released.some((x) => x.startsWith(lock.cls + '|'));
      if (released) {
        event({ kind: 'doubleRelease', op, lock: ref });
        return { ...s, irqOff };
      }
    }
    if (s.fromCaller.some((c) => c.cls === lock.cls && c.inst === lock.inst)) return { ...s, irqOff };
    const c: CallerLock = { cls: lock.cls, resolved: lock.resolved, inst: lock.inst, mode, kind, param: lock.param, fields: lock.fields, irqsRestore: irqsRestore || undefined };
    return { ...s, irqOff, fromCaller: [...s.fromCaller, c] };
  };

  /**
   * A callee's net effect on the state after its call (`before`: the state at the call).
   * `certain`: an acquisition the call's result decides, in the state where it was made (not a
   * maybe-held lock).
   */
  const applyEffect = (
    before: FlowState,
    cur: FlowState,
    eff: NetEffect,
    m: ReturnType<typeof mapThroughArgs>,
    op: CallOp,
    via: string | undefined,
    certain: boolean,
  ): FlowState => {
    if (eff.effect === 'acquire') {
      if (cur.held.some((h) => h.cls === m.cls && h.inst === m.inst)) return cur;
      const key = instKey(m.cls, m.inst);
      const h: HeldLock = {
        cls: m.cls,
        resolved: m.resolved,
        inst: m.inst,
        mode: eff.mode,
        kind: eff.kind,
        file: fn.file,
        range: op.range,
        via,
        conditional: eff.conditional && !certain,
        param: m.param,
        fields: m.fields,
        irqsOff: eff.irqs,
      };
      return {
        ...cur,
        held: [...cur.held, h],
        irqOff: eff.irqs ? clampDepth(cur.irqOff + 1) : cur.irqOff,
        released: cur.released.filter((x) => x !== key),
        calleeReleased: cur.calleeReleased.filter((x) => x !== key),
      };
    }
    if (eff.effect === 'release') return releaseLock(cur, m, eff.mode, eff.kind, true, eff.irqs === true, op);
    const i = findHeld(cur.held, m.cls, m.inst);
    if (i >= 0) {
      const held = cur.held.slice();
      held[i] = { ...held[i], mayDrop: true };
      return { ...cur, held };
    }
    if (cur.fromCaller.some((c) => c.cls === m.cls && c.inst === m.inst)) return cur;
    // Dropped and retaken through the callee's own variable (`pvc = core_info.vc[sub]`): it names
    // no instance of ours or of our caller's. Whatever of that class we held before the call (and
    // the call's other effects gave back) is held again after it.
    if (m.param === undefined && m.inst !== m.cls && m.inst !== `${m.cls}:`) {
      const j = findHeld(before.held, m.cls, m.inst);
      return j >= 0 ? { ...cur, held: [...cur.held, { ...before.held[j], mayDrop: true }] } : cur;
    }
    // The callee needs the lock on entry and gives it back: our caller's lock, held again at the
    // end of the callee, so held from here on.
    return {
      ...cur,
      fromCaller: [...cur.fromCaller, { cls: m.cls, resolved: m.resolved, inst: m.inst, mode: eff.mode, kind: eff.kind, param: m.param, fields: m.fields }],
      held: [...cur.held, { cls: m.cls, resolved: m.resolved, inst: m.inst, mode: eff.mode, kind: eff.kind, file: fn.file, range: op.range, via, param: m.param, fields: m.fields }],
    };
  };

  /**
   * Applies one op; returns the successor state. A conditional acquire has two: the one where
   * it failed is left in `split` (read and cleared by the caller); so has a call whose callee
   * holds a lock on return only for one kind of result (NetEffect.heldWhen).
   */
  let split: FlowState | undefined;
  const step = (s: FlowState, op: Op): FlowState => {
    switch (op.k) {
      case 'acquire': {
        record(op, s);
        const ref = locks.get(op)!;
        if (op.resultVar) {
          const heldWhen = op.heldWhen ?? 'zero';
          const other = heldWhen === 'zero' ? 'nonzero' : 'zero';
          const key = instKey(ref.cls, ref.inst);
          const failedState = (): FlowState => {
            const f = s.failed.includes(key) ? s : { ...s, failed: [...s.failed, key] };
            return withEnv(f, op.resultVar!, other);
          };
          // The op (re)defines its result variable: an older value in the environment says nothing.
          const taken = withEnv(acquire(s, op, ref), op.resultVar, heldWhen);
          split = failedState();
          return taken;
        }
        return acquire(s, op, ref);
      }
      case 'release': {
        record(op, s);
        const ref = locks.get(op)!;
        if (op.sweep) {
          // After a loop that released one instance per iteration: none of the class is held.
          const swept = (h: HeldLock): boolean => h.cls === ref.cls && h.perInstance === true;
          if (!s.held.some(swept)) return s;
          // `cls|*` in `released`: every instance given back by an unwind loop (lock-imbalance reads it).
          const all = instKey(ref.cls, '*');
          return { ...s, held: s.held.filter((h) => !swept(h)), released: s.released.includes(all) ? s.released : [...s.released, all] };
        }
        const lock = { cls: ref.cls, resolved: ref.resolved, inst: ref.inst, param: paramIndex(fn, ref.root), fields: ref.fields };
        // A loop releasing a different instance per iteration (taken in another loop, or handed
        // over by the caller): how many are held is not counted, so a release there is neither a
        // second one nor one of a lock not held (a caller's instance is still a net release).
        if (op.perInstance) return releaseLock(s, lock, op.mode, op.kind, false, op.irqsRestore === true, op);
        const heldHere = findHeld(s.held, ref.cls, ref.inst) >= 0;
        if (!heldHere && s.failed.includes(instKey(ref.cls, ref.inst))) {
          event({ kind: 'releaseAfterFailed', op, lock: ref });
        } else if (!heldHere && !s.calleeReleased.includes(instKey(ref.cls, ref.inst))) {
          const wasReleased = s.released.includes(instKey(ref.cls, ref.inst));
          if (!wasReleased) {
            const ctxs = contexts.get(op) ?? [];
            event({
              kind: 'releaseNotHeld',
              op,
              lock: ref,
              heldOnOtherPath: ctxs.some((c) => c.held.some((h) => h.cls === ref.cls)),
            });
          }
        }
        return releaseLock(s, lock, op.mode, op.kind, false, op.irqsRestore === true, op, ref);
      }
      case 'dropRetake': {
        record(op, s);
        const ref = locks.get(op)!;
        const i = findHeld(s.held, ref.cls, ref.inst);
        if (i < 0) {
          event({ kind: 'retakeNotHeld', op, lock: ref });
          return s;
        }
        const held = s.held.slice();
        held[i] = { ...held[i], mayDrop: true };
        return { ...s, held };
      }
      case 'assert': {
        record(op, s);
        if (op.negated || op.weak) return s;
        const ref = locks.get(op)!;
        const h = s.held.find((x) => x.cls === ref.cls);
        if (!h) event({ kind: 'assertNotHeld', op, lock: ref, mode: op.mode });
        return s;
      }
      case 'call': {
        record(op, s);
        // (The callee's summary, looked up once in the first pass; none: no effect on the state.)
        const sum = effectCalls?.get(op);
        // The call (re)defines its result variable.
        const r = op.resultVar !== undefined && relevant.has(op.resultVar) ? op.resultVar : undefined;
        if (r !== undefined && s.env[r] !== undefined) s = withEnv(s, r, undefined);
        if (!sum) return irqEnableCalls?.has(op) ? irqsTurnedOn(s) : s;
        const t = targets.get(op)!;
        // Acquisitions the callee makes only for one kind of result (`r = vcpu_load(vcpu)`, held
        // when r is zero): held for sure in that state, not at all in the other (left in `split`).
        const heldWhen = r !== undefined ? sum.effects.find((e) => e.heldWhen !== undefined)?.heldWhen : undefined;
        let failed = heldWhen !== undefined ? s : undefined;
        let cur = s;
        for (const eff of sum.effects) {
          const m = mapThroughArgs(env.resolver, fn, op, eff);
          const byResult = heldWhen !== undefined && eff.effect === 'acquire' && eff.heldWhen === heldWhen;
          if (failed && !byResult) failed = applyEffect(s, failed, eff, m, op, t[0], false);
          cur = applyEffect(s, cur, eff, m, op, t[0], byResult);
        }
        if (failed) {
          split = withEnv(irqEnableCalls?.has(op) ? irqsTurnedOn(failed) : failed, r!, heldWhen === 'zero' ? 'nonzero' : 'zero');
          cur = withEnv(cur, r!, heldWhen!);
        }
        return irqEnableCalls?.has(op) ? irqsTurnedOn(cur) : cur;
      }
      case 'sync':
      case 'spte':
        record(op, s);
        return s;
      case 'irqOff':
        // Turning the caller's interrupts (which this function turned on) off again.
        if (s.irqOff === 0 && s.irqBelow > 0) return { ...s, irqBelow: s.irqBelow - 1 };
        return { ...s, irqOff: clampDepth(s.irqOff + 1) };
      case 'irqOn':
        if (s.irqOff === 0) return { ...s, irqBelow: clampDepth(s.irqBelow + 1) };
        return { ...s, irqOff: clampDepth(s.irqOff - 1) };
      case 'preemptOff':
        return { ...s, preemptOff: clampDepth(s.preemptOff + 1) };
      case 'preemptOn':
        return { ...s, preemptOff: clampDepth(s.preemptOff - 1) };
      case 'assign':
        return relevant.has(op.variable) ? withEnv(s, op.variable, op.value) : s;
      default:
        return s;
    }
  };

  const nBlocks = fn.blocks.length;
  // Per block, allocated when first reached: the keys of the states that reached it (few: a
  // list scan) and those states, index for index.
  const seenAt: (string[] | undefined)[] = new Array(nBlocks);
  const statesAtBlock: (FlowState[] | undefined)[] = new Array(nBlocks);
  const joinedAt: (FlowState | undefined)[] = new Array(nBlocks);
  // The work list as two parallel stacks (block, state).
  const workBlocks: number[] = [];
  const workStates: FlowState[] = [];
  const stepBudget = Math.max(256, nBlocks * MAX_STEPS_PER_BLOCK);
  let steps = 0;

  const arrive = (b: number, s: FlowState, from: number): void => {
    if (b < 0 || b >= nBlocks) return;
    if (b === fn.exit) {
      const ret = fn.blocks[from];
      const returns = ret?.returnValue ?? (ret?.returnVar !== undefined && relevant.has(ret.returnVar) ? s.env[ret.returnVar] : undefined);
      const k = returns === undefined ? stateKey(s) : `${stateKey(s)}=${returns}`;
      if (!exitKeys.has(k) && exits.length < MAX_STATES * 4) {
        exitKeys.add(k);
        const exit: ExitState = { state: s, range: ret?.returnRange ?? { start: fn.range.end, end: fn.range.end } };
        if (returns !== undefined) exit.returns = returns;
        exits.push(exit);
      }
      return;
    }
    const j = joinedAt[b];
    if (j) {
      const nj = joinStates(j, s);
      if (stateKey(nj) === stateKey(j)) return;
      joinedAt[b] = nj;
      workBlocks.push(b);
      workStates.push(nj);
      return;
    }
    const k = stateKey(s);
    let seen = seenAt[b];
    let statesAt = statesAtBlock[b];
    if (!seen || !statesAt) {
      seenAt[b] = seen = [];
      statesAtBlock[b] = statesAt = [];
    }
    if (seen.includes(k)) return;
    if (seen.length >= MAX_STATES && seen.length < MAX_STATES * 4) {
      // Over the bound: first forget the flags that tell apart states with the same locks.
      const lk = lockPartKey(s);
      for (let i = statesAt.length - 1; i >= 0; i--) {
        const peer = statesAt[i];
        if (lockPartKey(peer) !== lk) continue;
        const merged: FlowState = { ...s, env: intersectEnv(peer.env, s.env) };
        const mk = stateKey(merged);
        if (seen.includes(mk)) return;
        seen.push(mk);
        statesAt.push(merged);
        workBlocks.push(b);
        workStates.push(merged);
        return;
      }
    }
    if (seen.length >= MAX_STATES) {
      truncated = true;
      let acc = s;
      for (const x of statesAt) acc = joinStates(acc, x);
      joinedAt[b] = acc;
      workBlocks.push(b);
      workStates.push(acc);
      return;
    }
    seen.push(k);
    statesAt.push(s);
    workBlocks.push(b);
    workStates.push(s);
  };

  const initial = initialState();
  if (fn.entry === fn.exit) {
    exits.push({ state: initial, range: { start: fn.range.end, end: fn.range.end } });
  } else {
    arrive(fn.entry, initial, fn.entry);
  }

  const leave = (b: number, s: FlowState, succ: Block['succ']): void => {
    for (const e of succ) {
      if (e.cond && relevant.has(e.cond.variable)) {
        const v = s.env[e.cond.variable];
        if (v !== undefined && v !== e.cond.value) continue;
        arrive(e.to, v === undefined ? withEnv(s, e.cond.variable, e.cond.value) : s, b);
      } else {
        arrive(e.to, s, b);
      }
    }
  };
  while (workBlocks.length) {
    if (++steps > stepBudget) {
      truncated = true;
      break;
    }
    const b = workBlocks.pop()!;
    const s0 = workStates.pop()!;
    const block = fn.blocks[b];
    // One state through the block until a conditional acquire splits it (then a list, in the
    // order [taken, failed] per state).
    let one = s0;
    let many: FlowState[] | undefined;
    for (const op of block.ops) {
      if (!many) {
        one = step(one, op);
        if (split) {
          many = [one, split];
          split = undefined;
        }
      } else {
        const next: FlowState[] = [];
        for (const s of many) {
          next.push(step(s, op));
          if (split) {
            next.push(split);
            split = undefined;
          }
        }
        many = next;
      }
    }
    if (!many) leave(b, one, block.succ);
    else for (const s of many) leave(b, s, block.succ);
  }

  return { fn, contexts, locks, targets, exits, events, truncated, handlerContexts, detachedHandlers };
}

/**
 * Small helpers shared by the SRCU, sleep, requirement and notifier checks: the call graph seen
 * from the callee side, which call targets an op has, where an op sits in its CFG, whether an op
 * runs on every path of its function, and which locks a function has certainly released before
 * an op (so that a callee which drops its caller's lock first is not blamed for what follows).
 */
import type { WorkspaceIndex } from '../analysis/index';
import { mapThroughArgs } from '../analysis/dataflow';
import { archOfFile } from '../analysis/orders';
import type { ChainStep, FunctionFlow, OpContext } from '../analysis/types';
import type { CallOp, FunctionFacts, Op, Range } from '../frontend/facts';
import type { CheckContext } from './check';
import { idOf } from './derived';

export const MAX_CHAIN = 32;

function memo<K extends object, V>(cache: WeakMap<K, V>, key: K, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    cache.set(key, v);
  }
  return v;
}

export { where } from './places';

export function step(fn: FunctionFacts, range: Range, what: string): ChainStep {
  return { file: fn.file, range, function: fn.name, what };
}

/** The names a call op may reach: resolved definitions, else the callee's own name (kernel functions). */
export function calleeNames(flow: FunctionFlow, op: CallOp): string[] {
  const t = flow.targets.get(op) ?? [];
  if (t.length) return t;
  return op.indirect ? [] : [op.callee];
}

const calleeListCache = new WeakMap<FunctionFlow['contexts'], string[]>();
/**
 * Every name the flow's calls may reach (calleeNames of each call op, and the functions it hands
 * to the kernel to run apart, FunctionFlow.detachedHandlers; no duplicates, not itself), cached
 * per flow content: copies of a flow (keptFlows.ts, copyFlow) share its maps.
 */
export function calleeList(flow: FunctionFlow): string[] {
  return memo(calleeListCache, flow.contexts, () => {
    const s = new Set<string>();
    for (const op of flow.contexts.keys()) if (op.k === 'call') for (const n of calleeNames(flow, op)) if (n !== flow.fn.name) s.add(n);
    if (flow.detachedHandlers) for (const h of flow.detachedHandlers.values()) if (h !== flow.fn.name) s.add(h);
    return [...s];
  });
}

const targetListCache = new WeakMap<FunctionFlow, string[]>();
/** Resolved call targets of a flow (no duplicates, not itself), cached per flow. */
function targetList(flow: FunctionFlow): string[] {
  return memo(targetListCache, flow, () => {
    const s = new Set<string>();
    for (const targets of flow.targets.values()) for (const t of targets) if (t !== flow.fn.name) s.add(t);
    return [...s];
  });
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const flowByName = new WeakMap<CheckContext, ReadonlyMap<string, FunctionFlow>>();
/** The flow of the chosen definition of each name. */
export function chosenFlows(ctx: CheckContext): ReadonlyMap<string, FunctionFlow> {
  if (ctx.chosen) return ctx.chosen;
  return memo(flowByName, ctx, () => {
    const m = new Map<string, FunctionFlow>();
    for (const f of ctx.flows) if (ctx.index.functions.get(f.fn.name) === f.fn) m.set(f.fn.name, f);
    return m;
  });
}

const callerCache = new WeakMap<CheckContext, Map<string, Set<string>>>();

/** The callers map of the previous analysis with the chosen flows it was built from (kept in ctx.store). */
interface CallerIndex {
  flows: Map<string, FunctionFlow>;
  callers: Map<string, Set<string>>;
  /** The solve (ctx.chosenChanges) `flows` was last brought up to date with. */
  source?: object;
  generation?: number;
  /**
   * The names whose chosen flow changed or whose callers went from none to some (or back) in
   * the last update; null when it was not an update from the previous analysis.
   */
  changed?: Set<string> | null;
}

/**
 * callee name -> names of the (chosen) functions that call it, recursion excluded. With the
 * engine's store it is updated from the previous analysis (only functions whose flow changed
 * are looked at), else built from scratch.
 */
export function callersOf(ctx: CheckContext): Map<string, Set<string>> {
  return memo(callerCache, ctx, () => {
    const chosen = chosenFlows(ctx);
    let idx = ctx.store?.get('lockSupport:callers') as CallerIndex | undefined;
    if (!idx) {
      idx = { flows: new Map(), callers: new Map() };
      ctx.store?.set('lockSupport:callers', idx);
    }
    const { flows, callers } = idx;
    const flipped = new Set<string>();
    const add = (name: string, flow: FunctionFlow): void => {
      flows.set(name, flow);
      for (const t of targetList(flow)) {
        let s = callers.get(t);
        if (!s) {
          callers.set(t, (s = new Set()));
          flipped.add(t);
        }
        s.add(name);
      }
    };
    // When the previous analysis brought the index up to date, only the names whose chosen
    // flow changed since can differ; else every name is compared.
    const cc = ctx.chosenChanges;
    const incremental = !!cc && ctx.chosen === chosen && idx.source === cc.source && idx.generation === cc.generation - 1;
    idx.source = cc?.source;
    idx.generation = cc?.generation;
    const replaced: string[] = [];
    for (const name of incremental ? cc.names : [...flows.keys()]) {
      const flow = flows.get(name);
      if (!flow) continue;
      const now = chosen.get(name);
      if (now === flow) continue;
      // A flow that calls the same names (a copied or re-analysed body, mostly) changes no caller set.
      if (now && sameNames(targetList(flow), targetList(now))) {
        flows.set(name, now);
        continue;
      }
      flows.delete(name);
      replaced.push(name);
      for (const t of targetList(flow)) {
        const s = callers.get(t);
        if (!s) continue;
        s.delete(name);
        if (s.size === 0) {
          callers.delete(t);
          flipped.add(t);
        }
      }
    }
    for (const name of replaced) {
      const flow = chosen.get(name);
      if (flow) add(name, flow);
    }
    // New names (all of them on the first analysis): only then is every chosen flow looked at.
    if (incremental) {
      for (const name of cc.names) {
        const flow = chosen.get(name);
        if (flow && !flows.has(name)) add(name, flow);
      }
    } else if (flows.size !== chosen.size) for (const [name, flow] of chosen) if (!flows.has(name)) add(name, flow);
    if (incremental) for (const n of cc.names) flipped.add(n);
    idx.changed = incremental ? flipped : null;
    return callers;
  });
}

/**
 * Names whose chosen flow, or whether they have callers, may differ from the previous analysis
 * (null: anything may): what a `judged` key built from chosenFlows, hasCallers, notCompiledHere
 * and the function itself depends on.
 */
export function chosenOrCallersChanged(ctx: CheckContext): ReadonlySet<string> | null {
  callersOf(ctx);
  if (shadowedChanged(ctx) || macroCalledChanged(ctx)) return null;
  return (ctx.store?.get('lockSupport:callers') as CallerIndex | undefined)?.changed ?? null;
}

const macroFieldCache = new WeakMap<WorkspaceIndex['macroCalled'], Set<string>>();
/** Functions bound to a field that a `#define` body calls (`ctxt->ops->read_phys(...)` in GET_SMSTATE). */
function boundToMacroCalledField(index: WorkspaceIndex): Set<string> {
  let s = macroFieldCache.get(index.macroCalled);
  if (!s) {
    s = new Set<string>();
    for (const field of index.macroCalled) for (const set of index.bindings.get(field)?.values() ?? []) for (const f of set) s.add(f);
    macroFieldCache.set(index.macroCalled, s);
  }
  return s;
}

const macroCalledChangedCache = new WeakMap<CheckContext, { changed: boolean }>();
/** Do the names called in `#define` bodies differ from the previous analysis's (calledFromOutside reads them)? */
function macroCalledChanged(ctx: CheckContext): boolean {
  return memo(macroCalledChangedCache, ctx, () => {
    const cur = { macro: ctx.index.macroCalled, exported: ctx.index.exported, bindings: ctx.index.bindings };
    const prev = ctx.store?.get('lockSupport:macroCalled') as typeof cur | undefined;
    ctx.store?.set('lockSupport:macroCalled', cur);
    const same = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a === b || (a.size === b.size && [...a].every((n) => b.has(n)));
    // A binding that came or went changes boundToMacroCalledField (a fresh index, so a new map).
    return { changed: !prev || !same(prev.macro, cur.macro) || !same(prev.exported, cur.exported) || (prev.bindings !== cur.bindings && cur.macro.size > 0) };
  }).changed;
}

const shadowedChangedCache = new WeakMap<CheckContext, { changed: boolean }>();
/** Do the shadowed callees differ from the previous analysis's (once per analysis: it records them)? */
function shadowedChanged(ctx: CheckContext): boolean {
  return memo(shadowedChangedCache, ctx, () => {
    const shadowed = shadowedCallees(ctx);
    const prev = ctx.store?.get('lockSupport:shadowed') as Map<string, Set<string>> | undefined;
    ctx.store?.set('lockSupport:shadowed', shadowed);
    return { changed: !prev || !sameShadowed(prev, shadowed) };
  }).changed;
}

function sameShadowed(a: ReadonlyMap<string, ReadonlySet<string>>, b: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, files] of a) {
    const other = b.get(k);
    if (!other || other.size !== files.size) return false;
    for (const f of files) if (!other.has(f)) return false;
  }
  return true;
}

const shadowedCache = new WeakMap<CheckContext, Map<string, Set<string>>>();
/**
 * Names called directly by definitions this configuration does not choose (another definition
 * of the same name is compiled instead), with the files of those definitions.
 */
function shadowedCallees(ctx: CheckContext): Map<string, Set<string>> {
  return memo(shadowedCache, ctx, () => {
    const out = new Map<string, Set<string>>();
    const index = ctx.index;
    for (const name of index.multiDefined ?? []) {
      const chosen = index.functions.get(name);
      for (const def of index.allFunctions.get(name) ?? []) {
        if (def === chosen) continue;
        for (const b of def.blocks) {
          for (const op of b.ops) {
            if (op.k !== 'call' || op.indirect || op.callee === name || !index.functions.has(op.callee)) continue;
            let files = out.get(op.callee);
            if (!files) out.set(op.callee, (files = new Set()));
            files.add(def.file);
          }
        }
      }
    }
    return out;
  });
}

/**
 * A static function that only definitions this configuration does not choose call is not
 * compiled here either: the `#ifdef` alternative of an architecture-specific definition (the
 * generic kvm_vm_ioctl_get_dirty_log and its static helper kvm_get_dirty_log_protect, where
 * s390 and powerpc define their own). Such a function is not an entry point to judge.
 */
export function notCompiledHere(ctx: CheckContext, fn: FunctionFacts): boolean {
  if (!fn.isStatic || hasCallers(ctx, fn.name)) return false;
  return shadowedCallees(ctx).get(fn.name)?.has(fn.file) ?? false;
}

export function hasCallers(ctx: CheckContext, name: string): boolean {
  return (callersOf(ctx).get(name)?.size ?? 0) > 0;
}

/**
 * A function whose callers cannot all be seen, so whose context is unknown: it has no caller in
 * the workspace, but it is called in a `#define` body (`tdp_mmu_next_root` in the
 * `for_each_tdp_mmu_root_yield_safe` iterator), or it is a non-static function of the
 * architecture-independent code (virt/kvm), which every architecture's code calls
 * (kvm_get_dirty_log is called by powerpc and s390 only).
 */
const inVirtKvm = new Map<string, boolean>();
export function calledFromOutside(fn: FunctionFacts, index: WorkspaceIndex): boolean {
  // Called in a `#define` body (by name, or through a field it is bound to): the macro's users
  // call it, and macros are not expanded here. Exported: other modules may call it.
  if (index.macroCalled.has(fn.name) || index.exported.has(fn.name) || boundToMacroCalledField(index).has(fn.name)) return true;
  if (fn.isStatic) return false;
  // Asked for every function on every analysis: the path test is kept per file.
  let v = inVirtKvm.get(fn.file);
  if (v === undefined) {
    if (inVirtKvm.size > 100_000) inVirtKvm.clear();
    inVirtKvm.set(fn.file, (v = /(^|[\\/])virt[\\/]kvm[\\/]/.test(fn.file)));
  }
  return v;
}

const boundCache = new WeakMap<CheckContext, Set<string>>();
/** Functions stored in a struct field somewhere (ops tables, descriptors): they have callers we may not see. */
export function boundFunctions(ctx: CheckContext): Set<string> {
  return memo(boundCache, ctx, () => {
    const s = new Set<string>();
    for (const byType of ctx.index.bindings.values()) for (const set of byType.values()) for (const f of set) s.add(f);
    return s;
  });
}

/** Does a rule of architecture `arch` apply to `file` (a file outside arch/ gets every rule)? */
export function archApplies(arch: string, file: string): boolean {
  const a = (arch || 'any').toLowerCase();
  const f = archOfFile(file);
  return f === undefined || a === 'any' || a.startsWith('any') || a === f;
}

/** A document lock name as a class key (null when the name does not resolve). */
export function classOfName(ctx: CheckContext, name: string): string | null {
  return ctx.names.classOf.get(name) ?? ctx.resolver.docNameToClass(name);
}

const blockCache = new WeakMap<FunctionFacts, Map<Op, number>>();
export function blockOf(fn: FunctionFacts, op: Op): number {
  const m = memo(blockCache, fn, () => {
    const map = new Map<Op, number>();
    fn.blocks.forEach((b, i) => b.ops.forEach((o) => map.set(o, i)));
    return map;
  });
  return m.get(op) ?? -1;
}

/** Marks (with `stamp`) the blocks reachable from `from` without passing through `avoid`. */
function markReachable(fn: FunctionFacts, from: readonly number[], avoid: number, marks: Uint32Array, stamp: number, stack: number[]): void {
  const n = fn.blocks.length;
  stack.length = 0;
  for (const b of from) if (b !== avoid) stack.push(b);
  while (stack.length) {
    const b = stack.pop()!;
    if (b === avoid || b < 0 || b >= n || marks[b] === stamp) continue;
    marks[b] = stamp;
    for (const e of fn.blocks[b].succ) stack.push(e.to);
  }
}

interface UncondMemo {
  results: Map<number, boolean>;
  bypass: Uint32Array;
  after: Uint32Array;
  stamp: number;
  stack: number[];
}

const uncondCache = new WeakMap<FunctionFacts, UncondMemo>();
/**
 * Does the op's block run on every path that does the function's work? False when paths that
 * skip the block join the code after it again (`if (cond) lockdep_assert_held(...); ...`); an
 * early `return` before the block does not make it conditional (only the exit is shared).
 */
export function isUnconditional(fn: FunctionFacts, op: Op): boolean {
  const b = blockOf(fn, op);
  if (b < 0) return false;
  const n = fn.blocks.length;
  const m = memo(uncondCache, fn, () => ({ results: new Map<number, boolean>(), bypass: new Uint32Array(n), after: new Uint32Array(n), stamp: 0, stack: [] }));
  const cached = m.results.get(b);
  if (cached !== undefined) return cached;
  const stamp = ++m.stamp;
  markReachable(fn, [fn.entry], b, m.bypass, stamp, m.stack);
  const succ = fn.blocks[b].succ;
  const from = new Array<number>(succ.length);
  for (let i = 0; i < succ.length; i++) from[i] = succ[i].to;
  markReachable(fn, from, -1, m.after, stamp, m.stack);
  let ok = true;
  for (let x = 0; x < n; x++) {
    if (m.after[x] === stamp && m.bypass[x] === stamp && x !== fn.exit) {
      ok = false;
      break;
    }
  }
  m.results.set(b, ok);
  return ok;
}

/** Lock classes a call's callee releases on every path (its net `release` effects), mapped onto the caller. */
export function calleeReleases(ctx: CheckContext, flow: FunctionFlow, op: CallOp): string[] {
  const t = flow.targets.get(op) ?? [];
  if (op.indirect || t.length !== 1) return [];
  const sum = ctx.summaryOf(t[0]);
  if (!sum) return [];
  const out: string[] = [];
  for (const e of sum.effects) {
    if (e.effect !== 'release' || e.conditional) continue;
    out.push(mapThroughArgs(ctx.resolver, flow.fn, op, e).cls);
  }
  return out;
}

const releasedCache = new WeakMap<FunctionFlow, Map<Op, ReadonlySet<string>>>();
/**
 * The must-analysis of the releases: per block, the classes released on every path from the
 * entry to it (null: not reached), given a block's transfer. Bounded like the dataflow.
 */
function mustReleasedAtEntry(fn: FunctionFacts, transfer: (b: number, s: Set<string>) => Set<string>): (Set<string> | null)[] {
  const n = fn.blocks.length;
  const ins: (Set<string> | null)[] = new Array(n).fill(null);
  ins[fn.entry] = new Set();
  const work = [fn.entry];
  let budget = n * 16 + 64;
  while (work.length && budget-- > 0) {
    const b = work.pop()!;
    const o = transfer(b, ins[b]!);
    for (const e of fn.blocks[b].succ) {
      if (e.to < 0 || e.to >= n) continue;
      const prev = ins[e.to];
      if (!prev) {
        ins[e.to] = new Set(o);
        work.push(e.to);
        continue;
      }
      let kept = 0;
      for (const c of prev) if (o.has(c)) kept++;
      if (kept !== prev.size) {
        const meet = new Set<string>();
        for (const c of prev) if (o.has(c)) meet.add(c);
        ins[e.to] = meet;
        work.push(e.to);
      }
    }
  }
  return ins;
}

/**
 * For each op: the lock classes released (by a release op or a callee's net release) on every
 * path from the function's entry to it. A must-analysis (intersection at joins).
 */
export function releasedBefore(ctx: CheckContext, flow: FunctionFlow): Map<Op, ReadonlySet<string>> {
  return memo(releasedCache, flow, () => {
    const fn = flow.fn;
    const n = fn.blocks.length;
    const out = new Map<Op, ReadonlySet<string>>();
    const transfer = (b: number, s: Set<string>, record: boolean): Set<string> => {
      let cur = s;
      for (const op of fn.blocks[b].ops) {
        if (record) out.set(op, cur);
        if (op.k === 'release') {
          const c = flow.locks.get(op)?.cls ?? '';
          if (c && !cur.has(c)) {
            cur = new Set(cur);
            cur.add(c);
          }
        } else if (op.k === 'call') {
          let copied = false;
          for (const c of calleeReleases(ctx, flow, op)) {
            if (!c || cur.has(c)) continue;
            if (!copied) {
              cur = new Set(cur);
              copied = true;
            }
            cur.add(c);
          }
        }
      }
      return cur;
    };
    if (fn.entry < 0 || fn.entry >= n) return out;
    const ins = mustReleasedAtEntry(fn, (b, set) => transfer(b, set, false));
    for (let b = 0; b < n; b++) if (ins[b]) transfer(b, ins[b]!, true);
    return out;
  });
}

const NOTHING_RELEASED: ReadonlySet<string> = new Set();
const nothingReleased = (): ReadonlySet<string> => NOTHING_RELEASED;
const releasedOpCache = new WeakMap<FunctionFlow, (op: Op) => ReadonlySet<string>>();
/**
 * What `releasedBefore(ctx, flow).get(op) ?? <empty>` gives, for the few ops asked about: the
 * releases of each block are found once (callee summaries read once per call, not on every pass
 * of the fixpoint), the fixpoint runs over blocks, and an op's set is made when asked for. A
 * function that releases nothing (most) needs no fixpoint at all.
 */
export function releasedBeforeOp(ctx: CheckContext, flow: FunctionFlow): (op: Op) => ReadonlySet<string> {
  let v = releasedOpCache.get(flow);
  if (!v) releasedOpCache.set(flow, (v = releasedLookup(ctx, flow)));
  return v;
}

/**
 * Made outside any closure over `ctx`: the lookup is kept as long as its flow lives, and must not
 * hold on to the analysis (all its flows and summaries) it was made in.
 */
function releasedLookup(ctx: CheckContext, flow: FunctionFlow): (op: Op) => ReadonlySet<string> {
  {
    const fn = flow.fn;
    const n = fn.blocks.length;
    if (fn.entry < 0 || fn.entry >= n) return nothingReleased;
    // Per block: its releasing ops and what each releases (in op order), and the union.
    let ops: (Op[] | undefined)[] | undefined;
    let classes: (string[][] | undefined)[] | undefined;
    let gen: (string[] | undefined)[] | undefined;
    for (let b = 0; b < n; b++) {
      for (const op of fn.blocks[b].ops) {
        let rel: string[] | undefined;
        if (op.k === 'release') {
          const c = flow.locks.get(op)?.cls ?? '';
          if (c) rel = [c];
        } else if (op.k === 'call') {
          for (const c of calleeReleases(ctx, flow, op)) if (c) (rel ??= []).push(c);
        }
        if (!rel) continue;
        ops ??= new Array(n);
        classes ??= new Array(n);
        gen ??= new Array(n);
        (ops[b] ??= []).push(op);
        (classes[b] ??= []).push(rel);
        const g = (gen[b] ??= []);
        for (const c of rel) if (!g.includes(c)) g.push(c);
      }
    }
    if (!gen) return nothingReleased;
    const gens = gen;
    // The fixpoint of releasedBefore, with a block's effect as its union.
    const transfer = (b: number, s: Set<string>): Set<string> => {
      const g = gens[b];
      if (!g) return s;
      let cur = s;
      for (const c of g) {
        if (cur.has(c)) continue;
        if (cur === s) cur = new Set(s);
        cur.add(c);
      }
      return cur;
    };
    const ins = mustReleasedAtEntry(fn, transfer);
    const relOps = ops!;
    const relClasses = classes!;
    return (op: Op): ReadonlySet<string> => {
      const b = blockOf(fn, op);
      const start = b >= 0 ? ins[b] : null;
      if (!start) return NOTHING_RELEASED;
      const bops = relOps[b];
      if (!bops) return start;
      let cur = start;
      let j = 0;
      for (const o of fn.blocks[b].ops) {
        if (o === op) break;
        if (o !== bops[j]) continue;
        for (const c of relClasses[b]![j]) {
          if (cur.has(c)) continue;
          if (cur === start) cur = new Set(start);
          cur.add(c);
        }
        j++;
      }
      return cur;
    };
  }
}

/** Is class `cls` held in context `c` (any mode)? */
export function holds(c: OpContext, cls: string): boolean {
  return c.held.some((h) => h.cls === cls);
}

/** The op's contexts (empty when the op was never reached). */
export function contextsOf(flow: FunctionFlow, op: Op): OpContext[] {
  return flow.contexts.get(op) ?? [];
}

const guardCache = new WeakMap<FunctionFacts, Set<number>>();
/**
 * Blocks reached only for one value of a parameter used as a condition (`if (atomic) return;`
 * before a sleep, `if (can_block) mutex_lock()`): what happens there depends on the caller's
 * argument, which the call sites do not show, so callers are given the benefit of the doubt.
 */
export function paramGuardedBlocks(fn: FunctionFacts): Set<number> {
  return memo(guardCache, fn, () => {
    const out = new Set<number>();
    const params = new Set(fn.params.map((p) => p.name));
    const condVars = new Set<string>();
    const assigned = new Set<string>();
    for (const b of fn.blocks) {
      for (const e of b.succ) if (e.cond && params.has(e.cond.variable)) condVars.add(e.cond.variable);
      for (const o of b.ops) if (o.k === 'assign') assigned.add(o.variable);
    }
    for (const v of condVars) {
      if (assigned.has(v)) continue;
      for (const blocked of ['zero', 'nonzero'] as const) {
        const seen = new Set<number>();
        const stack = [fn.entry];
        while (stack.length) {
          const b = stack.pop()!;
          if (seen.has(b) || b < 0 || b >= fn.blocks.length) continue;
          seen.add(b);
          for (const e of fn.blocks[b].succ) if (!(e.cond && e.cond.variable === v && e.cond.value === blocked)) stack.push(e.to);
        }
        for (let b = 0; b < fn.blocks.length; b++) if (!seen.has(b) && fn.blocks[b].ops.length) out.add(b);
      }
    }
    return out;
  });
}

/** A witness chain shared between callers: this step, then the callee's chain (built without copying). */
export interface Link {
  step: ChainStep;
  next?: Link;
  length: number;
}

export function link(s: ChainStep, next?: Link): Link {
  return { step: s, next, length: (next?.length ?? 0) + 1 };
}

export function chainOf(l: Link): ChainStep[] {
  const out: ChainStep[] = [];
  for (let c: Link | undefined = l; c && out.length < MAX_CHAIN; c = c.next) out.push(c.step);
  return out;
}

export function lastStep(l: Link): ChainStep {
  let c = l;
  while (c.next) c = c.next;
  return c.step;
}

const linkSigCache = new WeakMap<Link, string>();
/**
 * The same text as derived.ts's chainSig, cached per link: chains share their tails between
 * callers, so each link's text is built once (as a rope over its tail's).
 */
export function linkSig(l: Link | undefined): string {
  if (!l) return '';
  const cached = linkSigCache.get(l);
  if (cached !== undefined) return cached;
  const pending: Link[] = [];
  let tail = '';
  for (let c: Link | undefined = l; c; c = c.next) {
    const k = linkSigCache.get(c);
    if (k !== undefined) {
      tail = k;
      break;
    }
    pending.push(c);
  }
  for (let i = pending.length - 1; i >= 0; i--) {
    const c = pending[i];
    tail = `${c.step.file}@${idOf(c.step.range)}:${c.step.what}>` + tail;
    linkSigCache.set(c, tail);
  }
  return tail;
}

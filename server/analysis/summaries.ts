/**
 * Inter-procedural summaries, solved to a fixpoint over the call graph in SCC order (Tarjan,
 * callees first), recursion included, with bounded iterations per SCC.
 *
 * A summary says what callers need: the locks a function may take (each with the shortest
 * witness chain), the locks it needs on entry, its net effect (returns holding X, releases the
 * caller's X, drops and retakes X), whether it may sleep and which SRCU domains it may
 * synchronize. The solver is incremental: only dirty functions are re-analysed, and a caller
 * becomes dirty only when a callee's summary signature changes.
 */
import { KERNEL_IMPLICIT_LOCKS, KERNEL_SLEEPING_CALLS, LAST_REFERENCE_DESTRUCTORS, LAZY_INITIALIZERS, IRQ_ENABLING_FUNCTIONS } from '../../model/kvmTypes';
import type { CallOp, FlagValue, FunctionFacts, LockKind, Range } from '../frontend/facts';
import type { ClassResolver } from './classes';
import { analyzeFunction, functionArgument, lockRefOf, mapThroughArgs, type CallPlan, type FlowEnv } from './dataflow';
import { resolveIndirect, type PathTyper, type WorkspaceIndex } from './index';
import { copyFlow } from './keptFlows';
import { flowSignatureOf, signatureOf } from './signatures';
import type { ChainStep, ExitState, FieldCall, FunctionFlow, NetEffect, OpContext, Requirement, Summary, TakeInfo, Witness } from './types';
import { callStepText } from './chains';

const MAX_SCC_ITERATIONS = 6;
const MAX_CHAIN = 32;

const NO_CLASSES: string[] = [];

const SLEEPING_KINDS: ReadonlySet<LockKind> = new Set<LockKind>(['mutex', 'rwsem']);

function step(fn: FunctionFacts, range: Range, what: string): ChainStep {
  return { file: fn.file, range, function: fn.name, what };
}

/** Synthetic summaries of kernel functions outside the workspace that take locks or sleep. */
const externalCache = new Map<string, Summary | null>();
export function externalSummary(name: string): Summary | undefined {
  const cached = externalCache.get(name);
  if (cached !== undefined) return cached ?? undefined;
  const imp = KERNEL_IMPLICIT_LOCKS[name];
  const sleeps = KERNEL_SLEEPING_CALLS.has(name);
  let sum: Summary | null = null;
  if (imp || sleeps) {
    const takes = new Map<string, TakeInfo>();
    if (imp) takes.set(imp.lock, { cls: imp.lock, resolved: true, kind: imp.kind as LockKind, mode: imp.mode, depth: 0, fields: [] });
    sum = { name, takes, requires: [], effects: [], maySleep: { depth: 0 }, syncs: new Map() };
  }
  externalCache.set(name, sum);
  return sum ?? undefined;
}

/** Contexts of a function's calls through one parameter kept in its summary (the dataflow bounds them too). */
const MAX_PARAM_CONTEXTS = 8;

/**
 * The parameters of `fn` that the call `op` passes as it is (a bare name) in a position its
 * single target calls as a function pointer, with that target's contexts at its calls; and those
 * `fn` stores in a field of a local struct it passes where the target calls that field
 * (`kvm_handle_hva_range` puts `handler` in `range.handler` for `__kvm_handle_hva_range(kvm, &range)`).
 * `passedOn` gets the struct parameters passed on as they are to a target that calls their fields.
 */
function forwardedParams(
  fn: FunctionFacts,
  op: CallOp,
  targets: readonly string[] | undefined,
  summaryOf: (name: string) => Summary | undefined,
  found: (param: number, contexts: readonly OpContext[] | undefined) => void,
  passedOn: (param: number, call: FieldCall) => void,
): void {
  if (!targets || targets.length !== 1 || targets[0] === fn.name) return;
  const sum = summaryOf(targets[0]);
  if (!sum || (!sum.paramCalls && !sum.fieldCalls)) return;
  const bareVar = (i: number): string | undefined => {
    const a = op.args[i];
    return a && a.fields.length === 0 && a.base.kind === 'var' ? a.base.name : undefined;
  };
  const paramIndex = (name: string | undefined): number => (name === undefined ? -1 : fn.params.findIndex((p) => p.name === name));
  const pc = sum.paramCalls;
  if (pc) for (let j = 0; j < pc.length; j++) {
    const k = paramIndex(bareVar(pc[j]));
    if (k >= 0) found(k, sum.paramContexts?.[j]);
  }
  for (const fc of sum.fieldCalls ?? []) {
    const v = bareVar(fc.param);
    if (v === undefined) continue;
    const stored = fn.paramFields?.find((f) => f.variable === v && f.field === fc.field);
    if (stored) {
      const k = paramIndex(stored.param);
      if (k >= 0) found(k, fc.contexts);
      continue;
    }
    const k = paramIndex(v);
    if (k >= 0) passedOn(k, fc);
  }
}

/** A callee's lock on its parameter's object, seen from the caller: on the caller's parameter passed there, if one is. */
function selfThrough(fn: FunctionFacts, op: CallOp, self: NonNullable<TakeInfo['self']>): TakeInfo['self'] {
  const arg = op.args[self.param];
  if (!arg || arg.base.kind !== 'var' || arg.alias) return undefined;
  const name = arg.base.name;
  const q = fn.params.findIndex((p) => p.name === name);
  return q >= 0 ? { param: q, fields: arg.fields.length ? [...arg.fields, ...self.fields] : self.fields } : undefined;
}

/** Our context at a call, then the callee's at its call through the parameter: both hold. */
function combineContexts(outer: OpContext, inner: OpContext): OpContext {
  if (inner.held.length === 0 && inner.irqOff === 0 && inner.preemptOff === 0) return outer;
  return {
    held: outer.held.length === 0 ? inner.held : [...outer.held, ...inner.held],
    callerReleased: outer.callerReleased,
    irqOff: outer.irqOff + inner.irqOff,
    preemptOff: outer.preemptOff + inner.preemptOff,
  };
}

/** Does a context say anything a handler called in it must know: a lock held, interrupts or preemption off? */
function constrains(c: OpContext): boolean {
  return c.held.length > 0 || c.irqOff > 0 || c.preemptOff > 0;
}

function nonEmpty(a: string[]): string[] | undefined {
  return a.length ? a : undefined;
}

/** Builds the summary of one function from its flow and its callees' summaries. */
export function summarize(flow: FunctionFlow, resolver: ClassResolver, summaryOf: (name: string) => Summary | undefined): Summary {
  const fn = flow.fn;
  const takes = new Map<string, TakeInfo>();
  const addTake = (key: string, t: TakeInfo): void => {
    const prev = takes.get(key);
    if (!prev) takes.set(key, t);
    else if (t.depth < prev.depth || (prev.trylock && !t.trylock)) takes.set(key, { ...t, trylock: t.trylock && prev.trylock });
  };
  let maySleep: Witness | undefined;
  const setSleep = (w: Witness): void => {
    if (!maySleep || w.depth < maySleep.depth) maySleep = w;
  };
  const syncs = new Map<string, Witness>();
  const addSync = (cls: string, w: Witness): void => {
    const prev = syncs.get(cls);
    if (!prev || w.depth < prev.depth) syncs.set(cls, w);
  };
  const requires: Requirement[] = [];
  let reqKeys: Set<string> | undefined;
  const addReq = (r: Requirement): void => {
    const k = `${r.cls}|${r.mode}`;
    if (reqKeys?.has(k)) return;
    (reqKeys ??= new Set()).add(k);
    requires.push(r);
  };
  const paramOf = (root: string | undefined): number | undefined => {
    if (root === undefined) return undefined;
    const i = fn.params.findIndex((p) => p.name === root);
    return i >= 0 ? i : undefined;
  };

  for (const a of fn.annotations) {
    if (a.kind !== 'must_hold') continue;
    const ref = lockRefOf(resolver, a.lock);
    addReq({ cls: ref.cls, resolved: ref.resolved, mode: 'any', how: 'annotation', file: fn.file, range: fn.nameRange, param: paramOf(ref.root), fields: ref.fields });
  }

  /** Classes released from our caller on every path reaching `ctxs`. */
  const alwaysReleased = (ctxs: readonly { callerReleased: readonly string[] }[]): string[] => {
    // (Read, never kept when empty: the shared empty list serves.)
    if (ctxs.length === 0 || ctxs[0].callerReleased.length === 0) return NO_CLASSES;
    return ctxs[0].callerReleased.filter((c) => ctxs.every((x) => x.callerReleased.includes(c)));
  };

  const paramCalls: number[] = [];
  /** Aligned with paramCalls: the contexts of the calls through that parameter. */
  const paramContexts: OpContext[][] = [];
  const paramCallAt = (k: number): OpContext[] => {
    let i = paramCalls.indexOf(k);
    if (i < 0) {
      i = paramCalls.length;
      paramCalls.push(k);
      paramContexts.push([]);
    }
    return paramContexts[i];
  };
  const fieldCalls: { param: number; field: string; contexts: OpContext[] }[] = [];
  const fieldCallAt = (param: number, field: string): OpContext[] => {
    let f = fieldCalls.find((x) => x.param === param && x.field === field);
    if (!f) fieldCalls.push((f = { param, field, contexts: [] }));
    return f.contexts;
  };
  const addContexts = (list: OpContext[], outer: readonly OpContext[], inner: readonly OpContext[] | undefined): void => {
    for (const c of outer) {
      for (const d of inner ?? [undefined]) {
        if (list.length >= MAX_PARAM_CONTEXTS) return;
        const combined = d ? combineContexts(c, d) : c;
        if (!list.includes(combined)) list.push(combined);
      }
    }
  };
  for (const [op, opCtxs] of flow.contexts) {
    if (op.k === 'call' && op.indirect?.objParam !== undefined) {
      const k = paramOf(op.indirect.objParam);
      if (k !== undefined) addContexts(fieldCallAt(k, op.indirect.field), opCtxs, undefined);
    }
    if (op.k === 'call' && !op.indirect?.table) {
      const params = fn.params;
      for (let k = 0; k < params.length; k++) {
        if (params[k].name !== op.callee) continue;
        const list = paramCallAt(k);
        for (const c of opCtxs) if (list.length < MAX_PARAM_CONTEXTS && !list.includes(c)) list.push(c);
        break;
      }
      // A parameter passed on to a callee that calls it (msr_io -> __msr_io(..., do_msr)): ours
      // too, in our context at that call combined with the callee's at its own.
      if (!op.indirect) {
        forwardedParams(
          fn,
          op,
          flow.targets.get(op),
          summaryOf,
          (k, contexts) => addContexts(paramCallAt(k), opCtxs, contexts),
          (k, fc) => addContexts(fieldCallAt(k, fc.field), opCtxs, fc.contexts),
        );
      }
    }
    if (op.k === 'acquire') {
      const ref = flow.locks.get(op)!;
      const kind = op.kind !== 'unknown' ? op.kind : ref.fieldKind ?? 'unknown';
      const root = paramOf(ref.root);
      const param = ref.resolved ? undefined : root;
      const key = ref.resolved || param === undefined ? ref.cls : `~${param}:${ref.fields.join('.')}`;
      const trylock = op.api.includes('trylock');
      addTake(key, {
        cls: ref.cls,
        resolved: ref.resolved,
        kind,
        mode: op.mode,
        depth: 1,
        step: step(fn, op.range, `takes ${ref.cls}`),
        next: undefined,
        trylock: trylock || undefined,
        callerReleased: nonEmpty(alwaysReleased(opCtxs)),
        param,
        fields: ref.fields,
        self: ref.resolved && root !== undefined && !op.perInstance ? { param: root, fields: ref.fields } : undefined,
        direct: true,
      });
      if (SLEEPING_KINDS.has(kind) && !trylock) setSleep({ depth: 1, step: step(fn, op.range, `takes ${ref.cls}`) });
    } else if (op.k === 'sync') {
      const ref = flow.locks.get(op)!;
      const w: Witness = { depth: 1, step: step(fn, op.range, `${op.api}(${ref.cls})`) };
      addSync(ref.cls, w);
      setSleep(w);
    } else if (op.k === 'call') {
      const targets = flow.targets.get(op) ?? [];
      const names = targets.length ? targets : op.indirect ? [] : [op.callee];
      for (const name of names) {
        const sum = summaryOf(name) ?? externalSummary(name);
        if (!sum) continue;
        if (sum.takes.size === 0 && !sum.maySleep && sum.syncs.size === 0 && sum.requires.length === 0) continue;
        // The call's step, made once and shared by every witness through it (when one is kept).
        let head: ChainStep | undefined;
        const headStep = (): ChainStep => (head ??= step(fn, op.range, callStepText(op, name)));
        const ours = sum.takes.size ? alwaysReleased(opCtxs) : NO_CLASSES;
        const directCall = !op.indirect && name === op.callee;
        // A lazy initializer's locks, sleeps and synchronizes happen before its callers' paths can run.
        const lazy = LAZY_INITIALIZERS.has(name);
        if (!LAST_REFERENCE_DESTRUCTORS.has(name) && !lazy) {
          // forEach: no entry pair per take (most are skipped, many times over).
          sum.takes.forEach((t, key) => {
            if (t.depth >= MAX_CHAIN) return;
            const parametric = !t.resolved && t.param !== undefined;
            if (!parametric) {
              // Most callees' locks are already known at a shorter or equal depth: skip early.
              const prev = takes.get(key);
              if (prev && prev.depth <= t.depth + 1 && !(prev.trylock && !t.trylock)) return;
            }
            // The callee released some of its caller's locks before taking this one: those that
            // we do not hold ourselves are our caller's.
            let callerReleased: string[] | undefined;
            if (t.callerReleased || ours.length) {
              const inherited = (t.callerReleased ?? []).filter((c) => !opCtxs.some((x) => x.held.some((h) => h.cls === c)));
              callerReleased = nonEmpty([...new Set([...inherited, ...ours])]);
            }
            // One object shape for every take (a literal, not a spread of the callee's).
            if (parametric) {
              const m = mapThroughArgs(resolver, fn, op, { cls: t.cls, resolved: false, inst: '', param: t.param, fields: t.fields });
              const p = m.resolved ? undefined : m.param;
              const k = m.resolved || p === undefined ? m.cls : `~${p}:${m.fields.join('.')}`;
              const prev = takes.get(k);
              if (prev && prev.depth <= t.depth + 1 && !(prev.trylock && !t.trylock)) return;
              addTake(k, { cls: m.cls, resolved: m.resolved, kind: t.kind, mode: t.mode, depth: t.depth + 1, step: headStep(), next: { fn: name, key }, trylock: t.trylock, callerReleased, param: p, fields: m.fields, self: undefined, direct: directCall && t.direct });
            } else {
              const self = t.self && selfThrough(fn, op, t.self);
              addTake(key, { cls: t.cls, resolved: t.resolved, kind: t.kind, mode: t.mode, depth: t.depth + 1, step: headStep(), next: { fn: name, key }, trylock: t.trylock, callerReleased, param: t.param, fields: t.fields, self, direct: directCall && t.direct });
            }
          });
        }
        // (Witnesses are made only when they are shorter than the one kept.)
        if (!lazy && sum.maySleep && sum.maySleep.depth < MAX_CHAIN && (!maySleep || sum.maySleep.depth + 1 < maySleep.depth)) {
          setSleep({ depth: sum.maySleep.depth + 1, step: headStep(), next: { fn: name, key: '' } });
        }
        if (!lazy) for (const [d, w] of sum.syncs) {
          if (w.depth >= MAX_CHAIN) continue;
          const prev = syncs.get(d);
          if (!prev || w.depth + 1 < prev.depth) addSync(d, { depth: w.depth + 1, step: headStep(), next: { fn: name, key: d } });
        }
        // The callee's explicit requirements that this function does not satisfy itself become ours.
        const ctxs = flow.contexts.get(op) ?? [];
        for (const r of sum.requires) {
          if (r.how === 'inferred') continue;
          const m = mapThroughArgs(resolver, fn, op, { cls: r.cls, resolved: r.resolved, inst: '', param: r.param, fields: r.fields });
          const heldSomewhere = ctxs.some((c) => c.held.some((h) => h.cls === m.cls));
          if (!heldSomewhere) addReq({ ...r, cls: m.cls, resolved: m.resolved, param: m.param, fields: m.fields, file: fn.file, range: op.range });
        }
      }
    }
  }

  for (const e of flow.events) {
    if (e.kind === 'assertNotHeld') {
      addReq({ cls: e.lock.cls, resolved: e.lock.resolved, mode: e.mode ?? 'any', how: 'assert', file: fn.file, range: e.op.range, param: paramOf(e.lock.root), fields: e.lock.fields });
    } else if (e.kind === 'retakeNotHeld') {
      addReq({ cls: e.lock.cls, resolved: e.lock.resolved, mode: 'any', how: 'inferred', file: fn.file, range: e.op.range, param: paramOf(e.lock.root), fields: e.lock.fields });
    }
  }

  // Net effect over all exits.
  const effects: NetEffect[] = [];
  const n = flow.exits.length;
  let exitsHoldOrRelease = false;
  for (const ex of flow.exits) if (ex.state.held.length !== 0 || ex.state.fromCaller.length !== 0) exitsHoldOrRelease = true;
  if (n > 0 && exitsHoldOrRelease) {
    const heldCount = new Map<string, { count: number; eff: NetEffect }>();
    const relCount = new Map<string, { count: number; eff: NetEffect }>();
    for (const ex of flow.exits) {
      for (const h of ex.state.held) {
        if (h.maybe) continue;
        const k = `${h.cls}|${h.inst}`;
        const cur = heldCount.get(k);
        if (cur) {
          cur.count++;
          if (h.conditional || h.fromConditionalOp) cur.eff.conditional = true;
        } else {
          heldCount.set(k, {
            count: 1,
            eff: { effect: 'acquire', cls: h.cls, resolved: h.resolved, inst: h.inst, kind: h.kind, mode: h.mode, conditional: !!(h.conditional || h.fromConditionalOp), param: h.param, fields: h.fields, irqs: h.irqsOff || undefined },
          });
        }
      }
      for (const c of ex.state.fromCaller) {
        const k = `${c.cls}|${c.inst}`;
        const cur = relCount.get(k);
        if (cur) cur.count++;
        else relCount.set(k, { count: 1, eff: { effect: 'release', cls: c.cls, resolved: c.resolved, inst: c.inst, kind: c.kind, mode: c.mode, conditional: false, param: c.param, fields: c.fields, irqs: c.irqsRestore || undefined } });
      }
    }
    for (const [k, r] of relCount) {
      const held = heldCount.get(k);
      if (held) {
        // Released the caller's lock and took it again: a drop-retake for the caller.
        heldCount.delete(k);
        effects.push({ ...r.eff, effect: 'retake', conditional: false, irqs: undefined });
      } else {
        effects.push({ ...r.eff, conditional: r.count < n });
      }
    }
    for (const [k, h] of heldCount) {
      // Held at some exits only: a net effect when a result explains it (trylock, killable, a
      // callee that only sometimes returns holding); otherwise it is an imbalance (reported in
      // this function) or lost precision, and callers are better off not believing it.
      if (h.count < n && !h.eff.conditional) continue;
      const eff: NetEffect = { ...h.eff, conditional: h.eff.conditional || h.count < n };
      const when = h.count < n ? heldWhenReturning(flow.exits, k) : undefined;
      if (when !== undefined) eff.heldWhen = when;
      effects.push(eff);
    }
  }

  const summary: Summary = { name: fn.name, takes, requires, effects, maySleep, syncs, paramCalls: paramCalls.length ? paramCalls : undefined };
  if (paramContexts.some((list) => list.some(constrains))) summary.paramContexts = paramContexts;
  if (fieldCalls.length) summary.fieldCalls = fieldCalls;
  if (IRQ_ENABLING_FUNCTIONS.has(fn.name) || (flow.exits.length > 0 && flow.exits.every((e) => e.state.irqBelow > 0 && e.state.irqOff === 0))) {
    summary.enablesIrqs = true;
  }
  return summary;
}

/** A list of names in first-seen order without duplicates (a scan while short, a set after). */
function uniqueNames(): { out: string[]; add: (name: string) => void } {
  const out: string[] = [];
  let seen: Set<string> | undefined;
  const add = (name: string): void => {
    if (seen) {
      if (seen.has(name)) return;
      seen.add(name);
    } else if (out.includes(name)) {
      return;
    } else if (out.length >= 32) {
      seen = new Set(out);
      seen.add(name);
    }
    out.push(name);
  };
  return { out, add };
}

/** Call-graph edges of a function: the names it may call that have definitions. */
function computeCallees(fn: FunctionFacts, index: WorkspaceIndex, typer: PathTyper): string[] {
  const { out, add } = uniqueNames();
  for (const b of fn.blocks) {
    for (const op of b.ops) {
      if (op.k !== 'call') continue;
      if (!op.indirect) {
        if (index.functions.has(op.callee)) add(op.callee);
      } else {
        for (const t of resolveIndirect(index, typer, op)) add(t);
      }
      // A function passed as an argument may be called by the callee.
      for (const a of op.args) {
        const h = functionArgument(index, a);
        if (h) add(h);
      }
    }
  }
  return out;
}

const NO_TARGETS: string[] = [];

/**
 * computeCallees, and on the same walk the call plan the dataflow would otherwise work out again
 * (dataflow.ts CallPlan: the targets of each call, as callTargets gives them).
 */
function planCalls(fn: FunctionFacts, index: WorkspaceIndex, typer: PathTyper): { callees: string[]; plan: CallPlan } {
  const { out, add } = uniqueNames();
  const calls: CallOp[] = [];
  const targets: string[][] = [];
  let onlyCalls = true;
  for (const b of fn.blocks) {
    for (const op of b.ops) {
      if (op.k !== 'call') {
        if (op.k !== 'assign' && op.k !== 'spte') onlyCalls = false;
        continue;
      }
      let t: string[];
      if (!op.indirect) {
        if (index.functions.has(op.callee)) {
          add(op.callee);
          t = [op.callee];
        } else {
          // (Never written: handlers are added to a single target only.)
          t = NO_TARGETS;
        }
      } else {
        t = resolveIndirect(index, typer, op);
        for (const x of t) add(x);
      }
      calls.push(op);
      targets.push(t);
      // A function passed as an argument may be called by the callee.
      for (const a of op.args) {
        const h = functionArgument(index, a);
        if (h) add(h);
      }
    }
  }
  return { callees: out, plan: { calls, targets, onlyCalls } };
}

/** Tarjan's SCCs, iterative; returns components callees-first. */
export function stronglyConnected(nodes: string[], edges: (n: string) => string[]): string[][] {
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (indexOf.has(root)) continue;
    const frames: { n: string; succ: string[]; i: number }[] = [{ n: root, succ: edges(root), i: 0 }];
    indexOf.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (frames.length) {
      const fr = frames[frames.length - 1];
      if (fr.i < fr.succ.length) {
        const w = fr.succ[fr.i++];
        if (!indexOf.has(w)) {
          indexOf.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          frames.push({ n: w, succ: edges(w), i: 0 });
        } else if (onStack.has(w)) {
          low.set(fr.n, Math.min(low.get(fr.n)!, indexOf.get(w)!));
        }
      } else {
        frames.pop();
        if (frames.length) {
          const parent = frames[frames.length - 1].n;
          low.set(parent, Math.min(low.get(parent)!, low.get(fr.n)!));
        }
        if (low.get(fr.n) === indexOf.get(fr.n)) {
          const comp: string[] = [];
          let w: string;
          do {
            w = stack.pop()!;
            onStack.delete(w);
            comp.push(w);
          } while (w !== fr.n);
          out.push(comp);
        }
      }
    }
  }
  return out;
}

/**
 * stronglyConnected over the call graph, with the names numbered once (the same traversal and
 * the same components in the same order, for a fraction of the map lookups).
 */
function callGraphComponents(nodes: string[], callees: ReadonlyMap<string, string[]>): string[][] {
  const ids = new Map<string, number>();
  const names: string[] = [];
  const index: number[] = [];
  const low: number[] = [];
  const onStack: boolean[] = [];
  for (const n of nodes) {
    if (ids.has(n)) continue;
    ids.set(n, names.length);
    names.push(n);
    index.push(-1);
    low.push(0);
    onStack.push(false);
  }
  const idOf = (n: string): number => {
    let i = ids.get(n);
    if (i === undefined) {
      i = names.length;
      ids.set(n, i);
      names.push(n);
      index.push(-1);
      low.push(0);
      onStack.push(false);
    }
    return i;
  };
  const NONE: string[] = [];
  const stack: number[] = [];
  const out: string[][] = [];
  const frameNode: number[] = [];
  const frameSucc: string[][] = [];
  const frameNext: number[] = [];
  let counter = 0;
  const enter = (v: number): void => {
    index[v] = low[v] = counter++;
    stack.push(v);
    onStack[v] = true;
    frameNode.push(v);
    frameSucc.push(callees.get(names[v]) ?? NONE);
    frameNext.push(0);
  };
  const roots = names.length;
  for (let root = 0; root < roots; root++) {
    if (index[root] >= 0) continue;
    enter(root);
    while (frameNode.length) {
      const top = frameNode.length - 1;
      const v = frameNode[top];
      const succ = frameSucc[top];
      if (frameNext[top] < succ.length) {
        const w = idOf(succ[frameNext[top]++]);
        if (index[w] < 0) enter(w);
        else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
      } else {
        frameNode.pop();
        frameSucc.pop();
        frameNext.pop();
        if (frameNode.length) {
          const parent = frameNode[frameNode.length - 1];
          low[parent] = Math.min(low[parent], low[v]);
        }
        if (low[v] === index[v]) {
          const comp: string[] = [];
          let w: number;
          do {
            w = stack.pop()!;
            onStack[w] = false;
            comp.push(names[w]);
          } while (w !== v);
          out.push(comp);
        }
      }
    }
  }
  return out;
}

/** Component indices still to visit, smallest first (a binary heap without duplicates). */
class PendingComponents {
  private readonly heap: number[] = [];
  private readonly queued = new Set<number>();

  add(i: number): void {
    if (this.queued.has(i)) return;
    this.queued.add(i);
    const h = this.heap;
    let k = h.length;
    h.push(i);
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (h[p] <= i) break;
      h[k] = h[p];
      k = p;
    }
    h[k] = i;
  }

  pop(): number | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && h[l + 1] < h[l] ? l + 1 : l;
        if (h[c] >= last) break;
        h[k] = h[c];
        k = c;
      }
      h[k] = last;
    }
    this.queued.delete(top);
    return top;
  }
}

/** Names whose chosen flow changed in solve number `generation` of `source` (a SummarySolver). */
export interface ChosenFlowChanges {
  source: object;
  generation: number;
  names: ReadonlySet<string>;
}

export interface SolveResult {
  /** Functions whose flow was recomputed. */
  recomputed: number;
}

/**
 * Holds flows and summaries across analyses and brings them up to date. Flows are keyed by the
 * FunctionFacts object: a re-extracted file yields new objects, so its functions are dirty.
 */
export class SummarySolver {
  readonly flows = new Map<string, FunctionFlow>();
  readonly summaries = new Map<string, Summary>();
  /** Flows of the definitions calls do not resolve to (stubs, 32-bit twins): checked, not summarised. */
  readonly extraFlows = new Map<FunctionFacts, FunctionFlow>();
  /** The callee list each extra flow was analysed with (an ops-table binding can change it). */
  private readonly extraCallees = new WeakMap<FunctionFacts, readonly string[]>();
  private callees = new Map<string, string[]>();
  private callers = new Map<string, Set<string>>();
  private sccs: string[][] | undefined;
  private sccOf = new Map<string, number>();
  /** Solves run so far, and the names whose entry in `flows` was set or removed by the last one. */
  private flowGeneration = 0;
  private flowNamesChanged = new Set<string>();
  /** The index of the last solve (what an index's `delta` must refer to for it to be used). */
  private solvedIndexId: number | undefined;
  /**
   * Callee lists by definition, valid while the set of defined names, the bindings and the
   * struct layouts stay the same (what call resolution reads besides the body; a layout change
   * solves everything afresh).
   */
  private calleeCache = new WeakMap<FunctionFacts, string[]>();
  private calleeCacheBindings: WorkspaceIndex['bindings'] | undefined;

  private calleesOf(fn: FunctionFacts, index: WorkspaceIndex): string[] {
    let cs = this.calleeCache.get(fn);
    if (!cs) {
      cs = computeCallees(fn, index, this.resolver);
      this.calleeCache.set(fn, cs);
    }
    return cs;
  }

  /**
   * What the last solve did to `flows`: every name whose flow was replaced, added or removed
   * (a name not listed has the very flow object it had after the previous solve).
   */
  flowChanges(): ChosenFlowChanges {
    return { source: this, generation: this.flowGeneration, names: this.flowNamesChanged };
  }

  private rebuildCallers(): void {
    this.callers = new Map();
    for (const [name, cs] of this.callees) {
      for (const c of cs) {
        let set = this.callers.get(c);
        if (!set) this.callers.set(c, (set = new Set()));
        set.add(name);
      }
    }
  }


  constructor(
    private index: WorkspaceIndex,
    private resolver: ClassResolver,
  ) {}

  summaryOf = (name: string): Summary | undefined => this.summaries.get(name) ?? externalSummary(name);

  private flowEnv(): FlowEnv {
    return { index: this.index, resolver: this.resolver, summaryOf: this.summaryOf };
  }

  /**
   * Brings everything up to date with a new index. `forceAll` after a layout change (class
   * resolution may differ everywhere).
   */
  solve(index: WorkspaceIndex, resolver: ClassResolver, forceAll: boolean): SolveResult {
    const prevIndex = this.index;
    this.index = index;
    this.resolver = resolver;
    this.flowGeneration++;
    const flowNamesChanged = (this.flowNamesChanged = new Set<string>());
    const dirty = new Set<string>();
    /** Names whose summary (signature) changed or vanished: the extra flows calling them are stale. */
    const sigChanged = new Set<string>();
    /** Names whose summary changed in a part callers' dataflow reads (or vanished). */
    const flowSigChanged = new Set<string>();
    // The names whose definition may differ from the last solve's: those the index says, or all.
    const delta = !forceAll && index.delta && this.solvedIndexId !== undefined && index.delta.from === this.solvedIndexId ? index.delta.names : undefined;
    this.solvedIndexId = index.id;
    // Drop vanished functions; mark new or changed ones dirty.
    for (const name of delta ?? [...this.flows.keys()]) {
      const fn = index.functions.get(name);
      if (!fn && this.flows.has(name)) {
        this.flows.delete(name);
        flowNamesChanged.add(name);
        this.summaries.delete(name);
        sigChanged.add(name);
        flowSigChanged.add(name);
        for (const c of this.callers.get(name) ?? []) dirty.add(c);
      }
    }
    if (delta) {
      for (const name of delta) {
        const fn = index.functions.get(name);
        if (fn && this.flows.get(name)?.fn !== fn) dirty.add(name);
      }
    } else {
      for (const [name, fn] of index.functions) {
        const flow = this.flows.get(name);
        if (forceAll || !flow || flow.fn !== fn) dirty.add(name);
      }
    }

    // Call graph: recompute the callee lists of dirty functions only (a changed body changes
    // its own calls); new or vanished names can change what other calls resolve to, so then
    // everything is recomputed. SCCs are reused while no callee list changed.
    let namesChanged = forceAll || this.callees.size !== index.functions.size;
    if (!namesChanged) for (const n of dirty) if (!this.callees.has(n)) namesChanged = true;
    if (namesChanged || index.bindings !== this.calleeCacheBindings || index.functions.size !== prevIndex.functions.size) {
      this.calleeCache = new WeakMap();
      this.calleeCacheBindings = index.bindings;
    }
    // A binding that came or went (`.reset = fn` in an ops table) changes what indirect calls
    // resolve to in bodies that did not change: those whose callee list differs are re-analysed.
    // (An index is built afresh, with a new bindings map, whenever a file's bindings change.)
    if (!namesChanged && index.bindings !== prevIndex.bindings) {
      for (const [name, fn] of index.functions) {
        if (dirty.has(name)) continue;
        const old = this.callees.get(name);
        if (!old) continue;
        const cs = this.calleesOf(fn, index);
        if (cs.length !== old.length || cs.some((c, i) => c !== old[i])) dirty.add(name);
      }
    }
    const bindingsChanged = index.bindings !== prevIndex.bindings;
    if (dirty.size === 0) return { recomputed: this.updateExtraFlows(index, forceAll, bindingsChanged, sigChanged, flowSigChanged) };
    let graphChanged = namesChanged || !this.sccs;
    let plans: Map<FunctionFacts, CallPlan> | undefined;
    if (namesChanged) {
      const prev = this.callees;
      this.callees = new Map();
      // Not kept by definition: the next solve asks only for definitions that are new by then.
      // The call plans serve this solve's dataflow of those functions.
      plans = new Map();
      for (const [name, fn] of index.functions) {
        const p = planCalls(fn, index, resolver);
        this.callees.set(name, p.callees);
        plans.set(fn, p.plan);
      }
      this.rebuildCallers();
      // Callers of new names resolve calls differently now (everything is dirty when forced).
      if (!forceAll) for (const name of index.functions.keys()) if (!prev.has(name)) for (const c of this.callers.get(name) ?? []) dirty.add(c);
    } else {
      const sameBindings = index.bindings === prevIndex.bindings;
      for (const name of dirty) {
        const fn = index.functions.get(name)!;
        // A definition dirty only through its callees makes the same calls, which resolve as
        // before. (Its list stays in `callees`; nothing asks calleesOf for one already solved.)
        if (sameBindings && this.flows.get(name)?.fn === fn && this.callees.has(name)) continue;
        const cs = this.calleesOf(fn, index);
        const old = this.callees.get(name) ?? [];
        if (cs.length !== old.length || cs.some((c, i) => c !== old[i])) {
          graphChanged = true;
          this.callees.set(name, cs);
        }
      }
      if (graphChanged) this.rebuildCallers();
    }
    if (graphChanged) {
      this.sccs = callGraphComponents([...index.functions.keys()], this.callees);
      this.sccOf = new Map();
      this.sccs.forEach((comp, i) => comp.forEach((n) => this.sccOf.set(n, i)));
    }
    const sccs = this.sccs!;
    const sccOf = this.sccOf;
    const env = this.flowEnv();
    const incremental = !forceAll && !namesChanged;
    // Everything is analysed afresh (a cold solve): every component is visited once in order, and
    // a function's callers in other components are still to come (callees first), so nothing
    // about them needs recording; no caller reads what changed (everything did).
    const fresh = !incremental && dirty.size === index.functions.size;
    // Visit only the components that hold dirty functions, callees first.
    const pending = new PendingComponents();
    let nextComponent = 0;
    if (!fresh) {
      for (const n of dirty) {
        const i = sccOf.get(n);
        if (i !== undefined) pending.add(i);
      }
    }
    const popComponent = (): number | undefined => (fresh ? (nextComponent < sccs.length ? nextComponent++ : undefined) : pending.pop());
    let recomputed = 0;
    // Functions whose callee summaries changed in what their dataflow reads must be re-analysed.
    const calleeDirty = new Set<string>();
    // Functions dirty only because a callee's summary changed in parts their dataflow does not
    // read (a may-sleep witness one call shorter, a lock taken deeper down): their flow is kept
    // (as a new object, so that per-flow caches look again) and only the summary is rebuilt.
    const summaryDirty = new Set<string>();
    // Dirty from the start (new or edited facts, changed call resolution): analysed again.
    const initialDirty = incremental ? new Set(dirty) : new Set<string>();
    for (let ci = popComponent(); ci !== undefined; ci = popComponent()) {
      const comp = sccs[ci];
      const recursive = comp.length > 1 || (this.callees.get(comp[0]) ?? []).includes(comp[0]);
      if (fresh && !recursive) {
        // The common case of a cold solve, without the bookkeeping below.
        const name = comp[0];
        dirty.delete(name);
        const fn = index.functions.get(name)!;
        const flow = analyzeFunction(fn, env, plans?.get(fn));
        recomputed++;
        this.flows.set(name, flow);
        flowNamesChanged.add(name);
        this.summaries.set(name, summarize(flow, resolver, this.summaryOf));
        continue;
      }
      for (let iter = 0; iter < (recursive ? MAX_SCC_ITERATIONS : 1); iter++) {
        let changed = false;
        for (const name of comp) {
          if (!dirty.has(name)) continue;
          dirty.delete(name);
          const fn = index.functions.get(name)!;
          const prev = this.summaries.get(name);
          const prevFlow = this.flows.get(name);
          const resummarize = summaryDirty.has(name);
          const wasInitial = initialDirty.delete(name);
          summaryDirty.delete(name);
          let flow: FunctionFlow | undefined;
          // New facts are analysed again (an edit above a function moves its facts in place,
          // so a function with new facts was edited, or its file replaced).
          if (incremental && prev && prevFlow && !calleeDirty.has(name) && prevFlow.fn === fn && resummarize && !wasInitial) {
            flow = copyFlow(prevFlow);
          }
          if (!flow) {
            // (A plan is used once: a recursive component's second round works it out again.)
            const plan = plans?.get(fn);
            if (plan) plans!.delete(fn);
            flow = analyzeFunction(fn, env, plan);
            recomputed++;
          }
          this.flows.set(name, flow);
          flowNamesChanged.add(name);
          const sum = summarize(flow, resolver, this.summaryOf);
          this.summaries.set(name, sum);
          if (!prev || signatureOf(prev) !== signatureOf(sum)) {
            sigChanged.add(name);
            const flowChanged = !prev || flowSignatureOf(prev) !== flowSignatureOf(sum);
            if (flowChanged) flowSigChanged.add(name);
            for (const c of this.callers.get(name) ?? []) {
              // In a solve of everything, a caller still dirty is already queued (its component is
              // pending) and nothing else is recorded for it.
              if (!incremental && dirty.has(c) && sccOf.get(c) !== ci) continue;
              dirty.add(c);
              if (flowChanged) calleeDirty.add(c);
              else summaryDirty.add(c);
              const cj = sccOf.get(c);
              if (cj === ci) changed = true;
              // Callers come later in callee-first order (an earlier one is never revisited).
              else if (cj !== undefined && cj > ci) pending.add(cj);
            }
          }
        }
        if (!changed) break;
      }
      for (const name of comp) dirty.delete(name);
    }
    return { recomputed: recomputed + this.updateExtraFlows(index, forceAll || namesChanged, bindingsChanged, sigChanged, flowSigChanged) };
  }

  /** Brings the flows of the other definitions up to date (new ones, and those calling a changed summary). */
  private updateExtraFlows(
    index: WorkspaceIndex,
    forceAll: boolean,
    bindingsChanged: boolean,
    sigChanged: ReadonlySet<string>,
    flowSigChanged: ReadonlySet<string>,
  ): number {
    const keep = new Set<FunctionFacts>();
    let n = 0;
    for (const name of index.multiDefined ?? index.allFunctions.keys()) {
      const defs = index.allFunctions.get(name)!;
      if (defs.length < 2) continue;
      const chosen = index.functions.get(name);
      for (const d of defs) {
        if (d === chosen) continue;
        keep.add(d);
        const prev = this.extraFlows.get(d);
        if (!forceAll && prev) {
          if (sigChanged.size === 0 && !bindingsChanged) continue;
          const cs = this.calleesOf(d, index);
          const old = this.extraCallees.get(d);
          // Indirect calls resolve to other functions when a binding came or went.
          const sameCalls = !bindingsChanged || (old !== undefined && old.length === cs.length && old.every((c, i) => c === cs[i]));
          if (sameCalls) {
            if (!cs.some((c) => sigChanged.has(c))) continue;
            if (!cs.some((c) => flowSigChanged.has(c))) {
              // Same flow, callee summaries read by the checks changed: a new object for their caches.
              this.extraFlows.set(d, copyFlow(prev));
              continue;
            }
          }
        }
        this.extraFlows.set(d, analyzeFunction(d, this.flowEnv()));
        this.extraCallees.set(d, this.calleesOf(d, index));
        n++;
      }
    }
    for (const d of [...this.extraFlows.keys()]) if (!keep.has(d)) this.extraFlows.delete(d);
    return n;
  }

  /** Every analysed body. */
  allFlows(): FunctionFlow[] {
    return [...this.flows.values(), ...this.extraFlows.values()];
  }
}

/**
 * The kind of result that tells a lock `key` (`cls|inst`) is held on return: every exit that holds
 * it surely returns that, every exit that does not returns the other. Undefined when an exit's
 * result is unknown or holds the lock only maybe.
 */
function heldWhenReturning(exits: readonly ExitState[], key: string): FlagValue | undefined {
  let when: FlagValue | undefined;
  for (const ex of exits) {
    if (ex.returns === undefined) return undefined;
    let held = false;
    for (const h of ex.state.held) {
      if (`${h.cls}|${h.inst}` !== key) continue;
      if (h.maybe || h.conditional) return undefined;
      held = true;
    }
    const v: FlagValue = held ? ex.returns : ex.returns === 'zero' ? 'nonzero' : 'zero';
    if (when === undefined) when = v;
    else if (when !== v) return undefined;
  }
  return when;
}

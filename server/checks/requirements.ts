/**
 * Lock requirements of functions, propagated up the call graph: what a function needs its
 * caller to hold. Sources:
 *   - an unconditional lockdep_assert_held*() / kvm_lockdep_assert_*() / `__must_hold` of a lock
 *     the function does not take itself (a disjunctive `lockdep_assert_once(a || b)` is not one,
 *     and an assert that paths around it skip — `if (cond) lockdep_assert_held(..)` — is waived);
 *   - a documented "critical sections for X must also take Y": taking X without Y needs Y;
 *   - a call, made on every path, to a function with a requirement the caller does not satisfy,
 *     unless the caller takes that lock itself on every path (selfTaken: it cannot be entered
 *     holding it, so lock-requires judges the call where it is).
 * The mode of a requirement (`write` for lockdep_assert_held_write) is kept for rwlock-mode; a
 * mode that depends on a variable (`kvm_lockdep_assert_mmu_lock_held(kvm, shared)`) is `any`.
 */
import type { MustAlsoHoldRule } from '../../model/rules/types';
import { mapThroughArgs } from '../analysis/dataflow';
import type { FunctionFlow, OpContext } from '../analysis/types';
import type { CallOp, LockMode, Op } from '../frontend/facts';
import type { CheckContext } from './check';
import { derivedCache, idOf, DerivedCache } from './derived';
import { calleeList, linkSig, archApplies, calleeNames, chosenFlows, classOfName, holds, link, MAX_CHAIN, step, where, type Link } from './lockSupport';
import { callSites, UNCONDITIONAL } from './callSites';
import { callStepText } from '../analysis/chains';

export interface Need {
  cls: string;
  resolved: boolean;
  mode: 'any' | LockMode;
  how: 'assert' | 'annotation' | 'documented';
  /** The documented rule, and the inner lock whose acquisition needs `cls`. */
  rule?: MustAlsoHoldRule;
  inner?: string;
  /** Where the requirement is stated: the assert, or the acquisition of the inner lock. */
  origin: { file: string; range: Op['range']; function: string; api: string };
  /** Parameter the lock path starts at, for mapping onto a caller's argument. */
  param?: number;
  fields: string[];
  /** From the op in this function down to the origin. */
  chain: Link;
}

function needsSig(list: Need[]): string {
  let s = '';
  for (const n of list) {
    s += `${n.cls}|${n.resolved}|${n.mode}|${n.how}|${n.rule?.line ?? ''}|${n.inner ?? ''}|${n.origin.file}@${idOf(n.origin.range)}|${n.origin.function}|${n.origin.api}|${n.param ?? ''}|${n.fields.join('.')}|${linkSig(n.chain)}\n`;
  }
  return s;
}

const NO_CALLEE_NEEDS: readonly { callee: string; need: Need }[] = [];

const solvers = new WeakMap<CheckContext, RequirementSolver>();
export function requirementSolver(ctx: CheckContext): RequirementSolver {
  let s = solvers.get(ctx);
  if (!s) solvers.set(ctx, (s = new RequirementSolver(ctx)));
  return s;
}

export class RequirementSolver {
  private atCall = new WeakMap<CallOp, { callee: string; need: Need }[]>();
  private mustRules: { rule: MustAlsoHoldRule; lock: string; mustHold: string }[] = [];
  /** What a function needs its callers to hold, kept across analyses. */
  private cache: DerivedCache<Need[]>;

  constructor(private readonly ctx: CheckContext) {
    this.cache = derivedCache<Need[]>(ctx, 'requirements', `${idOf(ctx.rules)}:${idOf(ctx.names)}:${idOf(ctx.resolver)}`, () => new DerivedCache<Need[]>([], needsSig, (c, name) => chosenFlows(c).get(name)),
      (flow) => this.derive(flow),
    );
    for (const rule of ctx.rules.mustAlsoHold) {
      const lock = classOfName(ctx, rule.lock);
      const mustHold = classOfName(ctx, rule.mustHold);
      if (lock && mustHold && lock !== mustHold) this.mustRules.push({ rule, lock, mustHold });
    }
  }

  /** Classes a function asserts unconditionally itself: it states its contract, callers answer for it. */
  ownAsserted(flow: FunctionFlow): Set<string> {
    const s = new Set<string>();
    const sites = callSites(flow.fn);
    for (const op of flow.contexts.keys()) {
      if (op.k !== 'assert' || op.negated || op.weak) continue;
      if (!((sites.get(op) ?? 0) & UNCONDITIONAL)) continue;
      const ref = flow.locks.get(op);
      if (ref) s.add(ref.cls);
    }
    return s;
  }

  /** The documented "X needs Y" rules that apply to a file. */
  documentedFor(file: string): { rule: MustAlsoHoldRule; lock: string; mustHold: string }[] {
    let list = this.documentedByFile.get(file);
    if (!list) this.documentedByFile.set(file, (list = this.mustRules.filter((r) => archApplies(r.rule.arch, file))));
    return list;
  }
  private documentedByFile = new Map<string, { rule: MustAlsoHoldRule; lock: string; mustHold: string }[]>();

  /** Needs created by the function's own ops (asserts, annotations, documented acquisitions). */
  ownNeeds(flow: FunctionFlow): { op?: Op; need: Need }[] {
    const fn = flow.fn;
    const out: { op?: Op; need: Need }[] = [];
    const paramOf = (root: string | undefined): number | undefined => {
      if (root === undefined) return undefined;
      const i = fn.params.findIndex((p) => p.name === root);
      return i >= 0 ? i : undefined;
    };
    for (const a of fn.annotations) {
      if (a.kind !== 'must_hold') continue;
      const ref = this.ctx.resolver.resolve(a.lock);
      const root = a.lock.base.kind === 'var' ? a.lock.base.name : undefined;
      out.push({
        need: {
          cls: ref.cls,
          resolved: ref.resolved,
          mode: 'any',
          how: 'annotation',
          origin: { file: fn.file, range: fn.nameRange, function: fn.name, api: '__must_hold' },
          param: paramOf(root),
          fields: a.lock.fields,
          chain: link(step(fn, fn.nameRange, `__must_hold(${a.lock.text})`)),
        },
      });
    }
    const documented = this.documentedFor(fn.file);
    let sites: Map<Op, number> | undefined;
    for (const [op, contexts] of flow.contexts) {
      if (op.k === 'assert') {
        if (op.negated || op.weak || !(((sites ??= callSites(fn)).get(op) ?? 0) & UNCONDITIONAL)) continue;
        const ref = flow.locks.get(op);
        if (!ref) continue;
        // Taken by the function itself on every path to the assert: not a requirement on callers.
        if (contexts.length && contexts.every((c) => holds(c, ref.cls))) continue;
        out.push({
          op,
          need: {
            cls: ref.cls,
            resolved: ref.resolved,
            mode: op.mode,
            how: 'assert',
            origin: { file: fn.file, range: op.range, function: fn.name, api: op.api },
            param: paramOf(ref.root),
            fields: ref.fields,
            chain: link(step(fn, op.range, `${op.api}(${this.ctx.display(ref.cls)})`)),
          },
        });
      } else if (op.k === 'acquire' && documented.length) {
        const ref = flow.locks.get(op);
        if (!ref) continue;
        for (const d of documented) {
          if (d.lock !== ref.cls) continue;
          if (!contexts.some((c) => !holds(c, d.mustHold))) continue;
          const mustRoot = ref.root;
          out.push({
            op,
            need: {
              cls: d.mustHold,
              resolved: true,
              mode: 'any',
              how: 'documented',
              rule: d.rule,
              inner: ref.cls,
              origin: { file: fn.file, range: op.range, function: fn.name, api: op.api },
              param: paramOf(mustRoot),
              fields: [],
              chain: link(step(fn, op.range, `takes ${ref.cls}`)),
            },
          });
        }
      }
    }
    return out;
  }

  /** A callee's needs as seen at a call op of `flow` (mapped through the arguments). */
  calleeNeeds(flow: FunctionFlow, op: CallOp): readonly { callee: string; need: Need }[] {
    const cached = this.atCall.get(op);
    if (cached) {
      // Still read the callees' values: a function being derived records what it depends on.
      if (this.cache.recordingNow) for (const name of calleeNames(flow, op)) if (name !== flow.fn.name) this.cache.get(name);
      return cached;
    }
    let out: { callee: string; need: Need }[] | undefined;
    const names = calleeNames(flow, op);
    for (const name of names) {
      if (name === flow.fn.name) continue;
      const rs = this.needs(name);
      if (rs.length === 0) continue;
      const head = step(flow.fn, op.range, callStepText(op, name));
      // A handler passed to the callee: what the callee holds when it calls it is not ours to hold.
      const calleeContexts = flow.handlerContexts?.get(op)?.get(name);
      for (const r of rs) {
        if (r.chain.length >= MAX_CHAIN) continue;
        if (calleeContexts && r.resolved && calleeContexts.every((c) => satisfiedIn(c, r))) continue;
        const m = mapThroughArgs(this.ctx.resolver, flow.fn, op, { cls: r.cls, resolved: r.resolved, inst: '', param: r.param, fields: r.fields });
        if (!m.resolved) continue;
        (out ??= []).push({ callee: name, need: { ...r, cls: m.cls, resolved: m.resolved, param: m.param, fields: m.fields, chain: link(head, r.chain) } });
      }
    }
    // Nothing needed (most calls): not kept, asking again costs as little as a lookup would.
    if (!out) return NO_CALLEE_NEEDS;
    // Callers of a function still being solved (recursion) must not keep a partial answer; nor
    // may a function being derived (its reads of callee values are recorded on each call).
    if (!names.some((n) => this.cache.busy(n)) && !this.cache.busy(flow.fn.name)) this.atCall.set(op, out);
    return out;
  }

  /** What a function needs its callers to hold. */
  needs(name: string): Need[] {
    return this.cache.get(name);
  }

  /** Names whose values changed version in this analysis (DerivedCache.changes). */
  changes(): { generation: number; names: ReadonlySet<string> | null } {
    return this.cache.changes();
  }

  /** Versions of the needs of every callee of `flow` (what its call sites' judgements read). */
  calleeVersions(flow: FunctionFlow): number[] {
    return this.cache.versions(calleeList(flow));
  }

  /** Versions of the needs of `names`, a list the caller keeps and never changes (DerivedCache.versions). */
  versionsOf(names: readonly string[]): number[] {
    return this.cache.versions(names);
  }

  private derive(flow: FunctionFlow): Need[] {
    const out: Need[] = [];
    const seen = new Map<string, number>();
    const add = (n: Need): void => {
      const k = `${n.cls}|${n.mode}`;
      const i = seen.get(k);
      if (i === undefined) {
        seen.set(k, out.length);
        out.push(n);
      } else if (n.chain.length < out[i].chain.length) out[i] = n;
    };
    for (const o of this.ownNeeds(flow)) add(o.need);
    let sites: Map<Op, number> | undefined;
    for (const [op, contexts] of flow.contexts) {
      // Only calls made on every path, in blocks no parameter guards.
      if (op.k !== 'call' || ((sites ??= callSites(flow.fn)).get(op) ?? 0) !== UNCONDITIONAL) continue;
      for (const { need } of this.calleeNeeds(flow, op)) {
        if (!contexts.some((c) => !holds(c, need.cls))) continue;
        if (selfTaken(flow).has(need.cls)) continue;
        add(need);
      }
    }
    return out;
  }
}

const SELF_TAKEN = new WeakMap<FunctionFlow, ReadonlySet<string>>();

/**
 * Classes the function takes itself, on every path, with a blocking exclusive acquisition (not a
 * trylock, not for read, not per instance or nested): it cannot be entered holding them, so a
 * callee's need for one of them is the function's own to meet, not its callers'.
 */
export function selfTaken(flow: FunctionFlow): ReadonlySet<string> {
  let s = SELF_TAKEN.get(flow);
  if (s) return s;
  let out: Set<string> | undefined;
  let sites: Map<Op, number> | undefined;
  for (const b of flow.fn.blocks) {
    for (const op of b.ops) {
      if (op.k !== 'acquire' || op.resultVar !== undefined || op.mode === 'read' || op.perInstance || op.nested) continue;
      const ref = flow.locks.get(op);
      if (!ref?.resolved || !(((sites ??= callSites(flow.fn)).get(op) ?? 0) & UNCONDITIONAL)) continue;
      (out ??= new Set()).add(ref.cls);
    }
  }
  s = out ?? NO_CLASSES;
  SELF_TAKEN.set(flow, s);
  return s;
}
const NO_CLASSES: ReadonlySet<string> = new Set();

const OUTSIDE = new WeakMap<FunctionFlow, { calls: CallOp[]; callees: string[] }>();

/**
 * The calls of a function made, on some path, without one of the locks it takes itself on every
 * path (selfTaken), and the functions they reach: where a callee's need for such a lock could be
 * unmet. Empty for a function that takes nothing itself or calls only inside its own sections.
 */
export function callsOutsideOwnSections(flow: FunctionFlow): { calls: CallOp[]; callees: string[] } {
  let v = OUTSIDE.get(flow);
  if (v) return v;
  const own = selfTaken(flow);
  const calls: CallOp[] = [];
  const callees = new Set<string>();
  if (own.size) {
    for (const [op, contexts] of flow.contexts) {
      if (op.k !== 'call') continue;
      if (contexts.every((c) => { for (const cls of own) if (!holds(c, cls)) return false; return true; })) continue;
      calls.push(op);
      for (const n of calleeNames(flow, op)) if (n !== flow.fn.name) callees.add(n);
    }
  }
  v = { calls, callees: [...callees] };
  OUTSIDE.set(flow, v);
  return v;
}

/** Is `need` met in context `c` (a write requirement needs the write side; a lock held only after a join is not held)? */
function satisfiedIn(c: OpContext, need: Need): boolean {
  return c.held.some((h) => h.cls === need.cls && !h.maybe && (need.mode !== 'write' || h.mode === 'write'));
}

/** `lockdep_assert_held_write at tdp_mmu.c:652` / `locking.rst:55`: where a need is written. */
export function needRef(ctx: CheckContext, n: Need): string {
  if (n.how === 'documented' && n.rule) return ctx.ruleRef(n.rule.line);
  return `${n.origin.api} at ${where(n.origin.file, n.origin.range)}`;
}

/**
 * notifier-lock: an MMU-notifier callback (a function stored in a `struct mmu_notifier_ops`
 * initializer: .invalidate_range_start, .invalidate_range_end, .clear_flush_young, .clear_young,
 * .test_young, .change_pte, .release, ...) that takes a lock the document forbids there
 * (kvm->slots_lock, kvm->slots_arch_lock), directly or through calls.
 *
 * The callbacks reach their work through function pointers (`range->handler`), which the index
 * resolves to every function stored in that field anywhere. While walking down from a callback,
 * a function that fills such a descriptor itself (`.handler = kvm_mmu_unmap_gfn_range` in a local
 * initializer) narrows that field to what it stores: a handler used only by another path (the
 * memory-attributes ioctl binds its own handlers and holds slots_lock itself) is not blamed on
 * the notifier.
 */
import { sameFlowContent } from '../analysis/keptFlows';
import type { ChainStep, FunctionFlow } from '../analysis/types';
import type { CallOp, FunctionFacts, Op, Pos, Range } from '../frontend/facts';
import { chainToRelated, rangeKey, type Check, type CheckContext } from './check';
import type { Finding } from './finding';
import { flowDelta } from './flowDelta';
import { chosenFlows, classOfName, MAX_CHAIN, step } from './lockSupport';
import { ruleMeta } from './registry';
import { callStepText } from '../analysis/chains';

const NOTIFIER_OPS = 'mmu_notifier_ops';

type Bindings = ReadonlyMap<string, ReadonlySet<string> | null>;

function before(a: Pos, b: Pos): boolean {
  return a.line < b.line || (a.line === b.line && a.column <= b.column);
}
function inside(r: Range, outer: Range): boolean {
  return before(outer.start, r.start) && before(r.end, outer.end);
}

type BindingSite = NonNullable<CheckContext['index']['bindingSites']>[number];
const sitesByFile = new WeakMap<readonly BindingSite[], Map<string, BindingSite[]>>();

/** The index's binding sites of one file (grouped once per index). */
function sitesOf(ctx: CheckContext, file: string): readonly BindingSite[] {
  const all = ctx.index.bindingSites;
  if (!all) return [];
  let byFile = sitesByFile.get(all);
  if (!byFile) {
    byFile = new Map();
    for (const b of all) {
      let list = byFile.get(b.file);
      if (!list) byFile.set(b.file, (list = []));
      list.push(b);
    }
    sitesByFile.set(all, byFile);
  }
  return byFile.get(file) ?? [];
}

/** field -> functions stored into it by initializers inside `fn`'s body (null: something not a function). */
function localBindings(ctx: CheckContext, fn: FunctionFacts): Map<string, Set<string> | null> {
  const out = new Map<string, Set<string> | null>();
  for (const b of sitesOf(ctx, fn.file)) {
    if (!inside(b.range, fn.range)) continue;
    if (!ctx.index.functions.has(b.func)) {
      out.set(b.field, null);
      continue;
    }
    const cur = out.get(b.field);
    if (cur === null) continue;
    if (cur) cur.add(b.func);
    else out.set(b.field, new Set([b.func]));
  }
  return out;
}

function bindingsKey(b: Bindings): string {
  return [...b].map(([f, s]) => `${f}=${s ? [...s].sort().join('+') : '*'}`).sort().join(';');
}

class NotifierWalker {
  private memo = new Map<string, Map<string, ChainStep[]>>();
  private inProgress = new Set<string>();
  private locals = new Map<FunctionFacts, Map<string, Set<string> | null>>();
  /** Every chosen flow walked into, by name: what the findings depend on. */
  readonly visited = new Map<string, FunctionFlow>();

  constructor(
    private readonly ctx: CheckContext,
    private readonly forbidden: ReadonlySet<string>,
  ) {}

  private localsOf(fn: FunctionFacts): Map<string, Set<string> | null> {
    let l = this.locals.get(fn);
    if (!l) this.locals.set(fn, (l = localBindings(this.ctx, fn)));
    return l;
  }

  /** The function's own bindings on top of what its callers stored. */
  contextFor(fn: FunctionFacts, inherited: Bindings): Bindings {
    const own = this.localsOf(fn);
    if (!own.size) return inherited;
    const m = new Map(inherited);
    for (const [f, s] of own) m.set(f, s);
    return m;
  }

  /** The key of a walked function's own bindings (what a re-check compares). */
  localKey(fn: FunctionFacts): string {
    return bindingsKey(this.localsOf(fn));
  }

  /** Targets of a call op under the descriptor bindings in force. */
  targets(flow: FunctionFlow, op: CallOp, b: Bindings): string[] {
    const resolved = flow.targets.get(op) ?? [];
    if (!op.indirect) return resolved;
    const narrowed = b.get(op.indirect.field);
    if (!narrowed) return resolved;
    return [...narrowed];
  }

  /** Forbidden classes a function may take under bindings `b`, with the chain from its first op. */
  reach(name: string, inherited: Bindings): Map<string, ChainStep[]> {
    const flow = chosenFlows(this.ctx).get(name);
    if (!flow) return new Map();
    this.visited.set(name, flow);
    const b = this.contextFor(flow.fn, inherited);
    const key = `${name}|${bindingsKey(b)}`;
    const m = this.memo.get(key);
    if (m) return m;
    if (this.inProgress.has(key)) return new Map();
    this.inProgress.add(key);
    const out = new Map<string, ChainStep[]>();
    for (const hit of this.hits(flow, b)) {
      const prev = out.get(hit.cls);
      if (!prev || hit.chain.length < prev.length) out.set(hit.cls, hit.chain);
    }
    this.inProgress.delete(key);
    this.memo.set(key, out);
    return out;
  }

  /** Every op of a flow that takes a forbidden class, directly or through calls. */
  hits(flow: FunctionFlow, b: Bindings): { op: Op; cls: string; chain: ChainStep[]; callee?: string }[] {
    const fn = flow.fn;
    const out: { op: Op; cls: string; chain: ChainStep[]; callee?: string }[] = [];
    for (const op of flow.contexts.keys()) {
      if (op.k === 'acquire') {
        const ref = flow.locks.get(op);
        if (!ref || !this.forbidden.has(ref.cls) || /trylock/.test(op.api)) continue;
        out.push({ op, cls: ref.cls, chain: [step(fn, op.range, `takes ${ref.cls}`)] });
      } else if (op.k === 'call') {
        for (const t of this.targets(flow, op, b)) {
          if (t === fn.name) continue;
          for (const [cls, chain] of this.reach(t, b)) {
            if (chain.length >= MAX_CHAIN) continue;
            out.push({ op, cls, chain: [step(fn, op.range, callStepText(op, t)), ...chain], callee: t });
          }
        }
      }
    }
    return out;
  }
}

/** Callback name -> the ops field it is stored in, in binding order. */
function notifierCallbacks(ctx: CheckContext): Map<string, string> {
  const callbacks = new Map<string, string>();
  for (const b of ctx.index.bindingSites ?? []) {
    if (b.structType === NOTIFIER_OPS && ctx.index.functions.has(b.func) && !callbacks.has(b.func)) callbacks.set(b.func, b.field);
  }
  return callbacks;
}

interface Computed {
  findings: Finding[];
  /** The chosen flows walked into, by name, and the key of each one's own bindings. */
  visited: Map<string, FunctionFlow>;
  localKeys: Map<string, string>;
}

function compute(ctx: CheckContext, callbacks: ReadonlyMap<string, string>): Computed {
  const out: Finding[] = [];
  const visited = new Map<string, FunctionFlow>();
  const localKeys = new Map<string, string>();
  const severity = ruleMeta('notifier-lock').defaultSeverity;
  for (const rule of ctx.rules.notifier) {
    const forbidden = new Set(rule.forbidden.map((n) => classOfName(ctx, n)).filter((c): c is string => !!c));
    if (!forbidden.size) continue;
    const walker = new NotifierWalker(ctx, forbidden);
    const ruleRef = ctx.ruleRef(rule.line);
    for (const [cb, field] of callbacks) {
      const flow = chosenFlows(ctx).get(cb);
      if (!flow) continue;
      walker.visited.set(cb, flow);
      const fn = flow.fn;
      const reported = new Set<string>();
      for (const hit of walker.hits(flow, walker.contextFor(fn, new Map()))) {
        const key = `${rangeKey(hit.op.range)}|${hit.cls}`;
        if (reported.has(key)) continue;
        reported.add(key);
        const lock = ctx.display(hit.cls);
        const through = hit.callee ? ` through ${hit.chain.slice(0, -1).map((s) => s.what.replace(/^calls /, '')).join(' -> ')}` : '';
        out.push({
          code: 'notifier-lock',
          severity,
          file: fn.file,
          range: hit.op.range,
          message: `MMU-notifier callback ${cb} (.${field}) takes ${lock}${through}, but MMU notifiers must not take ${rule.forbidden.join(' or ')}: memslot updates hold them while waiting for invalidations to finish (${ruleRef})`,
          related: [{ file: fn.file, range: fn.nameRange, message: `${cb} is the .${field} callback` }, ...chainToRelated(ctx, hit.chain)],
          ruleRef,
          functionName: fn.name,
        });
      }
    }
    for (const [name, flow] of walker.visited) {
      visited.set(name, flow);
      if (!localKeys.has(name)) localKeys.set(name, walker.localKey(flow.fn));
    }
  }
  return { findings: out, visited, localKeys };
}

/** The last result, kept in the engine's store. */
interface State extends Computed {
  /** flowDelta generation it is up to date with. */
  generation: number;
  callbacksKey: string;
}

const STORE_KEY = 'notifierLock:result';

/**
 * The previous findings brought onto this analysis, or null when they may differ: a function
 * name appeared or vanished (what calls resolve to and bindings store may change), or a walked
 * function's flow changed other than by being copied, or its own bindings changed, or a finding
 * names a place that is no longer valid (in code of an edited file that was analysed again).
 */
function carried(st: State, ctx: CheckContext): Finding[] | null {
  const delta = flowDelta(ctx);
  if (st.generation !== delta.from) return null;
  const chosen = chosenFlows(ctx);
  const removedNames = new Set<string>();
  for (const f of delta.removed) {
    if (!chosen.has(f.fn.name)) return null;
    removedNames.add(f.fn.name);
  }
  const updates: [string, FunctionFlow][] = [];
  for (const f of delta.added) {
    const name = f.fn.name;
    if (chosen.get(name) !== f) continue; // another definition: not walked
    if (!removedNames.has(name)) return null;
    const prev = st.visited.get(name);
    if (!prev) continue;
    if (!sameFlowContent(prev, f)) return null;
    if (bindingsKey(localBindings(ctx, f.fn)) !== st.localKeys.get(name)) return null;
    updates.push([name, f]);
  }
  if (!updates.length) return st.findings;
  if (ctx.valid && !ctx.valid.holdsAll(st.findings)) return null;
  for (const [name, f] of updates) st.visited.set(name, f);
  return st.findings;
}

export const notifierLockCheck: Check = {
  codes: ['notifier-lock'],
  run(ctx: CheckContext): Finding[] {
    const callbacks = notifierCallbacks(ctx);
    if (!callbacks.size && !ctx.store) return [];
    const callbacksKey = [...callbacks].map(([cb, field]) => `${cb}.${field}`).join(',');
    const delta = flowDelta(ctx);
    const prev = ctx.store?.get(STORE_KEY) as State | undefined;
    if (prev && prev.callbacksKey === callbacksKey) {
      const findings = carried(prev, ctx);
      prev.generation = delta.to;
      if (findings) return findings;
    }
    const c = callbacks.size ? compute(ctx, callbacks) : { findings: [], visited: new Map(), localKeys: new Map() };
    ctx.store?.set(STORE_KEY, { ...c, generation: delta.to, callbacksKey });
    return c.findings;
  },
};

/**
 * lock-cycle, the cycle of length one (what lockdep calls recursive locking): a task takes a lock
 * it already holds, the very same instance, directly or through a callee, and waits for itself.
 *
 * Only instances known to be the same count: the same expression in one function (`kvm->lock`
 * twice), a callee's lock on the object the caller passes it (`helper(kvm)` taking
 * `&kvm->lock`), or a global; and through calls, only along direct calls (TakeInfo.direct). The
 * lock must be held on every path to the acquisition or call (a lock held on some paths only may
 * be correlated with a condition the analysis does not follow), except when this very
 * acquisition took it on a loop's previous iteration. Never reported: trylocks, `_nested` acquisitions, locks a loop takes
 * once per instance (AcquireOp.perInstance), read inside read, RCU/SRCU/CPU-hotplug read sides,
 * locks held only on some joined paths, only on some paths of the callee that took them, or
 * dropped meanwhile, and a callee that releases the
 * caller's lock before it takes it again (or whose net effect releases or drops that class).
 */
import { callStepText, expandChain } from '../analysis/chains';
import { lockRefOf, mapThroughArgs } from '../analysis/dataflow';
import type { FunctionFlow, HeldLock, OpContext, Summary, TakeInfo } from '../analysis/types';
import { externalSummary } from '../analysis/summaries';
import { LAST_REFERENCE_DESTRUCTORS, LAZY_INITIALIZERS } from '../../model/kvmTypes';
import type { CallOp, LockKind, LockMode } from '../frontend/facts';
import { chainToRelated, type CheckContext } from './check';
import type { Finding } from './finding';
import { flowResults } from './flowResults';
import { lineOf } from './places';
import { ruleMeta } from './registry';

/** Kinds a second acquisition by the same task blocks on. */
const EXCLUSIVE_KINDS: ReadonlySet<LockKind> = new Set(['mutex', 'spinlock', 'raw_spinlock', 'rwlock', 'rwsem']);

function canSelfDeadlock(h: HeldLock, kind: LockKind, mode: LockMode): boolean {
  // Held only on some paths of a callee (`r = vcpu_load(vcpu); if (r) return r;`) is not held.
  if (h.maybe || h.mayDrop || h.conditional) return false;
  if (!EXCLUSIVE_KINDS.has(kind) && !EXCLUSIVE_KINDS.has(h.kind)) return false;
  return !(h.mode === 'read' && mode === 'read');
}

function samePlace(a: Finding['range'], b: Finding['range']): boolean {
  return a.start.line === b.start.line && a.start.column === b.start.column;
}

/** A global lock is one instance (a per-CPU one is one per CPU): held here as the global itself. */
function isGlobal(ctx: CheckContext, cls: string, h: HeldLock): boolean {
  const g = ctx.index.globals.get(cls);
  return !!g && !g.perCpu && (h.inst === `${cls}:` || h.inst === cls);
}

export function selfDeadlocks(ctx: CheckContext): Finding[] {
  return flowResults(ctx, { key: 'lockCycle:self', compute: judge, rerunWithFindings: true });
}

function judge(flow: FunctionFlow, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const fn = flow.fn;
  const severity = ruleMeta('lock-cycle').defaultSeverity;
  const reported = new Set<string>();
  const report = (op: { range: Finding['range'] }, h: HeldLock, through: string | undefined, chain: Finding['related']): void => {
    const key = `${op.range.start.line}:${op.range.start.column}|${h.cls}`;
    if (reported.has(key)) return;
    reported.add(key);
    const name = ctx.display(h.cls);
    const again = h.file === fn.file && samePlace(h.range, op.range);
    const held = again
      ? 'taken here on the previous iteration of a loop'
      : h.via
        ? `taken through ${h.via} at ${lineOf(h.file, h.range)}`
        : `taken at ${lineOf(h.file, h.range)}`;
    out.push({
      code: 'lock-cycle',
      severity,
      file: fn.file,
      range: op.range,
      message: `${name} is taken${through ? ` (through ${through})` : ''} while this path already holds the same ${name} (${held}): a task that takes a lock it holds waits for itself`,
      related: [{ file: h.file, range: h.range, message: `${name} held here` }, ...chain],
      functionName: fn.name,
    });
  };
  for (const [op, contexts] of flow.contexts) {
    if (op.k === 'acquire') {
      if (op.nested || op.perInstance || op.resultVar !== undefined || /trylock/.test(op.api)) continue;
      const ref = flow.locks.get(op)!;
      if (!ref.resolved) continue;
      const kind = op.kind !== 'unknown' ? op.kind : ref.fieldKind ?? 'unknown';
      const same = (x: HeldLock): boolean => x.cls === ref.cls && x.inst === ref.inst && canSelfDeadlock(x, kind, op.mode);
      // Taken by this very op on the loop's previous iteration, or held on every path here.
      let h: HeldLock | undefined;
      for (const c of contexts) h ??= c.held.find((x) => same(x) && x.file === fn.file && samePlace(x.range, op.range));
      h ??= heldOnEveryPath(contexts, same);
      if (h) report(op, h, undefined, []);
    } else if (op.k === 'call' && !op.indirect && contexts.every((c) => c.held.length > 0)) {
      // Only the function the call names (no handler), and only its takes of a class held here.
      const name = op.callee;
      if (LAST_REFERENCE_DESTRUCTORS.has(name) || LAZY_INITIALIZERS.has(name)) continue;
      const sum = ctx.summaryOf(name) ?? externalSummary(name);
      if (!sum || sum.takes.size === 0) continue;
      for (const [key, t] of candidateTakes(sum, contexts[0].held)) {
        // Only along direct calls: an ops-table call or a handler reaches every function bound
        // there, and a task waits for itself only on a path that really runs.
        if (t.trylock || !t.direct) continue;
        const at = instanceAtCall(ctx, flow, op, t);
        // A callee that gives back (or drops and retakes) a lock of that class takes it again
        // after releasing it: a `callerReleased` the dataflow could not prove on every path.
        if (!at || sum.effects.some((e) => e.effect !== 'acquire' && e.cls === at.cls)) continue;
        // Held on every path to the call: one that holds it on some paths only may be
        // correlated with the callee's own path (`need_lock` and a switch on the command).
        const h = heldOnEveryPath(contexts, (y) =>
          y.cls === at.cls &&
          (at.inst !== undefined ? y.inst === at.inst : isGlobal(ctx, at.cls, y)) &&
          !t.callerReleased?.includes(y.cls) &&
          canSelfDeadlock(y, t.kind, t.mode),
        );
        if (!h) continue;
        const witness: TakeInfo = { ...t, depth: t.depth + 1, step: { file: fn.file, range: op.range, function: fn.name, what: callStepText(op, name) }, next: { fn: name, key } };
        report(op, h, name, chainToRelated(ctx, expandChain(witness, 'takes', ctx.summaryOf)));
      }
    }
  }
  return out;
}

/** The lock `match` finds in every context (the first context's), or undefined. */
function heldOnEveryPath(contexts: readonly OpContext[], match: (h: HeldLock) => boolean): HeldLock | undefined {
  let first: HeldLock | undefined;
  for (const c of contexts) {
    const x = c.held.find(match);
    if (!x) return undefined;
    first ??= x;
  }
  return first;
}

/** Takes keyed by a parameter (`~0:lock`), per summary: they may map onto any class. */
const paramTakes = new WeakMap<Summary, [string, TakeInfo][]>();

/** The callee's takes that could be a lock held here: of a held class, or keyed by a parameter. */
function candidateTakes(sum: Summary, held: readonly HeldLock[]): [string, TakeInfo][] {
  let byParam = paramTakes.get(sum);
  if (!byParam) {
    byParam = [...sum.takes].filter(([k]) => k.startsWith('~'));
    paramTakes.set(sum, byParam);
  }
  const out = byParam.slice();
  for (const h of held) {
    const t = sum.takes.get(h.cls);
    if (t && !out.some(([k]) => k === h.cls)) out.push([h.cls, t]);
  }
  return out;
}

/**
 * A callee's lock seen from the caller: its class and, when it hangs off an object the call
 * passes, that object's instance key here (undefined: only a global can then be the same).
 */
function instanceAtCall(ctx: CheckContext, flow: FunctionFlow, op: CallOp, t: TakeInfo): { cls: string; inst?: string } | undefined {
  if (!t.resolved) {
    if (t.param === undefined) return undefined;
    const m = mapThroughArgs(ctx.resolver, flow.fn, op, { cls: t.cls, resolved: false, inst: '', param: t.param, fields: t.fields });
    return m.resolved ? { cls: m.cls, inst: m.inst } : undefined;
  }
  if (!t.self) return { cls: t.cls };
  const arg = op.args[t.self.param];
  if (!arg) return undefined;
  const ref = lockRefOf(ctx.resolver, { text: arg.text, base: arg.base, fields: [...arg.fields, ...t.self.fields] });
  return ref.root !== undefined ? { cls: t.cls, inst: ref.inst } : undefined;
}

/**
 * rwlock-mode: a lock with read and write modes (x86's mmu_lock is an rwlock) used in the wrong
 * mode:
 *   - a write-mode requirement (lockdep_assert_held_write, kvm_lockdep_assert_mmu_lock_held(kvm,
 *     false)) reached, directly or through calls, while the lock is held for read only — and the
 *     converse, a read-mode assertion reached while it is held for write;
 *   - a release or cond_resched_rwlock_*() in the other mode than the one the lock is held in
 *     (`read_lock` ... `write_unlock`).
 * Reported at the assert or release, or at the call site in the function that holds the lock.
 * Requirements whose mode depends on a variable are "any mode" and never reported here.
 */
import type { FunctionFlow, HeldLock, OpContext } from '../analysis/types';
import { chainToRelated, rangeKey, type Check, type CheckContext } from './check';
import type { Finding } from './finding';
import { calleeNames, chainOf, where } from './lockSupport';
import { ruleMeta } from './registry';
import { needRef, requirementSolver } from './requirements';

/** The held instance of `cls` in a context when it is held in the other mode only. */
function heldInOtherMode(c: OpContext, cls: string, wanted: 'read' | 'write'): HeldLock | undefined {
  const hs = c.held.filter((h) => h.cls === cls);
  if (!hs.length || hs.some((h) => h.mode === wanted)) return undefined;
  return hs[0];
}

function holdsAny(contexts: readonly OpContext[]): boolean {
  for (const c of contexts) if (c.held.length > 0) return true;
  return false;
}

/** Per flow content: copies of a flow (keptFlows.ts copyFlow) share its maps, and so this list. */
const heldCalleeCache = new WeakMap<FunctionFlow['contexts'], string[]>();
/**
 * The callees called with some lock held: only their requirements can be held in the wrong
 * mode, so only they are read (a flow that holds nothing at its calls reads no callee value,
 * and no requirement is derived for its callees on its behalf).
 */
function heldCallees(flow: FunctionFlow): string[] {
  let out = heldCalleeCache.get(flow.contexts);
  if (out) return out;
  const s = new Set<string>();
  for (const [op, contexts] of flow.contexts) {
    if (op.k !== 'call' || !holdsAny(contexts)) continue;
    for (const n of calleeNames(flow, op)) if (n !== flow.fn.name) s.add(n);
  }
  heldCalleeCache.set(flow.contexts, (out = [...s]));
  return out;
}

/** The document's statement that the lock is an rwlock, for the rule reference. */
function typeRef(ctx: CheckContext, cls: string): string {
  for (const t of ctx.rules.typeNotes) if (ctx.names.classOf.get(t.lock) === cls && t.line > 0) return ctx.ruleRef(t.line);
  return 'built-in rule';
}

export const rwlockModeCheck: Check = {
  codes: ['rwlock-mode'],
  run(): Finding[] {
    return [];
  },
  functionDeps(flow: FunctionFlow, ctx: CheckContext): number[] {
    return requirementSolver(ctx).versionsOf(heldCallees(flow));
  },
  functionDepsDelta(ctx: CheckContext) {
    return { changes: requirementSolver(ctx).changes(), names: heldCallees, key: () => '' };
  },
  runFunction(flow: FunctionFlow, ctx: CheckContext): Finding[] {
    const out: Finding[] = [];
    const severity = ruleMeta('rwlock-mode').defaultSeverity;
    const solver = requirementSolver(ctx);
    {
      const fn = flow.fn;
      const reported = new Set<string>();
      const push = (range: Finding['range'], key: string, message: string, related: Finding['related'], ruleRef: string): void => {
        if (reported.has(key)) return;
        reported.add(key);
        out.push({ code: 'rwlock-mode', severity, file: fn.file, range, message, related, ruleRef, functionName: fn.name });
      };
      for (const [op, contexts] of flow.contexts) {
        if (op.k === 'assert') {
          if (op.negated || op.weak || op.mode === 'any') continue;
          const ref = flow.locks.get(op);
          if (!ref) continue;
          for (const c of contexts) {
            const h = heldInOtherMode(c, ref.cls, op.mode);
            if (!h) continue;
            const name = ctx.display(ref.cls);
            push(
              op.range,
              rangeKey(op.range),
              `${op.api}(${name}) asserts ${op.mode} mode, but ${name} is held for ${h.mode} here (taken at ${where(h.file, h.range)})`,
              [{ file: h.file, range: h.range, message: `${name} held for ${h.mode} here` }],
              typeRef(ctx, ref.cls),
            );
            break;
          }
        } else if (op.k === 'release' || op.k === 'dropRetake') {
          if (op.kind !== 'rwlock' && op.kind !== 'rwsem') continue;
          const ref = flow.locks.get(op);
          if (!ref) continue;
          for (const c of contexts) {
            const h = heldInOtherMode(c, ref.cls, op.mode);
            if (!h) continue;
            const name = ctx.display(ref.cls);
            push(
              op.range,
              rangeKey(op.range),
              `${op.api}() ${op.k === 'release' ? 'releases' : 'drops and retakes'} ${name} in ${op.mode} mode, but it is held for ${h.mode} here (taken at ${where(h.file, h.range)})`,
              [{ file: h.file, range: h.range, message: `${name} taken for ${h.mode} here` }],
              typeRef(ctx, ref.cls),
            );
            break;
          }
        } else if (op.k === 'call') {
          if (!holdsAny(contexts)) continue;
          for (const { callee, need } of solver.calleeNeeds(flow, op)) {
            if (need.mode === 'any') continue;
            for (const c of contexts) {
              const h = heldInOtherMode(c, need.cls, need.mode);
              if (!h) continue;
              const name = ctx.display(need.cls);
              const chain = chainOf(need.chain);
              const via = chain.length > 2 ? ` through ${chain.slice(1, -1).map((s) => s.what.replace(/^calls /, '')).join(' -> ')}` : '';
              push(
                op.range,
                `${rangeKey(op.range)}|${need.cls}`,
                `${callee}() requires ${name} held for ${need.mode} (${needRef(ctx, need)}${via}), but it is held for ${h.mode} here (taken at ${where(h.file, h.range)})`,
                [{ file: h.file, range: h.range, message: `${name} held for ${h.mode} here` }, ...chainToRelated(ctx, chain)],
                typeRef(ctx, need.cls),
              );
              break;
            }
          }
        }
      }
    }
    return out;
  },
};

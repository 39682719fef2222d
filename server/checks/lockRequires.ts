/**
 * lock-requires: a function that asserts a lock (lockdep_assert_held*, kvm_lockdep_assert_*,
 * `__must_hold`) or that takes a lock the document says "must also take" another one, reached
 * without that lock.
 *
 * Requirements propagate to callers that neither hold nor take the lock (./requirements.ts), so
 * a finding is made only where nobody above can be asked any more: at the call site in a
 * function that has no callers in the workspace (an ioctl handler, a work function, a callback),
 * or at the acquisition itself when such a function takes the inner lock of a "must also take"
 * rule; and at a call that needs a lock its function takes itself on every path (elsewhere), since
 * that function cannot be entered holding it. A function with no callers that asserts a lock
 * itself states its contract: nothing to report there.
 */
import type { FunctionFlow } from '../analysis/types';
import { chainToRelated, rangeKey, type Check, type CheckContext } from './check';
import type { Finding } from './finding';
import { calledFromOutside, calleeList, chainOf, chosenFlows, chosenOrCallersChanged, hasCallers, holds, notCompiledHere } from './lockSupport';
import { ruleMeta } from './registry';
import { callsOutsideOwnSections, needRef, requirementSolver, selfTaken, type Need } from './requirements';

const NONE: readonly string[] = [];

/** The callees whose needs a judged flow reads: all of a root's, only those called outside its own sections for the others. */
function readNames(flow: FunctionFlow, mode: 'root' | 'self'): readonly string[] {
  return mode === 'root' ? calleeList(flow) : callsOutsideOwnSections(flow).callees;
}

function requirementText(ctx: CheckContext, n: Need): string {
  if (n.how === 'documented' && n.inner) return `${ctx.display(n.inner)} may only be taken with ${ctx.display(n.cls)} held (${needRef(ctx, n)})`;
  return `${n.origin.function}() requires ${ctx.display(n.cls)} held (${needRef(ctx, n)})`;
}

/**
 * Which chosen definitions (compiled in this configuration) are judged: 'root', a function nobody
 * in the workspace (or outside it) calls, for every need of its calls; 'self', any other function
 * that takes a lock itself on every path, for its calls that need that lock without it.
 */
function judged(ctx: CheckContext, flow: FunctionFlow): 'root' | 'self' | undefined {
  const fn = flow.fn;
  if (chosenFlows(ctx).get(fn.name) !== flow) return undefined;
  const root = !hasCallers(ctx, fn.name) && !calledFromOutside(fn, ctx.index);
  if (!root && callsOutsideOwnSections(flow).calls.length === 0) return undefined;
  if (notCompiledHere(ctx, fn)) return undefined;
  return root ? 'root' : 'self';
}

export const lockRequiresCheck: Check = {
  codes: ['lock-requires'],
  run(): Finding[] {
    return [];
  },
  functionDeps(flow: FunctionFlow, ctx: CheckContext): (number | string)[] {
    const mode = judged(ctx, flow);
    if (!mode) return ['-'];
    return requirementSolver(ctx).versionsOf(readNames(flow, mode));
  },
  functionDepsDelta(ctx: CheckContext) {
    return {
      changes: requirementSolver(ctx).changes(),
      // A flow that is not judged reads no callee value (its deps are ['-']).
      names: (flow: FunctionFlow) => {
        const mode = judged(ctx, flow);
        return mode ? readNames(flow, mode) : NONE;
      },
      key: (flow: FunctionFlow) => judged(ctx, flow) ?? '-',
      keyChanges: chosenOrCallersChanged(ctx),
    };
  },
  runFunction(flow: FunctionFlow, ctx: CheckContext): Finding[] {
    const out: Finding[] = [];
    const severity = ruleMeta('lock-requires').defaultSeverity;
    const mode = judged(ctx, flow);
    if (!mode) return out;
    const solver = requirementSolver(ctx);
    const own = selfTaken(flow);
    {
      const fn = flow.fn;
      const asserted = solver.ownAsserted(flow);
      for (const a of fn.annotations) if (a.kind === 'must_hold') asserted.add(ctx.resolver.resolve(a.lock).cls);
      const reported = new Set<string>();
      const report = (op: { range: Finding['range'] }, n: Need, through?: string, selfNote = ''): void => {
        const key = `${rangeKey(op.range)}|${n.cls}`;
        if (reported.has(key)) return;
        reported.add(key);
        const chain = chainOf(n.chain);
        const held = ctx.display(n.cls);
        const ruleRef = needRef(ctx, n);
        const message =
          n.how === 'documented' && !through
            ? `${ctx.display(n.inner ?? '')} is taken without ${held} held, but ${requirementText(ctx, n)}`
            : `${through ?? fn.name} is called without ${held} held, but ${requirementText(ctx, n)}` +
              (chain.length > 2 ? `; the requirement is reached through ${chain.slice(1, -1).map((s) => s.what.replace(/^calls /, '')).join(' -> ')}` : '') +
              selfNote;
        out.push({
          code: 'lock-requires',
          severity,
          file: fn.file,
          range: op.range,
          message,
          related: chainToRelated(ctx, chain.map((s, i) => (i === chain.length - 1 ? { ...s, what: n.how === 'documented' ? s.what : `requires ${held}: ${s.what}` } : s))),
          ruleRef,
          functionName: fn.name,
        });
      };
      // The inner lock of a documented "must also take", taken here without the outer one.
      if (mode === 'root') {
        for (const o of solver.ownNeeds(flow)) {
          if (o.need.how !== 'documented' || !o.op || asserted.has(o.need.cls)) continue;
          report(o.op, o.need);
        }
      }
      const calls = mode === 'root' ? flow.contexts.keys() : callsOutsideOwnSections(flow).calls;
      for (const op of calls) {
        if (op.k !== 'call') continue;
        const contexts = flow.contexts.get(op) ?? [];
        for (const { callee, need } of solver.calleeNeeds(flow, op)) {
          if (asserted.has(need.cls)) continue;
          const taken = own.has(need.cls);
          if (mode === 'self' && !taken) continue;
          if (!contexts.some((c) => !holds(c, need.cls))) continue;
          const note = taken ? `; ${fn.name} takes ${ctx.display(need.cls)} itself, so its callers cannot hold it for this call` : '';
          report(op, need, callee, note);
        }
      }
    }
    return out;
  },
};

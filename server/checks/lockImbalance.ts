/**
 * lock-imbalance: a lock still held at some return but not at others, a lock released twice on
 * one path, or released on a path where it is not held although other paths reach the same
 * release holding it.
 *
 * Conservative on purpose (mainline KVM must stay quiet): a function whose every path returns
 * holding a lock is a net acquirer; trylock/killable results and callees that only sometimes
 * return holding explain a difference; a release of a lock that no path holds at that point is
 * the caller's lock (a net release); a lock the caller holds and this function drops and takes
 * again is not its own; flows whose states had to be joined are not judged.
 */
import type { ExitState, FunctionFlow, HeldLock } from '../analysis/types';
import { callerFlows } from './callerFlows';
import { rangeKey, type Check, type CheckContext } from './check';
import { lineOf } from './places';
import { chosenFlows } from './lockSupport';
import type { Finding } from './finding';
import { flowResults } from './flowResults';
import { ruleMeta } from './registry';

/**
 * Might the verdict on `flow` ask whether a caller releases a lock (callersRelease)? Only when
 * some return holds a trylock/killable lock (an over-approximation, fixed per flow).
 */
const readsCallers = new WeakMap<FunctionFlow, boolean>();
function needsCallers(flow: FunctionFlow): boolean {
  let r = readsCallers.get(flow);
  if (r === undefined) {
    r = flow.exits.some((e) => e.state.held.some((h) => h.conditional || h.fromConditionalOp));
    readsCallers.set(flow, r);
  }
  return r;
}

/** A flow of another definition of a name reads the chosen definition's summary (its requires). */
function readsChosenSummary(flow: FunctionFlow, ctx: CheckContext): boolean {
  return chosenFlows(ctx).get(flow.fn.name) !== flow && flow.events.some((e) => e.kind === 'releaseNotHeld');
}

const NO_NAMES: readonly string[] = [];

export const lockImbalanceCheck: Check = {
  codes: ['lock-imbalance'],
  /**
   * Per flow, kept across analyses. Besides the flow (and through it its callees' summaries and
   * its own), a verdict reads the callers of the function (a conditional lock some caller
   * releases) and, for a definition that is not the chosen one, the chosen definition's summary:
   * such flows watch their name, re-judged when its callers or its chosen flow change.
   */
  run(ctx: CheckContext): Finding[] {
    return flowResults(ctx, {
      key: 'lockImbalance:results',
      compute: judge,
      watch: (flow) => (needsCallers(flow) || readsChosenSummary(flow, ctx) ? [flow.fn.name] : NO_NAMES),
      changedNames: () => callerFlows(ctx).changed,
    });
  },
};

/** The lock-imbalance findings of one function. */
function judge(flow: FunctionFlow, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const severity = ruleMeta('lock-imbalance').defaultSeverity;
  const fn = flow.fn;
  if (flow.truncated) return out;
  const exits = flow.exits.filter((e) => !e.state.joined);
  if (exits.length !== flow.exits.length) return out;

  // Held at some returns, not at others. Only for classes the function also releases itself:
  // one that never releases a lock it returns holding is a (conditional) net acquirer.
  if (flow.events.length === 0 && !exits.some((e) => e.state.held.length > 0)) return out;
  const releasesOwn = new Set<string>();
  for (const [op, ref] of flow.locks) if (op.k === 'release') releasesOwn.add(ref.cls);
  for (const [op, targets] of flow.targets) {
    if (targets.length !== 1 || op.k !== 'call' || op.indirect) continue;
    const sum = ctx.summaries.get(targets[0]);
    if (sum) for (const e of sum.effects) if (e.effect === 'release') releasesOwn.add(e.cls);
  }
  // A release reached only after a failed trylock/killable of the same lock (and never with
  // the lock held, which a loop over instances would do): the result test is inverted.
  const inverted = flow.events.filter(
    (e) => e.kind === 'releaseAfterFailed' && !(flow.contexts.get(e.op) ?? []).some((c) => c.held.some((h) => h.cls === e.lock.cls)),
  );
  const invertedTests = new Set(inverted.map((e) => e.lock.cls));
  if (exits.length >= 2) {
    const byKey = new Map<string, { count: number; first: (typeof exits)[number]; lock: HeldLock; conditional: boolean; vague: boolean }>();
    for (const ex of exits) {
      for (const h of ex.state.held) {
        // The caller's lock, dropped and taken again here: not ours to balance.
        if (ex.state.fromCaller.some((c) => c.cls === h.cls)) continue;
        const k = `${h.cls}|${h.inst}`;
        const cur = byKey.get(k);
        const conditional = !!(h.conditional || h.fromConditionalOp);
        const vague = !!(h.mayDrop || h.maybe);
        if (cur) {
          cur.count++;
          cur.conditional ||= conditional;
          cur.vague ||= vague;
        } else byKey.set(k, { count: 1, first: ex, lock: h, conditional, vague });
      }
    }
    for (const [, v] of byKey) {
      if (v.count === exits.length || v.vague) continue;
      const cls = v.lock.cls;
      if (v.conditional) {
        // Returning holding a trylock/killable lock on success is a protocol ("returns 0
        // with the lock held") unless the result test is inverted here, nobody ever releases
        // what this function returns holding, or the function gives the lock back itself on a
        // path where no attempt failed (success does not hand it over: this return leaks it).
        const inverted = invertedTests.has(cls);
        if (!inverted && !givesBackOnSuccess(exits, cls) && (releasesOwn.has(cls) || callersRelease(ctx, fn.name, cls))) continue;
      } else if (!releasesOwn.has(cls)) {
        continue;
      }
      const name = ctx.display(cls);
      const taken = v.lock.via ? `taken through ${v.lock.via} at ${lineOf(fn.file, v.lock.range)}` : `taken at ${lineOf(fn.file, v.lock.range)}`;
      out.push({
        code: 'lock-imbalance',
        severity,
        file: fn.file,
        range: v.first.range,
        message: `${name} is still held at this return (${taken}), but other paths of ${fn.name} return without it`,
        related: [{ file: v.lock.file, range: v.lock.range, message: `${name} taken here` }],
        functionName: fn.name,
      });
    }
  }

  const sum = ctx.summaries.get(fn.name);
  const reported = new Set<string>();
  const report = (e: (typeof flow.events)[number], key: string, message: string): void => {
    reported.add(key);
    out.push({ code: 'lock-imbalance', severity, file: fn.file, range: e.op.range, message, related: [], functionName: fn.name });
  };
  for (const e of flow.events) {
    const key = `${e.kind}|${rangeKey(e.op.range)}`;
    if (reported.has(key)) continue;
    if (e.kind === 'releaseAfterFailed') {
      if (!inverted.includes(e)) continue;
      report(e, key, `${ctx.display(e.lock.cls)} is released here on a path where the attempt to take it failed (the result test looks inverted)`);
    } else if (e.kind === 'doubleRelease') {
      report(e, key, `${ctx.display(e.lock.cls)} is released twice on a path through ${fn.name}`);
    } else if (e.kind === 'releaseNotHeld') {
      const ctxs = flow.contexts.get(e.op) ?? [];
      // Held on another path by this function itself (not the caller's lock taken again).
      const heldOnSome = ctxs.some((c) => c.held.some((h) => h.cls === e.lock.cls) && !c.callerReleased.includes(e.lock.cls));
      const notHeldOnSome = ctxs.some((c) => !c.held.some((h) => h.cls === e.lock.cls));
      if (!heldOnSome || !notHeldOnSome) continue;
      const required = (sum?.requires ?? []).some((r) => r.cls === e.lock.cls && r.how !== 'inferred');
      if (required) continue;
      report(e, key, `${ctx.display(e.lock.cls)} is released here on a path where it is not held (other paths reach this release holding it)`);
    }
  }
  return out;
}

/**
 * Does some return of the function come after an unwind loop gave back every instance of `cls`
 * (the dataflow's `cls|*` in `released`), with no failed attempt to take one on the way: a
 * lock-all loop that succeeded and is undone before returning? Then success does not hand the
 * locks over, and a return that still holds them leaks them.
 */
function givesBackOnSuccess(exits: readonly ExitState[], cls: string): boolean {
  const all = `${cls}|*`;
  const prefix = cls + '|';
  return exits.some((e) => e.state.released.includes(all) && !e.state.held.some((h) => h.cls === cls) && !e.state.failed.some((k) => k.startsWith(prefix)));
}

/** Does some caller of `name` release `cls` (directly or through a callee)? */
function callersRelease(ctx: CheckContext, name: string, cls: string): boolean {
  for (const flow of callerFlows(ctx).of(name) ?? []) {
    for (const [op, ref] of flow.locks) if (op.k === 'release' && ref.cls === cls) return true;
    for (const ts of flow.targets.values()) {
      for (const t of ts) if (ctx.summaryOf(t)?.effects.some((e) => e.effect === 'release' && e.cls === cls)) return true;
    }
  }
  return false;
}

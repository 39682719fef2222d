/**
 * sleep-in-atomic: a sleeping lock (mutex, rwsem, their killable forms) or a sleeping call
 * (synchronize_srcu/rcu, msleep, schedule, cond_resched, copy_*_user, wait_event*, an allocation
 * whose gfp flags allow direct reclaim such as kmalloc(..., GFP_KERNEL), ...), directly
 * or through calls, reached while a spinlock, raw spinlock or rwlock (x86's mmu_lock in either
 * mode) is held, inside rcu_read_lock(), or with interrupts or preemption disabled.
 *
 * Reported at the sleeping op, or at the call in the function that holds the atomic context;
 * calls of one function that reach the same sleep from the same context are one finding, at the
 * first of them, with the others as related locations.
 * A callee that releases the caller's spinlock before it sleeps (unlock / schedule / lock) is
 * not blamed (./exposure.ts). cond_resched_rwlock_*() drops the lock itself and is not a sleep
 * here. Trylocks never sleep.
 */
import { KERNEL_SLEEPING_CALLS, KERNEL_TIMER_FUNCTIONS } from '../../model/kvmTypes';
import { isHandlerTarget } from '../analysis/chains';
import type { ChainStep, FunctionFlow, HeldLock, OpContext } from '../analysis/types';
import type { CallOp, LockKind, Op } from '../frontend/facts';
import { chainToRelated, rangeKey, type Check, type CheckContext } from './check';
import { ExposureSolver, kernelRunContext, type ExposureSpec, type Offence } from './exposure';
import type { Finding } from './finding';
import { calleeList, where } from './lockSupport';
import { rangeWithin } from './places';
import { ruleMeta } from './registry';

const ATOMIC_KINDS: ReadonlySet<LockKind> = new Set<LockKind>(['spinlock', 'raw_spinlock', 'rwlock', 'rcu']);
const SLEEPING_KINDS: ReadonlySet<LockKind> = new Set<LockKind>(['mutex', 'rwsem']);

/** Kernel (and KVM) functions that may sleep, beyond the built-in list of model/kvmTypes.ts. */
const MORE_SLEEPING_CALLS: ReadonlySet<string> = new Set([
  'ssleep',
  'msleep_interruptible',
  'usleep_range_state',
  'fsleep',
  'schedule_timeout_interruptible',
  'schedule_timeout_killable',
  'schedule_timeout_uninterruptible',
  'schedule_hrtimeout',
  'io_schedule',
  'wait_for_completion_interruptible',
  'wait_for_completion_killable',
  'wait_for_completion_timeout',
  'wait_for_completion_interruptible_timeout',
  'wait_event',
  'wait_event_killable',
  'wait_event_timeout',
  'wait_event_interruptible_timeout',
  'wait_event_interruptible_exclusive',
  'wait_var_event',
  'rcuwait_wait_event',
  'flush_workqueue',
  'flush_delayed_work',
  'drain_workqueue',
  'destroy_workqueue',
  'kthread_stop',
  'synchronize_srcu_expedited',
  'synchronize_rcu_expedited',
  'vmalloc',
  'vzalloc',
  '__vmalloc',
  'vfree',
  'kvfree_rcu_mightsleep',
  'get_user_pages',
  'get_user_pages_unlocked',
  'get_user_pages_fast',
  'pin_user_pages',
  'pin_user_pages_fast',
  'pin_user_pages_unlocked',
  // Guest memory accessors that fault pages in (might_fault). Their bodies use __copy_*_user,
  // which is not listed: it only sleeps on a fault, and KVM's *_atomic variants rely on that.
  'kvm_read_guest',
  'kvm_write_guest',
  'kvm_vcpu_read_guest',
  'kvm_vcpu_write_guest',
  'copy_from_user_nofault_sleep',
  'memdup_user',
  'vmemdup_user',
  'strndup_user',
  'mmu_notifier_register',
  'mmu_notifier_unregister',
  'misc_register',
  'kvm_mmu_topup_memory_cache',
  '__kvm_mmu_topup_memory_cache',
  'kvm_vcpu_halt',
]);

/** Run-time context queries: a function that asks them only sleeps where it found it may. */
const CONTEXT_QUERIES: ReadonlySet<string> = new Set(['in_atomic', 'preemptible', 'irqs_disabled', 'in_interrupt', 'in_task', 'task_is_running']);

function isSleepingCall(name: string): boolean {
  return KERNEL_SLEEPING_CALLS.has(name) || MORE_SLEEPING_CALLS.has(name);
}

function kindName(k: LockKind): string {
  switch (k) {
    case 'raw_spinlock':
      return 'raw spinlock';
    case 'rwlock':
      return 'rwlock';
    default:
      return k;
  }
}

const sleepSpec = (ctx: CheckContext): ExposureSpec => ({
  ownEvents(flow: FunctionFlow, op: Op) {
    if (op.k === 'acquire') {
      const ref = flow.locks.get(op);
      const kind = op.kind !== 'unknown' ? op.kind : ref?.fieldKind ?? 'unknown';
      const trylock = /trylock/.test(op.api) || op.heldWhen === 'nonzero';
      if (!SLEEPING_KINDS.has(kind) || trylock) return [];
      return [{ key: 'sleep', what: `${op.api}(${ctx.display(ref?.cls ?? op.lock.text)})` }];
    }
    if (op.k === 'sync') {
      const ref = flow.locks.get(op);
      return [{ key: 'sleep', what: ref && ref.cls !== 'rcu' ? `${op.api}(&${ctx.display(ref.cls)})` : `${op.api}()` }];
    }
    if (op.k === 'call' && !op.indirect && (flow.targets.get(op)?.length === 0 || MORE_SLEEPING_CALLS.has(op.callee)) && isSleepingCall(op.callee)) {
      return [{ key: 'sleep', what: `${op.callee}()` }];
    }
    if (op.k === 'call' && op.blockingGfp !== undefined && flow.targets.get(op)?.length === 0) {
      return [{ key: 'alloc', what: `${op.callee}(${op.blockingGfp})` }];
    }
    return [];
  },
  // An allocator is often reached through an ops table of allocation callbacks of one type
  // (arm64's kvm_pgtable_mm_ops: the hypervisor's allocates with GFP_KERNEL, stage 2's from a
  // cache filled beforehand), so a blocking allocation is followed through named calls only.
  crossesIndirect: (key: string) => key !== 'alloc',
  mayOffend(c: OpContext): boolean {
    if (c.irqOff > 0 || c.preemptOff > 0) return true;
    for (const h of c.held) if (ATOMIC_KINDS.has(h.kind)) return true;
    return false;
  },
  exports(flow: FunctionFlow): boolean {
    for (const op of flow.contexts.keys()) if (op.k === 'call' && CONTEXT_QUERIES.has(op.callee)) return false;
    return true;
  },
  offends(c: OpContext, _key: string, released: ReadonlySet<string>): Offence | undefined {
    // Innermost atomic lock first: it is the one the reader sees around the sleep.
    for (let i = c.held.length - 1; i >= 0; i--) {
      const h = c.held[i];
      if (ATOMIC_KINDS.has(h.kind) && !released.has(h.cls)) return { held: h };
    }
    // IRQs disabled by an _irq/_irqsave lock the callee releases (and so re-enables) do not count.
    const irqsBack = c.held.filter((h) => h.irqsOff && released.has(h.cls)).length;
    if (c.irqOff - irqsBack > 0) return { reason: 'interrupts are disabled here' };
    if (c.preemptOff > 0) return { reason: 'preemption is disabled here' };
    return undefined;
  },
});

function atomicReason(ctx: CheckContext, o: Offence): string {
  if (o.within) return `${o.within} calls it ${calleeAtomicReason(ctx, o)}`;
  if (!o.held) return o.reason ?? 'the context is atomic';
  const h: HeldLock = o.held;
  const taken = h.via ? `taken through ${h.via} at ${where(h.file, h.range)}` : `taken at ${where(h.file, h.range)}`;
  if (h.kind === 'rcu') return `it is inside an RCU read-side section (rcu_read_lock ${taken.replace(/^taken /, '')})`;
  const mode = h.kind === 'rwlock' ? (h.mode === 'read' ? ' held for read' : ' held for write') : ' held';
  return `${ctx.display(h.cls)} (a ${kindName(h.kind)}) is${mode} here (${taken})`;
}

/** The atomic context of a callee at its call through a parameter: "with X (a spinlock) held (taken at ...)". */
function calleeAtomicReason(ctx: CheckContext, o: Offence): string {
  if (!o.held) {
    // `interrupts are disabled here` (a callee's own context) or a kernel runner's `in softirq context (...)`.
    const reason = o.reason ?? 'in an atomic context';
    return / (is|are) disabled here$/.test(reason) ? `with ${reason.replace(/ (is|are) disabled here$/, ' disabled')}` : reason;
  }
  const h: HeldLock = o.held;
  const taken = h.via ? `taken through ${h.via} at ${where(h.file, h.range)}` : `taken at ${where(h.file, h.range)}`;
  if (h.kind === 'rcu') return `inside an RCU read-side section (rcu_read_lock ${taken.replace(/^taken /, '')})`;
  const mode = h.kind === 'rwlock' ? (h.mode === 'read' ? ' held for read' : ' held for write') : ' held';
  return `with ${ctx.display(h.cls)} (a ${kindName(h.kind)})${mode} (${taken})`;
}

/** The document's reference entry that states the lock's type, for the rule reference. */
function lockEntryRef(ctx: CheckContext, o: Offence): string {
  if (o.held) {
    for (const l of ctx.rules.locks) {
      if (l.line > 0 && ctx.names.classOf.get(l.name) === o.held.cls) return ctx.ruleRef(l.line);
    }
  }
  return 'built-in rule';
}

const solvers = new WeakMap<CheckContext, ExposureSolver>();
export function sleepSolver(ctx: CheckContext): ExposureSolver {
  let s = solvers.get(ctx);
  if (!s) solvers.set(ctx, (s = new ExposureSolver(ctx, sleepSpec(ctx), 'exposure:sleep', '')));
  return s;
}

/**
 * A function bound as a timer's function (`apic->lapic_timer.timer.function = apic_timer_fn`),
 * recognised by its one parameter (`struct hrtimer *`, `struct timer_list *`), that may sleep:
 * reported where it is bound. Recomputed on every analysis from the bindings and the callees'
 * current values, so it needs no per-function cache.
 */
function timerFunctionFindings(ctx: CheckContext): Finding[] {
  const sites = ctx.index.bindingSites;
  if (!sites) return [];
  const out: Finding[] = [];
  const severity = ruleMeta('sleep-in-atomic').defaultSeverity;
  for (const b of sites) {
    if (b.field !== 'function') continue;
    const fn = ctx.index.functions.get(b.func);
    const param = fn?.params.length === 1 && fn.params[0].pointer ? fn.params[0].type : undefined;
    const timer = param !== undefined ? KERNEL_TIMER_FUNCTIONS.get(param) : undefined;
    if (!fn || !timer) continue;
    const hit = sleepSolver(ctx).offendingIn(b.func, kernelRunContext(timer.irqsOff));
    if (!hit) continue;
    const chain = sleepSolver(ctx).chain(hit.event);
    const sleeper = chain[chain.length - 1];
    const enclosing = ctx.flows.find((f) => f.fn.file === b.file && rangeWithin(b.range, f.fn.range))?.fn.name;
    const bound: ChainStep = { file: b.file, range: b.range, function: enclosing ?? b.func, what: `${b.func} bound as a timer function` };
    out.push({
      code: 'sleep-in-atomic',
      severity,
      file: b.file,
      range: b.range,
      message: `${b.func} may sleep (${sleeper.what} at ${where(sleeper.file, sleeper.range)}), but ${timer.context}; sleeping in atomic context is not allowed (built-in rule)`,
      related: chainToRelated(ctx, [bound, ...chain.map((s, i) => (i === chain.length - 1 ? { ...s, what: `sleeps: ${s.what}` } : s))]),
      ruleRef: 'built-in rule',
      functionName: enclosing ?? b.func,
    });
  }
  return out;
}

export const sleepInAtomicCheck: Check = {
  codes: ['sleep-in-atomic'],
  // A finding's chain is read from the callees' current values below the first callee.
  rerunEntriesWithFindings: true,
  run(ctx: CheckContext): Finding[] {
    return timerFunctionFindings(ctx);
  },
  functionDeps(flow: FunctionFlow, ctx: CheckContext): number[] {
    return sleepSolver(ctx).calleeVersions(flow);
  },
  functionDepsDelta(ctx: CheckContext) {
    return { changes: sleepSolver(ctx).changes(), names: calleeList, key: () => '' };
  },
  runFunction(flow: FunctionFlow, ctx: CheckContext): Finding[] {
    const out: Finding[] = [];
    const severity = ruleMeta('sleep-in-atomic').defaultSeverity;
    const solver = sleepSolver(ctx);
    {
      const fn = flow.fn;
      const reported = new Set<string>();
      // One finding per atomic context and sleep: the other calls of this function that reach the
      // same sleep from the same context are listed with it (PR KVM's paired-singles emulation
      // reaches one copy_from_user from 20 calls under one preempt_disable).
      const bySleep = new Map<string, { finding: Finding; more: number }>();
      // In source order, so that the first call of a group carries it.
      const offending = solver.eventsOf(flow).filter((ev) => ev.offence);
      offending.sort((a, b) => a.op.range.start.line - b.op.range.start.line || a.op.range.start.column - b.op.range.start.column);
      for (const ev of offending) {
        if (!ev.offence) continue;
        const key = rangeKey(ev.op.range);
        if (reported.has(key)) continue;
        reported.add(key);
        const o = ev.offence.offence;
        const chain = solver.chain(ev.event);
        const sleeper = chain[chain.length - 1];
        const group = `${atomicReason(ctx, o)}|${o.held ? `${o.held.file}:${rangeKey(o.held.range)}` : ''}|${sleeper.file}:${rangeKey(sleeper.range)}|${sleeper.what}`;
        const first = bySleep.get(group);
        if (first && ev.op.k === 'call') {
          first.finding.related.push({ file: fn.file, range: ev.op.range, message: `calls ${ev.op.callee}, which reaches the same sleep` });
          first.more++;
          continue;
        }
        const direct = chain.length === 1;
        // A handler passed to a callee that calls it in atomic context: the handler is the sleeper.
        const via = ev.event.via;
        const handler = ev.op.k === 'call' && via !== undefined && isHandlerTarget(ev.op, via);
        const through = o.within ? via : handler ? `${via} (passed to ${(ev.op as CallOp).callee})` : ev.op.k === 'call' ? ev.op.callee : fn.name;
        const what = direct ? `${sleeper.what} may sleep` : `${through} may sleep (${sleeper.what} at ${where(sleeper.file, sleeper.range)})`;
        const ref = lockEntryRef(ctx, o);
        const related = [
          ...(o.held ? [{ file: o.held.file, range: o.held.range, message: o.within ? `${ctx.display(o.held.cls)} held here by ${o.within}, which calls ${through}` : `${ctx.display(o.held.cls)} held here` }] : []),
          ...chainToRelated(ctx, chain.map((s, i) => (i === chain.length - 1 ? { ...s, what: `sleeps: ${s.what}` } : s))),
        ];
        const finding: Finding = {
          code: 'sleep-in-atomic',
          severity,
          file: fn.file,
          range: ev.op.range,
          message: `${what}, but ${atomicReason(ctx, o)}; sleeping in atomic context is not allowed (${ref})`,
          related,
          ruleRef: ref,
          functionName: fn.name,
        };
        out.push(finding);
        if (ev.op.k === 'call') bySleep.set(group, { finding, more: 0 });
      }
      for (const { finding, more } of bySleep.values()) {
        if (more > 0) finding.message += `; ${more} more call${more === 1 ? '' : 's'} of ${fn.name} reach the same sleep in the same context (related locations)`;
      }
    }
    return out;
  },
};

/**
 * "What a callee does while its caller's lock is still held": the events (a sleep, a lock taken,
 * a synchronize) a function may reach, each with the lock classes it has certainly released
 * before. A callee that drops the caller's SRCU read lock (or spinlock) and only then takes a
 * mutex is not blamed: the event carries "released kvm.srcu before", and the caller holding
 * kvm.srcu finds it irrelevant.
 *
 * An event that a function reports itself (it holds the offending context at that point) is not
 * passed on to its callers, so one bug gives one finding.
 */
import type { ChainStep, FunctionFlow, OpContext } from '../analysis/types';
import type { CallOp, Op } from '../frontend/facts';
import { callStepText } from '../analysis/chains';
import { KERNEL_CALLBACK_RUNNERS, LAZY_INITIALIZERS } from '../../model/kvmTypes';
import type { CheckContext } from './check';
import { derivedCache, DerivedCache, idOf } from './derived';
import { calleeList, blockOf, calleeNames, chosenFlows, MAX_CHAIN, paramGuardedBlocks, releasedBeforeOp, step } from './lockSupport';

/**
 * One event a function exposes. Only the first step of its witness chain is kept (the op in this
 * function); the rest is the callee `via`'s event of the same key with the released set
 * `viaReleased` (a function exposes one event per key and released set) in the callee's current
 * value, followed when a finding shows the chain (ExposureSolver.chain). So a value says nothing about its callees'
 * deeper steps and does not change when only they do: an edit deep in a chain re-derives the
 * edited function and its direct callers, not every function above it.
 */
export interface ExposedEvent {
  /** `sleep`, `take:<cls>`, `sync:<cls>`: what happens. */
  key: string;
  /** Lock classes released on every path before it (within the chain). */
  released: ReadonlySet<string>;
  /** The op in this function: the event itself, or the call through which it is reached. */
  step: ChainStep;
  /** The callee the event is reached through (absent: `step` is the event). */
  via?: string;
  /** The released set of the event in `via`'s value (setKey), which names it there. */
  viaReleased: string;
  /** Steps of the whole chain (callers keep the shortest witnesses first). */
  length: number;
}

export interface ExposureSpec {
  /** Events an op causes by itself (an acquisition, a synchronize, a call of a kernel function). */
  ownEvents(flow: FunctionFlow, op: Op): { key: string; what: string }[];
  /** Is the event a problem in context `c`? Returns what makes it one (for the message), or undefined. */
  offends(c: OpContext, key: string, released: ReadonlySet<string>): Offence | undefined;
  /**
   * Optional quick test: false when no event can offend in context `c` (offends would return
   * undefined for every key), so the contexts of most ops need no look per event.
   */
  mayOffend?(c: OpContext): boolean;
  /** Whether a function passes its events on to its callers at all (default: yes). */
  exports?(flow: FunctionFlow): boolean;
  /**
   * Whether events of `key` reach callers through indirect calls (a function pointer, a handler
   * passed as an argument); default yes. False keeps them to calls that name their callee.
   */
  crossesIndirect?(key: string): boolean;
}

export interface Offence {
  /** The held lock that makes it a problem, if a lock does. */
  held?: OpContext['held'][number];
  /** `interrupts are disabled`, ... when no lock does. */
  reason?: string;
  /**
   * The callee the event's handler was passed to, when the context that makes it a problem is
   * that callee's at its call through the parameter (FunctionFlow.handlerContexts), not ours.
   */
  within?: string;
}

export interface EventAt {
  op: Op;
  event: ExposedEvent;
  /** The first context of the op in which the event offends, and why. */
  offence?: { context: OpContext; offence: Offence };
  /** Reached through a function the kernel runs apart from us (FunctionFlow.detachedHandlers). */
  detached?: true;
}

/** The context the kernel runs a function in by itself (an IPI handler, a callback, a timer): atomic, none of our locks held. */
export function kernelRunContext(irqsOff: boolean): OpContext {
  return { held: [], callerReleased: [], irqOff: irqsOff ? 1 : 0, preemptOff: 1 };
}

const MAX_PER_KEY = 4;
const EMPTY: ReadonlySet<string> = new Set();
const NO_EVENTS: ExposedEvent[] = [];
const NO_CONTEXTS: readonly OpContext[] = [];
const NO_EVENTS_AT: EventAt[] = [];

function setKey(s: ReadonlySet<string>): string {
  return s.size === 0 ? '' : s.size === 1 ? s.values().next().value! : [...s].sort().join(',');
}

/**
 * Everything in a value, which is everything callers read from it: keys, released sets, order,
 * chain lengths, the callee and index each event goes through, and this function's own steps
 * with their positions (a value whose signature is unchanged is kept as it was, positions
 * included, so they must be covered). Deeper steps are not in a value, so not here either.
 */
function eventsSig(list: ExposedEvent[]): string {
  let s = list.length ? list[0].step.file + '\n' : '';
  for (const e of list) {
    const st = e.step;
    if (st.file !== list[0].step.file) s += st.file + '>';
    s += `${e.key}|${setKey(e.released)}|${e.length}|${e.via ?? ''}#${e.viaReleased}|@${idOf(st.range)}:${st.what}\n`;
  }
  return s;
}

export class ExposureSolver {
  private events = new Map<FunctionFlow, EventAt[]>();
  /** Whether some op of a flow causes an event by itself (this analysis: the spec may change). */
  private ownAny = new Map<FunctionFlow, boolean>();
  /** Events each function exposes to its callers, kept across analyses. */
  private cache: DerivedCache<ExposedEvent[]>;

  /**
   * `key` names the cache in the workspace's store; `config` everything global the spec
   * depends on (a different config starts afresh).
   */
  constructor(
    private readonly ctx: CheckContext,
    private readonly spec: ExposureSpec,
    key: string,
    config: string,
  ) {
    this.cache = derivedCache<ExposedEvent[]>(
      ctx,
      key,
      `${idOf(ctx.rules)}:${idOf(ctx.names)}:${idOf(ctx.resolver)}:${config}`,
      () => new DerivedCache<ExposedEvent[]>(NO_EVENTS, eventsSig, (c, name) => chosenFlows(c).get(name)),
      (flow) => this.derive(flow),
    );
  }

  /** Names whose values changed version in this analysis (DerivedCache.changes). */
  changes(): { generation: number; names: ReadonlySet<string> | null } {
    return this.cache.changes();
  }

  /** Versions of the exposed events of every callee of `flow` (what its judgements read). */
  calleeVersions(flow: FunctionFlow): number[] {
    const names = calleeList(flow);
    const out = new Array<number>(names.length);
    for (let i = 0; i < names.length; i++) out[i] = this.cache.version(names[i]);
    return out;
  }

  /** Events of a function its callers must judge against what they hold. */
  exposed(name: string): ExposedEvent[] {
    return this.cache.get(name);
  }

  /** The first event `name` exposes that offends in `context` (one the kernel runs it in), and why. */
  offendingIn(name: string, context: OpContext): { event: ExposedEvent; offence: Offence } | undefined {
    for (const event of this.exposed(name)) {
      if (event.length >= MAX_CHAIN) continue;
      const offence = this.spec.offends(context, event.key, event.released);
      if (offence) return { event, offence };
    }
    return undefined;
  }

  /**
   * The whole witness chain of an event, from its step down to the event itself, read from the
   * callees' current values (what a fresh analysis would show). Not for use while deriving.
   */
  chain(e: ExposedEvent): ChainStep[] {
    const out: ChainStep[] = [e.step];
    for (let c = e; c.via !== undefined && out.length < MAX_CHAIN; ) {
      let next: ExposedEvent | undefined;
      for (const x of this.exposed(c.via)) {
        if (x.key === c.key && setKey(x.released) === c.viaReleased) {
          next = x;
          break;
        }
      }
      // Cannot happen while the values are consistent (a caller is re-derived when its callee's
      // value changes); the chain is then cut rather than wrong.
      if (!next) break;
      out.push(next.step);
      c = next;
    }
    return out;
  }

  private derive(flow: FunctionFlow): ExposedEvent[] {
    const events = this.spec.exports && !this.spec.exports(flow) ? [] : this.eventsOf(flow);
    let out: ExposedEvent[] | undefined;
    let count: Map<string, number> | undefined;
    let seen: Set<string> | undefined;
    let released: ((op: Op) => ReadonlySet<string>) | undefined;
    let guarded: Set<number> | undefined;
    for (const ev of events) {
      if (ev.offence || ev.detached) continue;
      // Computed only for functions with an event to pass on (most have none).
      guarded ??= paramGuardedBlocks(flow.fn);
      if (guarded.size && guarded.has(blockOf(flow.fn, ev.op))) continue;
      released ??= releasedBeforeOp(this.ctx, flow);
      const before = released(ev.op);
      const rel = before.size === 0 ? ev.event.released : ev.event.released.size === 0 ? before : new Set([...before, ...ev.event.released]);
      const k = ev.event.key + '|' + setKey(rel);
      if ((seen ??= new Set()).has(k)) continue;
      const n = (count ??= new Map()).get(ev.event.key) ?? 0;
      if (n >= MAX_PER_KEY) continue;
      seen.add(k);
      count.set(ev.event.key, n + 1);
      (out ??= []).push(rel === ev.event.released ? ev.event : { ...ev.event, released: rel });
    }
    if (!out) return NO_EVENTS;
    // Shortest chains first, so that callers keep the clearest witness.
    out.sort((a, b) => a.length - b.length);
    return out;
  }

  private hasOwnEvents(flow: FunctionFlow): boolean {
    let v = this.ownAny.get(flow);
    if (v === undefined) {
      v = false;
      for (const op of flow.contexts.keys()) {
        if (this.spec.ownEvents(flow, op).length > 0) {
          v = true;
          break;
        }
      }
      this.ownAny.set(flow, v);
    }
    return v;
  }

  /** Every event at every reached op of a flow, with the context in which it offends (if any). */
  eventsOf(flow: FunctionFlow): EventAt[] {
    const cached = this.events.get(flow);
    if (cached) {
      // Still read the callees' values: a function being derived records what it depends on.
      if (this.cache.recordingNow) this.calleeVersions(flow);
      return cached;
    }
    // Most functions cause nothing themselves and reach nothing: their callees' values are read
    // (the same reads in the same order as below) without a look at any op's contexts.
    // (Callees first: a function that reaches something needs no look at its own ops here.)
    let reaches = false;
    for (const name of calleeList(flow)) {
      if (this.exposed(name).length > 0) {
        reaches = true;
        break;
      }
    }
    if (!reaches && !this.hasOwnEvents(flow)) {
      this.events.set(flow, NO_EVENTS_AT);
      return NO_EVENTS_AT;
    }
    const fn = flow.fn;
    const res: EventAt[] = [];
    const mayOffend = this.spec.mayOffend;
    for (const [op, contexts] of flow.contexts) {
      let events: ExposedEvent[] | undefined;
      for (const e of this.spec.ownEvents(flow, op)) (events ??= []).push({ key: e.key, released: EMPTY, step: step(fn, op.range, e.what), viaReleased: '', length: 1 });
      /** Events reached through a handler passed to the callee, with the callee's contexts at its call. */
      let inCallee: Map<ExposedEvent, readonly OpContext[]> | undefined;
      if (op.k === 'call') {
        const handlers = flow.handlerContexts?.get(op);
        for (const name of calleeNames(flow, op)) {
          if (name === fn.name || LAZY_INITIALIZERS.has(name)) continue;
          const exposed = this.exposed(name);
          if (exposed.length === 0) continue;
          const calleeContexts = handlers?.get(name);
          let head: ChainStep | undefined;
          const perKey = new Map<string, number>();
          const indirect = (op as CallOp).indirect !== undefined || name !== (op as CallOp).callee;
          for (const e of exposed) {
            if (e.length >= MAX_CHAIN) continue;
            if (indirect && this.spec.crossesIndirect && !this.spec.crossesIndirect(e.key)) continue;
            const n = perKey.get(e.key) ?? 0;
            if (n >= MAX_PER_KEY) continue;
            perKey.set(e.key, n + 1);
            head ??= step(fn, op.range, callStepText(op as CallOp, name));
            const ev: ExposedEvent = { key: e.key, released: e.released, step: head, via: name, viaReleased: setKey(e.released), length: e.length + 1 };
            (events ??= []).push(ev);
            if (calleeContexts) (inCallee ??= new Map()).set(ev, calleeContexts);
          }
        }
      }
      if (!events) continue;
      let judged: readonly OpContext[] = contexts;
      if (mayOffend) {
        let some = false;
        for (const c of contexts) if (mayOffend(c)) some = true;
        judged = some ? contexts : NO_CONTEXTS;
      }
      for (const event of events) {
        let offence: EventAt['offence'];
        for (const c of judged) {
          const o = this.spec.offends(c, event.key, event.released);
          if (o) {
            offence = { context: c, offence: o };
            break;
          }
        }
        const calleeContexts = inCallee?.get(event);
        if (!offence && calleeContexts) {
          for (const c of calleeContexts) {
            if (mayOffend && !mayOffend(c)) continue;
            const o = this.spec.offends(c, event.key, event.released);
            if (o) {
              offence = { context: c, offence: { ...o, within: (op as CallOp).callee } };
              break;
            }
          }
        }
        res.push({ op, event, offence });
      }
    }
    // Functions handed to the kernel to run in a context of its own: judged in that context only,
    // reported here when they offend there, never passed on to our callers.
    if (flow.detachedHandlers) {
      for (const [op, h] of flow.detachedHandlers) {
        const runnerName = (op as CallOp).callee;
        const runner = KERNEL_CALLBACK_RUNNERS.get(runnerName);
        if (!runner || !flow.contexts.has(op) || h === fn.name) continue;
        const context = kernelRunContext(runner.irqsOff);
        const hit = this.offendingIn(h, context);
        if (!hit) continue;
        const e = hit.event;
        const o = hit.offence;
        const event: ExposedEvent = { key: e.key, released: e.released, step: step(fn, op.range, `calls ${runnerName} with ${h}`), via: h, viaReleased: setKey(e.released), length: e.length + 1 };
        res.push({ op, event, offence: { context, offence: { held: o.held, reason: o.held ? o.reason : runner.context, within: runnerName } }, detached: true });
      }
    }
    this.events.set(flow, res);
    return res;
  }
}

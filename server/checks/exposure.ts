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
import type { FunctionFlow, OpContext } from '../analysis/types';
import type { Op } from '../frontend/facts';
import type { CheckContext } from './check';
import { moveChained, derivedCache, DerivedCache, idOf } from './derived';
import { calleeList, linkSig, blockOf, calleeNames, chosenFlows, link, MAX_CHAIN, paramGuardedBlocks, releasedBefore, step, type Link } from './lockSupport';

export interface ExposedEvent {
  /** `sleep`, `take:<cls>`, `sync:<cls>`: what happens. */
  key: string;
  /** Lock classes released on every path before it (within the chain). */
  released: ReadonlySet<string>;
  /** From the op in this function down to the event. */
  chain: Link;
}

export interface ExposureSpec {
  /** Events an op causes by itself (an acquisition, a synchronize, a call of a kernel function). */
  ownEvents(flow: FunctionFlow, op: Op): { key: string; what: string }[];
  /** Is the event a problem in context `c`? Returns what makes it one (for the message), or undefined. */
  offends(c: OpContext, key: string, released: ReadonlySet<string>): Offence | undefined;
  /** Whether a function passes its events on to its callers at all (default: yes). */
  exports?(flow: FunctionFlow): boolean;
}

export interface Offence {
  /** The held lock that makes it a problem, if a lock does. */
  held?: OpContext['held'][number];
  /** `interrupts are disabled`, ... when no lock does. */
  reason?: string;
}

export interface EventAt {
  op: Op;
  event: ExposedEvent;
  /** The first context of the op in which the event offends, and why. */
  offence?: { context: OpContext; offence: Offence };
}

const MAX_PER_KEY = 4;
const EMPTY: ReadonlySet<string> = new Set();

function setKey(s: ReadonlySet<string>): string {
  return [...s].sort().join(',');
}

function eventsSig(list: ExposedEvent[]): string {
  let s = '';
  for (const e of list) s += `${e.key}|${setKey(e.released)}|${linkSig(e.chain)}\n`;
  return s;
}

export class ExposureSolver {
  private events = new Map<FunctionFlow, EventAt[]>();
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
      () => new DerivedCache<ExposedEvent[]>([], eventsSig, (c, name) => chosenFlows(c).get(name), moveChained),
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

  private derive(flow: FunctionFlow): ExposedEvent[] {
    const out: ExposedEvent[] = [];
    const count = new Map<string, number>();
    const seen = new Set<string>();
    const released = releasedBefore(this.ctx, flow);
    const guarded = paramGuardedBlocks(flow.fn);
    const events = this.spec.exports && !this.spec.exports(flow) ? [] : this.eventsOf(flow);
    for (const ev of events) {
      if (ev.offence) continue;
      if (guarded.size && guarded.has(blockOf(flow.fn, ev.op))) continue;
      const before = released.get(ev.op) ?? EMPTY;
      const rel = before.size === 0 ? ev.event.released : ev.event.released.size === 0 ? before : new Set([...before, ...ev.event.released]);
      const k = ev.event.key + '|' + setKey(rel);
      if (seen.has(k)) continue;
      const n = count.get(ev.event.key) ?? 0;
      if (n >= MAX_PER_KEY) continue;
      seen.add(k);
      count.set(ev.event.key, n + 1);
      out.push({ key: ev.event.key, released: rel, chain: ev.event.chain });
    }
    // Shortest chains first, so that callers keep the clearest witness.
    out.sort((a, b) => a.chain.length - b.chain.length);
    return out;
  }

  /** Every event at every reached op of a flow, with the context in which it offends (if any). */
  eventsOf(flow: FunctionFlow): EventAt[] {
    const cached = this.events.get(flow);
    if (cached) {
      // Still read the callees' values: a function being derived records what it depends on.
      if (this.cache.recordingNow) this.calleeVersions(flow);
      return cached;
    }
    const fn = flow.fn;
    const res: EventAt[] = [];
    for (const [op, contexts] of flow.contexts) {
      let events: ExposedEvent[] | undefined;
      for (const e of this.spec.ownEvents(flow, op)) (events ??= []).push({ key: e.key, released: EMPTY, chain: link(step(fn, op.range, e.what)) });
      if (op.k === 'call') {
        for (const name of calleeNames(flow, op)) {
          if (name === fn.name) continue;
          const exposed = this.exposed(name);
          if (exposed.length === 0) continue;
          const head = step(fn, op.range, `calls ${name}`);
          const perKey = new Map<string, number>();
          for (const e of exposed) {
            if (e.chain.length >= MAX_CHAIN) continue;
            const n = perKey.get(e.key) ?? 0;
            if (n >= MAX_PER_KEY) continue;
            perKey.set(e.key, n + 1);
            (events ??= []).push({ key: e.key, released: e.released, chain: link(head, e.chain) });
          }
        }
      }
      if (!events) continue;
      for (const event of events) {
        let offence: EventAt['offence'];
        for (const c of contexts) {
          const o = this.spec.offends(c, event.key, event.released);
          if (o) {
            offence = { context: c, offence: o };
            break;
          }
        }
        res.push({ op, event, offence });
      }
    }
    this.events.set(flow, res);
    return res;
  }
}

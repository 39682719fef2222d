/**
 * srcu-order: synchronize_srcu(&kvm->srcu) waits for every reader, so a lock it runs under must
 * never be taken inside a kvm->srcu read-side section, and synchronize_srcu(&kvm->srcu) itself
 * must not run inside one.
 *
 * The locks: the document's `forbiddenInside` list (kvm->lock, vcpu->mutex, kvm->slots_lock),
 * plus any lock this tree is seen to hold around a synchronize_srcu of the domain (directly or
 * through a call that does not release it first), minus what the document allows
 * (kvm->slots_arch_lock). Taken directly or through calls; a callee that drops the caller's
 * read lock before taking the lock (kvm_vcpu_srcu_read_unlock; mutex_lock; ...; relock) is
 * fine (./exposure.ts).
 */
import type { SrcuRule } from '../../model/rules/types';
import type { FunctionFlow, OpContext, Summary } from '../analysis/types';
import type { Op } from '../frontend/facts';
import { chainToRelated, rangeKey, type Check, type CheckContext } from './check';
import { ExposureSolver, type ExposureSpec } from './exposure';
import type { Finding } from './finding';
import { idOf } from './derived';
import { calleeList, calleeNames, calleeReleases, classOfName, where } from './lockSupport';
import { ruleMeta } from './registry';
import { isHandlerTarget, reachedThrough } from '../analysis/chains';

interface Forbidden {
  /** Document line (0 for observed). */
  line: number;
  /** Where synchronize_srcu was seen under it (observed locks). */
  observedAt?: { file: string; range: Op['range'] };
}

interface DomainRule {
  domain: string;
  rule: SrcuRule;
  forbidden: Map<string, Forbidden>;
}

interface SyncUnder {
  domain: string;
  cls: string;
  file: string;
  range: Op['range'];
}

/** What srcu-order needs to know of one flow, for one set of domains. */
interface FlowSrcu {
  domains: string;
  /** Locks it holds around a synchronize_srcu of a domain (directly or through a call). */
  syncUnder: SyncUnder[];
  /**
   * Some context of an op holds a domain's read lock: only then can the flow have a finding
   * (and read its callees' exposed events for one).
   */
  holdsDomain: boolean;
}

const NONE: SyncUnder[] = [];
const NO_NAMES: readonly string[] = [];

/**
 * Cached per flow object: a flow is replaced when its callees' summaries change. Most flows
 * neither take a domain nor call anything that may leave one held or synchronize one, and need
 * no look at their contexts.
 */
const flowSrcuCache = new WeakMap<FunctionFlow, FlowSrcu>();

function handlerContextsHold(flow: FunctionFlow, domains: ReadonlySet<string>): boolean {
  if (!flow.handlerContexts) return false;
  for (const byHandler of flow.handlerContexts.values()) {
    for (const ctxs of byHandler.values()) for (const c of ctxs) for (const h of c.held) if (domains.has(h.cls)) return true;
  }
  return false;
}
/** Whether some context of the flow holds a domain, per flow content (shared by copies). */
const contentCache = new WeakMap<FunctionFlow['contexts'], { domains: string; holdsDomain: boolean }>();
function flowSrcu(ctx: CheckContext, flow: FunctionFlow, domains: ReadonlySet<string>, domainsKey: string, callees: CalleeKinds): FlowSrcu {
  const cached = flowSrcuCache.get(flow);
  if (cached && cached.domains === domainsKey) return cached;
  // A domain is held only after an acquire op of it or a call of a function that may leave it
  // held, and nothing synchronizes without a sync op or a call of a syncer: most flows stop here.
  const own = domainOpsOf(flow, domains, domainsKey);
  // Whether a domain is held depends on the flow's content only (callees' effects included), which
  // copies of a flow share; whether it synchronizes also on callees' syncs, which they may not.
  const content = contentCache.get(flow.contexts);
  const known = content && content.domains === domainsKey ? content : undefined;
  // A handler this flow passes may run inside a callee's read-side section.
  const handlerInDomain = handlerContextsHold(flow, domains);
  let mayHoldDomain = known ? known.holdsDomain : handlerInDomain || own.acquires || callees.mayLeaveDomainHeld(flow.fn.name);
  let maySync = own.syncs || callees.syncsDomain(flow.fn.name);
  if ((!mayHoldDomain && !known) || !maySync) {
    const wantHold = !mayHoldDomain && !known;
    for (const n of calleeList(flow)) {
      const k = callees.kinds(n);
      if (k === undefined) continue;
      if (wantHold && k.locks) mayHoldDomain = true;
      if (k.syncs) maySync = true;
      if (maySync && (mayHoldDomain || !wantHold)) break;
    }
  }
  if (!mayHoldDomain && !maySync) {
    const out: FlowSrcu = { domains: domainsKey, syncUnder: NONE, holdsDomain: false };
    flowSrcuCache.set(flow, out);
    if (!known) contentCache.set(flow.contexts, { domains: domainsKey, holdsDomain: false });
    return out;
  }
  let list: SyncUnder[] | undefined;
  let holdsDomain = handlerInDomain;
  const note = (domain: string, c: OpContext, range: Op['range'], releasedByCallee: readonly string[]): void => {
    for (const h of c.held) {
      if (!h.resolved || h.kind === 'srcu' || h.kind === 'rcu' || h.cls === domain || releasedByCallee.includes(h.cls)) continue;
      (list ??= []).push({ domain, cls: h.cls, file: flow.fn.file, range });
    }
  };
  for (const [op, contexts] of flow.contexts) {
    if (op.k !== 'sync' && op.k !== 'call' && op.k !== 'acquire') continue;
    if (mayHoldDomain && !holdsDomain) {
      for (const c of contexts) {
        for (const h of c.held) if (domains.has(h.cls)) holdsDomain = true;
      }
    }
    if (!maySync) continue;
    if (op.k === 'sync') {
      const d = flow.locks.get(op)?.cls;
      if (d && domains.has(d)) for (const c of contexts) note(d, c, op.range, []);
    } else if (op.k === 'call') {
      for (const name of calleeNames(flow, op)) {
        if (!callees.syncsDomain(name)) continue;
        const sum = ctx.summaryOf(name);
        if (!sum || sum.syncs.size === 0) continue;
        for (const d of sum.syncs.keys()) {
          if (!domains.has(d)) continue;
          const rel = calleeReleases(ctx, flow, op);
          for (const c of contexts) note(d, c, op.range, rel);
        }
      }
    }
  }
  const out: FlowSrcu = { domains: domainsKey, syncUnder: list ?? NONE, holdsDomain };
  contentCache.set(flow.contexts, { domains: domainsKey, holdsDomain });
  flowSrcuCache.set(flow, out);
  return out;
}

/** What calling a function may do to the domains, read from its summary. */
interface CalleeKinds {
  /** Its summary synchronizes one of the domains. */
  syncsDomain(name: string): boolean;
  /**
   * A domain may be held after calling it: a net acquire (or retake) effect of a domain, or of
   * a class that is mapped through the caller's arguments (dataflow.ts).
   */
  mayLeaveDomainHeld(name: string): boolean;
  /** Both at once (undefined: no summary, neither). */
  kinds(name: string): SummaryKinds | undefined;
}

interface SummaryKinds {
  domains: string;
  syncs: boolean;
  locks: boolean;
}

const summaryKindsCache = new WeakMap<Summary, SummaryKinds>();
function calleeKindsOf(ctx: CheckContext, domains: ReadonlySet<string>, domainsKey: string): CalleeKinds {
  // By name for this analysis (a name's summary is fixed within it): one lookup per callee.
  const byName = new Map<string, SummaryKinds | null>();
  const of = (name: string): SummaryKinds | undefined => {
    const known = byName.get(name);
    if (known !== undefined) return known ?? undefined;
    const sum = ctx.summaryOf(name);
    if (!sum) {
      byName.set(name, null);
      return undefined;
    }
    let k = summaryKindsCache.get(sum);
    if (!k || k.domains !== domainsKey) {
      k = { domains: domainsKey, syncs: false, locks: false };
      for (const e of sum.effects) if (e.effect !== 'release' && (!e.resolved || domains.has(e.cls))) k.locks = true;
      for (const d of sum.syncs.keys()) if (domains.has(d)) k.syncs = true;
      summaryKindsCache.set(sum, k);
    }
    byName.set(name, k);
    return k;
  };
  return {
    syncsDomain: (name) => of(name)?.syncs === true,
    mayLeaveDomainHeld: (name) => of(name)?.locks === true,
    kinds: of,
  };
}

interface DomainOps {
  domains: string;
  /** An acquire op takes a domain. */
  acquires: boolean;
  /** A sync op synchronizes a domain. */
  syncs: boolean;
}

const domainOpsCache = new WeakMap<ReadonlyMap<Op, { cls: string }>, DomainOps>();
/** The flow's own lock ops on a domain (cached per locks map, which copies of a flow share). */
function domainOpsOf(flow: FunctionFlow, domains: ReadonlySet<string>, domainsKey: string): DomainOps {
  const cached = domainOpsCache.get(flow.locks);
  if (cached && cached.domains === domainsKey) return cached;
  const v: DomainOps = { domains: domainsKey, acquires: false, syncs: false };
  for (const [op, ref] of flow.locks) {
    if (!domains.has(ref.cls)) continue;
    if (op.k === 'acquire') v.acquires = true;
    else if (op.k === 'sync') v.syncs = true;
  }
  domainOpsCache.set(flow.locks, v);
  return v;
}

/** The flows of the last analysis with their facts (kept in ctx.store). */
interface ScanMemo {
  domains: string;
  flows: FunctionFlow[];
  facts: FlowSrcu[];
}

/** Locks held around synchronize_srcu(domain) anywhere in the tree (first place seen). */
function observedSyncUnder(ctx: CheckContext, domainsKey: string, scan: (flow: FunctionFlow) => FlowSrcu): Map<string, Map<string, { file: string; range: Op['range'] }>> {
  const out = new Map<string, Map<string, { file: string; range: Op['range'] }>>();
  // A flow in the same place of the list as last time is the same input: no lookup needed.
  const memo = ctx.store?.get('srcuOrder:scan') as ScanMemo | undefined;
  const prev = memo && memo.domains === domainsKey ? memo : undefined;
  const flows = ctx.flows;
  const facts = new Array<FlowSrcu>(flows.length);
  for (let i = 0; i < flows.length; i++) {
    const flow = flows[i];
    const f = (facts[i] = prev && prev.flows[i] === flow ? prev.facts[i] : scan(flow));
    for (const u of f.syncUnder) {
      let m = out.get(u.domain);
      if (!m) out.set(u.domain, (m = new Map()));
      if (!m.has(u.cls)) m.set(u.cls, { file: u.file, range: u.range });
    }
  }
  ctx.store?.set('srcuOrder:scan', { domains: domainsKey, flows: flows.slice(), facts });
  return out;
}

function domainRules(ctx: CheckContext): { rules: DomainRule[]; scan: (flow: FunctionFlow) => FlowSrcu } {
  const out: DomainRule[] = [];
  const domains = new Set<string>();
  const rules: { domain: string; rule: SrcuRule }[] = [];
  for (const r of ctx.rules.srcu) {
    const d = classOfName(ctx, r.domain);
    if (!d) continue;
    domains.add(d);
    rules.push({ domain: d, rule: r });
  }
  const domainsKey = [...domains].join(',');
  const kinds = calleeKindsOf(ctx, domains, domainsKey);
  const scan = (flow: FunctionFlow): FlowSrcu => flowSrcu(ctx, flow, domains, domainsKey, kinds);
  if (!rules.length) return { rules: out, scan };
  const observed = observedSyncUnder(ctx, domainsKey, scan);
  for (const { domain, rule } of rules) {
    const allowed = new Set(rule.allowedInside.map((n) => classOfName(ctx, n)).filter((c): c is string => !!c));
    const forbidden = new Map<string, Forbidden>();
    for (const n of [...rule.forbiddenInside, ...rule.syncUnder]) {
      const c = classOfName(ctx, n);
      if (c && !allowed.has(c) && !forbidden.has(c)) forbidden.set(c, { line: rule.line });
    }
    for (const [cls, at] of observed.get(domain) ?? []) {
      if (!allowed.has(cls) && !forbidden.has(cls)) forbidden.set(cls, { line: 0, observedAt: at });
    }
    out.push({ domain, rule, forbidden });
  }
  return { rules: out, scan };
}

function srcuSpec(rules: DomainRule[]): ExposureSpec {
  const forbiddenAny = new Set<string>();
  for (const r of rules) for (const c of r.forbidden.keys()) forbiddenAny.add(c);
  const domains = new Set(rules.map((r) => r.domain));
  return {
    ownEvents(flow: FunctionFlow, op: Op) {
      if (op.k === 'acquire') {
        const ref = flow.locks.get(op);
        if (!ref || !forbiddenAny.has(ref.cls) || /trylock/.test(op.api) || op.heldWhen === 'nonzero') return [];
        return [{ key: `take:${ref.cls}`, what: `takes ${ref.cls}` }];
      }
      if (op.k === 'sync') {
        const ref = flow.locks.get(op);
        if (!ref || !domains.has(ref.cls)) return [];
        return [{ key: `sync:${ref.cls}`, what: `${op.api}(${ref.cls})` }];
      }
      return [];
    },
    mayOffend(c: OpContext): boolean {
      for (const h of c.held) if (domains.has(h.cls)) return true;
      return false;
    },
    offends(c: OpContext, key: string, released: ReadonlySet<string>) {
      for (const r of rules) {
        if (released.has(r.domain)) continue;
        const relevant = key === `sync:${r.domain}` || (key.startsWith('take:') && r.forbidden.has(key.slice(5)));
        if (!relevant) continue;
        const h = c.held.find((x) => x.cls === r.domain);
        if (h) return { held: h };
      }
      return undefined;
    },
  };
}

interface Setup {
  rules: DomainRule[];
  /** The flow's facts for srcu-order (FlowSrcu). */
  scan: (flow: FunctionFlow) => FlowSrcu;
  solver: ExposureSolver;
  /** Everything global the findings depend on (observed places included). */
  config: string;
}

const setups = new WeakMap<CheckContext, Setup | null>();
function setupOf(ctx: CheckContext): Setup | null {
  let s = setups.get(ctx);
  if (s !== undefined) return s;
  const { rules, scan } = domainRules(ctx);
  if (!rules.length) s = null;
  else {
    // The events depend on the domains and forbidden classes only; the messages on the rest.
    const eventsConfig = rules.map((r) => `${r.domain}:${[...r.forbidden.keys()].join(',')}`).join(';');
    const config = rules
      .map((r) => `${r.domain}@${r.rule.line}:${[...r.forbidden].map(([c, f]) => `${c}=${f.line}/${f.observedAt ? `${f.observedAt.file}@${idOf(f.observedAt.range)}` : ''}`).join(',')}`)
      .join(';');
    s = { rules, scan, solver: new ExposureSolver(ctx, srcuSpec(rules), 'exposure:srcu', eventsConfig), config };
  }
  setups.set(ctx, s);
  return s;
}

export const srcuOrderCheck: Check = {
  codes: ['srcu-order'],
  // A finding's chain is read from the callees' current values below the first callee.
  rerunEntriesWithFindings: true,
  run(): Finding[] {
    return [];
  },
  functionDeps(flow: FunctionFlow, ctx: CheckContext): (number | string)[] {
    const s = setupOf(ctx);
    if (!s) return ['-'];
    // A flow that never holds a domain has no finding, whatever its callees do.
    return s.scan(flow).holdsDomain ? [s.config, ...s.solver.calleeVersions(flow)] : [s.config];
  },
  functionDepsDelta(ctx: CheckContext) {
    const s = setupOf(ctx);
    if (!s) return undefined;
    const key = s.config;
    const names = (flow: FunctionFlow): readonly string[] => (s.scan(flow).holdsDomain ? calleeList(flow) : NO_NAMES);
    return { changes: s.solver.changes(), names, key: () => key };
  },
  runFunction(flow: FunctionFlow, ctx: CheckContext): Finding[] {
    const setup = setupOf(ctx);
    if (!setup) return [];
    const { rules, solver } = setup;
    if (!setup.scan(flow).holdsDomain) return [];
    const out: Finding[] = [];
    const severity = ruleMeta('srcu-order').defaultSeverity;
    {
      const fn = flow.fn;
      const reported = new Set<string>();
      for (const ev of solver.eventsOf(flow)) {
        if (!ev.offence?.offence.held) continue;
        const held = ev.offence.offence.held;
        const r = rules.find((x) => x.domain === held.cls)!;
        const k = `${rangeKey(ev.op.range)}|${ev.event.key}`;
        if (reported.has(k)) continue;
        reported.add(k);
        const domainName = ctx.display(r.domain);
        const within = ev.offence.offence.within;
        const enteredAt = held.via ? `held since the call of ${held.via} at ${where(held.file, held.range)}` : `entered at ${where(held.file, held.range)}`;
        const entered = within ? `${enteredAt} by ${within}, which calls ${ev.event.via}` : enteredAt;
        const chain = solver.chain(ev.event);
        const via = ev.event.via;
        const handler = ev.op.k === 'call' && via !== undefined && isHandlerTarget(ev.op, via);
        const through = chain.length > 1 && ev.op.k === 'call' ? ` (through ${within ? via : handler ? reachedThrough(ev.op, via!) : ev.op.callee})` : '';
        const related = [{ file: held.file, range: held.range, message: `${domainName} read-side section entered here` }, ...chainToRelated(ctx, chain)];
        let message: string;
        let ruleRef: string;
        if (ev.event.key.startsWith('sync:')) {
          ruleRef = ctx.ruleRef(r.rule.line);
          message = `synchronize_srcu(&${domainName}) is called${through} inside a ${domainName} read-side section (${entered}); it waits for that reader to finish, so it deadlocks (${ruleRef})`;
        } else {
          const cls = ev.event.key.slice(5);
          const f = r.forbidden.get(cls)!;
          const lock = ctx.display(cls);
          if (f.observedAt) {
            ruleRef = ctx.ruleRef(r.rule.line);
            message = `${lock} is taken${through} inside a ${domainName} read-side section (${entered}); this tree calls synchronize_srcu(&${domainName}) under ${lock} (${where(f.observedAt.file, f.observedAt.range)}), so this can deadlock (as ${ruleRef} explains for the documented locks)`;
            related.push({ file: f.observedAt.file, range: f.observedAt.range, message: `synchronize_srcu(&${domainName}) under ${lock} here` });
          } else {
            ruleRef = ctx.ruleRef(f.line);
            message = `${lock} is taken${through} inside a ${domainName} read-side section (${entered}); synchronize_srcu(&${domainName}) runs under ${lock}, so this can deadlock (${ruleRef})`;
          }
        }
        out.push({ code: 'srcu-order', severity, file: fn.file, range: ev.op.range, message, related, ruleRef, functionName: fn.name });
      }
    }
    return out;
  },
};

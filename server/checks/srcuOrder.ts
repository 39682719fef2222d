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
import type { FunctionFlow, OpContext } from '../analysis/types';
import type { Op } from '../frontend/facts';
import { chainToRelated, rangeKey, type Check, type CheckContext } from './check';
import { ExposureSolver, type ExposureSpec } from './exposure';
import type { Finding } from './finding';
import { calleeList, calleeNames, calleeReleases, classOfName, where } from './lockSupport';
import { ruleMeta } from './registry';

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

/**
 * Locks one flow holds around a synchronize_srcu of one of `domains` (directly or through a
 * call), cached per flow object: a flow is replaced when its callees' summaries change.
 */
const syncUnderCache = new WeakMap<FunctionFlow, { domains: string; list: SyncUnder[] }>();
function syncUnderOf(ctx: CheckContext, flow: FunctionFlow, domains: ReadonlySet<string>, domainsKey: string): SyncUnder[] {
  const cached = syncUnderCache.get(flow);
  if (cached && cached.domains === domainsKey) return cached.list;
  const list: SyncUnder[] = [];
  const note = (domain: string, c: OpContext, range: Op['range'], releasedByCallee: readonly string[]): void => {
    for (const h of c.held) {
      if (!h.resolved || h.kind === 'srcu' || h.kind === 'rcu' || h.cls === domain || releasedByCallee.includes(h.cls)) continue;
      list.push({ domain, cls: h.cls, file: flow.fn.file, range });
    }
  };
  for (const [op, contexts] of flow.contexts) {
    if (op.k === 'sync') {
      const d = flow.locks.get(op)?.cls;
      if (d && domains.has(d)) for (const c of contexts) note(d, c, op.range, []);
    } else if (op.k === 'call') {
      for (const name of calleeNames(flow, op)) {
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
  syncUnderCache.set(flow, { domains: domainsKey, list });
  return list;
}

/** Locks held around synchronize_srcu(domain) anywhere in the tree (first place seen). */
function observedSyncUnder(ctx: CheckContext, domains: ReadonlySet<string>): Map<string, Map<string, { file: string; range: Op['range'] }>> {
  const out = new Map<string, Map<string, { file: string; range: Op['range'] }>>();
  const domainsKey = [...domains].join(',');
  for (const flow of ctx.flows) {
    for (const u of syncUnderOf(ctx, flow, domains, domainsKey)) {
      let m = out.get(u.domain);
      if (!m) out.set(u.domain, (m = new Map()));
      if (!m.has(u.cls)) m.set(u.cls, { file: u.file, range: u.range });
    }
  }
  return out;
}

function domainRules(ctx: CheckContext): DomainRule[] {
  const out: DomainRule[] = [];
  const domains = new Set<string>();
  const rules: { domain: string; rule: SrcuRule }[] = [];
  for (const r of ctx.rules.srcu) {
    const d = classOfName(ctx, r.domain);
    if (!d) continue;
    domains.add(d);
    rules.push({ domain: d, rule: r });
  }
  if (!rules.length) return out;
  const observed = observedSyncUnder(ctx, domains);
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
  return out;
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
  solver: ExposureSolver;
  /** Everything global the findings depend on (observed places included). */
  config: string;
}

const setups = new WeakMap<CheckContext, Setup | null>();
function setupOf(ctx: CheckContext): Setup | null {
  let s = setups.get(ctx);
  if (s !== undefined) return s;
  const rules = domainRules(ctx);
  if (!rules.length) s = null;
  else {
    // The events depend on the domains and forbidden classes only; the messages on the rest.
    const eventsConfig = rules.map((r) => `${r.domain}:${[...r.forbidden.keys()].join(',')}`).join(';');
    const config = rules
      .map((r) => `${r.domain}@${r.rule.line}:${[...r.forbidden].map(([c, f]) => `${c}=${f.line}/${f.observedAt ? `${f.observedAt.file}:${f.observedAt.range.start.line}:${f.observedAt.range.start.column}` : ''}`).join(',')}`)
      .join(';');
    s = { rules, solver: new ExposureSolver(ctx, srcuSpec(rules), 'exposure:srcu', eventsConfig), config };
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
    return s ? [s.config, ...s.solver.calleeVersions(flow)] : ['-'];
  },
  functionDepsDelta(ctx: CheckContext) {
    const s = setupOf(ctx);
    if (!s) return undefined;
    const key = s.config;
    return { changes: s.solver.changes(), names: calleeList, key: () => key };
  },
  runFunction(flow: FunctionFlow, ctx: CheckContext): Finding[] {
    const setup = setupOf(ctx);
    if (!setup) return [];
    const { rules, solver } = setup;
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
        const entered = held.via ? `held since the call of ${held.via} at ${where(held.file, held.range)}` : `entered at ${where(held.file, held.range)}`;
        const chain = solver.chain(ev.event);
        const through = chain.length > 1 && ev.op.k === 'call' ? ` (through ${ev.op.callee})` : '';
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

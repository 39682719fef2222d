/**
 * lock-order: a lock taken while a lock that the rules put inside it is held, in one function or
 * through calls. Reported at the acquisition (direct) or at the call in the function that holds
 * the other lock, with the chain "held here" -> "calls f" -> ... -> "taken here".
 */
import { expandChain } from '../analysis/chains';
import { nestingPairs } from '../analysis/observed';
import type { OrderFact } from '../analysis/orders';
import type { FunctionFlow, HeldLock } from '../analysis/types';
import { chainToRelated, type Check, type CheckContext } from './check';
import type { Finding, RelatedLocation } from './finding';
import { flowResults } from './flowResults';
import { ruleMeta } from './registry';
import { reachedThrough } from '../analysis/chains';

/** "locking.rst:16 says X is taken outside Y" (or, through the closure, the chain of rules). */
export function ruleSentence(ctx: CheckContext, fact: OrderFact): { text: string; ref: string } {
  const refs = fact.edges.map((e) => ctx.ruleRef(e.line));
  const uniq = [...new Set(refs)];
  const where = uniq.length === 1 ? uniq[0] : uniq.slice(0, -1).join(', ') + ' and ' + uniq[uniq.length - 1];
  const outer = ctx.display(fact.outer);
  const inner = ctx.display(fact.inner);
  if (fact.edges.length === 1) return { text: `${where} says ${outer} is taken outside ${inner}`, ref: refs[0] };
  const via = fact.edges
    .slice(0, -1)
    .map((e) => ctx.display(ctx.names.classOf.get(e.inner) ?? e.inner))
    .join(' and ');
  return { text: `${where} say ${outer} is taken outside ${inner} (through ${via})`, ref: refs[0] };
}

function heldRelated(ctx: CheckContext, h: HeldLock): RelatedLocation {
  const name = ctx.display(h.cls);
  return { file: h.file, range: h.range, message: h.via ? `${name} held here (taken in ${h.via})` : `${name} held here` };
}

export const lockOrderCheck: Check = {
  codes: ['lock-order'],
  /** Per flow, kept across analyses; flows with findings are re-judged each time (their chains). */
  run(ctx: CheckContext): Finding[] {
    return flowResults(ctx, { key: 'lockOrder:results', compute: judge, rerunWithFindings: true });
  },
};

/** The lock-order findings of one function (at its acquisitions and calls). */
function judge(flow: FunctionFlow, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const severity = ruleMeta('lock-order').defaultSeverity;
  const fn = flow.fn;
  for (const { op, held: h, taken: t, within } of nestingPairs(flow, ctx.resolver, ctx.summaryOf)) {
    const fact = ctx.orders.says(fn.file, t.cls, h.cls);
    if (!fact) continue;
    const rule = ruleSentence(ctx, fact);
    const chain = expandChain(t.witness, 'takes', ctx.summaryOf);
    const through = t.callee ? ` (through ${op.k === 'call' && !within ? reachedThrough(op, t.callee) : t.callee})` : '';
    out.push({
      code: 'lock-order',
      severity,
      file: fn.file,
      range: op.range,
      message: within
        ? `${ctx.display(t.cls)} is taken${through} inside ${ctx.display(h.cls)}, which ${within} holds when it calls ${t.callee}, but ${rule.text}`
        : `${ctx.display(t.cls)} is taken inside ${ctx.display(h.cls)} here${through}, but ${rule.text}`,
      related: [heldRelated(ctx, h), ...chainToRelated(ctx, chain)],
      ruleRef: rule.ref,
      functionName: fn.name,
    });
  }
  return out;
}

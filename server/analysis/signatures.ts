/**
 * Signatures of summaries: strings that change when what callers read of a summary changes.
 * The solver compares them to decide which callers to revisit; they are computed on demand (a
 * cold solve compares none) and cached by summary object.
 */
import type { OpContext, Summary } from './types';

/** What a caller's checks read of a callee's contexts: held locks (class, mode, kind), irq and preemption state. */
function contextsSig(list: readonly OpContext[]): string {
  return list.map((c) => `${c.held.map((h) => `${h.cls}:${h.mode}:${h.kind}:${h.maybe ? 1 : 0}`).join(',')}#${c.irqOff},${c.preemptOff}`).join('|');
}

const flowSignatures = new WeakMap<Summary, string>();
const signatures = new WeakMap<Summary, string>();

/**
 * The part of a summary the dataflow of callers reads (see dataflow.ts: effects, paramCalls,
 * paramContexts):
 * when only the rest changes (witness depths, takes, sleeps), a caller is re-summarised from its
 * flow instead of re-analysed. Computed on demand (a cold solve compares none) and cached.
 */
export function flowSignatureOf(s: Summary): string {
  let sig = flowSignatures.get(s);
  if (sig === undefined) {
    const parts: string[] = [];
    for (const e of s.effects) parts.push(`e${e.effect}:${e.cls}:${e.inst}:${e.mode}:${e.kind}:${e.conditional}:${e.param ?? ''}${e.irqs ? ':irqs' : ''}${e.heldWhen ? `:${e.heldWhen}` : ''}`);
    if (s.paramCalls) parts.push(`p${s.paramCalls.join(',')}`);
    if (s.paramContexts) parts.push(`h${s.paramContexts.map(contextsSig).join(';')}`);
    if (s.enablesIrqs) parts.push('i+');
    sig = parts.join('\n');
    flowSignatures.set(s, sig);
  }
  return sig;
}

/** A string that changes when anything callers see of a summary changes (positions excluded). */
export function signatureOf(s: Summary): string {
  let sig = signatures.get(s);
  if (sig === undefined) {
    const parts: string[] = [];
    for (const [k, t] of [...s.takes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) parts.push(`t${k}:${t.mode}:${t.kind}:${t.depth}:${t.trylock ? 1 : 0}:${t.callerReleased?.join(',') ?? ''}:${t.self ? `${t.self.param}.${t.self.fields.join('.')}` : ''}:${t.direct ? 1 : 0}`);
    for (const r of s.requires) parts.push(`r${r.cls}:${r.mode}:${r.how}:${r.param ?? ''}`);
    // Whether it may sleep or synchronize, not how deep: callers read only that (the witness is a
    // link expanded on demand, so a caller need not be re-summarised when a callee's got shorter).
    parts.push(`s${s.maySleep ? 1 : '-'}`);
    for (const k of s.syncs.keys()) parts.push(`y${k}`);
    for (const f of s.fieldCalls ?? []) parts.push(`f${f.param}.${f.field}:${contextsSig(f.contexts)}`);
    parts.push(flowSignatureOf(s));
    sig = parts.join('\n');
    signatures.set(s, sig);
  }
  return sig;
}

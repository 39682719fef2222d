/**
 * The rule model as `kvm-locklint rules` prints it: JSON in DESIGN.md's shape, or a listing for people.
 */

import type { RuleModel } from './types';

export interface RulesJson {
  source: string;
  locks: { name: string; type: string; arch: string; protects: string[]; comment: string; line: number }[];
  orders: { outer: string; inner: string; arch: string; line: number }[];
  srcu: {
    domain: string;
    syncUnder: string[];
    forbiddenInside: string[];
    allowedInside: string[];
    line: number;
    allowedLine: number;
    text: string;
  }[];
  notifier: { forbidden: string[]; line: number; text: string }[];
  mustAlsoHold: { lock: string; mustHold: string; arch: string; line: number; text: string }[];
  leaf: { line: number; text: string } | null;
  typeNotes: { lock: string; type: string; arch: string; line: number }[];
  sameClassNesting: {
    lock: string;
    outerQualifier: string;
    innerQualifier: string;
    condition: string;
    arch: string;
    line: number;
    text: string;
  }[];
  format: RuleModel['format'];
  origin: RuleModel['origin'];
  ordersToBeWritten: boolean;
  warnings: string[];
}

/** A plain object (the caller stringifies it); keys in a fixed order, no undefined values. */
export function rulesToJson(model: RuleModel): RulesJson {
  return {
    source: model.source,
    locks: model.locks.map((l) => ({
      name: l.name,
      type: l.type,
      arch: l.arch,
      protects: [...l.protects],
      comment: l.comment,
      line: l.line,
    })),
    orders: model.orders.map((o) => ({ outer: o.outer, inner: o.inner, arch: o.arch, line: o.line })),
    srcu: model.srcu.map((r) => ({
      domain: r.domain,
      syncUnder: [...r.syncUnder],
      forbiddenInside: [...r.forbiddenInside],
      allowedInside: [...r.allowedInside],
      line: r.line,
      allowedLine: r.allowedLine ?? r.line,
      text: r.text,
    })),
    notifier: model.notifier.map((r) => ({ forbidden: [...r.forbidden], line: r.line, text: r.text })),
    mustAlsoHold: model.mustAlsoHold.map((r) => ({
      lock: r.lock,
      mustHold: r.mustHold,
      arch: r.arch,
      line: r.line,
      text: r.text,
    })),
    leaf: model.leaf ? { line: model.leaf.line, text: model.leaf.text } : null,
    typeNotes: model.typeNotes.map((t) => ({ lock: t.lock, type: t.type, arch: t.arch, line: t.line })),
    sameClassNesting: (model.sameClassNesting ?? []).map((n) => ({
      lock: n.lock,
      outerQualifier: n.outerQualifier,
      innerQualifier: n.innerQualifier,
      condition: n.condition,
      arch: n.arch,
      line: n.line,
      text: n.text,
    })),
    format: model.format,
    origin: model.origin,
    ordersToBeWritten: model.ordersToBeWritten,
    warnings: [...model.warnings],
  };
}

/** "line 12", or "built-in" for rules that no document line states. */
function where(line: number, arch?: string): string {
  const at = line > 0 ? `line ${line}` : 'built-in';
  return arch === undefined ? at : `${arch}, ${at}`;
}

function pad(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

/** A listing for a kernel developer: orders first, then the other rule families, then the locks. */
export function rulesToText(model: RuleModel): string {
  const out: string[] = [];
  const origin = model.origin === 'builtin' ? 'built-in rules (newest documented)' : `format ${model.format}`;
  out.push(`Rules from ${model.source} (${origin})`);
  out.push('');

  out.push('Acquisition order (outer -> inner):');
  if (model.ordersToBeWritten) out.push('  (the document says the orders are "to be written")');
  else if (model.orders.length === 0) out.push('  (none stated)');
  const width = Math.min(70, Math.max(0, ...model.orders.map((o) => o.outer.length + o.inner.length + 4)));
  for (const o of model.orders) out.push(`  ${pad(`${o.outer} -> ${o.inner}`, width)}  (${where(o.line, o.arch)})`);
  for (const n of model.sameClassNesting ?? []) {
    const cond = n.condition ? `when ${n.condition}: ` : '';
    out.push(`  ${cond}${n.lock} [${n.outerQualifier}] -> ${n.lock} [${n.innerQualifier}]  (same class; ${where(n.line, n.arch)})`);
  }

  if (model.srcu.length > 0) {
    out.push('');
    out.push('SRCU:');
    for (const r of model.srcu) {
      if (r.syncUnder.length > 0) {
        out.push(`  synchronize_srcu(&${r.domain}) runs under: ${r.syncUnder.join(', ')}  (${where(r.line)})`);
        out.push(`  so never take inside a ${r.domain} read-side section: ${r.forbiddenInside.join(', ')}`);
      }
      if (r.allowedInside.length > 0) {
        out.push(`  may be taken inside a ${r.domain} read-side section: ${r.allowedInside.join(', ')}  (${where(r.allowedLine ?? r.line)})`);
      }
    }
  }

  if (model.notifier.length > 0) {
    out.push('');
    out.push('MMU notifier callbacks must not take:');
    for (const r of model.notifier) out.push(`  ${r.forbidden.join(', ')}  (${where(r.line)})`);
  }

  if (model.mustAlsoHold.length > 0) {
    out.push('');
    out.push('Must also hold:');
    for (const r of model.mustAlsoHold) out.push(`  ${r.lock} only under ${r.mustHold}  (${where(r.line, r.arch)})`);
  }

  if (model.typeNotes.length > 0) {
    out.push('');
    out.push('Lock types stated with the orders:');
    for (const t of model.typeNotes) out.push(`  ${t.lock}: ${t.type}  (${where(t.line, t.arch)})`);
  }

  if (model.leaf) {
    out.push('');
    out.push(`Leaf rule: every other lock is a leaf  (${where(model.leaf.line)})`);
  }

  out.push('');
  out.push('Locks:');
  if (model.locks.length === 0) out.push('  (no reference entries)');
  const nameWidth = Math.min(32, Math.max(0, ...model.locks.map((l) => l.name.length)));
  const typeWidth = Math.min(24, Math.max(0, ...model.locks.map((l) => l.type.length)));
  for (const l of model.locks) {
    out.push(`  ${pad(l.name, nameWidth)}  ${pad(l.type || '?', typeWidth)}  ${l.arch || 'any'}  (${where(l.line)})`);
    for (const p of l.protects) out.push(`      protects: ${p}`);
    if (l.comment) out.push(`      note: ${l.comment}`);
  }

  if (model.warnings.length > 0) {
    out.push('');
    out.push('Warnings:');
    for (const w of model.warnings) out.push(`  ${w}`);
  }
  return out.join('\n') + '\n';
}

/** Hover contents for lock expressions and SPTE helpers (markdown). */
import { spteHoverMarkdown } from '../checks/spteHover';
import type { LockEntry } from '../../model/rules/types';
import type { DocNames, ClassResolver } from '../analysis/classes';
import { lockRefOf } from '../analysis/dataflow';
import { archOfFile, type OrderFact, type OrderRules } from '../analysis/orders';
import type { FunctionFlow, HeldLock } from '../analysis/types';
import type { AccessPath, LockKind, Pos } from '../frontend/facts';
import type { RuleModel } from '../../model/rules/types';

export interface HoverDeps {
  rules: RuleModel;
  resolver: ClassResolver;
  names: DocNames;
  orders: OrderRules;
  ruleRef(line: number): string;
}

function posLe(a: Pos, b: Pos): boolean {
  return a.line < b.line || (a.line === b.line && a.column <= b.column);
}

/** The locks held at `pos` in a function: from the contexts of the last reached op at or before it. */
export function heldAt(flow: FunctionFlow, pos: Pos): { always: HeldLock[]; sometimes: HeldLock[] } | null {
  let best: { line: number; col: number; held: (readonly HeldLock[])[] } | null = null;
  for (const [op, ctxs] of flow.contexts) {
    const s = op.range.start;
    if (!posLe(s, pos) && s.line !== pos.line) continue;
    if (s.line > pos.line) continue;
    if (!best || s.line > best.line || (s.line === best.line && s.column > best.col)) {
      best = { line: s.line, col: s.column, held: ctxs.map((c) => c.held) };
    }
  }
  if (!best) return null;
  return splitHeld(best.held);
}

function entryFor(deps: HoverDeps, cls: string): LockEntry | undefined {
  return deps.rules.locks.find((l) => deps.names.classOf.get(l.name) === cls);
}

/** Longest quoted rule text: a hover is a small box, the document is one click away. */
const QUOTE_MAX = 200;

function clip(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > QUOTE_MAX ? t.slice(0, QUOTE_MAX - 1).trimEnd() + '…' : t;
}

/** A markdown block quote of the document's own words, with where they are written. */
function quote(text: string, ref: string): string {
  return `> ${clip(text)} (${ref})`;
}

function fromDocument(deps: HoverDeps, line: number): boolean {
  return deps.rules.origin === 'document' && line > 0;
}

/**
 * The order rules around a lock: with a document, each rule's own sentence quoted once (one
 * bullet can state several edges); with built-in rules, the neighbours' names and "built-in rule".
 */
function orderLines(deps: HoverDeps, title: string, facts: OrderFact[], other: (f: OrderFact) => string): string[] {
  if (!facts.length) return [];
  const quoted: string[] = [];
  const plain: string[] = [];
  const seen = new Set<string>();
  for (const f of facts) {
    const e = f.edges[0];
    if (fromDocument(deps, e.line) && e.text) {
      const key = `${e.line}|${e.text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      quoted.push(quote(e.text, deps.ruleRef(e.line)));
    } else {
      plain.push(deps.names.display(other(f)));
    }
  }
  const out = [`${title}:`];
  if (plain.length) out[0] += ` ${plain.join(', ')} (${deps.ruleRef(0)})`;
  return [...out, ...quoted];
}

export function lockHover(deps: HoverDeps, file: string, path: AccessPath, flow: FunctionFlow | undefined, pos: Pos, usedKind?: LockKind): string {
  const ref = lockRefOf(deps.resolver, path);
  const cls = ref.cls;
  const name = deps.names.display(cls);
  const kind = deps.resolver.kindOfClass(cls) ?? usedKind;
  const lines: string[] = [];
  lines.push(
    `**${name}**` + (ref.resolved ? ` — ${kind ?? 'lock'}, class \`${cls}\`` : ` — ${kind ? `${kind}, ` : ''}lock class not resolved (type of the base unknown)`),
  );
  const entry = entryFor(deps, cls);
  if (entry) {
    const where = deps.ruleRef(entry.line);
    if (fromDocument(deps, entry.line)) {
      lines.push(`Documented as ${entry.type}${entry.arch && entry.arch !== 'any' ? ` (arch: ${entry.arch})` : ''} (${where})`);
      if (entry.protects.length) lines.push(quote('Protects: ' + entry.protects.join('; '), where));
      if (entry.comment) lines.push(quote(entry.comment, where));
    } else {
      lines.push(`${entry.type}${entry.arch && entry.arch !== 'any' ? ` (arch: ${entry.arch})` : ''} (${where})`);
      if (entry.protects.length) lines.push('Protects: ' + clip(entry.protects.join('; ')));
      if (entry.comment) lines.push(clip(entry.comment));
    }
  }
  const nb = deps.orders.neighbours(cls, archOfFile(file));
  lines.push(...orderLines(deps, 'Taken outside it', nb.outside, (f) => f.outer));
  lines.push(...orderLines(deps, 'Taken inside it', nb.inside, (f) => f.inner));
  if (!entry && !nb.outside.length && !nb.inside.length && ref.resolved) lines.push('Not named by the rules' + (deps.rules.leaf ? ': a leaf lock' : ''));
  if (flow) {
    const h = heldAt(flow, pos);
    if (h) {
      const fmt = (x: HeldLock): string => `${deps.names.display(x.cls)} (line ${x.range.start.line + 1}${x.via ? `, via ${x.via}` : ''})`;
      if (h.always.length === 0 && h.sometimes.length === 0) lines.push(`Held here in ${flow.fn.name}: nothing`);
      if (h.always.length) lines.push(`Held here in ${flow.fn.name}: ` + h.always.map(fmt).join(', '));
      if (h.sometimes.length) lines.push(`Held on some paths: ` + h.sometimes.map(fmt).join(', '));
    }
  }
  return lines.join('\n\n');
}

/** SPTE helpers, masks and predicates: the reference model's contract (one text, also for the checks' docs). */
export function spteHelperHover(name: string): string | null {
  return spteHoverMarkdown(name);
}

/**
 * Hover anywhere else in a function body: the locks held at that point, with their modes, and
 * whether IRQs or preemption are off. Nothing when nothing is held (no hover noise).
 */
export function heldHover(deps: Pick<HoverDeps, 'names'>, flow: FunctionFlow, pos: Pos): string | null {
  const h = heldBetween(flow, pos);
  if (!h || (h.always.length === 0 && h.sometimes.length === 0)) return null;
  const fmt = (x: HeldLock): string => {
    const mode = x.kind === 'rwlock' || x.kind === 'rwsem' ? `${x.mode === 'read' ? 'read' : 'write'}, ` : '';
    const where = x.via ? `via ${x.via}, line ${x.range.start.line + 1}` : `taken at line ${x.range.start.line + 1}`;
    return `${deps.names.display(x.cls)} (${mode}${x.kind}; ${where})`;
  };
  const lines = [`**Locks held here** in \`${flow.fn.name}\``];
  if (h.always.length) lines.push(h.always.map((x) => `- ${fmt(x)}`).join('\n'));
  if (h.sometimes.length) lines.push('On some paths only:\n' + h.sometimes.map((x) => `- ${fmt(x)}`).join('\n'));
  return lines.join('\n\n');
}

/**
 * The locks held at a point between statements: the state before the first op at or after it
 * (heldAt, for a lock expression, looks at the op the expression belongs to instead).
 */
function heldBetween(flow: FunctionFlow, pos: Pos): { always: HeldLock[]; sometimes: HeldLock[] } | null {
  let next: { line: number; col: number; held: (readonly HeldLock[])[] } | null = null;
  for (const [op, ctxs] of flow.contexts) {
    const s = op.range.start;
    if (posLe(s, pos) && !(s.line === pos.line && s.column === pos.column)) continue;
    if (!next || s.line < next.line || (s.line === next.line && s.column < next.col)) next = { line: s.line, col: s.column, held: ctxs.map((c) => c.held) };
  }
  const held = next ? next.held : flow.exits.map((e) => e.state.held);
  if (held.length === 0) return null;
  return splitHeld(held);
}

function splitHeld(states: (readonly HeldLock[])[]): { always: HeldLock[]; sometimes: HeldLock[] } {
  const all = new Map<string, { h: HeldLock; n: number }>();
  for (const held of states) {
    for (const h of held) {
      const k = `${h.cls}|${h.inst}`;
      const cur = all.get(k);
      if (cur) cur.n++;
      else all.set(k, { h, n: 1 });
    }
  }
  const always: HeldLock[] = [];
  const sometimes: HeldLock[] = [];
  for (const { h, n } of all.values()) (n === states.length && !h.conditional ? always : sometimes).push(h);
  return { always, sometimes };
}

/**
 * Reader for KVM's locking document, every version:
 *
 *  - `txt-3.x`: Documentation/virtual/kvm/locking.txt with "(to be written)" orders;
 *  - `txt`: 4.x/5.4 locking.txt, reference entries as `Name:` / `Type:` ... fields;
 *  - `rst-fields`: 5.5 - 5.x locking.rst, entries as `:Name:` / `:Type:` ... fields;
 *  - `rst-headings`: 6.x and later, entries as ``` ``name`` ``` headings underlined with `^^^`.
 *
 * The reader is line based and forgiving: tabs or spaces, CRLF, non-breaking spaces and trailing
 * blanks are all accepted, and nothing here throws. What it cannot read is reported in
 * `warnings`; when nothing at all is recognisable the model has format `unknown` and says that
 * the built-in rules should be used (the caller decides).
 */

import type {
  LockEntry,
  MustAlsoHoldRule,
  OrderEdge,
  RuleModel,
  SameClassNestingRule,
  SrcuRule,
} from './types';
import { cleanLine, fold, indentOf, looksBinary, splitLines } from './text';
import { findSpteSections } from './spteSections';

/** Classification work is bounded per item so that a pathological input cannot make regexes slow. */
const MAX_ITEM_CHARS = 4000;

/** An underline (or overline) of a reStructuredText / plain-text heading. */
const UNDERLINE = /^([=\-~^*+#"'`:._])\1{2,}$/;

/** A lock name as the document writes it: `kvm->arch.mmu_lock`, `kvm_arch::tsc_write_lock`, `cpus_read_lock()`. */
const LOCK_NAME = /^[A-Za-z_]\w*(?:(?:->|\.|::)[A-Za-z_]\w*)*(?:\(\))?$/;

/**
 * True for something the document uses as a lock name. A bare identifier only counts when it reads
 * like a lock (`kvm_lock`, `vendor_module_lock`), so prose such as "though" is never taken for one.
 */
export function isDocLockName(name: string): boolean {
  if (!LOCK_NAME.test(name)) return false;
  if (/->|\.|::|\(\)$/.test(name)) return true;
  return /lock|mutex|sem|srcu|rcu|seq/i.test(name);
}

interface Heading {
  /** 0-based index of the title line. */
  index: number;
  title: string;
  char: string;
}

interface Item {
  kind: 'bullet' | 'para';
  /** 1-based line of the item's first line. */
  line: number;
  /** Whitespace-folded text. */
  text: string;
}

export function emptyRuleModel(source: string): RuleModel {
  return {
    source,
    origin: 'document',
    format: 'unknown',
    ordersToBeWritten: false,
    locks: [],
    orders: [],
    srcu: [],
    notifier: [],
    mustAlsoHold: [],
    leaf: null,
    typeNotes: [],
    sameClassNesting: [],
    warnings: [],
  };
}

/**
 * A quick check, for discovery and for choosing between candidate texts: is this KVM's locking
 * document as a file holds it? Every marker must start its line, so a raw capture (a diff with `+`
 * prefixes, a blame page, a page with line numbers) answers false: pass those through
 * `extractLockingDoc` first (which returns a clean document unchanged).
 */
export function looksLikeLockingDoc(text: string): boolean {
  if (typeof text !== 'string' || text.length === 0) return false;
  const sample = text.length > 262144 ? text.slice(0, 262144) : text;
  if (looksBinary(sample)) return false;
  const S = '[ \\t\\u00a0]';
  if (new RegExp(`^KVM${S}+Lock${S}+Overview${S}*\\r?$`, 'im').test(sample)) return true;
  if (new RegExp(`^(?:\\d+[.:]${S}*)?Acquisition${S}+Orders?${S}*\\r?$`, 'im').test(sample)) return true;
  const fields = new RegExp(`^:?Name:${S}+\\S`, 'm').test(sample) && new RegExp(`^:?Type:${S}+\\S`, 'm').test(sample);
  if (fields && /kvm/i.test(sample)) return true;
  if (/^``kvm[^`\n]*``[ \t]*\r?\n\^{3,}/m.test(sample)) return true;
  return /^-[ \t]+\S+[ \t]+is[ \t]+taken[ \t]+outside[ \t]/m.test(sample) && /kvm->/.test(sample);
}

export function parseLockingDoc(text: string, source: string): RuleModel {
  const model = emptyRuleModel(source);
  try {
    parseInto(typeof text === 'string' ? text : '', model);
  } catch (err) {
    // Defensive: the reader is written not to throw, but a bug must never take the caller down.
    model.warnings.push(`internal error while reading the document: ${String(err)}`);
  }
  if (isEmptyModel(model)) {
    model.format = 'unknown';
    model.warnings.push(
      `${source}: not recognisable as a KVM locking document (no acquisition orders and no lock reference found); the built-in rules should be used instead`,
    );
  }
  return model;
}

function isEmptyModel(m: RuleModel): boolean {
  return (
    !m.ordersToBeWritten &&
    m.locks.length === 0 &&
    m.orders.length === 0 &&
    m.srcu.length === 0 &&
    m.notifier.length === 0 &&
    m.mustAlsoHold.length === 0 &&
    m.leaf === null &&
    m.typeNotes.length === 0 &&
    (m.sameClassNesting?.length ?? 0) === 0
  );
}

function parseInto(text: string, model: RuleModel): void {
  if (text.trim().length === 0) {
    model.warnings.push('the document is empty');
    return;
  }
  if (looksBinary(text)) {
    model.warnings.push('the document looks like binary data, not text');
    return;
  }
  const lines = splitLines(text).map(cleanLine);
  model.spteSections = findSpteSections(lines);
  const headings = findHeadings(lines);
  const headingLines = new Set<number>();
  for (const h of headings) {
    headingLines.add(h.index);
    headingLines.add(h.index + 1);
    if (h.index > 0 && UNDERLINE.test(lines[h.index - 1])) headingLines.add(h.index - 1);
  }

  // Section-level headings only: entry headings in the reference section use `^`.
  const sections = headings.filter((h) => h.char !== '^');
  const ordersHead = sections.find((h) => /acquisition\s+orders?/i.test(h.title));
  const refHead = sections.find((h) => /\breference\b/i.test(h.title));
  const sectionEnd = (h: Heading): number => {
    const next = sections.find((s) => s.index > h.index && (s.char === h.char || s.char === '='));
    return next ? next.index : lines.length;
  };

  let ordersStart: number;
  let ordersEnd: number;
  if (ordersHead) {
    ordersStart = ordersHead.index + 2;
    ordersEnd = sectionEnd(ordersHead);
  } else {
    // A partial document: look for rules before the first other section (or everywhere).
    ordersStart = 0;
    const firstOther = sections.find((s) => !/overview/i.test(s.title));
    ordersEnd = firstOther ? firstOther.index : lines.length;
  }
  parseOrders(lines, ordersStart, ordersEnd, headingLines, model);
  if (!ordersHead && model.orders.length + model.srcu.length + model.notifier.length > 0) {
    model.warnings.push('no "Acquisition Orders" heading found; the rules were read from the text before the first section');
  }

  const refStart = refHead ? refHead.index + 2 : 0;
  const refEnd = refHead ? sectionEnd(refHead) : lines.length;
  const styles = parseReference(lines, refStart, refEnd, model, refHead !== undefined);

  if (ordersHead && !refHead && !isEmptyModel(model)) {
    model.warnings.push('no "Reference" section found; the document may be truncated');
  }
  if (ordersHead && model.orders.length === 0 && !model.ordersToBeWritten && model.leaf === null && model.srcu.length === 0) {
    model.warnings.push(`the "Acquisition Orders" section (line ${ordersHead.index + 1}) states no order that could be read`);
  }

  model.format = chooseFormat(model, styles, lines);
}

function chooseFormat(model: RuleModel, styles: Record<EntryStyle, number>, lines: string[]): RuleModel['format'] {
  if (model.ordersToBeWritten) return 'txt-3.x';
  if (styles.heading > 0 && styles.heading >= styles.colon && styles.heading >= styles.plain) return 'rst-headings';
  if (styles.colon > 0 && styles.colon >= styles.plain) return 'rst-fields';
  if (styles.plain > 0) return 'txt';
  if (isEmptyModel(model)) return 'unknown';
  // No reference entries (a truncated document): guess from the markup.
  const head = lines.slice(0, 80).join('\n');
  const rst = /^\.\. SPDX/m.test(head) || lines.some((l) => l.includes('``'));
  if (!rst) return 'txt';
  return model.srcu.length > 0 || model.notifier.length > 0 || model.orders.some((o) => o.outer === 'cpus_read_lock()')
    ? 'rst-headings'
    : 'rst-fields';
}

function findHeadings(lines: string[]): Heading[] {
  const out: Heading[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const title = lines[i];
    if (title.length === 0 || /^\s/.test(title) || UNDERLINE.test(title)) continue;
    if (/^[|+]/.test(title)) continue; // table rows
    const under = lines[i + 1];
    const m = UNDERLINE.exec(under);
    if (!m) continue;
    // A real underline is about as long as its title; tolerate sloppy ones within reason.
    if (under.length < Math.min(3, title.length) || under.length + 4 < Math.min(title.length, 12)) continue;
    out.push({ index: i, title: title.trim(), char: m[1] });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Acquisition orders and the other rule families

/** Marks the lines of literal blocks (`::` followed by more-indented lines): example code, never rules. */
function literalLines(lines: string[], start: number, end: number): Set<number> {
  const out = new Set<number>();
  for (let i = start; i < end; i++) {
    const line = lines[i];
    if (!/::$/.test(line)) continue;
    const bullet = /^(\s*)[-*+]\s+/.exec(line);
    const base = bullet ? indentOf(bullet[1]) + 2 : indentOf(line);
    let j = i + 1;
    for (; j < end; j++) {
      const l = lines[j];
      if (l.length === 0) {
        out.add(j);
        continue;
      }
      if (indentOf(l) > base) out.add(j);
      else break;
    }
    // Trailing blank lines belong to the text after the block.
    for (let k = j - 1; k > i && lines[k].length === 0; k--) out.delete(k);
    i = j - 1;
  }
  return out;
}

function collectItems(lines: string[], start: number, end: number, skip: Set<number>): Item[] {
  const literal = literalLines(lines, start, end);
  const items: Item[] = [];
  let current: { item: Item; parts: string[]; contentIndent: number } | null = null;
  let blankSince = false;
  const close = (): void => {
    if (current) {
      current.item.text = fold(current.parts.join(' '));
      items.push(current.item);
      current = null;
    }
  };
  for (let i = start; i < end; i++) {
    if (skip.has(i) || literal.has(i)) {
      if (skip.has(i)) close();
      continue;
    }
    const line = lines[i];
    if (line.trim().length === 0) {
      blankSince = true;
      continue;
    }
    const bullet = /^(\s*)[-*+\u2022]\s+(.*)$/.exec(line);
    const ind = indentOf(line);
    if (bullet) {
      // Every bullet starts an item; the documents have no nested lists in these sections.
      close();
      current = { item: { kind: 'bullet', line: i + 1, text: '' }, parts: [bullet[2]], contentIndent: indentOf(bullet[1]) + 2 };
    } else if (current && (!blankSince || (current.item.kind === 'bullet' && ind >= current.contentIndent))) {
      current.parts.push(line.trim());
    } else {
      close();
      current = { item: { kind: 'para', line: i + 1, text: '' }, parts: [line.trim()], contentIndent: ind };
    }
    blankSince = false;
  }
  close();
  return items;
}

/** Text for matching: rst literal quotes and emphasis removed, whitespace folded. */
function plain(text: string): string {
  const t = text.length > MAX_ITEM_CHARS ? text.slice(0, MAX_ITEM_CHARS) : text;
  return fold(
    t
      .replace(/``/g, '')
      .replace(/(^|[\s(])[_*]{1,2}([A-Za-z][\w-]*?)[_*]{1,2}(?=[\s.,;:)]|$)/g, '$1$2'),
  );
}

function normaliseArch(a: string): string {
  return a.trim().toLowerCase();
}

/** Splits "a, b and c" / "either a or b" into names; null if any part is not a lock name. */
function splitNames(list: string): string[] | null {
  const cleaned = list
    .trim()
    .replace(/^(?:either|both)\s+/i, '')
    .replace(/[.;:,]+$/, '')
    .trim();
  if (cleaned.length === 0) return null;
  const parts = cleaned
    .split(/\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|nor)\s+/i)
    .map((p) => p.trim().replace(/^&/, ''))
    .filter((p) => p.length > 0);
  if (parts.length === 0 || !parts.every(isDocLockName)) return null;
  return parts;
}

/**
 * The names at the start of `s`, as in "kvm->lock, vcpu->mutex and kvm->slots_lock. These locks ..."
 * or "kvm->irq_lock, though acquiring them together is quite rare.": reads names and separators
 * and stops at the first word that is not a lock name. Null when not even the first word is one.
 */
function leadingNames(s: string): string[] | null {
  const names: string[] = [];
  let rest = s.trim().replace(/^(?:either|both)\s+/i, '');
  for (;;) {
    const tok = /^&?([^\s,;]+)/.exec(rest);
    if (!tok) break;
    const name = tok[1].replace(/[.:]+$/, '');
    if (!isDocLockName(name)) break;
    names.push(name);
    if (tok[1] !== name) break; // the sentence ended right after this name
    rest = rest.slice(tok[0].length);
    const sep = /^(?:\s*,\s*(?:and\s+|or\s+|nor\s+)?|\s+(?:and|or|nor)\s+)/i.exec(rest);
    if (!sep) break;
    rest = rest.slice(sep[0].length);
  }
  return names.length > 0 ? names : null;
}

interface Ctx {
  arch: string;
  block: 'none' | 'srcu' | 'arch' | 'note' | 'other';
}

function parseOrders(lines: string[], start: number, end: number, skip: Set<number>, model: RuleModel): void {
  const items = collectItems(lines, start, end, skip);
  let ctx: Ctx = { arch: 'any', block: 'none' };
  for (const item of items) {
    const p = plain(item.text);
    if (item.kind === 'para') {
      if (/^\(?\s*to be written\s*\)?\.?$/i.test(p)) {
        model.ordersToBeWritten = true;
        continue;
      }
      if (p.endsWith(':') && p.length < 100 && !/\btaken\s+(?:outside|inside)\b/i.test(p)) {
        ctx = labelContext(p);
        continue;
      }
      ctx = { arch: 'any', block: 'none' };
    }
    classify(item, p, ctx.arch, model);
  }
}

function labelContext(label: string): Ctx {
  const on = /^On\s+([A-Za-z0-9_-]+)\s*:$/i.exec(label);
  if (on) return { arch: normaliseArch(on[1]), block: 'arch' };
  if (/\bsrcu\b/i.test(label)) return { arch: 'any', block: 'srcu' };
  if (/\bvs\.?\s/i.test(label)) return { arch: 'any', block: 'note' };
  if (/acquisition\s+orders?/i.test(label)) return { arch: 'any', block: 'none' };
  return { arch: 'any', block: 'other' };
}

function classify(item: Item, p: string, ctxArch: string, model: RuleModel): void {
  let arch = ctxArch;
  let body = p;
  const on = /^On\s+([A-Za-z0-9_-]+),\s*(.*)$/i.exec(body);
  if (on) {
    arch = normaliseArch(on[1]);
    body = on[2];
  }

  if (/^Everything else is a leaf\b/i.test(body)) {
    if (model.leaf === null) model.leaf = { line: item.line, text: item.text };
    return;
  }
  if (readSrcuUnlike(item, body, model)) return;
  if (readSrcuSync(item, body, model)) return;
  if (readSrcuAllowed(item, body, model)) return;
  if (readNotifier(item, body, model)) return;

  let understood = false;
  // Sentences and ';' clauses are read one by one ("X is an rwlock.  Y is taken inside X, and ...").
  for (const clause of body.split(/;\s+|(?<=[a-z0-9_)])\.\s+(?=[A-Za-z_])/)) {
    if (readTypeNote(item, clause, arch, model)) {
      understood = true;
      continue;
    }
    // One clause may state both an order and a requirement ("taken inside Y, and cannot be taken without holding Y").
    const must = readMustAlsoHold(item, clause, arch, model);
    const ord = readOrder(item, clause, arch, model);
    if (must || ord) understood = true;
  }
  if (!understood && /\b(?:is|are|be)\s+taken\s+(?:outside|inside)\b/i.test(body)) {
    model.warnings.push(`line ${item.line}: could not read this ordering statement: "${truncate(item.text)}"`);
  }
}

function truncate(s: string): string {
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

function readSrcuSync(item: Item, body: string, model: RuleModel): boolean {
  const m = /synchronize_srcu(?:_expedited)?\s*\(\s*&?\s*([\w>.-]+?)\s*\)\s+is\s+called\s+(?:inside|within|under)\s+(?:the\s+)?critical\s+sections\s+(?:for|of)\s+(.+)$/i.exec(body);
  if (!m) return false;
  const domain = m[1];
  const names = leadingNames(m[2]);
  if (!names) {
    model.warnings.push(`line ${item.line}: could not read the locks that synchronize_srcu runs under: "${truncate(item.text)}"`);
    return true;
  }
  const rule = srcuRuleFor(model, domain);
  rule.syncUnder.push(...names.filter((n) => !rule.syncUnder.includes(n)));
  // Taking any of them inside a read-side section deadlocks against the synchronize_srcu.
  rule.forbiddenInside.push(...names.filter((n) => !rule.forbiddenInside.includes(n)));
  if (rule.line === 0) {
    rule.line = item.line;
    rule.text = item.text;
  }
  return true;
}

/**
 * "Unlike Y, X is released before synchronize_srcu(&D)" (5.13-6.x wording): Y is held across the
 * synchronize, so Y may not be taken inside a D read-side section, and X may.
 */
function readSrcuUnlike(item: Item, body: string, model: RuleModel): boolean {
  const m = /^Unlike\s+(\S+?),\s+(\S+)\s+is\s+released\s+before\s+(?:the\s+call\s+to\s+)?synchronize_srcu(?:_expedited)?\s*\(\s*&?\s*([\w>.-]+?)\s*\)/i.exec(body);
  if (!m || !isDocLockName(m[1]) || !isDocLockName(m[2])) return false;
  const [, held, released, domain] = m;
  const rule = srcuRuleFor(model, domain);
  if (!rule.syncUnder.includes(held)) rule.syncUnder.push(held);
  if (!rule.forbiddenInside.includes(held)) rule.forbiddenInside.push(held);
  if (rule.line === 0) {
    rule.line = item.line;
    rule.text = item.text;
  }
  if (!rule.allowedInside.includes(released)) rule.allowedInside.push(released);
  rule.allowedLine = item.line;
  rule.allowedText = item.text;
  return true;
}

function readSrcuAllowed(item: Item, body: string, model: RuleModel): boolean {
  const m =
    /^(\S+)\b.*?\bcan\b(?:\s+\w+){0,2}\s+(?:be\s+)?taken\s+inside\s+(?:an?\s+)?(\S+)\s+read-side\s+critical\s+section/i.exec(body);
  if (!m || !isDocLockName(m[1]) || !isDocLockName(m[2])) return false;
  const rule = srcuRuleFor(model, m[2]);
  if (!rule.allowedInside.includes(m[1])) rule.allowedInside.push(m[1]);
  rule.allowedLine = item.line;
  rule.allowedText = item.text;
  return true;
}

function srcuRuleFor(model: RuleModel, domain: string): SrcuRule {
  let rule = model.srcu.find((r) => r.domain === domain);
  if (!rule) {
    rule = { domain, syncUnder: [], forbiddenInside: [], allowedInside: [], line: 0, text: '' };
    model.srcu.push(rule);
  }
  return rule;
}

function readNotifier(item: Item, body: string, model: RuleModel): boolean {
  const m = /\bMMU\s+notifiers?\s+(?:callbacks?\s+)?(?:must|should|may)\s+not\s+take\s+(.+)$/i.exec(body);
  if (!m) return false;
  const names = leadingNames(m[1]);
  if (!names) {
    model.warnings.push(`line ${item.line}: could not read which locks MMU notifiers must not take: "${truncate(item.text)}"`);
    return true;
  }
  model.notifier.push({ forbidden: names, line: item.line, text: item.text });
  return true;
}

const TYPE_WORD = /^(raw[_ ]spinlock(?:_t)?|spinlock(?:_t)?|rwlock(?:_t)?|mutex|rw_semaphore|rwsem|semaphore|srcu(?:\s+lock)?|seqlock(?:_t)?)\b/i;

function readTypeNote(item: Item, clause: string, arch: string, model: RuleModel): boolean {
  const m = /^(\S+)\s+is\s+an?\s+(.+)$/i.exec(clause.trim());
  if (!m || !isDocLockName(m[1])) return false;
  const t = TYPE_WORD.exec(m[2]);
  if (!t) return false;
  model.typeNotes.push({ lock: m[1], type: t[1].toLowerCase(), arch, line: item.line });
  return true;
}

/**
 * "critical sections for X [and Y] must also take Z" (6.x), or the older
 * "X [and Y] are taken inside Z, and cannot be taken without already holding Z" (5.1x).
 */
function readMustAlsoHold(item: Item, clause: string, arch: string, model: RuleModel): boolean {
  const m =
    /critical\s+sections\s+(?:for|of)\s+(.+?)\s+must\s+(?:also\s+)?(?:take|hold|be\s+under)\s+(\S+)/i.exec(clause) ??
    /^(.+?)\s+(?:is|are)\s+taken\s+inside\s+\S+?,?\s+and\s+cannot\s+be\s+taken\s+without\s+(?:already\s+)?holding\s+(\S+)/i.exec(clause.trim());
  if (!m) return false;
  const locks = splitNames(m[1]);
  const held = m[2].replace(/[.,;:]+$/, '');
  if (!locks || !isDocLockName(held)) {
    model.warnings.push(`line ${item.line}: could not read the "must also take" rule: "${truncate(item.text)}"`);
    return true;
  }
  for (const lock of locks) {
    const rule: MustAlsoHoldRule = { lock, mustHold: held, arch, line: item.line, text: item.text };
    model.mustAlsoHold.push(rule);
  }
  return true;
}

/** "A is taken outside B [and C]" (also "can [be] taken outside", "taken inside" reversed). */
function readOrder(item: Item, clause: string, arch: string, model: RuleModel): boolean {
  const m = /^(.+?)\s+(?:is|are|can(?:\s+be)?|must\s+be)\s+(?:always\s+|also\s+)?taken\s+(outside|inside)\s+(?:of\s+)?(.+)$/i.exec(clause.trim());
  if (!m) return false;
  let condition = '';
  let left = m[1].trim();
  const cond = /^(?:when|if|while)\s+([^,]+),\s*(.+)$/i.exec(left);
  if (cond) {
    condition = cond[1].trim();
    left = cond[2].trim();
  }
  const right = m[3].trim();

  const leftQ = /^(\S+)\s+for\s+(.+)$/i.exec(left);
  const rightQ = /^(\S+)\s+for\s+(.+?)[.]?$/i.exec(right);
  if (leftQ || rightQ) {
    // Qualified instances ("vcpu->mutex for plane 0 ... vcpu->mutex for the same id").
    const a = leftQ ? leftQ[1] : left;
    const b = rightQ ? rightQ[1] : (leadingNames(right)?.[0] ?? '');
    if (!isDocLockName(a) || !isDocLockName(b)) return false;
    const [outer, inner] = m[2].toLowerCase() === 'outside' ? [a, b] : [b, a];
    const [outerQ, innerQ] =
      m[2].toLowerCase() === 'outside'
        ? [leftQ?.[2] ?? '', rightQ?.[2] ?? '']
        : [rightQ?.[2] ?? '', leftQ?.[2] ?? ''];
    if (outer === inner) {
      const rule: SameClassNestingRule = {
        lock: outer,
        outerQualifier: outerQ.trim(),
        innerQualifier: innerQ.trim(),
        condition,
        arch,
        line: item.line,
        text: item.text,
      };
      (model.sameClassNesting ??= []).push(rule);
      return true;
    }
    model.warnings.push(`line ${item.line}: the qualifiers of this ordering are not modelled; read as ${outer} -> ${inner}`);
    pushEdge(model, outer, inner, arch, item);
    return true;
  }

  const leftNames = splitNames(left);
  const rightNames = leadingNames(right);
  if (!leftNames || !rightNames) return false;
  if (m[2].toLowerCase() === 'outside') {
    for (const o of leftNames) for (const i of rightNames) pushEdge(model, o, i, arch, item);
  } else {
    for (const o of rightNames) for (const i of leftNames) pushEdge(model, o, i, arch, item);
  }
  return true;
}

function pushEdge(model: RuleModel, outer: string, inner: string, arch: string, item: Item): void {
  if (outer === inner) {
    model.warnings.push(`line ${item.line}: ignored an order of ${outer} against itself`);
    return;
  }
  const edge: OrderEdge = { outer, inner, arch, line: item.line, text: item.text };
  model.orders.push(edge);
}

// ---------------------------------------------------------------------------------------------
// Reference section

type EntryStyle = 'plain' | 'colon' | 'heading';
type FieldName = 'type' | 'arch' | 'protects' | 'comment';

interface PendingEntry {
  entry: LockEntry;
  style: EntryStyle;
  seen: Set<FieldName>;
}

const FIELD = /^(:)?(Name|Type|Arch|Protects|Comment)\s*:[ \t]*(.*)$/i;
const ENTRY_HEADING = /^(?:``([^`]+)``|([A-Za-z_][\w>.:-]*(?:\(\))?))\s*$/;
const ENTRY_UNDERLINE = /^([\^~"'`+*#.])\1{2,}$/;

/**
 * Reads the lock entries between `start` and `end`. Headings with a bare name (no ``quotes``) are
 * taken as entries only inside a real "Reference" section, where nothing else is underlined.
 */
function parseReference(
  lines: string[],
  start: number,
  end: number,
  model: RuleModel,
  inReferenceSection: boolean,
): Record<EntryStyle, number> {
  const styles: Record<EntryStyle, number> = { plain: 0, colon: 0, heading: 0 };
  let pending: PendingEntry | null = null;
  let field: FieldName | null = null;

  const finish = (): void => {
    if (!pending) return;
    const { entry, seen } = pending;
    if (!seen.has('type')) model.warnings.push(`line ${entry.line}: the entry for ${entry.name} has no Type`);
    if (!seen.has('arch')) entry.arch = 'any';
    // "a, b" on one unbulleted line lists several items.
    if (entry.protects.length === 1) {
      const parts = entry.protects[0].split(/\s*,\s*/);
      if (parts.length > 1 && parts.every((p) => /^[\w>.:-]+$/.test(p))) entry.protects = parts;
    }
    model.locks.push(entry);
    styles[pending.style]++;
    pending = null;
    field = null;
  };
  const begin = (name: string, line: number, style: EntryStyle): void => {
    finish();
    pending = {
      entry: { name: name.replace(/``/g, '').trim(), type: '', arch: '', protects: [], comment: '', line },
      style,
      seen: new Set(),
    };
  };

  for (let i = start; i < end; i++) {
    const line = lines[i];
    if (line.trim().length === 0) {
      field = null;
      continue;
    }
    const heading = ENTRY_HEADING.exec(line);
    if (heading && (heading[1] !== undefined || inReferenceSection) && i + 1 < end && ENTRY_UNDERLINE.test(lines[i + 1])) {
      begin(heading[1] ?? heading[2], i + 1, 'heading');
      i++;
      continue;
    }
    const f = /^\s/.test(line) ? null : FIELD.exec(line);
    if (f) {
      const key = f[2].toLowerCase();
      const value = f[3].trim();
      if (key === 'name') {
        begin(value, i + 1, f[1] ? 'colon' : 'plain');
        field = null;
        continue;
      }
      const cur = pending as PendingEntry | null;
      if (!cur) {
        model.warnings.push(`line ${i + 1}: "${f[2]}:" field outside any lock entry was ignored`);
        continue;
      }
      field = key as FieldName;
      cur.seen.add(field);
      addValue(cur.entry, field, value, true);
      continue;
    }
    const cur = pending as PendingEntry | null;
    if (cur && field && /^\s/.test(line)) {
      addValue(cur.entry, field, line.trim(), false);
      continue;
    }
    // Anything else ends the current field (prose after the reference, or markup we do not model).
    field = null;
  }
  finish();
  return styles;
}

function addValue(entry: LockEntry, field: FieldName, value: string, first: boolean): void {
  switch (field) {
    case 'type':
      entry.type = fold(first ? value : `${entry.type} ${value}`);
      break;
    case 'arch':
      entry.arch = fold(first ? value : `${entry.arch} ${value}`).toLowerCase();
      break;
    case 'comment':
      entry.comment = fold(first ? value : `${entry.comment} ${value}`);
      break;
    case 'protects': {
      if (value.length === 0) break;
      const bullet = /^[-*\u2022]\s*(.*)$/.exec(value);
      if (bullet) {
        if (bullet[1].length > 0) entry.protects.push(fold(bullet[1]));
      } else if (first || entry.protects.length === 0) {
        entry.protects.push(fold(value));
      } else {
        const last = entry.protects.length - 1;
        entry.protects[last] = fold(`${entry.protects[last]} ${value}`);
      }
      break;
    }
  }
}

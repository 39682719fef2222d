/**
 * The text tree-sitter is given: the kernel's argument-less annotations (sparse address spaces,
 * section and inlining attributes) replaced by spaces of the same length, and the names of
 * iterator macros (`kvm_for_each_vcpu(i, vcpu, kvm)`, `list_for_each_entry(...)`) by `while` and
 * spaces.
 *
 * tree-sitter-c does not know them: `(void __user *)arg`, `static int __init f(void)`,
 * `static noinstr void f(void)` end in ERROR nodes, and error recovery is the most expensive
 * part of a parse (x86 + virt: 1,230 ERROR nodes with them, 1,013 without, and the parse is
 * 8-10% faster). Offsets, lines and columns are unchanged, so the extraction still reads the
 * original text (where it looks for `__weak`, which is therefore kept here, like every
 * annotation that takes arguments: `__must_hold(x)` is a fact).
 */

import { isIdPart, isIdStart } from './cexpr';

const BLANKED = [
  '__user',
  '__rcu',
  '__iomem',
  '__percpu',
  '__force',
  '__must_check',
  '__read_mostly',
  '__ro_after_init',
  '__initdata',
  '__initconst',
  '__init',
  '__exit',
  'noinstr',
  'notrace',
  '__always_inline',
  'noinline',
  '__maybe_unused',
  '__always_unused',
  '__cold',
];

const PATTERN = new RegExp(`\\b(?:${BLANKED.join('|')})\\b`, 'g');

/**
 * An iterator macro's name and its `(` on the same line. tree-sitter-c reads
 * `kvm_for_each_vcpu(i, vcpu, kvm) {` as a call missing its `;` (or a nested function
 * definition), and a body without braces (`for_each_online_cpu(cpu)\n\tf(cpu);`) as an ERROR that
 * may swallow the rest of the file (a RHEL 7 x86.c lost its last 3,000 lines). As
 * `while            (i, vcpu, kvm)` it is a loop over a comma expression: about half of
 * KVM's ERROR nodes go away. The extraction reads the original text and knows the loop for
 * an iterator (extract.ts whileStatement). Only where a statement starts (after `;`, a brace, a
 * `)`, a label or `else`) and a statement or a block follows the closing parenthesis: not a call
 * (`for_each_vcpu_locked(kvm, fn);`), a definition or a `#define`.
 */

/**
 * `text` with the annotations blanked and iterator macros turned into `while` (the same string
 * when it has neither). Whether a name is rewritten depends on its statement only (what starts it,
 * the name's arguments, what follows them): an edit that changes it touches that statement, which
 * tree-sitter then re-lexes from its start in an incremental parse.
 */
export function parserText(text: string): string {
  let blanked = text.replace(PATTERN, (m) => ' '.repeat(m.length));
  const directives = splitIfDirectives(blanked);
  if (directives.length > 0) {
    let out = '';
    let from = 0;
    for (const [start, end] of directives) {
      out += blanked.slice(from, start) + ' '.repeat(end - start);
      from = end;
    }
    blanked = out + blanked.slice(from);
  }
  const sites = iteratorSites(blanked);
  if (sites.length === 0) return blanked;
  let out = '';
  let from = 0;
  for (const [at, len] of sites) {
    out += blanked.slice(from, at) + 'while' + ' '.repeat(len - 5);
    from = at + len;
  }
  return out + blanked.slice(from);
}

const CONDITIONAL = /^[ \t]*#[ \t]*(ifdef|ifndef|if|elif|else|endif)\b/gm;
/** The same, for a test of whether a stretch holds one. */
const CONDITIONAL_LINE = new RegExp(CONDITIONAL.source, 'm');

/**
 * The lines of the `#if`/`#ifdef`/`#ifndef` ... `#endif` groups that split an if/else, which
 * parserText blanks: `#ifdef CONFIG_X86_64` / `if (c) a(); else` / `#endif` / `b();` (smm.c,
 * xen.c, hyperv.c, x86.c, kvm_main.c's `else if` chains). tree-sitter-c reads such a group as a
 * directive holding half a statement: the else branch became a statement after the if, run on
 * both paths. Without the directives the parser sees `if (c) a(); else b();`, whose paths are those
 * of both configurations (with the option off, the else branch is the path where `c` is false).
 * Only groups without `#else`/`#elif` are blanked (their branches are alternatives, not one
 * statement), and only when a line next to one of their directives ends or starts with `else`.
 * Offsets: [start, end) of each directive line without its newline, in order.
 */
export function splitIfDirectives(text: string): [number, number][] {
  if (text.indexOf('#') < 0) return [];
  interface Group {
    lines: [number, number][];
    alternatives: boolean;
  }
  const open: Group[] = [];
  const closed: Group[] = [];
  for (const m of text.matchAll(CONDITIONAL)) {
    const start = m.index ?? 0;
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (text.charCodeAt(end - 1) === 13) end--;
    const kind = m[1];
    // A directive continued on the next line is left alone (with its whole group).
    const continued = text.charCodeAt(end - 1) === 92; /* \\ */
    if (kind === 'if' || kind === 'ifdef' || kind === 'ifndef') {
      open.push({ lines: [[start, end]], alternatives: continued });
      continue;
    }
    const top = open[open.length - 1];
    if (!top) continue;
    top.lines.push([start, end]);
    if (continued || kind === 'elif' || kind === 'else') top.alternatives = true;
    if (kind === 'endif') closed.push(open.pop()!);
  }
  const out: [number, number][] = [];
  for (const g of closed) {
    if (g.alternatives) continue;
    if (g.lines.some(([s, e]) => codeLineEndsWithElse(text, s) || codeLineStartsWithElse(text, e))) out.push(...g.lines);
  }
  if (out.length > 1) out.sort((a, b) => a[0] - b[0]);
  return out;
}

/** How far parserText looks past comments, blank lines and other directives for an `else`. */
const ELSE_REACH = 16;

/** The code of the line [ls, le): comments and white space removed; null for a directive line. */
function codeOf(text: string, ls: number, le: number): string | null {
  const line = text.slice(ls, le).replace(/\/\*.*?\*\//g, ' ').replace(/\/\/.*$/, '').trim();
  if (line.startsWith('#')) return null;
  // The inside or the end of a block comment.
  if (line.startsWith('*') || line.startsWith('/*')) return '';
  return line;
}

/** Does the nearest line of code before the line starting at `lineStart` end with `else`? */
function codeLineEndsWithElse(text: string, lineStart: number): boolean {
  let le = lineStart - 1;
  for (let n = 0; n < ELSE_REACH && le >= 0; n++) {
    const ls = text.lastIndexOf('\n', le - 1) + 1;
    const code = codeOf(text, ls, le);
    if (code) return /(^|[^\w])else$/.test(code);
    le = ls - 1;
  }
  return false;
}

/** Does the nearest line of code after the line ending at `lineEnd` start with `else`? */
function codeLineStartsWithElse(text: string, lineEnd: number): boolean {
  let ls = text.indexOf('\n', lineEnd) + 1;
  for (let n = 0; n < ELSE_REACH && ls > 0 && ls < text.length; n++) {
    let le = text.indexOf('\n', ls);
    if (le < 0) le = text.length;
    const code = codeOf(text, ls, le);
    if (code) return /^else\b/.test(code);
    ls = le + 1;
  }
  return false;
}

/**
 * Do the directive lines parserText blanks (splitIfDirectives) differ, beyond the shift of the
 * edit `env`, between `before` and `after`? One inside the edited stretch counts as changed.
 */
export function splitDirectivesMoved(before: string, after: string, env: { lo: number; oldHi: number; newHi: number }): boolean {
  // Whether a group is blanked depends on its directive lines and the lines of code next to them:
  // an edit with no conditional directive within reach changes none.
  if (!directiveNear(before, env.lo, env.oldHi) && !directiveNear(after, env.lo, env.newHi)) return false;
  const a = splitIfDirectives(before);
  const b = splitIfDirectives(after);
  if (a.length !== b.length) return true;
  const shift = env.newHi - env.oldHi;
  for (let i = 0; i < a.length; i++) {
    const [s, e] = a[i];
    if (e >= env.lo && s <= env.oldHi) return true;
    const moved = s > env.oldHi ? s + shift : s;
    if (moved !== b[i][0]) return true;
  }
  return false;
}

/** Is there a conditional directive within ELSE_REACH lines (and some) of [s, e) in `text`? */
function directiveNear(text: string, s: number, e: number): boolean {
  let lo = s;
  for (let n = 0; n <= ELSE_REACH && lo > 0; n++) lo = text.lastIndexOf('\n', lo - 1);
  let hi = e;
  for (let n = 0; n <= ELSE_REACH && hi >= 0 && hi < text.length; n++) hi = text.indexOf('\n', hi + 1);
  return CONDITIONAL_LINE.test(text.slice(Math.max(0, lo), hi < 0 ? text.length : hi));
}

/** The iterator names parserText rewrites in (annotation-blanked) `text`: offset and length. */
export function iteratorSites(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (let k = text.indexOf('for_each'); k >= 0; k = text.indexOf('for_each', k + 8)) {
    let s = k;
    while (s > 0 && isIdPart(text.charCodeAt(s - 1))) s--;
    let e = k + 8;
    while (e < text.length && isIdPart(text.charCodeAt(e))) e++;
    let p = e;
    while (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9) p++;
    if (text.charCodeAt(p) !== 40 /* ( */) continue;
    if (isIteratorLoop(text, s, e - s, p)) out.push([s, e - s]);
    k = e - 8;
  }
  // `scoped_guard(type, &lock) stmt;` without braces: a guard scope the parser cannot see either.
  for (let k = text.indexOf('scoped_guard'); k >= 0; k = text.indexOf('scoped_guard', k + 12)) {
    if ((k > 0 && isIdPart(text.charCodeAt(k - 1))) || isIdPart(text.charCodeAt(k + 12))) continue;
    let p = k + 12;
    while (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9) p++;
    if (text.charCodeAt(p) === 40 /* ( */ && isIteratorLoop(text, k, 12, p, false)) out.push([k, 12]);
  }
  if (out.length > 1) out.sort((a, b) => a[0] - b[0]);
  return out;
}

function isIteratorLoop(text: string, at: number, length: number, open: number, block = true): boolean {
  if (length < 5 || inPreprocessorLine(text, at) || !startsStatement(text, at)) return false;
  const close = matchingParen(text, open);
  if (close < 0) return false;
  let i = close + 1;
  while (i < text.length && /\s/.test(text[i])) i++;
  const c = text.charCodeAt(i);
  return (block && c === 123) /* { */ || isIdStart(c);
}

/** Does a statement start at `at`: after `;`, `{`, `}`, `)`, `:` or `else`, or at the start of the text? */
function startsStatement(text: string, at: number): boolean {
  let i = at - 1;
  // Back over white space and comments (`/* ... */`, a `// ...` line) to what ends the statement before.
  for (let guard = 0; guard < 64; guard++) {
    while (i >= 0 && /\s/.test(text[i])) i--;
    if (i >= 1 && text[i] === '/' && text[i - 1] === '*') {
      const open = text.lastIndexOf('/*', i - 2);
      if (open < 0) return false;
      i = open - 1;
      continue;
    }
    const ls = text.lastIndexOf('\n', i) + 1;
    const line = text.slice(ls, i + 1);
    const slashes = line.indexOf('//');
    if (slashes >= 0 && !line.slice(0, slashes).includes('"')) {
      i = ls + slashes - 1;
      continue;
    }
    break;
  }
  if (i < 0) return true;
  const c = text[i];
  if (c === ';' || c === '{' || c === '}' || c === ')' || c === ':') return true;
  return i >= 3 && text.slice(i - 3, i + 1) === 'else' && (i < 4 || !/\w/.test(text[i - 4]));
}

/** The index of the `)` closing the `(` at `open`, or -1 (within a bounded stretch of text). */
function matchingParen(text: string, open: number): number {
  if (open < 0) return -1;
  let depth = 0;
  const end = Math.min(text.length, open + 2000);
  for (let i = open; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 40) depth++;
    else if (c === 41 && --depth === 0) return i;
  }
  return -1;
}

/** Is `at` on a line that starts with `#` (or continues one with a backslash)? */
function inPreprocessorLine(text: string, at: number): boolean {
  let ls = text.lastIndexOf('\n', at - 1) + 1;
  for (;;) {
    let i = ls;
    while (i < at && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    if (text.charCodeAt(i) === 35 /* # */) return true;
    // A continuation line of a multi-line #define: the previous line ends in a backslash.
    if (ls < 2) return false;
    const prevEnd = text.charCodeAt(ls - 2) === 13 ? ls - 3 : ls - 2;
    if (text.charCodeAt(prevEnd) !== 92 /* \\ */) return false;
    ls = text.lastIndexOf('\n', ls - 2) + 1;
  }
}

/**
 * An edit [start, oldEnd) of `oldText`, widened to whole lines at both ends: whether a word is
 * blanked depends on all of it, and whether an iterator's name is rewritten on what precedes it
 * on its line (a `#`) and what follows it there (its `(`), so an edit may change the parser's
 * text anywhere on the lines it touches, and an incremental parse must be told every changed byte
 * (tree-sitter re-lexes the tokens next to an edit anyway, which covered every case tried, but
 * that is not its contract). The text outside the edit is the same before and after, so the same
 * widths apply to the new text. (A `#define` whose continuation lines are edited is re-lexed as
 * one token by tree-sitter.)
 */
export function widenToWords(oldText: string, start: number, oldEnd: number): { start: number; oldEnd: number } {
  let s = start;
  while (s > 0 && oldText.charCodeAt(s - 1) !== 10) s--;
  let e = oldEnd;
  while (e < oldText.length && oldText.charCodeAt(e) !== 10) e++;
  return { start: s, oldEnd: e };
}

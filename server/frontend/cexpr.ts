/**
 * A small, tolerant C expression reader working directly on the source text.
 *
 * The tree-sitter tree is walked only down to statements (cheap: ~1/6 of the nodes); the
 * expressions inside a statement are read here from the text, which avoids creating a JS object
 * per tree-sitter node. The reader never throws: unknown tokens are skipped, macro arguments that
 * are types (`container_of(p, struct kvm, mmu_lock)`) become `other` nodes.
 */

export interface Tok {
  /** id, num, str, chr, or p (punctuator). */
  k: 'id' | 'num' | 'str' | 'chr' | 'p';
  v: string;
  s: number;
  e: number;
}

export type Expr =
  | { t: 'id'; name: string; s: number; e: number }
  | { t: 'num'; value: number | undefined; s: number; e: number }
  | { t: 'str'; s: number; e: number }
  | { t: 'call'; fn: Expr; args: Expr[]; s: number; e: number }
  | { t: 'member'; obj: Expr; field: string; arrow: boolean; s: number; e: number }
  | { t: 'index'; obj: Expr; idx: Expr; s: number; e: number }
  | { t: 'unary'; op: string; arg: Expr; s: number; e: number }
  | { t: 'postfix'; op: string; arg: Expr; s: number; e: number }
  | { t: 'binary'; op: string; l: Expr; r: Expr; s: number; e: number }
  | { t: 'assign'; op: string; l: Expr; r: Expr; s: number; e: number }
  | { t: 'cond'; c: Expr; a: Expr; b: Expr; s: number; e: number }
  | { t: 'cast'; type: string; arg: Expr; s: number; e: number }
  | { t: 'paren'; inner: Expr; s: number; e: number }
  /** `({ ... })` statement expression or `{ ... }` initializer: its inner text range. */
  | { t: 'block'; s: number; e: number; innerS: number; innerE: number; stmtExpr: boolean }
  /** A sequence of expressions read where one was expected (tolerance), or a comma expression. */
  | { t: 'seq'; items: Expr[]; s: number; e: number }
  /** A type name or anything else without calls. */
  | { t: 'other'; s: number; e: number };

/** Single-character punctuators by char code (shared strings: no allocation per token). */
const PUNCT1: Record<number, string> = {};
for (const ch of '()[]{};,:?~') PUNCT1[ch.charCodeAt(0)] = ch;

/** Per char code below 128: 1 identifier start (letters, `_`, `$`), 2 digit. */
const ID_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36) ID_CLASS[c] = 1;
  else if (c >= 48 && c <= 57) ID_CLASS[c] = 2;
}

export function isIdStart(c: number): boolean {
  return c < 128 && ID_CLASS[c] === 1;
}
/** A character of an identifier (letters, digits, `_`, `$`), by char code. */
export function isIdPart(c: number): boolean {
  return c < 128 && ID_CLASS[c] !== 0;
}

/** Tokenizes src[start, end), skipping comments and preprocessor lines. */
export function tokenize(src: string, start: number, end: number): Tok[] {
  const out: Tok[] = [];
  let i = start;
  let lineStart = true;
  while (i < end) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      lineStart = true;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
      i++;
      continue;
    }
    if (c === 92 /* \ */) {
      i++;
      continue;
    }
    if (c === 47 /* / */ && i + 1 < end) {
      const d = src.charCodeAt(i + 1);
      if (d === 47) {
        while (i < end && src.charCodeAt(i) !== 10) i++;
        continue;
      }
      if (d === 42) {
        const j = src.indexOf('*/', i + 2);
        i = j < 0 || j + 2 > end ? end : j + 2;
        continue;
      }
    }
    if (c === 35 /* # */ && lineStart) {
      // Preprocessor line (with continuations).
      while (i < end) {
        const ch = src.charCodeAt(i);
        if (ch === 10 && src.charCodeAt(i - 1) !== 92) break;
        i++;
      }
      continue;
    }
    lineStart = false;
    const s = i;
    if (isIdStart(c)) {
      i++;
      while (i < end && isIdPart(src.charCodeAt(i))) i++;
      out.push({ k: 'id', v: src.slice(s, i), s, e: i });
      continue;
    }
    if ((c >= 48 && c <= 57) || (c === 46 && i + 1 < end && src.charCodeAt(i + 1) >= 48 && src.charCodeAt(i + 1) <= 57)) {
      i++;
      while (i < end) {
        const ch = src.charCodeAt(i);
        if (isIdPart(ch) || ch === 46) i++;
        else if ((ch === 43 || ch === 45) && /[eEpP]/.test(src[i - 1]) && !/^0[xX]/.test(src.slice(s, i))) i++;
        else break;
      }
      out.push({ k: 'num', v: src.slice(s, i), s, e: i });
      continue;
    }
    if (c === 34 /* " */ || c === 39 /* ' */) {
      i++;
      while (i < end) {
        const ch = src.charCodeAt(i);
        if (ch === 92) {
          i += 2;
          continue;
        }
        i++;
        if (ch === c || ch === 10) break;
      }
      if (i > end) i = end;
      out.push({ k: c === 34 ? 'str' : 'chr', v: '', s, e: i });
      continue;
    }
    const d = i + 1 < end ? src.charCodeAt(i + 1) : 0;
    let v: string;
    switch (c) {
      case 45: // -
        v = d === 62 ? '->' : d === 45 ? '--' : d === 61 ? '-=' : '-';
        break;
      case 43: // +
        v = d === 43 ? '++' : d === 61 ? '+=' : '+';
        break;
      case 60: // <
        v = d === 60 ? (i + 2 < end && src.charCodeAt(i + 2) === 61 ? '<<=' : '<<') : d === 61 ? '<=' : '<';
        break;
      case 62: // >
        v = d === 62 ? (i + 2 < end && src.charCodeAt(i + 2) === 61 ? '>>=' : '>>') : d === 61 ? '>=' : '>';
        break;
      case 61: // =
        v = d === 61 ? '==' : '=';
        break;
      case 33: // !
        v = d === 61 ? '!=' : '!';
        break;
      case 38: // &
        v = d === 38 ? '&&' : d === 61 ? '&=' : '&';
        break;
      case 124: // |
        v = d === 124 ? '||' : d === 61 ? '|=' : '|';
        break;
      case 42:
        v = d === 61 ? '*=' : '*';
        break;
      case 47:
        v = d === 61 ? '/=' : '/';
        break;
      case 37:
        v = d === 61 ? '%=' : '%';
        break;
      case 94:
        v = d === 61 ? '^=' : '^';
        break;
      case 35:
        v = d === 35 ? '##' : '#';
        break;
      case 46:
        v = d === 46 && i + 2 < end && src.charCodeAt(i + 2) === 46 ? '...' : '.';
        break;
      default:
        v = PUNCT1[c] ?? src[i];
    }
    out.push({ k: 'p', v, s, e: i + v.length });
    i += v.length;
  }
  return out;
}

const BIN_PREC: Record<string, number> = {
  '||': 4,
  '&&': 5,
  '|': 6,
  '^': 7,
  '&': 8,
  '==': 9,
  '!=': 9,
  '<': 10,
  '>': 10,
  '<=': 10,
  '>=': 10,
  '<<': 11,
  '>>': 11,
  '+': 12,
  '-': 12,
  '*': 13,
  '/': 13,
  '%': 13,
};
const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);
const PREFIX_OPS = new Set(['!', '~', '-', '+', '*', '&', '++', '--']);

/** Words that start a type name inside parentheses (casts) or as a macro argument. */
const TYPE_WORDS = new Set([
  'struct', 'union', 'enum', 'const', 'volatile', 'unsigned', 'signed', 'int', 'char', 'long', 'short', 'void',
  'bool', '_Bool', 'float', 'double', 'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', '__u8', '__u16',
  '__u32', '__u64', '__s8', '__s16', '__s32', '__s64', 'typeof', '__typeof__', '__force',
]);

const STOP = new Set([')', ']', '}', ';', ',', ':']);

/** For each `(`, `[`, `{` token the index of its closer (same kind of bracket only), else -1. */
function matchBrackets(toks: Tok[]): number[] {
  // A plain array: small typed arrays are slow to allocate.
  const out: number[] = [];
  for (let j = 0; j < toks.length; j++) out.push(-1);
  const paren: number[] = [];
  const square: number[] = [];
  const brace: number[] = [];
  for (let j = 0; j < toks.length; j++) {
    const t = toks[j];
    if (t.k !== 'p' || t.v.length !== 1) continue;
    switch (t.v) {
      case '(':
        paren.push(j);
        break;
      case '[':
        square.push(j);
        break;
      case '{':
        brace.push(j);
        break;
      case ')':
        if (paren.length) out[paren.pop()!] = j;
        break;
      case ']':
        if (square.length) out[square.pop()!] = j;
        break;
      case '}':
        if (brace.length) out[brace.pop()!] = j;
        break;
    }
  }
  return out;
}

export class ExprReader {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Tok[],
  ) {}

  static read(src: string, start: number, end: number): Expr | null {
    const toks = tokenize(src, start, end);
    if (toks.length === 0) return null;
    return new ExprReader(src, toks).readAll();
  }

  get tokens(): Tok[] {
    return this.toks;
  }

  /** Reads everything (comma expressions, tolerating junk) into one Expr. */
  readAll(): Expr | null {
    const items: Expr[] = [];
    while (this.i < this.toks.length) {
      const t = this.toks[this.i];
      if (t.k === 'p' && STOP.has(t.v)) {
        this.i++;
        continue;
      }
      const before = this.i;
      items.push(this.expr(1));
      if (this.i === before) this.i++;
    }
    if (items.length === 0) return null;
    if (items.length === 1) return items[0];
    return { t: 'seq', items, s: items[0].s, e: items[items.length - 1].e };
  }

  private peek(o = 0): Tok | undefined {
    return this.toks[this.i + o];
  }
  private isP(v: string, o = 0): boolean {
    const t = this.toks[this.i + o];
    return t !== undefined && t.k === 'p' && t.v === v;
  }

  /**
   * Index of the token matching the opener at index `open` (counting that kind of bracket only),
   * or toks.length - 1. All matches are found in one pass on first use: scanning ahead from
   * every opener would be quadratic in the nesting depth.
   */
  private matchClose(open: number): number {
    if (!this.closes) this.closes = matchBrackets(this.toks);
    const c = this.closes[open];
    return c >= 0 ? c : this.toks.length - 1;
  }
  private closes: number[] | null = null;

  /** minPrec 1 includes the comma operator; 2 is an assignment expression (a call argument). */
  expr(minPrec: number): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (!t || t.k !== 'p') break;
      const op = t.v;
      if (op === ',' && minPrec <= 1) {
        this.i++;
        const items: Expr[] = [left];
        items.push(this.expr(2));
        while (this.isP(',')) {
          this.i++;
          items.push(this.expr(2));
        }
        left = { t: 'seq', items, s: left.s, e: items[items.length - 1].e };
        continue;
      }
      if (ASSIGN_OPS.has(op) && minPrec <= 2) {
        this.i++;
        const r = this.expr(2);
        left = { t: 'assign', op, l: left, r, s: left.s, e: r.e };
        continue;
      }
      if (op === '?' && minPrec <= 3) {
        this.i++;
        const a = this.isP(':') ? left : this.expr(1);
        if (this.isP(':')) this.i++;
        const b = this.expr(3);
        left = { t: 'cond', c: left, a, b, s: left.s, e: b.e };
        continue;
      }
      const p = BIN_PREC[op];
      if (p !== undefined && p >= minPrec && p >= 4) {
        this.i++;
        const r = this.expr(p + 1);
        left = { t: 'binary', op, l: left, r, s: left.s, e: r.e };
        continue;
      }
      break;
    }
    return left;
  }

  private unary(): Expr {
    const t = this.peek();
    if (!t) {
      const last = this.toks[this.toks.length - 1];
      return { t: 'other', s: last.e, e: last.e };
    }
    if (t.k === 'p') {
      if (PREFIX_OPS.has(t.v)) {
        this.i++;
        const arg = this.unary();
        return { t: 'unary', op: t.v, arg, s: t.s, e: arg.e };
      }
      if (t.v === '(') return this.postfix(this.parenOrCast());
      if (t.v === '{') {
        const close = this.matchClose(this.i);
        const e = this.toks[close].e;
        const innerS = t.e;
        const innerE = this.toks[close].s;
        this.i = close + 1;
        return { t: 'block', s: t.s, e, innerS, innerE, stmtExpr: false };
      }
      // Unexpected token: produce an empty node without consuming stop tokens.
      if (!STOP.has(t.v)) this.i++;
      return { t: 'other', s: t.s, e: t.e };
    }
    if (t.k === 'id') {
      if (t.v === 'sizeof' || t.v === '_Alignof' || t.v === 'alignof' || t.v === '__alignof__') {
        this.i++;
        if (this.isP('(')) {
          const close = this.matchClose(this.i);
          const e = this.toks[close].e;
          this.i = close + 1;
          return { t: 'other', s: t.s, e };
        }
        const arg = this.unary();
        return { t: 'other', s: t.s, e: arg.e };
      }
      if (TYPE_WORDS.has(t.v)) {
        // A type used as a macro argument (`struct kvm`, `unsigned long`): read up to the argument end.
        let j = this.i;
        while (j < this.toks.length) {
          const u = this.toks[j];
          if (u.k === 'p' && (u.v === ',' || u.v === ')' || u.v === ';' || u.v === ']' || u.v === '}')) break;
          if (u.k === 'p' && (u.v === '(' || u.v === '[' || u.v === '{')) {
            j = this.matchClose(j) + 1;
            continue;
          }
          j++;
        }
        const e = this.toks[j - 1].e;
        this.i = j;
        return { t: 'other', s: t.s, e };
      }
      this.i++;
      return this.postfix({ t: 'id', name: t.v, s: t.s, e: t.e });
    }
    this.i++;
    if (t.k === 'num') {
      return this.postfix({ t: 'num', value: parseNumber(t.v), s: t.s, e: t.e });
    }
    // Adjacent string literals (and macro names between them, e.g. "a" KERN_SOH "b").
    let e = t.e;
    while (this.peek()?.k === 'str') e = this.toks[this.i++].e;
    return this.postfix({ t: 'str', s: t.s, e });
  }

  private parenOrCast(): Expr {
    const open = this.i;
    const close = this.matchClose(open);
    const first = this.toks[open + 1];
    const openTok = this.toks[open];
    const closeTok = this.toks[close];
    if (first && first.k === 'p' && first.v === '{') {
      // GNU statement expression ({ ... }).
      const innerClose = this.matchClose(open + 1);
      this.i = close + 1;
      return {
        t: 'block',
        s: openTok.s,
        e: closeTok.e,
        innerS: first.e,
        innerE: this.toks[innerClose].s,
        stmtExpr: true,
      };
    }
    if (first && first.k === 'id' && close > open + 1 && this.looksLikeType(open + 1, close)) {
      const type = this.typeName(open + 1, close);
      this.i = close + 1;
      if (this.isP('{')) {
        const c2 = this.matchClose(this.i);
        const blk = this.toks[this.i];
        const end = this.toks[c2];
        this.i = c2 + 1;
        return { t: 'block', s: openTok.s, e: end.e, innerS: blk.e, innerE: end.s, stmtExpr: false };
      }
      const next = this.peek();
      if (!next || (next.k === 'p' && STOP.has(next.v))) return { t: 'other', s: openTok.s, e: closeTok.e };
      const arg = this.unary();
      return { t: 'cast', type, arg, s: openTok.s, e: arg.e };
    }
    this.i = open + 1;
    const inner = this.expr(1);
    // Tolerate junk before the closing parenthesis.
    const extra: Expr[] = [];
    while (this.i < close) {
      const before = this.i;
      const t = this.toks[this.i];
      if (t.k === 'p' && STOP.has(t.v)) {
        this.i++;
        continue;
      }
      extra.push(this.expr(1));
      if (this.i === before) this.i++;
    }
    this.i = close + 1;
    const body: Expr = extra.length ? { t: 'seq', items: [inner, ...extra], s: inner.s, e: extra[extra.length - 1].e } : inner;
    return { t: 'paren', inner: body, s: openTok.s, e: closeTok.e };
  }

  private looksLikeType(from: number, to: number): boolean {
    const first = this.toks[from];
    if (TYPE_WORDS.has(first.v)) return true;
    // `(foo_t)`, `(foo *)`, `(foo_t *)x`
    let j = from + 1;
    if (j === to) return /_t$/.test(first.v) && this.castFollows(to);
    let stars = 0;
    while (j < to && this.toks[j].k === 'p' && this.toks[j].v === '*') {
      j++;
      stars++;
    }
    return j === to && stars > 0;
  }

  private castFollows(close: number): boolean {
    const n = this.toks[close + 1];
    if (!n) return false;
    if (n.k !== 'p') return true;
    return n.v === '(' || n.v === '&' || n.v === '!' || n.v === '~' || n.v === '*' || n.v === '-';
  }

  private typeName(from: number, to: number): string {
    let name = '';
    for (let j = from; j < to; j++) {
      const t = this.toks[j];
      if (t.k === 'id' && !TYPE_QUALIFIERS.has(t.v) && t.v !== 'struct' && t.v !== 'union' && t.v !== 'enum') name = t.v;
    }
    return name;
  }

  private postfix(base: Expr): Expr {
    let e = base;
    for (;;) {
      const t = this.peek();
      if (!t || t.k !== 'p') return e;
      if (t.v === '(') {
        const close = this.matchClose(this.i);
        this.i++;
        const args: Expr[] = [];
        while (this.i < close) {
          const a = this.peek()!;
          if (a.k === 'p' && a.v === ',') {
            this.i++;
            continue;
          }
          const before = this.i;
          const arg = this.expr(2);
          // Tolerance: anything up to the next ',' / ')' that the reader did not take.
          const extra: Expr[] = [];
          while (this.i < close && !this.isP(',')) {
            const b = this.i;
            const u = this.toks[this.i];
            if (u.k === 'p' && STOP.has(u.v)) {
              this.i++;
              continue;
            }
            extra.push(this.expr(2));
            if (this.i === b) this.i++;
          }
          args.push(extra.length ? { t: 'seq', items: [arg, ...extra], s: arg.s, e: extra[extra.length - 1].e } : arg);
          if (this.i === before) this.i++;
        }
        this.i = close + 1;
        e = { t: 'call', fn: e, args, s: e.s, e: this.toks[close].e };
        continue;
      }
      if (t.v === '[') {
        const close = this.matchClose(this.i);
        this.i++;
        const idx = this.i < close ? this.expr(1) : ({ t: 'other', s: t.e, e: t.e } as Expr);
        this.i = close + 1;
        e = { t: 'index', obj: e, idx, s: e.s, e: this.toks[close].e };
        continue;
      }
      if (t.v === '.' || t.v === '->') {
        const f = this.peek(1);
        if (f && f.k === 'id') {
          this.i += 2;
          e = { t: 'member', obj: e, field: f.v, arrow: t.v === '->', s: e.s, e: f.e };
          continue;
        }
        this.i++;
        return e;
      }
      if (t.v === '++' || t.v === '--') {
        this.i++;
        e = { t: 'postfix', op: t.v, arg: e, s: e.s, e: t.e };
        continue;
      }
      return e;
    }
  }
}

export const TYPE_QUALIFIERS = new Set([
  'const', 'volatile', 'static', 'extern', 'register', 'inline', '__inline', '__inline__', '__always_inline',
  'noinline', '__maybe_unused', '__always_unused', '__user', '__rcu', '__iomem', '__percpu', '__force', '__must_check',
  'restrict', '__restrict', '__read_mostly', '__ro_after_init', '__initdata', '__initconst', '__init', '__exit',
  '__weak', 'unsigned', 'signed', 'auto', '__aligned', '__packed', '__cacheline_aligned', 'noinstr', 'notrace',
  '__cold', '__hot', '__visible', 'asmlinkage', '__used', '__noreturn', 'fastcall', '__sched', '__nocfi',
]);

export function parseNumber(v: string): number | undefined {
  const s = v.replace(/[uUlL]+$/, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return parseInt(s, 16);
  if (/^0[0-7]*$/.test(s)) return parseInt(s || '0', 8);
  if (/^[0-9]+$/.test(s)) return parseInt(s, 10);
  return undefined;
}

/** Strips parentheses and casts. */
export function strip(e: Expr): Expr {
  for (;;) {
    if (e.t === 'paren') e = e.inner;
    else if (e.t === 'cast') e = e.arg;
    else return e;
  }
}

/** The callee name of a direct call (`foo(...)`), or undefined. */
export function calleeName(e: Expr): string | undefined {
  const f = strip(e);
  return f.t === 'id' ? f.name : undefined;
}

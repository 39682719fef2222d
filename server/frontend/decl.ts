/**
 * Text-level readers for declarations, function headers, struct bodies, file-scope lock
 * definitions, designated-initializer bindings and suppression comments.
 */
import { ExprReader, TYPE_QUALIFIERS, tokenize, type Expr, type Tok } from './cexpr';
import type { LockKind } from './facts';

export interface Declarator {
  name: string;
  nameS: number;
  nameE: number;
  pointer: boolean;
  /** `int (*fn)(...)`: a function pointer. */
  fnptr: boolean;
  array: boolean;
  init?: Expr;
  /** Offsets of the initializer text (for `= { .field = func }`). */
  initS?: number;
  initE?: number;
}

export interface Declaration {
  /** Struct/typedef name without struct/const/pointers ('' when unknown). */
  type: string;
  declarators: Declarator[];
  /** `static DEFINE_MUTEX(x)`-style macro declarations: the macro name and its argument tokens. */
  macro?: { name: string; args: string[] };
}

const PRIMITIVE = new Set(['int', 'char', 'long', 'short', 'void', 'bool', '_Bool', 'float', 'double']);

function matchClose(toks: Tok[], open: number): number {
  const o = toks[open].v;
  const c = o === '(' ? ')' : o === '[' ? ']' : '}';
  let depth = 0;
  for (let j = open; j < toks.length; j++) {
    const t = toks[j];
    if (t.k !== 'p') continue;
    if (t.v === o) depth++;
    else if (t.v === c && --depth === 0) return j;
  }
  return toks.length - 1;
}

/** Reads the type specifier at toks[i..]; returns the type name and the index after it. */
function readType(toks: Tok[], i: number): { type: string; next: number } {
  let type = '';
  let sawPrimitive = false;
  while (i < toks.length) {
    const t = toks[i];
    if (t.k !== 'id') break;
    if (t.v === '__attribute__' || t.v === '__aligned' || t.v === '__section' || t.v === '__printf') {
      i++;
      if (toks[i]?.v === '(') i = matchClose(toks, i) + 1;
      continue;
    }
    if (TYPE_QUALIFIERS.has(t.v)) {
      if (t.v === 'unsigned' || t.v === 'signed') {
        type = type || 'int';
        sawPrimitive = true;
      }
      i++;
      continue;
    }
    if (t.v === 'struct' || t.v === 'union' || t.v === 'enum') {
      i++;
      if (toks[i]?.k === 'id') type = toks[i++].v;
      if (toks[i]?.v === '{') i = matchClose(toks, i) + 1;
      return { type, next: skipQualifiers(toks, i) };
    }
    if (t.v === 'typeof' || t.v === '__typeof__') {
      i++;
      if (toks[i]?.v === '(') i = matchClose(toks, i) + 1;
      return { type: '', next: i };
    }
    if (PRIMITIVE.has(t.v)) {
      type = t.v === 'long' || t.v === 'short' ? type === '' || type === 'int' ? t.v : type : t.v;
      sawPrimitive = true;
      i++;
      continue;
    }
    if (sawPrimitive) break;
    // A typedef name, unless it is the declarator itself (`x;` after a primitive was handled above).
    type = t.v;
    i++;
    break;
  }
  return { type, next: skipQualifiers(toks, i) };
}

function skipQualifiers(toks: Tok[], i: number): number {
  while (i < toks.length && toks[i].k === 'id' && TYPE_QUALIFIERS.has(toks[i].v)) i++;
  return i;
}

/** Reads a declaration (without requiring the trailing `;`). */
export function readDeclaration(src: string, s: number, e: number): Declaration | null {
  const toks = tokenize(src, s, e);
  return readDeclarationTokens(src, toks);
}

export function readDeclarationTokens(src: string, toks: Tok[]): Declaration | null {
  if (toks.length === 0) return null;
  // Macro-style declarations: `static DEFINE_MUTEX(x);`, `DEFINE_PER_CPU(raw_spinlock_t, x);`
  let j = skipQualifiers(toks, 0);
  if (toks[j]?.k === 'id' && toks[j + 1]?.v === '(' && /^(DEFINE|DECLARE)_/.test(toks[j].v)) {
    const close = matchClose(toks, j + 1);
    const args = splitTop(toks, j + 2, close).map((r) => r.map((t) => t.v).join(' '));
    return { type: '', declarators: [], macro: { name: toks[j].v, args } };
  }
  const { type, next } = readType(toks, 0);
  const declarators: Declarator[] = [];
  for (const part of splitTop(toks, next, toks.length, ';')) {
    if (part.length === 0) continue;
    const d = readDeclarator(src, toks, part);
    if (d) declarators.push(d);
  }
  return { type, declarators };
}

/** Splits toks[from, to) at top-level commas (and stops at a top-level `stop`). */
function splitTop(toks: Tok[], from: number, to: number, stop?: string): Tok[][] {
  const parts: Tok[][] = [];
  let cur: Tok[] = [];
  let depth = 0;
  for (let i = from; i < to; i++) {
    const t = toks[i];
    if (t.k === 'p') {
      if (t.v === '(' || t.v === '[' || t.v === '{') depth++;
      else if (t.v === ')' || t.v === ']' || t.v === '}') depth--;
      else if (depth === 0 && t.v === ',') {
        parts.push(cur);
        cur = [];
        continue;
      } else if (depth === 0 && stop && t.v === stop) break;
    }
    cur.push(t);
  }
  parts.push(cur);
  return parts;
}

function readDeclarator(src: string, all: Tok[], part: Tok[]): Declarator | null {
  let eq = -1;
  let depth = 0;
  for (let i = 0; i < part.length; i++) {
    const t = part[i];
    if (t.k !== 'p') continue;
    if (t.v === '(' || t.v === '[' || t.v === '{') depth++;
    else if (t.v === ')' || t.v === ']' || t.v === '}') depth--;
    else if (depth === 0 && t.v === '=') {
      eq = i;
      break;
    }
  }
  const head = eq < 0 ? part : part.slice(0, eq);
  let name: Tok | undefined;
  let pointer = false;
  let fnptr = false;
  let array = false;
  for (let i = 0; i < head.length; i++) {
    const t = head[i];
    if (t.k === 'p') {
      if (t.v === '*') pointer = true;
      else if (t.v === '(' && head[i + 1]?.v === '*') {
        fnptr = true;
        pointer = true;
      } else if (t.v === '[') {
        if (name) {
          array = true;
          break;
        }
      } else if (t.v === ':' && name) break; // bit-field
      else if (t.v === '(' && name) break; // function declarator or macro arguments
      continue;
    }
    if (t.k === 'id' && !TYPE_QUALIFIERS.has(t.v) && t.v !== '__attribute__' && !name) name = t;
    else if (t.k === 'id' && t.v === '__attribute__') break;
  }
  if (!name) return null;
  const d: Declarator = { name: name.v, nameS: name.s, nameE: name.e, pointer, fnptr, array };
  if (eq >= 0 && eq + 1 < part.length) {
    const initToks = part.slice(eq + 1);
    d.initS = initToks[0].s;
    d.initE = initToks[initToks.length - 1].e;
    d.init = new ExprReader(src, initToks).readAll() ?? undefined;
  }
  return d;
}

// ------------------------------------------------------------------------------------------------
// Function headers

export interface FunctionHeader {
  name: string;
  nameS: number;
  nameE: number;
  params: { name: string; type: string; pointer: boolean; fnptr: boolean }[];
  returnType: string;
  returnsPointer: boolean;
  isStatic: boolean;
  isWeak: boolean;
  annotations: { kind: 'must_hold' | 'acquires' | 'releases'; arg: Expr | null }[];
}

const NOT_A_NAME = new Set([
  '__attribute__', '__aligned', '__section', '__printf', '__scanf', '__diag_ignore', '__must_hold', '__acquires',
  '__releases', '__cond_acquires', '__no_kcsan', '__no_sanitize_address',
]);

/**
 * Reads `static inline int __must_check FNAME(page_fault)(struct kvm_vcpu *vcpu, ...) __acquires(x)`.
 * `FNAME(name)` (paging_tmpl.h) is named `FNAME(name)`: one definition stands for the three
 * macro-expanded copies (ept_, paging64_, paging32_).
 */
export function readFunctionHeader(src: string, s: number, e: number): FunctionHeader | null {
  const toks = tokenize(src, s, e);
  let i = 0;
  let nameIdx = -1;
  for (; i < toks.length; i++) {
    const t = toks[i];
    if (t.k === 'id' && toks[i + 1]?.v === '(' && !NOT_A_NAME.has(t.v) && !TYPE_QUALIFIERS.has(t.v)) {
      nameIdx = i;
      break;
    }
    if (t.k === 'id' && (NOT_A_NAME.has(t.v) || t.v === '__aligned') && toks[i + 1]?.v === '(') {
      i = matchClose(toks, i + 1);
    }
  }
  if (nameIdx < 0) return null;
  let name = toks[nameIdx].v;
  let nameE = toks[nameIdx].e;
  let paramOpen = nameIdx + 1;
  if (name === 'FNAME') {
    const c = matchClose(toks, paramOpen);
    if (toks[c + 1]?.v === '(') {
      name = 'FNAME(' + toks.slice(paramOpen + 1, c).map((t) => t.v).join('') + ')';
      nameE = toks[c].e;
      paramOpen = c + 1;
    }
  }
  const paramClose = matchClose(toks, paramOpen);
  const params: FunctionHeader['params'] = [];
  for (const part of splitTop(toks, paramOpen + 1, paramClose)) {
    if (part.length === 0) continue;
    if (part.length === 1 && (part[0].v === 'void' || part[0].v === '...')) continue;
    const { type, next } = readType(part, 0);
    const rest = part.slice(next);
    const d = rest.length ? readDeclarator(src, part, rest) : null;
    params.push({ name: d?.name ?? '', type, pointer: d?.pointer ?? false, fnptr: d?.fnptr ?? false });
  }
  // Return type and storage from the tokens before the name.
  const before = toks.slice(0, nameIdx);
  const words = new Set(before.filter((t) => t.k === 'id').map((t) => t.v));
  const rt = readType(before, 0);
  const annotations: FunctionHeader['annotations'] = [];
  for (let j = paramClose + 1; j < toks.length; j++) {
    const t = toks[j];
    const kind =
      t.v === '__must_hold' ? 'must_hold' : t.v === '__acquires' ? 'acquires' : t.v === '__releases' ? 'releases' : null;
    if (kind && toks[j + 1]?.v === '(') {
      const c = matchClose(toks, j + 1);
      const arg = new ExprReader(src, toks.slice(j + 2, c)).readAll();
      annotations.push({ kind, arg });
      j = c;
    }
  }
  return {
    name,
    nameS: toks[nameIdx].s,
    nameE,
    params,
    returnType: rt.type || (words.has('unsigned') ? 'int' : ''),
    returnsPointer: before.some((t) => t.k === 'p' && t.v === '*'),
    isStatic: words.has('static'),
    isWeak: words.has('__weak'),
    annotations,
  };
}

// ------------------------------------------------------------------------------------------------
// Structs

export interface RawField {
  name: string;
  type: string;
  pointer: boolean;
  inline?: RawField[];
}

export interface RawStruct {
  name: string;
  fields: RawField[];
}

/** Finds every `struct|union NAME { ... }` in src[s, e) (including nested named ones). */
export function readStructs(src: string, s: number, e: number, out: RawStruct[]): void {
  const toks = tokenize(src, s, e);
  let typedefStart = -1;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.k === 'id' && t.v === 'typedef') typedefStart = i;
    if (t.k === 'id' && (t.v === 'struct' || t.v === 'union')) {
      let j = i + 1;
      while (toks[j]?.k === 'id' && (toks[j].v === '__attribute__' || TYPE_QUALIFIERS.has(toks[j].v))) {
        j++;
        if (toks[j]?.v === '(') j = matchClose(toks, j) + 1;
      }
      let name = '';
      if (toks[j]?.k === 'id') name = toks[j++].v;
      if (toks[j]?.v !== '{') continue;
      const close = matchClose(toks, j);
      const fields = readFields(toks, j + 1, close, out);
      if (name) out.push({ name, fields });
      if (typedefStart >= 0) {
        // typedef struct [tag] { ... } alias;
        let k = close + 1;
        while (toks[k]?.k === 'id' && TYPE_QUALIFIERS.has(toks[k].v)) k++;
        if (toks[k]?.k === 'id' && toks[k].v !== name && toks[k].v !== '__attribute__') out.push({ name: toks[k].v, fields });
        typedefStart = -1;
      }
      i = close;
    }
  }
}

function readFields(toks: Tok[], from: number, to: number, out: RawStruct[]): RawField[] {
  const fields: RawField[] = [];
  let i = from;
  while (i < to) {
    // One member: up to the next top-level ';'.
    let end = i;
    let depth = 0;
    for (; end < to; end++) {
      const t = toks[end];
      if (t.k !== 'p') continue;
      if (t.v === '(' || t.v === '[' || t.v === '{') depth++;
      else if (t.v === ')' || t.v === ']' || t.v === '}') depth--;
      else if (depth === 0 && t.v === ';') break;
    }
    const member = toks.slice(i, end);
    i = end + 1;
    if (member.length === 0) continue;
    let k = skipQualifiers(member, 0);
    const first = member[k];
    if (first?.k === 'id' && (first.v === 'struct' || first.v === 'union')) {
      let m = k + 1;
      let tag = '';
      if (member[m]?.k === 'id') tag = member[m++].v;
      if (member[m]?.v === '{') {
        const close = matchClose(member, m);
        const inner = readFields(member, m + 1, close, out);
        if (tag) out.push({ name: tag, fields: inner });
        const rest = member.slice(close + 1);
        const names = declaratorNames(rest);
        if (names.length === 0) fields.push(...inner); // anonymous member: its fields are visible directly
        for (const n of names) fields.push({ name: n.name, type: tag, pointer: n.pointer, inline: tag ? undefined : inner });
        continue;
      }
    }
    if (first?.k === 'id' && /^(DECLARE|DEFINE)_/.test(first.v)) {
      // DECLARE_BITMAP(name, n), DECLARE_HASHTABLE(name, bits), ...
      const arg = member[k + 2];
      if (arg?.k === 'id') fields.push({ name: arg.v, type: first.v, pointer: false });
      continue;
    }
    const { type, next } = readType(member, 0);
    k = next;
    for (const n of declaratorNames(member.slice(k))) fields.push({ name: n.name, type, pointer: n.pointer });
  }
  return fields;
}

function declaratorNames(toks: Tok[]): { name: string; pointer: boolean }[] {
  const out: { name: string; pointer: boolean }[] = [];
  for (const part of splitTop(toks, 0, toks.length)) {
    let pointer = false;
    let name = '';
    for (let i = 0; i < part.length; i++) {
      const t = part[i];
      if (t.k === 'p') {
        if (t.v === '*') pointer = true;
        if ((t.v === '[' || t.v === ':') && name) break;
        if (t.v === '(' && name) break;
        continue;
      }
      if (t.k === 'id' && !TYPE_QUALIFIERS.has(t.v) && t.v !== '__attribute__' && !name) name = t.v;
      if (t.v === '__attribute__') break;
    }
    if (name) out.push({ name, pointer });
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// File-scope lock definitions

const MACRO_LOCKS: Record<string, LockKind> = {
  DEFINE_MUTEX: 'mutex',
  DEFINE_SPINLOCK: 'spinlock',
  DEFINE_RAW_SPINLOCK: 'raw_spinlock',
  DEFINE_RWLOCK: 'rwlock',
  DECLARE_RWSEM: 'rwsem',
  DEFINE_STATIC_SRCU: 'srcu',
  DEFINE_SRCU: 'srcu',
};

const TYPE_LOCKS: Record<string, LockKind> = {
  mutex: 'mutex',
  spinlock_t: 'spinlock',
  raw_spinlock_t: 'raw_spinlock',
  rwlock_t: 'rwlock',
  rw_semaphore: 'rwsem',
  srcu_struct: 'srcu',
};

/** The struct/typedef name a lock kind is declared with (for `global` path bases). */
export const LOCK_KIND_TYPE: Partial<Record<LockKind, string>> = {
  mutex: 'mutex',
  spinlock: 'spinlock_t',
  raw_spinlock: 'raw_spinlock_t',
  rwlock: 'rwlock_t',
  rwsem: 'rw_semaphore',
  srcu: 'srcu_struct',
};

export interface RawGlobal {
  name: string;
  kind: LockKind;
  perCpu: boolean;
  s: number;
  e: number;
}

export function globalLocksOf(d: Declaration, s: number, e: number): RawGlobal[] {
  if (d.macro) {
    const kind = MACRO_LOCKS[d.macro.name];
    if (kind && d.macro.args[0]) return [{ name: d.macro.args[0].trim(), kind, perCpu: false, s, e }];
    if (d.macro.name === 'DEFINE_PER_CPU' || d.macro.name === 'DECLARE_PER_CPU') {
      const t = (d.macro.args[0] ?? '').replace(/^struct\s+/, '').trim();
      const k = TYPE_LOCKS[t];
      const name = (d.macro.args[1] ?? '').trim();
      if (k && name) return [{ name, kind: k, perCpu: true, s, e }];
    }
    return [];
  }
  const k = TYPE_LOCKS[d.type];
  if (!k) return [];
  return d.declarators.filter((x) => !x.pointer && !x.fnptr).map((x) => ({ name: x.name, kind: k, perCpu: false, s, e }));
}

// ------------------------------------------------------------------------------------------------
// Designated initializers: `.field = func`

export interface RawBinding {
  field: string;
  func: string;
  s: number;
  e: number;
  /** `.field = vt_op(vcpu_load)`: a one-argument macro applied to a name (see namePastingMacros). */
  macroArg?: string;
}

export function readDesignatedBindings(src: string, s: number, e: number): RawBinding[] {
  const toks = tokenize(src, s, e);
  const out: RawBinding[] = [];
  for (let i = 0; i + 3 < toks.length; i++) {
    if (toks[i].v !== '.' || toks[i].k !== 'p') continue;
    const f = toks[i + 1];
    if (f.k !== 'id' || toks[i + 2].v !== '=') continue;
    let j = i + 3;
    if (toks[j].v === '&') j++;
    const v = toks[j];
    const after = toks[j + 1];
    if (v?.k === 'id' && (!after || after.v === ',' || after.v === '}')) out.push({ field: f.v, func: v.v, s: toks[i].s, e: v.e });
    else if (v?.k === 'id' && after?.v === '(' && toks[j + 2]?.k === 'id' && toks[j + 3]?.v === ')') {
      const end = toks[j + 4];
      if (!end || end.v === ',' || end.v === '}') out.push({ field: f.v, func: v.v, s: toks[i].s, e: toks[j + 3].e, macroArg: toks[j + 2].v });
    }
  }
  return out;
}

/**
 * One-parameter macros that paste their argument into a name (`#define vt_op(name) vt_##name`),
 * with every definition a file gives (`#ifdef` alternatives): name -> [prefix, suffix] pairs.
 * KVM binds its ops tables through them (6.15+ vmx/main.c: `.vcpu_load = vt_op(vcpu_load)`).
 */
export function namePastingMacros(text: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  const def = /^[ \t]*#[ \t]*define[ \t]+(\w+)\([ \t]*(\w+)[ \t]*\)[ \t]+([\w# \t]+?)[ \t]*$/gm;
  for (let m = def.exec(text); m; m = def.exec(text)) {
    const [, name, param, body] = m;
    const parts = body.split('##').map((x) => x.trim());
    const at = parts.indexOf(param);
    if (parts.length < 2 || at < 0 || parts.lastIndexOf(param) !== at || !parts.every((x) => /^\w+$/.test(x))) continue;
    const pair: [string, string] = [parts.slice(0, at).join(''), parts.slice(at + 1).join('')];
    const list = out.get(name);
    if (list) list.push(pair);
    else out.set(name, [pair]);
  }
  return out;
}

/**
 * Can declarator `x` of `d` be an array of function pointers: `int (*h[])(...)`, or an array of a
 * typedef'd type (`exit_handle_fn h[]`); arrays of primitives and fixed-width integers are not.
 */
export function isFunctionArray(d: Declaration, x: Declarator): boolean {
  if (!x.array) return false;
  if (x.fnptr) return true;
  return !x.pointer && d.type !== '' && !PRIMITIVE.has(d.type) && !/^(_*[us]\d+|u?int\d+_t|size_t|bool)$/.test(d.type);
}

/**
 * Array initializers of function names: `{ [EXIT_X] = handle_x, [A ... B] = &handle_y, handle_z, }`
 * (designated or positional). Each element whose whole value is one lower-case identifier (with an
 * optional `&`) becomes a binding with field `[]`; macros, NULL/true/false and nested braces are
 * skipped. `s..e` spans the initializer, with or without its outer braces.
 */
export function readArrayFunctionBindings(src: string, s: number, e: number): RawBinding[] {
  const toks = tokenize(src, s, e);
  let from = 0;
  let to = toks.length;
  if (toks[0]?.v === '{' && toks[0].k === 'p') {
    from = 1;
    to = matchClose(toks, 0);
  }
  const out: RawBinding[] = [];
  for (const el of splitTop(toks, from, to)) {
    if (el.length === 0) continue;
    let i = 0;
    // Designators: `[X]`, `[A ... B]`, possibly repeated, then `=`.
    if (el[0].v === '[' && el[0].k === 'p') {
      while (i < el.length && el[i].v === '[' && el[i].k === 'p') i = matchClose(el, i) + 1;
      if (el[i]?.v !== '=') continue;
      i++;
    }
    if (el[i]?.v === '&') i++;
    const v = el[i];
    if (!v || v.k !== 'id' || i !== el.length - 1) continue;
    if (/^[A-Z0-9_]+$/.test(v.v) || v.v === 'true' || v.v === 'false') continue;
    out.push({ field: '[]', func: v.v, s: el[0].s, e: v.e });
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Suppressions

const SUPPRESS_RE = /kvm-locklint:\s*ignore\b([^\n]*)/g;

export function readSuppressions(text: string, lineOf: (offset: number) => number): { line: number; codes: string[] }[] {
  const out: { line: number; codes: string[] }[] = [];
  if (text.indexOf('kvm-locklint:') < 0) return out;
  SUPPRESS_RE.lastIndex = 0;
  for (let m = SUPPRESS_RE.exec(text); m; m = SUPPRESS_RE.exec(text)) {
    let rest = m[1];
    const endComment = rest.indexOf('*/');
    if (endComment >= 0) rest = rest.slice(0, endComment);
    const codes = rest.split(/[\s,]+/).filter((c) => /^[a-z][a-z-]*$/.test(c));
    out.push({ line: lineOf(m.index), codes });
  }
  return out;
}

/** Words followed by `(` that are C, not calls. */
const NOT_CALLED = new Set(['if', 'for', 'while', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', 'defined', 'do']);

/**
 * The names a file's `#define` bodies call (`#define for_each_root(kvm, root) for (root =
 * next_root(kvm, NULL); root; root = next_root(kvm, root))` calls `next_root`): the macro's users
 * call them, and the analysis does not expand macros, so their callers are not all seen.
 */
export function readMacroCalls(text: string): string[] {
  let at = text.indexOf('#define');
  if (at < 0) return [];
  const out = new Set<string>();
  const call = /\b([A-Za-z_]\w*)\s*\(/g;
  while (at >= 0) {
    // The definition runs to the first newline not escaped by a backslash.
    let end = at;
    for (;;) {
      const nl = text.indexOf('\n', end);
      if (nl < 0) {
        end = text.length;
        break;
      }
      const before = text.charCodeAt(nl - 1) === 13 ? nl - 2 : nl - 1;
      if (text.charCodeAt(before) !== 92 /* \\ */) {
        end = nl;
        break;
      }
      end = nl + 1;
    }
    const head = /^#define\s+\w+(?:\([^)]*\))?/.exec(text.slice(at, Math.min(end, at + 400)));
    const body = text.slice(at + (head ? head[0].length : 7), end);
    call.lastIndex = 0;
    for (let m = call.exec(body); m; m = call.exec(body)) if (!NOT_CALLED.has(m[1])) out.add(m[1]);
    at = text.indexOf('#define', end);
  }
  return [...out];
}

/**
 * Functions a file exports to other modules (`EXPORT_SYMBOL_GPL(kvm_hv_get_assist_page)`): their
 * callers may be in modules the workspace does not hold.
 */
export function readExports(text: string): string[] {
  if (text.indexOf('EXPORT_SYMBOL') < 0) return [];
  const out: string[] = [];
  const re = /\bEXPORT_SYMBOL\w*\s*\(\s*([A-Za-z_]\w*)\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]);
  return out;
}

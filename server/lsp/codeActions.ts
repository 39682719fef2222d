/**
 * Semantic quick fixes (the "suppress" action lives in server.ts):
 *
 *  - lock-requires: "Add lockdep_assert_held(&X) to f" (the _write form for a write-mode
 *    requirement) states the requirement in the function that reaches it, which moves it to the
 *    function's callers (what kernel developers write when a function is meant to be called with
 *    the lock held). X is built from the function's parameters and top-of-body locals; when it
 *    cannot be built with confidence there is no fix.
 *  - rwlock-mode: none. The analyzer reports it where the function itself holds the lock for
 *    read (read_lock() in its body); asserting write mode at its top would contradict that, and
 *    switching the function to write mode is a design decision, not a mechanical fix.
 *  - spte-nonatomic: a plain SPTE writer replaced by the atomic-xchg writer of its MMU family
 *    (from the helper contracts of model/spte/helpers.ts).
 *
 * The builders are pure (C text + diagnostic -> edits) and read the text with a small scanner, so
 * a code-action request never waits for the analyzer. The diagnostic's `data` (set by convert.ts
 * from the finding) carries the function, the lock and the mode.
 */
import { CodeActionKind, type CodeAction, type Diagnostic, type TextEdit } from 'vscode-languageserver/node';
import { KVM_STRUCT_FIELDS } from '../../model/kvmTypes';
import { docLockRef } from '../../model/rules/names';
import { SPTE_HELPERS, spteHelper } from '../../model/spte/helpers';
import type { Finding } from '../checks/finding';

/** What the fixes need from the finding, stored in `Diagnostic.data`. */
export interface FixData {
  /** The function the finding is reported in. */
  fn?: string;
  /** The required lock as the message names it: `kvm->slots_lock`, `kvm_arch::tsc_write_lock`, `kvm_arch.tsc_write_lock`. */
  lock?: string;
  /** `write` when the requirement is write mode. */
  mode?: 'write';
}

// ---- from the finding ------------------------------------------------------------------------

/** The fix data of a finding, or undefined when no semantic fix can apply to it. */
export function fixDataOf(f: Finding): FixData | undefined {
  if (f.code === 'lock-requires') {
    const m = /^\S+ is (?:called|taken) without (\S+) held, but /.exec(f.message);
    if (!m) return undefined;
    const last = f.related.at(-1)?.message ?? '';
    const write = /^requires [^:]+: (?:lockdep_assert_held_write|kvm_lockdep_assert_mmu_lock_held\([^)]*false)/.test(last);
    return { fn: f.functionName, lock: m[1], ...(write ? { mode: 'write' as const } : {}) };
  }
  return undefined;
}

function dataOf(d: Diagnostic): FixData {
  const x = d.data as Partial<FixData> | undefined;
  if (!x || typeof x !== 'object') return {};
  return {
    fn: typeof x.fn === 'string' ? x.fn : undefined,
    lock: typeof x.lock === 'string' ? x.lock : undefined,
    mode: x.mode === 'write' ? 'write' : undefined,
  };
}

// ---- text helpers ----------------------------------------------------------------------------

/** Offsets of the starts of lines. */
function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

function offsetAt(starts: number[], text: string, pos: { line: number; character: number }): number {
  if (pos.line < 0) return 0;
  if (pos.line >= starts.length) return text.length;
  return Math.min(starts[pos.line] + Math.max(0, pos.character), text.length);
}

function positionAt(starts: number[], offset: number): { line: number; character: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - starts[lo] };
}

/**
 * The C text with comments, string and character literals and preprocessor lines blanked out
 * (same length, newlines kept), so braces and semicolons can be counted naively.
 */
export function codeOnly(text: string): string {
  const parts: string[] = [];
  let kept = 0; // start of the text not yet copied
  const blank = (from: number, to: number): void => {
    parts.push(text.slice(kept, from), text.slice(from, to).replace(/[^\n]/g, ' '));
    kept = to;
  };
  let i = 0;
  let lineStart = true;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      lineStart = true;
      i++;
      continue;
    }
    if (lineStart && (c === 32 || c === 9)) {
      i++;
      continue;
    }
    if (lineStart && c === 35 /* # */) {
      // A preprocessor line, with its backslash continuations.
      let j = text.indexOf('\n', i);
      while (j > 0 && text.charCodeAt(j - 1) === 92 /* \ */) j = text.indexOf('\n', j + 1);
      if (j < 0) j = n;
      blank(i, j);
      i = j;
      continue;
    }
    lineStart = false;
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      const end = text.indexOf('*/', i + 2);
      const j = end < 0 ? n : end + 2;
      blank(i, j);
      i = j;
    } else if (c === 47 && text.charCodeAt(i + 1) === 47) {
      let j = text.indexOf('\n', i);
      if (j < 0) j = n;
      blank(i, j);
      i = j;
    } else if (c === 34 /* " */ || c === 39 /* ' */) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === c || d === 10) break;
        j += d === 92 ? 2 : 1;
      }
      j = Math.min(j, n);
      blank(i + 1, j);
      i = j + 1;
    } else i++;
  }
  parts.push(text.slice(kept));
  return parts.join('');
}

/** Splits `a, f(b, c), d` at top-level commas. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(from, i));
      from = i + 1;
    }
  }
  out.push(s.slice(from));
  return out.map((x) => x.trim());
}

const norm = (s: string): string => s.replace(/\s+/g, '').replace(/^&/, '');

// ---- the enclosing function ------------------------------------------------------------------

export interface Variable {
  name: string;
  /** Struct/typedef name without `struct`, qualifiers, pointers. */
  type: string;
  pointer: boolean;
}

export interface FunctionShape {
  name: string;
  params: Variable[];
  /** Declarations at the top of the body, before the first statement. */
  locals: Variable[];
  /** Offset of the `{` and of the matching `}`. */
  open: number;
  close: number;
  /** Offset of the first statement after the declarations (or of the `}` when there is none). */
  firstStatement: number;
}

const NOT_TYPES = new Set(['return', 'goto', 'else', 'do', 'case', 'break', 'continue', 'sizeof', 'typeof', 'if', 'while', 'for', 'switch']);
const QUALIFIERS = /\b(?:const|volatile|static|register|struct|union|enum|__rcu|__user|__iomem|__maybe_unused)\b/g;
const DECL_MACROS = /^(?:LIST_HEAD|HLIST_HEAD|DECLARE_[A-Z0-9_]+|DEFINE_[A-Z0-9_]+)\s*\(/;

/** `struct kvm *kvm = x`, `u64 old` -> the variable; null when the text is not one declarator. */
function parseDeclarator(text: string): Variable | null {
  const t = text.replace(/=.*$/s, '').replace(/\[[^\]]*\]\s*$/, '').trim();
  const m = /^(.*?)([A-Za-z_]\w*)$/s.exec(t);
  if (!m) return null;
  const head = m[1];
  const pointer = head.includes('*');
  const words = head.replace(/\*/g, ' ').replace(QUALIFIERS, ' ').trim().split(/\s+/).filter(Boolean);
  if (!words.length || !words.every((w) => /^[A-Za-z_]\w*$/.test(w))) return null;
  return { name: m[2], type: words[words.length - 1], pointer };
}

/** A declaration statement `T a = x, *b;` -> its variables; null when the statement is not a declaration. */
function parseDeclaration(stmt: string): Variable[] | null {
  const s = stmt.replace(/\s+/g, ' ').trim();
  if (DECL_MACROS.test(s)) return [];
  const first = /^([A-Za-z_]\w*)/.exec(s);
  if (!first || NOT_TYPES.has(first[1])) return null;
  // A declaration starts with a type followed by a declarator: two words, or a word and `*`.
  if (!/^(?:(?:const|volatile|static|register|unsigned|signed|struct|union|enum)\s+)*[A-Za-z_]\w*(?:\s+(?:const\s+)?\**\s*|\s*\*+\s*(?:const\s+)?)[A-Za-z_]\w*\s*(?:\[[^\]]*\]\s*)?(?:=|,|$)/.test(s)) return null;
  const parts = splitTopLevel(s);
  const firstVar = parseDeclarator(parts[0]);
  if (!firstVar) return null;
  const out = [firstVar];
  // Later declarators share the type: `*b`, `c = 0`.
  for (const p of parts.slice(1)) {
    const m = /^(\**)\s*([A-Za-z_]\w*)/.exec(p);
    if (m) out.push({ name: m[2], type: firstVar.type, pointer: m[1].length > 0 });
  }
  return out;
}

function parseParams(list: string): Variable[] {
  const out: Variable[] = [];
  for (const p of splitTopLevel(list)) {
    if (!p || p === 'void' || p === '...') continue;
    if (p.includes('(')) continue; // a function pointer parameter
    const v = parseDeclarator(p);
    if (v) out.push(v);
  }
  return out;
}

/**
 * The function definition whose body contains `offset`, read from the text: a top-level
 * `name(params) ... { ... }`. Null when the offset is not in one, or the name is not `fnName`.
 */
export function enclosingFunction(text: string, offset: number, fnName?: string): FunctionShape | null {
  // Kernel style puts a function's braces at column 0: read only from the end of the previous
  // function (a `}` line before the nearest `{` line) to the next `}` line, not the whole file.
  const brace = text.lastIndexOf('\n{', offset);
  const prevEnd = brace < 0 ? -1 : text.lastIndexOf('\n}', brace);
  let from = prevEnd < 0 ? 0 : text.indexOf('\n', prevEnd + 1) + 1;
  if (from <= 0 || from > offset) from = 0;
  const nextEnd = text.indexOf('\n}', offset);
  const to = nextEnd < 0 ? text.length : (text.indexOf('\n', nextEnd + 1) + 1 || text.length);
  const shape = enclosingIn(text.slice(from, to), offset - from, fnName);
  return shape && { ...shape, open: shape.open + from, close: shape.close + from, firstStatement: shape.firstStatement + from };
}

function enclosingIn(text: string, offset: number, fnName?: string): FunctionShape | null {
  const code = codeOnly(text);
  let depth = 0;
  let open = -1;
  let lastTop = 0; // just after the last top-level `;` or `}`
  let sigStart = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c !== '{' && c !== '}' && c !== ';') continue;
    if (c === '{') {
      if (depth === 0) {
        open = i;
        sigStart = lastTop;
      }
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth < 0) depth = 0;
      if (depth === 0) {
        if (open >= 0 && open < offset && offset <= i) return shapeOf(code, sigStart, open, i, fnName);
        lastTop = i + 1;
        open = -1;
      }
    } else if (depth === 0) lastTop = i + 1;
    if (i > offset && depth === 0) return null;
  }
  return null;
}

function shapeOf(code: string, sigStart: number, open: number, close: number, fnName?: string): FunctionShape | null {
  const sig = code.slice(sigStart, open);
  // `static int __printf(2, 3) f(struct kvm *kvm) __must_hold(x)`: the parenthesised group after
  // the function's own name (or, without a name to look for, after the first non-attribute).
  const re = /([A-Za-z_]\w*)\s*\(/g;
  let m: RegExpExecArray | null;
  let name = '';
  let paramsText = '';
  while ((m = re.exec(sig))) {
    let depth = 0;
    let j = m.index + m[0].length - 1;
    const from = j + 1;
    for (; j < sig.length; j++) {
      if (sig[j] === '(') depth++;
      else if (sig[j] === ')' && --depth === 0) break;
    }
    if (depth !== 0) return null;
    const wanted = fnName ? m[1] === fnName : !/^__/.test(m[1]);
    if (!wanted) {
      re.lastIndex = j + 1;
      continue;
    }
    name = m[1];
    paramsText = sig.slice(from, j);
    break;
  }
  if (!name || /=\s*$/.test(sig.trimEnd())) return null;
  const params = parseParams(paramsText);
  // Declarations at the top of the body.
  const locals: Variable[] = [];
  let i = open + 1;
  let firstStatement = close;
  for (;;) {
    while (i < close && /\s/.test(code[i])) i++;
    if (i >= close) break;
    let j = i;
    let depth = 0;
    for (; j < close; j++) {
      const c = code[j];
      if (c === '(' || c === '[') depth++;
      else if (c === ')' || c === ']') depth--;
      else if (depth === 0 && (c === ';' || c === '{')) break;
    }
    if (j >= close || code[j] !== ';') {
      firstStatement = i;
      break;
    }
    const vars = parseDeclaration(code.slice(i, j));
    if (!vars) {
      firstStatement = i;
      break;
    }
    locals.push(...vars);
    i = j + 1;
  }
  return { name, params, locals, open, close, firstStatement };
}

// ---- the lock expression in scope ------------------------------------------------------------

interface Target {
  /** The struct the lock's fields start from, and the fields. */
  struct: string;
  fields: string[];
}

/** The document's or the analyzer's name of a lock -> where it lives. Globals and pseudo locks are handled apart. */
function targetOf(lock: string): Target | { global: string } | { pseudo: string } | null {
  const classForm = /^([A-Za-z_]\w*)\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)$/.exec(lock);
  if (classForm) return { struct: classForm[1], fields: classForm[2].split('.') };
  const ref = docLockRef(lock);
  if (!ref) return null;
  if (ref.kind === 'member') return { struct: ref.baseType, fields: ref.fields };
  if (ref.kind === 'global') return { global: ref.name };
  return { pseudo: ref.name };
}

interface Candidate {
  /** The expression reaching the target struct, and whether it is a pointer. */
  expr: string;
  pointer: boolean;
  /** Prefix expressions, from the variable on (for matching call arguments). */
  prefixes: string[];
  cost: number;
}

const MAX_HOPS = 2;

/** Every way to reach `struct` from a variable through KVM's struct layout, up to two fields. */
function reach(v: Variable, struct: string): Candidate[] {
  const out: Candidate[] = [];
  const walk = (type: string, expr: string, pointer: boolean, prefixes: string[], hops: number): void => {
    if (type === struct) {
      out.push({ expr, pointer, prefixes, cost: hops });
      return;
    }
    if (hops >= MAX_HOPS) return;
    const fields = KVM_STRUCT_FIELDS[type];
    if (!fields) return;
    for (const [name, f] of Object.entries(fields)) {
      if (!KVM_STRUCT_FIELDS[f.type]) continue; // not a struct we know how to go on from
      const next = `${expr}${pointer ? '->' : '.'}${name}`;
      walk(f.type, next, f.pointer, [...prefixes, next], hops + 1);
    }
  };
  walk(v.type, v.name, v.pointer, [v.name], 0);
  return out;
}

/** Appends the lock's fields to an expression of its struct, with `->` where a field is a pointer. */
function appendFields(c: Candidate, t: Target): string {
  let expr = c.expr;
  let pointer = c.pointer;
  let type: string | undefined = t.struct;
  for (const f of t.fields) {
    expr += (pointer ? '->' : '.') + f;
    const known: { type: string; pointer: boolean } | undefined = type ? KVM_STRUCT_FIELDS[type]?.[f] : undefined;
    pointer = known?.pointer ?? false;
    type = known?.type;
  }
  return expr;
}

/** The arguments of the call at the start of `callText` (`f(a, b)`, `x = f(a)`), normalised. */
function callArguments(callText: string): string[] {
  const code = codeOnly(callText);
  const open = code.indexOf('(');
  if (open < 0) return [];
  let depth = 0;
  let j = open;
  for (; j < code.length; j++) {
    if (code[j] === '(') depth++;
    else if (code[j] === ')' && --depth === 0) break;
  }
  return splitTopLevel(callText.slice(open + 1, j)).map(norm).filter(Boolean);
}

/**
 * The lock expression for `lock` valid at the top of `fn`, or null when it cannot be built with
 * confidence: the shortest way from a parameter or local to the lock's struct, preferring the
 * variables the call passes on; two different expressions of the same length -> null.
 */
export function lockExpression(fn: FunctionShape, lock: string, callText: string, fileText: string): string | null {
  const t = targetOf(lock);
  if (!t) return null;
  if ('pseudo' in t) return null; // rcu, cpus_read_lock(): not a lockdep_assert_held() argument
  if ('global' in t) {
    // Visible here only if the file names it (declared, included, used) outside this function's finding.
    return new RegExp(`\\b${t.global}\\b`).test(fileText) ? `&${t.global}` : null;
  }
  const lockType = KVM_STRUCT_FIELDS[t.struct]?.[t.fields[t.fields.length - 1]]?.type;
  if (lockType === 'srcu_struct') return null; // SRCU read sides are not lockdep_assert_held() material
  const vars = [...fn.params, ...fn.locals];
  let cands = vars.flatMap((v) => reach(v, t.struct));
  if (!cands.length) return null;
  const args = callArguments(callText);
  const passed = cands.filter((c) => c.prefixes.some((p) => args.some((a) => a === p || a.startsWith(p + '->') || a.startsWith(p + '.'))));
  if (passed.length) cands = passed;
  const best = Math.min(...cands.map((c) => c.cost));
  const exprs = new Set(cands.filter((c) => c.cost === best).map((c) => appendFields(c, t)));
  if (exprs.size !== 1) return null;
  return '&' + [...exprs][0];
}

// ---- fix builders ----------------------------------------------------------------------------

export interface Fix {
  title: string;
  edits: TextEdit[];
  isPreferred?: boolean;
}

function indentOfLine(text: string, starts: number[], line: number): string {
  const s = starts[line] ?? 0;
  return /^[ \t]*/.exec(text.slice(s, s + 200))![0];
}

/** lock-requires: state the requirement in the function (lockdep_assert_held_write for a write requirement). */
export function assertFix(text: string, d: Diagnostic): Fix | null {
  const data = dataOf(d);
  if (!data.fn || !data.lock || !d.range) return null;
  const starts = lineStarts(text);
  const at = offsetAt(starts, text, d.range.start);
  const fn = enclosingFunction(text, at, data.fn);
  if (!fn) return null;
  const callText = text.slice(at, offsetAt(starts, text, d.range.end));
  const expr = lockExpression(fn, data.lock, callText, text);
  if (!expr) return null;
  const api = data.mode === 'write' ? 'lockdep_assert_held_write' : 'lockdep_assert_held';
  const call = `${api}(${expr});`;
  // Where: the start of the line of the first statement after the declarations, in its indentation.
  const first = positionAt(starts, fn.firstStatement);
  const openPos = positionAt(starts, fn.open);
  const lineOfFirst = text.slice(starts[first.line], fn.firstStatement);
  let edit: TextEdit;
  if (first.line > openPos.line && /^[ \t]*$/.test(lineOfFirst)) {
    const atClose = fn.firstStatement >= fn.close;
    // An empty body (or only declarations): the indentation of the line after `{`, else a tab.
    const indent = atClose ? (first.line > openPos.line + 1 ? indentOfLine(text, starts, openPos.line + 1) : '') || '\t' : lineOfFirst;
    const nextIsAssert = /^lockdep_assert|^kvm_lockdep_assert/.test(text.slice(fn.firstStatement, fn.firstStatement + 20));
    const blankAfter = !atClose && !nextIsAssert ? '\n' : '';
    const pos = { line: first.line, character: 0 };
    edit = { range: { start: pos, end: pos }, newText: `${indent}${call}\n${blankAfter}` };
  } else {
    return null; // a one-line body or an odd layout: no edit we could be sure to format well
  }
  return { title: `Add ${api}(${expr}) to ${fn.name}()`, edits: [edit], isPreferred: true };
}

/** The atomic-xchg writer of an MMU family, from the helper contracts. */
function atomicWriterOf(family: 'shadow' | 'tdp'): string | null {
  const w = SPTE_HELPERS.filter((h) => h.family === family && h.atomicity === 'atomic-xchg');
  return w.length === 1 ? w[0].name : null;
}

function familyOfFile(file: string): 'shadow' | 'tdp' {
  const base = file.split(/[\\/]/).pop() ?? '';
  return /^tdp_/.test(base) ? 'tdp' : 'shadow';
}

/** spte-nonatomic: the plain write in the diagnostic's range replaced by its family's atomic writer. */
export function spteFix(text: string, d: Diagnostic, file: string): Fix | null {
  if (!d.range) return null;
  const starts = lineStarts(text);
  const from = offsetAt(starts, text, d.range.start);
  const to = offsetAt(starts, text, d.range.end);
  if (to <= from || to - from > 2000) return null;
  const src = text.slice(from, to).replace(/;\s*$/, '');
  if (/\/\*|\/\//.test(src)) return null;
  let pointer: string;
  let value: string;
  let family: 'shadow' | 'tdp';
  const call = /^([A-Za-z_]\w*)\s*\(([\s\S]*)\)$/.exec(src.trim());
  if (call) {
    const contract = spteHelper(call[1]);
    if (!contract || contract.atomicity !== 'plain' || contract.selfChecked) return null;
    const args = splitTopLevel(call[2]);
    if (args.length !== 2 || args.some((a) => !a)) return null;
    if (contract.family === 'primitive') {
      const deref = /^\*\s*([\s\S]+)$/.exec(args[0]);
      if (!deref) return null;
      pointer = deref[1].trim();
      family = familyOfFile(file);
    } else {
      pointer = args[0];
      family = contract.family;
    }
    value = args[1];
  } else {
    const store = /^\*\s*([^=]+?)\s*=(?!=)\s*([\s\S]+)$/.exec(src.trim());
    if (!store) return null;
    pointer = store[1];
    value = store[2].trim();
    if (/[|&+\-^<>!*/%]$/.test(pointer)) return null; // a compound assignment (`*p |= x`) is not a plain replacement
    family = familyOfFile(file);
  }
  if (/^\(.*\)$/.test(pointer) && !/\)\s*\(/.test(pointer)) pointer = pointer.slice(1, -1).trim();
  const writer = atomicWriterOf(family);
  if (!writer) return null;
  return {
    title: `Use ${writer}() (atomic xchg)`,
    edits: [{ range: { start: d.range.start, end: positionAt(starts, from + src.length) }, newText: `${writer}(${pointer}, ${value})` }],
    isPreferred: true,
  };
}

/** The semantic quick fixes for the diagnostics of one document (the caller adds "suppress"). */
export function semanticCodeActions(uri: string, file: string, text: string, diagnostics: readonly Diagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of diagnostics) {
    if (!d || typeof d !== 'object') continue;
    let fix: Fix | null = null;
    try {
      if (d.code === 'lock-requires') fix = assertFix(text, d);
      else if (d.code === 'spte-nonatomic') fix = spteFix(text, d, file);
    } catch {
      fix = null; // a fix is a convenience: never let odd text break the request
    }
    if (!fix) continue;
    out.push({
      title: fix.title,
      kind: CodeActionKind.QuickFix,
      diagnostics: [d],
      ...(fix.isPreferred ? { isPreferred: true } : {}),
      edit: { changes: { [uri]: fix.edits } },
    });
  }
  return out;
}

/**
 * The C front end's public API: parse + extract (one shot or incremental), hover lookups.
 */
import type { Edit, Tree } from 'web-tree-sitter';
import type { AccessPath, FileFacts, FunctionFacts, Pos, Range } from './facts';
import { contentHash, extractFacts, extractWithState, LineIndex, reextractInside, type ExtractState, type TextEnvelope } from './extract';
import { getParser, initFrontend, isFrontendReady, type FrontendOptions } from './parser';
import { flattenTree, type FlatTree } from './flatTree';
export type { FlatTree };
import { isSpteHelperName, lockApi } from './lockApi';
import { parserText, splitDirectivesMoved, widenToWords } from './annotations';
import { isTracepointHeader } from './traceHeaders';

export { initFrontend, isFrontendReady };
export type { FrontendOptions };

/** Files above this size are not analysed. */
export const MAX_FILE_CHARS = 4 * 1024 * 1024;

/** The facts of a file with nothing the analysis reads (traceHeaders.ts), made without a parse. */
function emptyFacts(file: string, text: string): FileFacts {
  return { file, hash: contentHash(text), functions: [], structs: [], globals: [], bindings: [], suppressions: [], errorCount: 0 };
}

function skippedFacts(file: string, text: string, reason: string): FileFacts {
  return { ...emptyFacts(file, text), skipped: reason };
}

/** The facts of a text that is not parsed (too large, binary, a tracepoint header), or null. */
function unparsedFacts(file: string, text: string): FileFacts | null {
  const reason = skipReason(text);
  if (reason) return skippedFacts(file, text, reason);
  return isTracepointHeader(text) ? emptyFacts(file, text) : null;
}

/** Why a text is not analysed, or null. */
function skipReason(text: string): string | null {
  if (text.length > MAX_FILE_CHARS) return `file is larger than ${MAX_FILE_CHARS / (1024 * 1024)} MB`;
  if (text.slice(0, 8192).indexOf('\0') >= 0) return 'file looks binary (NUL bytes)';
  return null;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Parses and extracts in one go (synchronous once initFrontend() has completed). Never throws. */
export function parseAndExtract(file: string, text: string): FileFacts {
  const unparsed = unparsedFacts(file, text);
  if (unparsed) return unparsed;
  let tree: Tree | null = null;
  try {
    tree = getParser().parse(parserText(text));
    if (!tree) return skippedFacts(file, text, 'the parser returned no tree');
    return extractFacts(file, text, tree);
  } catch (err) {
    return skippedFacts(file, text, `front end failed: ${describe(err)}`);
  } finally {
    tree?.delete();
  }
}

/**
 * The first half of `parseAndExtract`, for a worker thread: the parse, flattened (flatTree.ts),
 * or the skipped file's facts. `extractFromFlat` on the thread that receives it does the rest.
 */
export function parseToFlat(file: string, text: string): { flat: FlatTree } | { facts: FileFacts } {
  const unparsed = unparsedFacts(file, text);
  if (unparsed) return { facts: unparsed };
  let tree: Tree | null = null;
  try {
    tree = getParser().parse(parserText(text));
    if (!tree) return { facts: skippedFacts(file, text, 'the parser returned no tree') };
    return { flat: flattenTree(tree) };
  } catch (err) {
    return { facts: skippedFacts(file, text, `front end failed: ${describe(err)}`) };
  } finally {
    tree?.delete();
  }
}

/** The second half: the facts of `text` from its flattened parse (the same as `parseAndExtract`). Never throws. */
export function extractFromFlat(file: string, text: string, flat: FlatTree): FileFacts {
  try {
    return extractFacts(file, text, flat);
  } catch (err) {
    return skippedFacts(file, text, `front end failed: ${describe(err)}`);
  }
}

/**
 * One open file: keeps the tree for incremental reparsing and what each file-scope item
 * contributed (extract.ts `ExtractState`), so that an edit re-extracts only the items it touched.
 * An edit strictly inside one function body is first tried without re-parsing the file: that
 * function alone is parsed (`reextractInside`); the file's tree is then only edited, not
 * re-parsed, and the next edit that needs it re-parses it incrementally with every edit since.
 */
export class SourceFile {
  private _text: string;
  private _facts: FileFacts;
  private _tree: Tree | null = null;
  private state: ExtractState | null = null;
  private lineIndex: LineIndex | null = null;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this._text = text;
    this._facts = this.run(text, undefined, undefined);
  }

  get text(): string {
    return this._text;
  }
  get facts(): FileFacts {
    return this._facts;
  }
  get lines(): LineIndex {
    if (!this.lineIndex) this.lineIndex = new LineIndex(this._text);
    return this.lineIndex;
  }

  /** `changes` (LSP ranges in the previous text, applied in order) enable the incremental parse. */
  update(text: string, changes?: { range: Range; text: string }[]): FileFacts {
    if (text === this._text && this.state) return this._facts;
    const prevText = this._text;
    let edited = false;
    let envelope: TextEnvelope | null = null;
    if (changes && changes.length > 0 && this._tree) {
      try {
        let cur = this._text;
        let idx = this.lines;
        let env: { lo: number; oldHi: number; newHi: number } | null = null;
        for (const ch of changes) {
          if (cur !== this._text) idx = new LineIndex(cur);
          const startIndex = clampOffset(idx, cur, ch.range.start);
          const oldEndIndex = Math.max(startIndex, clampOffset(idx, cur, ch.range.end));
          const next = cur.slice(0, startIndex) + ch.text + cur.slice(oldEndIndex);
          const newEndIndex = startIndex + ch.text.length;
          // The tree is of the parser's text (annotations.ts): the edit covers whole words.
          const wide = widenToWords(cur, startIndex, oldEndIndex);
          const wideNewEnd = newEndIndex + (wide.oldEnd - oldEndIndex);
          const edit: Edit = {
            startIndex: wide.start,
            oldEndIndex: wide.oldEnd,
            newEndIndex: wideNewEnd,
            startPosition: toPoint(idx.pos(wide.start)),
            oldEndPosition: toPoint(idx.pos(wide.oldEnd)),
            newEndPosition: toPoint(endPosition(idx.pos(wide.start), next.slice(wide.start, wideNewEnd))),
          };
          this._tree.edit(edit);
          env = composeEdit(env, startIndex, oldEndIndex, newEndIndex);
          cur = next;
        }
        edited = cur === text;
        if (edited && env) envelope = { ...env, lineDelta: 0 };
      } catch {
        edited = false;
      }
    }
    if (!edited) this.dropTree(); // the tree no longer matches any text we know
    if (!envelope && this.state) envelope = diffEnvelope(prevText, text);
    if (envelope) envelope.lineDelta = countLines(text, envelope.lo, envelope.newHi) - countLines(prevText, envelope.lo, envelope.oldHi);
    // A name-pasting macro binds ops-table fields anywhere in the file (`.x = vt_op(x)`): an
    // edit of one is an edit of every table that uses it.
    if (envelope && (touchesNamePasting(prevText, envelope.lo, envelope.oldHi) || touchesNamePasting(text, envelope.lo, envelope.newHi))) envelope = null;
    // An edit that changes which `#ifdef` lines the parser's text blanks changes it away from the
    // edit (the group's other directive lines): neither the edited tree nor the facts outside the
    // edit can be kept.
    if (envelope && splitDirectivesMoved(prevText, text, envelope)) {
      edited = false;
      envelope = null;
      this.dropTree();
    }
    const oldLines = envelope ? this.lines : null;
    this._text = text;
    this.lineIndex = oldLines && envelope ? LineIndex.edited(oldLines, text, envelope.lo, envelope.oldHi, envelope.newHi) : null;
    this._facts = this.run(text, edited ? this._tree ?? undefined : undefined, envelope && oldLines ? { envelope, oldLines } : undefined);
    return this._facts;
  }

  private run(text: string, oldTree: Tree | undefined, edit: { envelope: TextEnvelope; oldLines: LineIndex } | undefined): FileFacts {
    const unparsed = unparsedFacts(this.file, text);
    if (unparsed) {
      this.dropTree();
      this.state = null;
      return unparsed;
    }
    const previous = this.state;
    this.state = null;
    try {
      const lines = this.lineIndex ?? new LineIndex(text);
      const parser = getParser();
      const parsed = parserText(text);
      if (oldTree && previous && edit) {
        // The function alone; the file's tree (already edited) is re-parsed by a later edit.
        const local = reextractInside(this.file, text, lines, edit.oldLines, previous, edit.envelope, (s, e) =>
          parser.parse(parsed, null, { includedRanges: [{ startIndex: s, endIndex: e, startPosition: toPoint(lines.pos(s)), endPosition: toPoint(lines.pos(e)) }] }),
        );
        if (local) {
          this.state = local.state;
          this.lineIndex = lines;
          return local.facts;
        }
      }
      const tree = parser.parse(parsed, oldTree ?? null);
      if (!tree) {
        this.dropTree();
        return skippedFacts(this.file, text, 'the parser returned no tree');
      }
      this.dropTree();
      this._tree = tree;
      const out = extractWithState(this.file, text, tree, lines, previous && edit ? { state: previous, edit: edit.envelope, oldLines: edit.oldLines } : undefined);
      this.state = out.state;
      this.lineIndex = lines;
      return out.facts;
    } catch (err) {
      this.dropTree();
      return skippedFacts(this.file, text, `front end failed: ${describe(err)}`);
    }
  }

  private dropTree(): void {
    if (this._tree) {
      this._tree.delete();
      this._tree = null;
    }
  }

  dispose(): void {
    this.dropTree();
    this.state = null;
  }
}

/** Adds the edit [start, oldEnd) -> [start, newEnd) of the current text to an envelope of earlier ones. */
function composeEdit(
  env: { lo: number; oldHi: number; newHi: number } | null,
  start: number,
  oldEnd: number,
  newEnd: number,
): { lo: number; oldHi: number; newHi: number } {
  if (!env) return { lo: start, oldHi: oldEnd, newHi: newEnd };
  // In the current text the changed part is [lo, newHi); after this edit it spans both.
  const hiCur = Math.max(env.newHi, oldEnd);
  return {
    lo: Math.min(env.lo, start),
    oldHi: hiCur - (env.newHi - env.oldHi),
    newHi: hiCur + (newEnd - oldEnd),
  };
}

/** The envelope of the differences between two texts (common prefix and suffix). */
function diffEnvelope(a: string, b: string): TextEnvelope {
  const n = Math.min(a.length, b.length);
  let lo = 0;
  while (lo < n && a.charCodeAt(lo) === b.charCodeAt(lo)) lo++;
  let k = 0;
  while (k < n - lo && a.charCodeAt(a.length - 1 - k) === b.charCodeAt(b.length - 1 - k)) k++;
  return { lo, oldHi: a.length - k, newHi: b.length - k, lineDelta: 0 };
}

/** Do the whole lines of `text[s..e)` paste names (`##`, as a `#define vt_op(name) vt_##name` does)? */
function touchesNamePasting(text: string, s: number, e: number): boolean {
  const ls = text.lastIndexOf('\n', s - 1) + 1;
  let le = text.indexOf('\n', e);
  if (le < 0) le = text.length;
  return text.slice(ls, le).includes('##');
}

function countLines(text: string, s: number, e: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', s); i >= 0 && i < e; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function toPoint(p: Pos): { row: number; column: number } {
  return { row: p.line, column: p.column };
}

function clampOffset(idx: LineIndex, text: string, p: Pos): number {
  const o = idx.offset(p.line, p.column);
  return Math.max(0, Math.min(text.length, o));
}

function endPosition(start: Pos, inserted: string): Pos {
  const nl = inserted.lastIndexOf('\n');
  if (nl < 0) return { line: start.line, column: start.column + inserted.length };
  let lines = 0;
  for (let i = inserted.indexOf('\n'); i >= 0; i = inserted.indexOf('\n', i + 1)) lines++;
  return { line: start.line + lines, column: inserted.length - nl - 1 };
}

// ------------------------------------------------------------------------------------------------
// Lookups for hovers

function contains(r: Range, p: Pos): boolean {
  if (p.line < r.start.line || p.line > r.end.line) return false;
  if (p.line === r.start.line && p.column < r.start.column) return false;
  if (p.line === r.end.line && p.column > r.end.column) return false;
  return true;
}

function size(r: Range): number {
  return (r.end.line - r.start.line) * 1e6 + (r.end.column - r.start.column);
}

export function functionAt(sf: SourceFile, pos: Pos): FunctionFacts | null {
  let best: FunctionFacts | null = null;
  for (const f of sf.facts.functions) if (contains(f.range, pos) && (!best || size(f.range) < size(best.range))) best = f;
  return best;
}

export type FoundAt =
  | { kind: 'lock'; path: AccessPath; range: Range; api?: string }
  | { kind: 'spteHelper'; name: string; range: Range }
  | { kind: 'identifier'; name: string; range: Range }
  | null;

/** What is under the cursor: a lock operation, an SPTE helper call, or a plain identifier. */
export function findAt(sf: SourceFile, pos: Pos): FoundAt {
  const fn = functionAt(sf, pos);
  const ident = identifierAt(sf, pos);
  if (fn) {
    let best: FoundAt = null;
    let bestSize = Infinity;
    for (const b of fn.blocks) {
      for (const op of b.ops) {
        if (!contains(op.range, pos)) continue;
        const sz = size(op.range);
        if (sz >= bestSize) continue;
        if (op.k === 'acquire' || op.k === 'release' || op.k === 'dropRetake' || op.k === 'assert') {
          best = { kind: 'lock', path: op.lock, range: op.range, api: op.api };
          bestSize = sz;
        } else if (op.k === 'sync') {
          best = { kind: 'lock', path: op.domain, range: op.range, api: op.api };
          bestSize = sz;
        } else if (op.k === 'spte' && op.helper) {
          best = { kind: 'spteHelper', name: op.helper, range: op.range };
          bestSize = sz;
        } else if (op.k === 'call' && isSpteHelperName(op.callee)) {
          best = { kind: 'spteHelper', name: op.callee, range: op.range };
          bestSize = sz;
        }
      }
    }
    // On the API name itself or inside its arguments: prefer the lock; on another identifier
    // inside a big call (a nested helper), prefer the identifier.
    if (best && ident && ident.kind === 'identifier' && best.kind === 'lock' && !lockApi(ident.name) && bestSize > 1e6) return ident;
    if (best) return best;
  }
  return ident;
}

function identifierAt(sf: SourceFile, pos: Pos): FoundAt {
  const text = sf.text;
  const lines = sf.lines;
  if (pos.line < 0 || pos.line >= lines.starts.length) return null;
  const o = lines.offset(pos.line, pos.column);
  const isId = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  let s = o;
  let e = o;
  while (s > 0 && isId(text.charCodeAt(s - 1))) s--;
  while (e < text.length && isId(text.charCodeAt(e))) e++;
  if (s === e || (text.charCodeAt(s) >= 48 && text.charCodeAt(s) <= 57)) return null;
  return { kind: 'identifier', name: text.slice(s, e), range: lines.range(s, e) };
}

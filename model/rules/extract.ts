/**
 * Recovers the text of a locking document from a raw capture of it: a unified diff (`+` lines), a
 * git-blame page (`^hash (author date N)` prefixes), a web page with line numbers and non-breaking
 * spaces, an HTML/Atom page with entities. Captures that number their lines (hunk headers, blame,
 * line-numbered pages) are laid out so that each line sits at its line in the original file, with
 * the blank lines the capture dropped put back: then rule lines match the real document's lines.
 *
 * `lineMap[i]` is the 1-based line of the raw capture that text line i+1 came from, 0 for a line
 * that was filled in. It is left out when the text lines are the capture's lines one for one.
 */

import { looksLikeLockingDoc } from './parse';
import { looksBinary, normaliseSpaces, splitLines } from './text';

export interface ExtractedDoc {
  text: string;
  lineMap?: number[];
  note: string;
}

interface Numbered {
  /** 1-based line of the raw capture. */
  raw: number;
  text: string;
  /** The line number in the original document, when the capture states it. */
  at?: number;
}

const MAX_LINE_FOR_PREFIX_MATCH = 4000;

export function extractLockingDoc(raw: string): ExtractedDoc | null {
  if (typeof raw !== 'string' || raw.trim().length === 0 || looksBinary(raw)) return null;
  const notes: string[] = [];

  let text = raw.replace(/^\ufeff/, '');
  const spaced = normaliseSpaces(text);
  if (spaced !== text) notes.push('non-breaking spaces replaced');
  text = spaced;

  let lines = splitLines(text);
  if (/<(?:feed|entry|html|body|pre|div|table|span|content)\b/i.test(text) || /&(?:gt|lt|amp|quot|#39|#x27|apos);/.test(text)) {
    const markup = /<[A-Za-z/!?][^<>\n]*>/.test(text);
    lines = lines.map((l) => decodeEntities(markup ? stripTags(l) : l));
    notes.push(markup ? 'markup removed and HTML entities decoded' : 'HTML entities decoded');
    if (/<feed\b/i.test(text)) notes.push('an Atom feed: commit messages about the document, not a whole document');
  }

  const input: Numbered[] = lines.map((t, i) => ({ raw: i + 1, text: t }));
  const diff = fromDiff(input);
  const blame = diff ? null : fromBlame(input);
  const numbered = diff || blame ? null : fromLineNumbers(input);
  const picked = diff ?? blame ?? numbered;
  let result: Numbered[] = input;
  if (picked) {
    result = picked.lines;
    notes.push(picked.note);
  }

  const laidOut = layOut(result);
  if (laidOut.filled > 0) notes.push(`${laidOut.filled} blank line(s) the capture left out restored`);
  const out = laidOut.lines;
  const body = out.map((l) => l.text).join('\n');
  if (!/kvm|lock/i.test(body)) return null;
  if (!looksLikeLockingDoc(body)) notes.push('no whole locking document found (a partial document)');

  const identity = out.length === lines.length && out.every((l, i) => l.raw === i + 1);
  const note = notes.length > 0 ? notes.join('; ') : 'plain text; nothing to strip';
  return identity ? { text: body, note } : { text: body, lineMap: out.map((l) => l.raw), note };
}

// ---------------------------------------------------------------------------------------------

const ENTITIES: Record<string, string> = { gt: '>', lt: '<', amp: '&', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,8});/g, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff) return whole;
      const ch = String.fromCodePoint(code);
      return ch === '\u00a0' ? ' ' : ch;
    }
    return ENTITIES[body.toLowerCase()] ?? whole;
  });
}

function stripTags(s: string): string {
  return s.replace(/<br\s*\/?>/gi, ' ').replace(/<[A-Za-z/!?][^<>]*>/g, '');
}

// ---------------------------------------------------------------------------------------------
// Unified diffs

interface Picked {
  lines: Numbered[];
  note: string;
}

const HUNK = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/;
const FILE_OLD = /^--- (?:\S.*)?$/;
const FILE_NEW = /^\+\+\+ (?:\S.*)?$/;

/**
 * Takes the new side (`+` and context lines) of the file in the diff that looks most like a locking
 * document; the old side (`-` and context) when only that one does (a deletion, or a rename seen
 * as delete + add).
 */
function fromDiff(input: Numbered[]): Picked | null {
  const hunks = input.filter((l) => HUNK.test(l.text)).length;
  const headers = input.filter((l) => FILE_OLD.test(l.text) || FILE_NEW.test(l.text)).length;
  if (hunks === 0 && headers === 0) return null;
  const prefixed = input.filter((l) => /^[+\- ]/.test(l.text)).length;
  if (prefixed < input.length * 0.3) return null;

  // Split into files at "diff --git" or at a "---" header line directly followed by "+++".
  const files: Numbered[][] = [];
  let cur: Numbered[] = [];
  for (let i = 0; i < input.length; i++) {
    const t = input[i].text;
    const next = i + 1 < input.length ? input[i + 1].text : '';
    if (/^diff --git /.test(t) || (FILE_OLD.test(t) && FILE_NEW.test(next))) {
      if (cur.length > 0) files.push(cur);
      cur = [];
    }
    cur.push(input[i]);
  }
  if (cur.length > 0) files.push(cur);

  let best: { lines: Numbered[]; score: number; side: string } | null = null;
  for (const file of files) {
    for (const side of ['new', 'old'] as const) {
      const lines = diffSide(file, side);
      if (lines.length === 0) continue;
      const body = lines.map((l) => l.text).join('\n');
      // A document beats a non-document, then the new side beats the old one, then the longer text wins.
      const score = (looksLikeLockingDoc(body) ? 1_000_000_000 : 0) + (side === 'new' ? 500_000_000 : 0) + lines.length;
      if (!best || score > best.score) best = { lines, score, side };
    }
  }
  if (!best) return null;
  const what = best.side === 'new' ? 'new side (+ and context lines)' : 'old side (- and context lines)';
  return { lines: best.lines, note: `unified diff: took the ${what}, prefixes stripped` };
}

function diffSide(file: Numbered[], side: 'new' | 'old'): Numbered[] {
  const keep = side === 'new' ? '+' : '-';
  const out: Numbered[] = [];
  let started = false;
  let at: number | undefined;
  for (const l of file) {
    const t = l.text;
    const hunk = HUNK.exec(t);
    if (hunk) {
      started = true;
      // The old side's numbers are in the other half of the header.
      const oldStart = /^@@ -(\d+)/.exec(t);
      at = side === 'new' ? Number(hunk[1]) : Number(oldStart ? oldStart[1] : 1);
      if (at === 0) at = 1;
      continue;
    }
    if (FILE_OLD.test(t) || FILE_NEW.test(t)) {
      started = true;
      continue;
    }
    if (!started) continue;
    if (t.startsWith('\\')) continue; // "\ No newline at end of file"
    if (t.startsWith(keep) || t.startsWith(' ') || t.length === 0) {
      out.push({ raw: l.raw, text: t.slice(t.length === 0 ? 0 : 1), at });
      if (at !== undefined) at++;
    }
  }
  // A blank line at the very end is usually the capture's, not the document's.
  while (out.length > 0 && out[out.length - 1].text.length === 0) out.pop();
  return out;
}

// ---------------------------------------------------------------------------------------------
// git blame: "^8f3ce5b39 (author 2023-10-28 12:00:06 +0300   1) text"

const BLAME = /^\^?[0-9a-f]{6,40}\s+(?:[^\s(]+\s+)?\(([^()]{0,200}?)\s+(\d{1,7})\)(?: (.*))?$/;

function fromBlame(input: Numbered[]): Picked | null {
  const nonBlank = input.filter((l) => l.text.trim().length > 0);
  const hits: Numbered[] = [];
  for (const l of nonBlank) {
    if (l.text.length > MAX_LINE_FOR_PREFIX_MATCH) continue;
    const m = BLAME.exec(l.text);
    if (m) hits.push({ raw: l.raw, text: m[3] ?? '', at: Number(m[2]) });
  }
  if (hits.length < 3 || hits.length < nonBlank.length * 0.5) return null;
  return { lines: hits, note: 'git blame: commit/author/date prefixes stripped' };
}

// ---------------------------------------------------------------------------------------------
// Web pages that print a line number in front of every line.

const NUMBERED = /^\s{0,8}(\d{1,7})(?:[\t ](.*))?$/;

function fromLineNumbers(input: Numbered[]): Picked | null {
  const nonBlank = input.filter((l) => l.text.trim().length > 0);
  const hits: Numbered[] = [];
  let increasing = 0;
  let last = 0;
  for (const l of nonBlank) {
    if (l.text.length > MAX_LINE_FOR_PREFIX_MATCH) continue;
    const m = NUMBERED.exec(l.text);
    if (!m) continue;
    const n = Number(m[1]);
    if (n > last) increasing++;
    last = n;
    hits.push({ raw: l.raw, text: m[2] ?? '', at: n });
  }
  if (hits.length < 5 || hits.length < nonBlank.length * 0.6 || increasing < hits.length * 0.9) return null;
  return { lines: hits, note: 'leading line numbers stripped' };
}

// ---------------------------------------------------------------------------------------------

/**
 * Places lines that know their original line number at that line, filling gaps with blank lines;
 * lines without a number follow the previous one.
 */
function layOut(lines: Numbered[]): { lines: Numbered[]; filled: number } {
  const out: Numbered[] = [];
  let filled = 0;
  for (const l of lines) {
    if (l.at !== undefined && l.at > out.length + 1) {
      // Never invent more than a page of blank lines for one gap: a wild number must not blow up memory.
      const gap = Math.min(l.at - out.length - 1, 10000);
      for (let k = 0; k < gap; k++) out.push({ raw: 0, text: '' });
      filled += gap;
    }
    out.push({ raw: l.raw, text: l.text });
  }
  return { lines: out, filled };
}

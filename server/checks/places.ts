/**
 * Places named in messages: "taken at x86.c:120", "taken at line 12". Positions move in place
 * when an edit shifts the code (frontend/moves.ts) while a finding is kept for as long as its
 * function's results are valid, so a message does not hold the line number: it holds a marker
 * for the range, written out when findings are reported (`renderPlaces`, from runChecks).
 *
 * The registry holds ranges weakly; a finding, once rendered, holds the ranges its text names.
 */
import type { Range } from '../frontend/facts';
import { idOf as objectId } from './derived';
import type { Finding } from './finding';

const OPEN = '\u0001';
/** After the id: `file:line` or `line N`. */
const AS_WHERE = '\u0002';
const AS_LINE = '\u0003';
const MARKER = /\u0001(\d+)([\u0002\u0003])/g;

interface Place {
  file: string;
  range: WeakRef<Range>;
}

const places = new Map<number, Place>();
let sweepAt = 4096;

function idOf(file: string, range: Range): number {
  const id = objectId(range);
  if (!places.has(id)) {
    places.set(id, { file, range: new WeakRef(range) });
    if (places.size >= sweepAt) sweep();
  }
  return id;
}

function sweep(): void {
  for (const [id, p] of places) if (!p.range.deref()) places.delete(id);
  sweepAt = Math.max(4096, 2 * places.size);
}

/** `x86.c:120` (1-based) in a message. */
/** Is `r` inside `outer` (both ends included)? */
export function rangeWithin(r: Range, outer: Range): boolean {
  const le = (a: Range['start'], b: Range['start']) => a.line < b.line || (a.line === b.line && a.column <= b.column);
  return le(outer.start, r.start) && le(r.end, outer.end);
}

export function where(file: string, range: Range): string {
  return `${OPEN}${idOf(file, range)}${AS_WHERE}`;
}

/** `line 120` (1-based) in a message about a place in the same file. */
export function lineOf(file: string, range: Range): string {
  return `${OPEN}${idOf(file, range)}${AS_LINE}`;
}

function render(text: string, pin: Range[]): string {
  if (text.indexOf(OPEN) < 0) return text;
  return text.replace(MARKER, (_m, id: string, as: string) => {
    const place = places.get(Number(id));
    const range = place?.range.deref();
    if (!place || !range) return '?';
    pin.push(range);
    const line = range.start.line + 1;
    if (as === AS_LINE) return `line ${line}`;
    const i = Math.max(place.file.lastIndexOf('/'), place.file.lastIndexOf('\\'));
    return `${i >= 0 ? place.file.slice(i + 1) : place.file}:${line}`;
  });
}

/** The ranges a rendered finding's text names, kept alive with the finding. */
const pinned = new WeakMap<Finding, Range[]>();

/** The finding with the places in its texts written out as they are now (the same object when it names none). */
export function renderPlaces(f: Finding): Finding {
  const named = f.message.indexOf(OPEN) >= 0 || (f.ruleRef?.indexOf(OPEN) ?? -1) >= 0 || f.related.some((r) => r.message.indexOf(OPEN) >= 0);
  if (!named) return f;
  const pin: Range[] = [];
  const out: Finding = {
    ...f,
    message: render(f.message, pin),
    related: f.related.map((r) => (r.message.indexOf(OPEN) >= 0 ? { ...r, message: render(r.message, pin) } : r)),
  };
  if (f.ruleRef !== undefined) out.ruleRef = render(f.ruleRef, pin);
  if (!pinned.has(f)) pinned.set(f, pin);
  return out;
}

/**
 * Small text helpers shared by the locking-document parser and the capture extractor.
 * Line splitting follows LSP: `\r\n`, `\n` and a lone `\r` all end a line, so line numbers agree
 * with what an editor shows.
 */

const LINE_BREAK = /\r\n|\r|\n/;

/** Non-breaking and other exotic spaces that web pages put into captured documents. */
const ODD_SPACES = /[\u00a0\u2000-\u200a\u202f\u205f\u3000]/g;
const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]/g;

export function splitLines(text: string): string[] {
  return text.split(LINE_BREAK);
}

/** One line made safe to match: exotic spaces become spaces, zero-width characters and trailing blanks go. */
export function cleanLine(line: string): string {
  return line.replace(ZERO_WIDTH, '').replace(ODD_SPACES, ' ').replace(/\s+$/, '');
}

/** Replaces non-breaking spaces by plain ones and drops zero-width characters (keeps line structure). */
export function normaliseSpaces(text: string): string {
  return text.replace(ZERO_WIDTH, '').replace(ODD_SPACES, ' ');
}

/** Collapses runs of whitespace into single spaces and trims. */
export function fold(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function indentOf(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === ' ') n += 1;
    else if (ch === '\t') n += 8 - (n % 8);
    else break;
  }
  return n;
}

/**
 * True when the text looks like binary data rather than a document: NUL bytes, or many control
 * characters or U+FFFD replacement characters in its first 64 KiB.
 */
export function looksBinary(text: string): boolean {
  const sample = text.length > 65536 ? text.slice(0, 65536) : text;
  if (sample.length === 0) return false;
  let bad = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0) return true;
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) || c === 0xfffd || c === 0x7f) bad++;
  }
  return bad > 8 && bad / sample.length > 0.01;
}

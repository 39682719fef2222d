/**
 * The text tree-sitter is given: the kernel's argument-less annotations (sparse address spaces,
 * section and inlining attributes) replaced by spaces of the same length.
 *
 * tree-sitter-c does not know them: `(void __user *)arg`, `static int __init f(void)`,
 * `static noinstr void f(void)` end in ERROR nodes, and error recovery is the most expensive
 * part of a parse (x86 + virt: 1,230 ERROR nodes with them, 1,013 without, and the parse is
 * 8-10% faster). Offsets, lines and columns are unchanged, so the extraction still reads the
 * original text (where it looks for `__weak`, which is therefore kept here, like every
 * annotation that takes arguments: `__must_hold(x)` is a fact).
 */

import { isIdPart } from './cexpr';

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

/** `text` with the annotations blanked (the same string when it has none). */
export function parserText(text: string): string {
  return text.replace(PATTERN, (m) => ' '.repeat(m.length));
}

/**
 * An edit [start, oldEnd) of `oldText`, widened to whole identifiers at both ends: whether a word
 * is blanked depends on all of it, so an edit that touches a word may change the parser's text
 * anywhere in that word, and an incremental parse must be told every changed byte (tree-sitter
 * re-lexes the tokens next to an edit anyway, which covered every case tried, but that is not
 * its contract). The text outside the edit is the same before and after, so the same widths
 * apply to the new text.
 */
export function widenToWords(oldText: string, start: number, oldEnd: number): { start: number; oldEnd: number } {
  let s = start;
  while (s > 0 && isIdPart(oldText.charCodeAt(s - 1))) s--;
  let e = oldEnd;
  while (e < oldText.length && isIdPart(oldText.charCodeAt(e))) e++;
  return { start: s, oldEnd: e };
}

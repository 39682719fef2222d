/**
 * The parts of the locking document's "Exception" section that the SPTE checks cite: where fast
 * page fault, the gfn->pfn ABA, Dirty-bit tracking, the TLB flush after write-protection and
 * lockless access tracking are explained. Every version since 3.x words these headings the same
 * way (`2: Exception` / `2. Exception`, `1): The mapping...` / `1) The mapping...`).
 */

export type SpteSectionKey = 'exception' | 'fast-page-fault' | 'gfn-pfn' | 'dirty-bit' | 'tlb-flush' | 'access-tracking';

export interface SpteSection {
  key: SpteSectionKey;
  /** The heading as written, trimmed. */
  title: string;
  /** 1-based line of the heading. */
  line: number;
}

const PATTERNS: readonly [SpteSectionKey, RegExp][] = [
  ['exception', /^\s*\d+\s*[:.]\s*Exception\s*$/i],
  ['fast-page-fault', /^\s*Fast page fault\s*:\s*$/i],
  ['gfn-pfn', /^\s*\d\)\s*:?\s*The mapping from gfn to pfn\s*$/i],
  ['dirty-bit', /^\s*\d\)\s*:?\s*Dirty bit tracking\s*$/i],
  ['tlb-flush', /^\s*\d\)\s*:?\s*flush tlbs due to spte updated\s*$/i],
  ['access-tracking', /^\s*Lockless Access Tracking\s*:\s*$/i],
];

/** Finds the sections in the document's lines (first occurrence of each). */
export function findSpteSections(lines: readonly string[]): SpteSection[] {
  const out: SpteSection[] = [];
  const seen = new Set<SpteSectionKey>();
  for (let i = 0; i < lines.length && seen.size < PATTERNS.length; i++) {
    const l = lines[i];
    if (l.length > 80) continue;
    for (const [key, re] of PATTERNS) {
      if (seen.has(key) || !re.test(l)) continue;
      seen.add(key);
      out.push({ key, title: l.trim(), line: i + 1 });
      break;
    }
  }
  return out;
}

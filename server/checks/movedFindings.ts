/**
 * Findings kept across an edit, moved onto the current text: every position (the finding's and
 * its related locations') is moved with the analysis' PositionMap. Null when one does not map
 * (it lies in an edited or re-analysed function): the caller recomputes.
 */
import type { PositionMap } from '../analysis/rebase';
import type { Finding } from './finding';

export function moveFindingList(list: readonly Finding[], moved: PositionMap): Finding[] | null {
  const out: Finding[] = [];
  for (const f of list) {
    const range = moved.range(f.file, f.range);
    if (!range) return null;
    let related = f.related;
    for (let i = 0; i < f.related.length; i++) {
      const r = f.related[i];
      const rr = moved.range(r.file, r.range);
      if (!rr) return null;
      if (rr !== r.range) {
        if (related === f.related) related = [...f.related];
        related[i] = { ...r, range: rr };
      }
    }
    out.push(range === f.range && related === f.related ? f : { ...f, range, related });
  }
  return out;
}

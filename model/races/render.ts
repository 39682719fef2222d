/**
 * Text rendering of a race result: the counterexample as a `CPU 0 | CPU 1` table in the style of
 * locking.rst (one column per actor, one row per step, the state after each step in the last
 * column), ending with the broken invariant; or a one-line all-clear for a variant without one.
 */
import type { RaceResult } from './types';

/** Column widths: the table stays within about 130 characters for two or three actors. */
function actorWidth(actors: number): number {
  return actors >= 3 ? 28 : 36;
}
const STATE_WIDTH = 46;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (!line) line = word;
      else if (line.length + 1 + word.length <= width) line += ' ' + word;
      else {
        lines.push(line);
        line = word;
      }
      while (line.length > width) {
        lines.push(line.slice(0, width));
        line = line.slice(width);
      }
    }
    lines.push(line);
  }
  return lines;
}

function border(widths: number[]): string {
  return '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
}

function row(cells: string[], widths: number[]): string[] {
  const wrapped = cells.map((c, i) => wrap(c, widths[i]));
  const height = Math.max(...wrapped.map((w) => w.length));
  const out: string[] = [];
  for (let r = 0; r < height; r++) {
    out.push('| ' + wrapped.map((w, i) => (w[r] ?? '').padEnd(widths[i])).join(' | ') + ' |');
  }
  return out;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function renderRaceText(result: RaceResult): string {
  const out: string[] = [];
  out.push(`${result.title}`);
  out.push(`race ${result.id}, ${result.variant} variant`);
  out.push(`(${result.docRef.document}, ${result.docRef.section}, ${result.docRef.story})`);
  out.push('');
  out.push(...wrap(result.variantDescription, 100));
  out.push('');

  const stats =
    `${count(result.statesExplored, 'state')}, ${count(result.interleavings, 'interleaving')}` +
    (result.interleavingsExact ? '' : ' (cycles not unrolled)') +
    `, ${result.ms} ms`;

  if (!result.counterexample) {
    out.push(`no violation in ${result.interleavings} interleavings (${result.statesExplored} states)`);
    for (const t of result.invariants) {
      if (t.tolerated && t.paths > 0) {
        out.push(`tolerated in ${count(t.paths, 'interleaving')}: [${t.id}] ${t.message}`);
      }
    }
    if (result.truncated) out.push('warning: exploration stopped at the state limit');
    for (const n of result.notes) out.push(...wrap(n, 100));
    return out.join('\n') + '\n';
  }

  const actors = result.actors;
  const widths = [...actors.map(() => actorWidth(actors.length)), STATE_WIDTH];
  const full = widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1);
  out.push(border([full]));
  const start = `At the beginning: ${result.initialLabel}. spte = ${result.initialSpte}` +
    (result.initialExtras ? `; ${result.initialExtras}` : '');
  out.push(...row([start], [full]));
  out.push(border(widths));
  out.push(...row([...actors, 'after the step'], widths));
  out.push(border(widths));
  for (const step of result.counterexample) {
    const cells = actors.map((_, i) => (i === step.actorIndex ? step.step : ''));
    const after = `spte = ${step.spte}` + (step.extras ? `; ${step.extras}` : '');
    out.push(...row([...cells, after], widths));
    out.push(border(widths));
  }
  out.push(...row([`OOPS: ${result.invariant?.message ?? 'invariant broken'}`], [full]));
  out.push(border([full]));
  out.push('');
  out.push(
    `${count(result.violations, 'interleaving')} of ${result.interleavings} ${result.violations === 1 ? 'breaks' : 'break'} ` +
      `an invariant (${count(result.violatingStates, 'violating state')}); ${stats}.`,
  );
  for (const t of result.invariants) {
    if (t.id === result.invariant?.id) continue;
    if (t.paths === 0) out.push(`[${t.id}] holds in every interleaving.`);
    else out.push(`${t.tolerated ? 'tolerated' : 'also broken'} in ${count(t.paths, 'interleaving')}: [${t.id}] ${t.message}`);
  }
  for (const n of result.notes) out.push(...wrap(n, 100));
  return out.join('\n') + '\n';
}

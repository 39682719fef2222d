/**
 * An edit moves the code below it in place (frontend/moves.ts): the facts, flows and cached
 * results of the moved functions stay the same objects and read the new lines through their
 * ranges. Whatever the edits, the findings (positions, messages naming other places, related
 * locations) must be those of a fresh analysis of the same text. Edits here: lines inserted and
 * removed at random places of the bundled examples/ tree, in sequence, one re-check each; some
 * insert lock events, so functions are re-analysed and their callers' chains change too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import type { TextChange } from '../../server/engine/api';
import { createWorkspace } from '../../server/engine/workspace';

const EXAMPLES = path.resolve(__dirname, '../../examples');
const rules = builtinRules();

function sources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.[ch]$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** Every finding in full (the JSON of the engine's finding), sorted. */
function full(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values()) for (const f of list) out.push(JSON.stringify(f));
  return out.sort();
}

/** A small deterministic generator (the test must fail the same way twice). */
function random(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

const INSERTED = [
  '',
  '\t/* moved */',
  '\tcond_resched();',
  '\tspin_lock(&kvm->mmu_lock);',
  '\tspin_unlock(&kvm->mmu_lock);',
  '\tmutex_lock(&kvm->slots_lock);',
  '\tmutex_unlock(&kvm->slots_lock);',
  '\tmight_sleep();',
];

describe('edits move the code below them in place', () => {
  it('give the findings of a fresh analysis, positions and messages included', async () => {
    const texts = new Map(sources(EXAMPLES).map((f) => [path.relative(EXAMPLES, f), fs.readFileSync(f, 'utf8')]));
    const ws = await createWorkspace({ rules });
    for (const [p, t] of texts) ws.setFile(p, t);
    const before = full(ws.analyze().findings);
    expect(before.length).toBeGreaterThan(5);
    const next = random(20261122);
    const files = [...texts.keys()].filter((p) => p.endsWith('.c'));
    let changedSomething = false;
    for (let step = 0; step < 30; step++) {
      const file = files[next(files.length)];
      const lines = texts.get(file)!.split('\n');
      let change: TextChange;
      // Inside function bodies (a line starting with a tab) or between items, at random.
      const at = 1 + next(lines.length - 1);
      if (step % 4 === 3 && lines[at - 1].startsWith('\t')) {
        // Remove a line of a body (it may be a lock call: findings come and go).
        change = { range: { start: { line: at - 1, column: 0 }, end: { line: at, column: 0 } }, text: '' };
        lines.splice(at - 1, 1);
      } else {
        const line = lines[at - 1].startsWith('\t') ? INSERTED[next(INSERTED.length)] : '';
        change = { range: { start: { line: at, column: 0 }, end: { line: at, column: 0 } }, text: line + '\n' };
        lines.splice(at, 0, line);
      }
      const text = lines.join('\n');
      texts.set(file, text);
      ws.setFile(file, text, [change]);
      const edited = full(ws.analyze().findings);
      const fresh = await createWorkspace({ rules });
      for (const [p, t] of texts) fresh.setFile(p, t);
      expect(edited, `after step ${step} (${file}:${at + 1})`).toEqual(full(fresh.analyze().findings));
      if (edited.join() !== before.join()) changedSomething = true;
    }
    // The edits did move findings or change them (else this test would prove nothing).
    expect(changedSomething).toBe(true);
  });
});

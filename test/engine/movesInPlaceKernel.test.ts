/**
 * Positions that move in place, on the real x86 KVM tree (skipped without ../kernel): a bug
 * written into mmu.c gives findings whose chains and messages name places in several functions
 * and files; lines inserted and removed above and between them move those places. After every
 * edit the workspace must report what a fresh analysis of the same text reports, in full.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLockingDoc } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import type { TextChange } from '../../server/engine/api';
import { createWorkspace } from '../../server/engine/workspace';
import { collectCFiles } from '../../server/cli/files';

const KERNEL = path.resolve(__dirname, '../../../kernel');
const MMU = 'arch/x86/kvm/mmu/mmu.c';

function full(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values()) for (const f of list) out.push(JSON.stringify(f));
  return out.sort();
}

describe.skipIf(!fs.existsSync(path.join(KERNEL, MMU)))('edits of the real mmu.c move findings in place', () => {
  it('gives the findings of a fresh analysis after each edit', async () => {
    const doc = path.join(KERNEL, 'Documentation/virt/kvm/locking.rst');
    const rules = parseLockingDoc(fs.readFileSync(doc, 'utf8'), doc);
    const texts = new Map<string, string>();
    for (const f of collectCFiles([path.join(KERNEL, 'arch/x86/kvm'), path.join(KERNEL, 'virt/kvm')])) texts.set(path.relative(KERNEL, f), fs.readFileSync(f, 'utf8'));
    const ws = await createWorkspace({ rules });
    for (const [p, t] of texts) ws.setFile(p, t);
    ws.analyze();

    const edit = (at: number, remove: number, insert: string[]): void => {
      const lines = texts.get(MMU)!.split('\n');
      lines.splice(at, remove, ...insert);
      texts.set(MMU, lines.join('\n'));
      const change: TextChange = {
        range: { start: { line: at, column: 0 }, end: { line: at + remove, column: 0 } },
        text: insert.map((l) => l + '\n').join(''),
      };
      ws.setFile(MMU, texts.get(MMU)!, [change]);
    };
    const sameAsFresh = async (what: string): Promise<string[]> => {
      const edited = full(ws.analyze().findings);
      const fresh = await createWorkspace({ rules });
      for (const [p, t] of texts) fresh.setFile(p, t);
      expect(edited, what).toEqual(full(fresh.analyze().findings));
      return edited;
    };

    // A sleeping lock under mmu_lock, in the second half of the file.
    const lines = texts.get(MMU)!.split('\n');
    const lockAt = lines.findIndex((l, i) => i > lines.length / 2 && l === '\twrite_lock(&kvm->mmu_lock);');
    expect(lockAt).toBeGreaterThan(0);
    edit(lockAt + 1, 0, ['\tmutex_lock(&kvm->slots_lock);', '\tmutex_unlock(&kvm->slots_lock);']);
    const bug = await sameAsFresh('bug written in');
    expect(bug.length).toBeGreaterThan(1);
    // Lines above the bug (in an earlier function and between functions), then one removed.
    const earlier = lines.findIndex((l, i) => i > lines.length / 4 && l.startsWith('\tspin_lock('));
    edit(earlier, 0, ['\tcond_resched();', '']);
    await sameAsFresh('a sleep and a blank line in an earlier function');
    edit(10, 0, ['', '/* moved */', '']);
    const moved = await sameAsFresh('three lines at the top');
    expect(moved).not.toEqual(bug);
    edit(earlier + 3, 1, []);
    await sameAsFresh('the blank line removed again');
  }, 120_000);
});

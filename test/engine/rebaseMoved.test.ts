/**
 * Functions that an edit only moves keep their facts (the front end moves their positions in
 * place) and everything derived from them (no re-analysis). The findings, their positions, chains
 * and messages must be those of a fresh analysis, also when several edits land before one
 * re-check.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';
import type { TextChange } from '../../server/engine/api';

const rules = builtinRules();

// Our own C in KVM's idioms: a sleep under a spinlock reached through a helper, a lock taken and
// not released on one path, and a lock held across a moved call (contexts holding locks).
const FILE = `
void frob_top(struct kvm *kvm)
{
	kvm->x = 1;
}

void frob_sleepy(struct kvm *kvm)
{
	msleep(1);
}

void frob_atomic(struct kvm *kvm)
{
	spin_lock(&kvm->mmu_lock_spin);
	frob_sleepy(kvm);
	spin_unlock(&kvm->mmu_lock_spin);
}

int frob_leaky(struct kvm *kvm, int err)
{
	mutex_lock(&kvm->lock);
	if (err)
		return err;
	mutex_unlock(&kvm->lock);
	return 0;
}

void frob_rec_a(struct kvm *kvm, int n)
{
	if (n)
		frob_rec_b(kvm, n - 1);
}

void frob_rec_b(struct kvm *kvm, int n)
{
	spin_lock(&kvm->mmu_lock_spin);
	frob_rec_a(kvm, n);
	spin_unlock(&kvm->mmu_lock_spin);
}
`;

const PATH = 'arch/x86/kvm/frob.c';

function flat(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values())
    for (const f of list)
      out.push(`${f.file}:${f.range.start.line}:${f.range.start.column} ${f.code} ${f.message} [${f.related.map((r) => `${r.file}:${r.range.start.line}:${r.range.start.column}`).join(' ')}]`);
  return out.sort();
}

async function fresh(text: string): Promise<string[]> {
  const ws = await createWorkspace({ rules });
  ws.setFile(PATH, text);
  return flat(ws.analyze().findings);
}

/** Inserts `line` (with its newline) before line `at` (0-based). */
function insert(text: string, at: number, line: string): { text: string; change: TextChange } {
  const lines = text.split('\n');
  lines.splice(at, 0, line);
  return { text: lines.join('\n'), change: { range: { start: { line: at, column: 0 }, end: { line: at, column: 0 } }, text: line + '\n' } };
}

describe('functions moved by an edit', () => {
  it('are not re-analysed, and their findings move as in a fresh analysis', async () => {
    const ws = await createWorkspace({ rules });
    ws.setFile(PATH, FILE);
    const base = ws.analyze();
    expect(flat(base.findings).some((l) => /sleep-in-atomic/.test(l))).toBe(true);
    expect(flat(base.findings).some((l) => /lock-imbalance/.test(l))).toBe(true);
    // One line into the first function: everything below moves down by one.
    const e = insert(FILE, 4, '\tkvm->y = 2;');
    ws.setFile(PATH, e.text, [e.change]);
    const after = ws.analyze();
    // frob_top alone is analysed again; the functions below only moved.
    expect(after.stats.recomputed).toBe(1);
    expect(flat(after.findings)).toEqual(await fresh(e.text));
    expect(flat(after.findings)).not.toEqual(flat(base.findings));
  });

  it('gives the fresh findings when several edits land before one re-check', async () => {
    const ws = await createWorkspace({ rules });
    ws.setFile(PATH, FILE);
    ws.analyze();
    const e1 = insert(FILE, 4, '\tkvm->y = 2;');
    ws.setFile(PATH, e1.text, [e1.change]);
    const e2 = insert(e1.text, 2, '');
    ws.setFile(PATH, e2.text, [e2.change]);
    expect(flat(ws.analyze().findings)).toEqual(await fresh(e2.text));
    // And back, in one step without a change list.
    ws.setFile(PATH, FILE);
    expect(flat(ws.analyze().findings)).toEqual(await fresh(FILE));
  });
});

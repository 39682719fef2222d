/**
 * Incremental re-checks must give what a fresh analysis of the same files gives: per-function
 * check results are reused only while nothing they read changed, including what a callee in
 * another file does that its summary does not show (a memslot access, a sleep behind a
 * released lock), and the findings do not depend on the order in which files were added.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace, type WorkspaceImpl } from '../../server/engine/workspace';

const rules = builtinRules();

// Our own C in KVM's idioms.
const ENTRY = `
long kvm_vm_ioctl_frob(struct kvm *kvm, unsigned long arg)
{
	frob_helper(kvm, arg);
	return 0;
}

void kvm_frob_atomic(struct kvm *kvm)
{
	spin_lock(&kvm->mmu_lock_spin);
	frob_leaf(kvm);
	spin_unlock(&kvm->mmu_lock_spin);
}

void kvm_frob_needs_lock(struct kvm *kvm)
{
	frob_asserting(kvm);
}
`;

const HELPER = `
void frob_helper(struct kvm *kvm, unsigned long arg)
{
	frob_middle(kvm, arg);
}

void frob_middle(struct kvm *kvm, unsigned long arg)
{
	kvm->frobbed = arg;
}
`;

const LEAF = `
void frob_leaf(struct kvm *kvm)
{
	kvm->leafed = 1;
}

void frob_asserting(struct kvm *kvm)
{
	kvm->asserted = 1;
}
`;

/** Findings as comparable text (file, line, code, message, related positions). */
function flat(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values())
    for (const f of list) out.push(`${f.file}:${f.range.start.line}:${f.range.start.column} ${f.code} ${f.message} [${f.related.map((r) => `${r.file}:${r.range.start.line}`).join(' ')}]`);
  return out.sort();
}

async function fresh(files: [string, string][]): Promise<string[]> {
  const ws = await createWorkspace({ rules });
  for (const [p, t] of files) ws.setFile(p, t);
  return flat(ws.analyze().findings);
}

describe('incremental re-checks', () => {
  it('re-runs a caller’s per-function checks when a callee two files away changes in a way its summary does not show', async () => {
    const ws: WorkspaceImpl = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/entry.c', ENTRY);
    ws.setFile('arch/x86/kvm/helper.c', HELPER);
    ws.setFile('arch/x86/kvm/leaf.c', LEAF);
    const base = flat(ws.analyze().findings);
    expect(base.filter((l) => l.includes('srcu-required'))).toEqual([]);

    // frob_middle starts reading memslots: the ioctl (an entry point) now needs kvm->srcu.
    const withAccess = HELPER.replace('\tkvm->frobbed = arg;', '\tkvm->frobbed = arg;\n\tkvm_memslots(kvm);');
    ws.setFile('arch/x86/kvm/helper.c', withAccess);
    const after = flat(ws.analyze().findings);
    const srcu = after.filter((l) => l.includes('srcu-required'));
    expect(srcu).toHaveLength(1);
    expect(srcu[0]).toMatch(/^arch\/x86\/kvm\/entry\.c:3:/);
    expect(after).toEqual(await fresh([['arch/x86/kvm/entry.c', ENTRY], ['arch/x86/kvm/helper.c', withAccess], ['arch/x86/kvm/leaf.c', LEAF]]));

    // Moved down by three lines: the chain shows the new position of the access.
    const moved = '\n\n\n' + withAccess;
    ws.setFile('arch/x86/kvm/helper.c', moved, [{ range: { start: { line: 0, column: 0 }, end: { line: 0, column: 0 } }, text: '\n\n\n' }]);
    const afterMove = flat(ws.analyze().findings);
    expect(afterMove).toEqual(await fresh([['arch/x86/kvm/entry.c', ENTRY], ['arch/x86/kvm/helper.c', moved], ['arch/x86/kvm/leaf.c', LEAF]]));
    expect(afterMove.join('\n')).not.toEqual(after.join('\n'));

    // And back: the finding goes away.
    ws.setFile('arch/x86/kvm/helper.c', HELPER);
    expect(flat(ws.analyze().findings)).toEqual(base);
  });

  it('follows a callee that starts sleeping, or asserting a lock, into the caller’s findings and back', async () => {
    const ws: WorkspaceImpl = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/entry.c', ENTRY);
    ws.setFile('arch/x86/kvm/helper.c', HELPER);
    ws.setFile('arch/x86/kvm/leaf.c', LEAF);
    const base = flat(ws.analyze().findings);

    const sleeping = LEAF.replace('\tkvm->leafed = 1;', '\tkvm->leafed = 1;\n\tmsleep(1);').replace('\tkvm->asserted = 1;', '\tlockdep_assert_held(&kvm->lock);\n\tkvm->asserted = 1;');
    ws.setFile('arch/x86/kvm/leaf.c', sleeping);
    const after = flat(ws.analyze().findings);
    expect(after.some((l) => /^arch\/x86\/kvm\/entry\.c:10:.* sleep-in-atomic/.test(l))).toBe(true);
    expect(after).toEqual(await fresh([['arch/x86/kvm/entry.c', ENTRY], ['arch/x86/kvm/helper.c', HELPER], ['arch/x86/kvm/leaf.c', sleeping]]));

    ws.setFile('arch/x86/kvm/leaf.c', LEAF);
    expect(flat(ws.analyze().findings)).toEqual(base);
  });

  it('gives the same findings whatever the order the files were added in', async () => {
    const sleeping = LEAF.replace('\tkvm->leafed = 1;', '\tmutex_lock(&kvm->lock);\n\tkvm->leafed = 1;\n\tmutex_unlock(&kvm->lock);');
    const recursive = HELPER.replace('\tkvm->frobbed = arg;', '\tkvm->frobbed = arg;\n\tkvm_memslots(kvm);\n\tif (arg)\n\t\tfrob_helper(kvm, arg - 1);');
    const files: [string, string][] = [
      ['arch/x86/kvm/entry.c', ENTRY],
      ['arch/x86/kvm/helper.c', recursive],
      ['arch/x86/kvm/leaf.c', sleeping],
    ];
    const forward = await fresh(files);
    const backward = await fresh([...files].reverse());
    const middle = await fresh([files[1], files[0], files[2]]);
    expect(forward.length).toBeGreaterThan(0);
    expect(backward).toEqual(forward);
    expect(middle).toEqual(forward);
  });

  it('moves kept findings and chains with an edit above them, the same as a fresh analysis', async () => {
    const leaf = LEAF.replace('\tkvm->leafed = 1;', '\tkvm->leafed = 1;\n\tmsleep(1);');
    const chainFile = `
void frob_edited(struct kvm *kvm)
{
	kvm->x = 1;
}

void frob_moved_caller(struct kvm *kvm)
{
	spin_lock(&kvm->mmu_lock_spin);
	frob_moved_callee(kvm);
	spin_unlock(&kvm->mmu_lock_spin);
}

void frob_moved_callee(struct kvm *kvm)
{
	frob_leaf(kvm);
}
`;
    const ws: WorkspaceImpl = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/entry.c', ENTRY);
    ws.setFile('arch/x86/kvm/chain.c', chainFile);
    ws.setFile('arch/x86/kvm/leaf.c', leaf);
    const base = flat(ws.analyze().findings);
    expect(base.some((l) => /^arch\/x86\/kvm\/chain\.c:9:.* sleep-in-atomic/.test(l))).toBe(true);
    // A line inserted into the first function: the two below move by one line, unchanged.
    const edited = chainFile.replace('\tkvm->x = 1;', '\tkvm->x = 1;\n\tkvm->y = 2;');
    ws.setFile('arch/x86/kvm/chain.c', edited, [{ range: { start: { line: 4, column: 0 }, end: { line: 4, column: 0 } }, text: '\tkvm->y = 2;\n' }]);
    const after = flat(ws.analyze().findings);
    expect(after.some((l) => /^arch\/x86\/kvm\/chain\.c:10:.* sleep-in-atomic/.test(l))).toBe(true);
    expect(after).toEqual(await fresh([['arch/x86/kvm/entry.c', ENTRY], ['arch/x86/kvm/chain.c', edited], ['arch/x86/kvm/leaf.c', leaf]]));
    // The callee in another file moves too (lines above it): the chain follows it.
    const leafMoved = '\n\n' + leaf;
    ws.setFile('arch/x86/kvm/leaf.c', leafMoved, [{ range: { start: { line: 0, column: 0 }, end: { line: 0, column: 0 } }, text: '\n\n' }]);
    expect(flat(ws.analyze().findings)).toEqual(await fresh([['arch/x86/kvm/entry.c', ENTRY], ['arch/x86/kvm/chain.c', edited], ['arch/x86/kvm/leaf.c', leafMoved]]));
    // And back to the start.
    ws.setFile('arch/x86/kvm/chain.c', chainFile);
    ws.setFile('arch/x86/kvm/leaf.c', leaf);
    expect(flat(ws.analyze().findings)).toEqual(base);
  });
});

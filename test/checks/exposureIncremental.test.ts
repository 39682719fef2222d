/**
 * sleep-in-atomic and srcu-order findings show a witness chain down to the sleeping op. The
 * derived values behind them keep only the first step of a chain (./server/checks/exposure.ts),
 * so an edit of a callee deep in the chain leaves the values of the functions in between alone;
 * the finding must still show the chain as it is now, exactly as a fresh analysis does.
 */
import { describe, expect, it } from 'vitest';
import type { Finding, RuleCode } from '../../server/checks/finding';
import type { TextChange } from '../../server/engine/api';
import { miniWorkspace } from '../support/miniWorkspace';

const H = '#include "../fixtures/include/kvm_mini.h"\n';

// Our own C in KVM's idioms: a spinlock (and an SRCU read-side section) held three calls above
// the op that sleeps (takes kvm->slots_lock), which lives in another file.
const TOP = H + `
void frob_chain_mid(struct kvm *kvm);

static void frob_chain_upper(struct kvm *kvm)
{
	frob_chain_mid(kvm);
}

void frob_under_spinlock(struct kvm_ioapic *ioapic)
{
	spin_lock(&ioapic->lock);
	frob_chain_upper(ioapic->kvm);
	spin_unlock(&ioapic->lock);
}

void frob_under_srcu(struct kvm *kvm)
{
	int idx = srcu_read_lock(&kvm->srcu);

	frob_chain_upper(kvm);
	srcu_read_unlock(&kvm->srcu, idx);
}
`;

const MID = H + `
void frob_chain_quiet(struct kvm *kvm);
void frob_chain_leaf(struct kvm *kvm);

void frob_chain_mid(struct kvm *kvm)
{
	kvm->arch.nr_mmu_pages++;
	frob_chain_quiet(kvm);
	frob_chain_leaf(kvm);
}
`;

// Called before the leaf; starts sleeping (and taking slots_lock) in an edit. The middle
// function's witness then goes through it at the same depth, and the findings above, which
// pointed into mid.c and leaf.c only, must follow.
const QUIET = H + `
void frob_chain_quiet(struct kvm *kvm)
{
	kvm->arch.nr_mmu_pages++;
}
`;

const QUIET_SLEEPS = H + `
void frob_chain_quiet(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	kvm->arch.nr_mmu_pages++;
	mutex_unlock(&kvm->slots_lock);
}
`;

const LEAF = H + `
void frob_chain_leaf(struct kvm *kvm)
{
	kvm->arch.nr_mmu_pages--;
	msleep(1);
	mutex_lock(&kvm->slots_lock);
	mutex_unlock(&kvm->slots_lock);
}
`;

// The leaf sleeps elsewhere and otherwise (same chain length, same events: the callers' values
// do not change, only the chain below the first callee does).
const LEAF_EDITED = H + `
void frob_chain_leaf(struct kvm *kvm)
{
	ssleep(1);
	kvm->arch.nr_mmu_pages--;

	mutex_lock(&kvm->slots_lock);
	mutex_unlock(&kvm->slots_lock);
}
`;

const FILES = { 'arch/x86/kvm/top.c': TOP, 'arch/x86/kvm/mid.c': MID, 'arch/x86/kvm/quiet.c': QUIET, 'arch/x86/kvm/leaf.c': LEAF };
const CODES: RuleCode[] = ['sleep-in-atomic', 'srcu-order'];

const workspace = miniWorkspace;

/** The findings as text: position, message and every related location. */
function shown(findings: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of findings.values()) {
    for (const f of list) {
      if (!CODES.includes(f.code)) continue;
      const rel = f.related.map((r) => `  ${r.file}:${r.range.start.line + 1}:${r.range.start.column} ${r.message}`);
      out.push([`${f.code} ${f.file}:${f.range.start.line + 1}:${f.range.start.column} ${f.message}`, ...rel].join('\n'));
    }
  }
  return out.sort();
}

async function fresh(files: Record<string, string>): Promise<string[]> {
  return shown((await workspace(files)).analyze().findings);
}

/** A change that inserts `text` at the start of line `line` (0-based). */
function insertAt(line: number, text: string): TextChange[] {
  return [{ range: { start: { line, column: 0 }, end: { line, column: 0 } }, text }];
}

describe('witness chains after an edit deep below a finding', () => {
  it('shows the leaf as it is now when only the leaf changed (sleep-in-atomic and srcu-order)', async () => {
    const ws = await workspace(FILES);
    const before = shown(ws.analyze().findings);
    expect(before.some((f) => f.includes('sleeps: msleep()'))).toBe(true);
    const lockLine = (text: string) => `leaf.c:${text.split('\n').findIndex((l) => l.includes('mutex_lock')) + 1}:1 kvm->slots_lock taken here`;
    expect(before.some((f) => f.startsWith('srcu-order') && f.includes(lockLine(LEAF)))).toBe(true);

    ws.setFile('arch/x86/kvm/leaf.c', LEAF_EDITED);
    const after = shown(ws.analyze().findings);
    expect(after).toEqual(await fresh({ ...FILES, 'arch/x86/kvm/leaf.c': LEAF_EDITED }));
    expect(after.some((f) => f.includes('sleeps: ssleep()'))).toBe(true);
    expect(after.join('\n')).not.toContain('msleep');
    expect(after.some((f) => f.startsWith('srcu-order') && f.includes(lockLine(LEAF_EDITED)))).toBe(true);

    // And back.
    ws.setFile('arch/x86/kvm/leaf.c', LEAF);
    expect(shown(ws.analyze().findings)).toEqual(before);
  });

  it('follows a witness that moves to another callee at the same depth, in a file the findings did not point into', async () => {
    const ws = await workspace(FILES);
    const before = shown(ws.analyze().findings);
    expect(before.join('\n')).not.toContain('quiet.c');

    ws.setFile('arch/x86/kvm/quiet.c', QUIET_SLEEPS);
    const after = shown(ws.analyze().findings);
    expect(after).toEqual(await fresh({ ...FILES, 'arch/x86/kvm/quiet.c': QUIET_SLEEPS }));
    expect(after.filter((f) => f.includes('calls frob_chain_quiet') && f.includes('quiet.c:5:1'))).toHaveLength(2);
    expect(after.join('\n')).not.toContain('leaf.c');

    ws.setFile('arch/x86/kvm/quiet.c', QUIET);
    expect(shown(ws.analyze().findings)).toEqual(before);
  });

  it('moves the deep steps with lines inserted above the leaf, and with an edit inside it', async () => {
    const ws = await workspace(FILES);
    ws.analyze();
    const at = LEAF.split('\n').findIndex((l) => l.startsWith('void frob_chain_leaf'));
    const moved = LEAF.split('\n');
    moved.splice(at, 0, '/* moved */', '');
    const movedText = moved.join('\n');
    ws.setFile('arch/x86/kvm/leaf.c', movedText, insertAt(at, '/* moved */\n\n'));
    expect(shown(ws.analyze().findings)).toEqual(await fresh({ ...FILES, 'arch/x86/kvm/leaf.c': movedText }));

    // A line inside the leaf, above the sleeping ops: they move, the chains above do not change.
    const inside = movedText.split('\n');
    const body = inside.findIndex((l) => l.includes('nr_mmu_pages--'));
    inside.splice(body, 0, '\tkvm->arch.nr_mmu_pages++;');
    const insideText = inside.join('\n');
    ws.setFile('arch/x86/kvm/leaf.c', insideText, insertAt(body, '\tkvm->arch.nr_mmu_pages++;\n'));
    expect(shown(ws.analyze().findings)).toEqual(await fresh({ ...FILES, 'arch/x86/kvm/leaf.c': insideText }));

    // Lines inserted in the middle file move the step between the holder and the leaf.
    const midLines = MID.split('\n');
    const midAt = midLines.findIndex((l) => l.startsWith('void frob_chain_mid'));
    midLines.splice(midAt, 0, '', '');
    const midText = midLines.join('\n');
    ws.setFile('arch/x86/kvm/mid.c', midText, insertAt(midAt, '\n\n'));
    expect(shown(ws.analyze().findings)).toEqual(await fresh({ ...FILES, 'arch/x86/kvm/leaf.c': insideText, 'arch/x86/kvm/mid.c': midText }));
  });
});

describe('srcu-order after lines move above a synchronize_srcu seen under a lock', () => {
  // Our own C: this tree synchronizes kvm->srcu under kvm->irq_lock (an observed rule, whose
  // place the message names), and another function takes irq_lock inside a read-side section.
  const SYNC = H + `
void frob_irq_routing_commit(struct kvm *kvm)
{
	mutex_lock(&kvm->irq_lock);
	synchronize_srcu_expedited(&kvm->srcu);
	mutex_unlock(&kvm->irq_lock);
}
`;
  const READER = H + `
void frob_irq_routing_read(struct kvm *kvm)
{
	int idx = srcu_read_lock(&kvm->srcu);

	mutex_lock(&kvm->irq_lock);
	mutex_unlock(&kvm->irq_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}
`;
  const files = { 'virt/kvm/sync.c': SYNC, 'virt/kvm/reader.c': READER };

  it('names the moved place, like a fresh analysis', async () => {
    const ws = await workspace(files);
    const before = shown(ws.analyze().findings).filter((f) => f.startsWith('srcu-order'));
    expect(before).toHaveLength(1);
    expect(before[0]).toContain(`under kvm->irq_lock (sync.c:${SYNC.split('\n').findIndex((l) => l.includes('synchronize_srcu')) + 1})`);

    const at = SYNC.split('\n').findIndex((l) => l.startsWith('void frob_irq_routing_commit'));
    const lines = SYNC.split('\n');
    lines.splice(at, 0, '/* three */', '/* lines */', '');
    const movedText = lines.join('\n');
    ws.setFile('virt/kvm/sync.c', movedText, insertAt(at, '/* three */\n/* lines */\n\n'));
    const after = shown(ws.analyze().findings);
    expect(after).toEqual(await fresh({ ...files, 'virt/kvm/sync.c': movedText }));
    expect(after.join('\n')).toContain(`(sync.c:${movedText.split('\n').findIndex((l) => l.includes('synchronize_srcu')) + 1})`);
  });
});

describe('callers moved in the analysis in which their callee gets (or loses) a definition', () => {
  it('equal a fresh analysis', async () => {
    const { 'arch/x86/kvm/leaf.c': _leaf, ...withoutLeaf } = FILES;
    const ws = await workspace(withoutLeaf);
    const before = shown(ws.analyze().findings);
    expect(before).toEqual(await fresh(withoutLeaf));
    // Lines above the callers (they move) and the leaf's definition, in one analysis.
    const moved = (text: string) => text.replace(H, H + '\n\n');
    const topMoved = moved(TOP);
    const midMoved = moved(MID);
    ws.setFile('arch/x86/kvm/top.c', topMoved, insertAt(1, '\n\n'));
    ws.setFile('arch/x86/kvm/mid.c', midMoved, insertAt(1, '\n\n'));
    ws.setFile('arch/x86/kvm/leaf.c', LEAF);
    const withLeaf = { ...withoutLeaf, 'arch/x86/kvm/top.c': topMoved, 'arch/x86/kvm/mid.c': midMoved, 'arch/x86/kvm/leaf.c': LEAF };
    const after = shown(ws.analyze().findings);
    expect(after).toEqual(await fresh(withLeaf));
    expect(after.some((f) => f.includes('sleeps: msleep()'))).toBe(true);
    // And the definition goes again while the callers move back.
    ws.setFile('arch/x86/kvm/top.c', TOP);
    ws.setFile('arch/x86/kvm/mid.c', MID);
    ws.removeFile('arch/x86/kvm/leaf.c');
    expect(shown(ws.analyze().findings)).toEqual(before);
  });
});

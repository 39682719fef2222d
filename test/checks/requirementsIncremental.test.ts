/**
 * Lock requirements reach findings through chains of callees several files away; rwlock-mode
 * reads only the requirements of callees called with a lock held, lock-requires and
 * srcu-required only those of the functions they judge. After every edit — deep in a chain, at
 * the call site that decides whether a lock is held, or moving a chain's positions — the
 * findings of the edited workspace must equal those of a fresh workspace over the same text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding, RuleCode } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';

const HEADER = 'test/fixtures/include/kvm_mini.h';
const HEADER_TEXT = fs.readFileSync(path.resolve(__dirname, '../..', HEADER), 'utf8');
const CODES: RuleCode[] = ['lock-requires', 'rwlock-mode', 'srcu-required'];
const rules = builtinRules();

// Our own C in KVM's idioms: a write-mode requirement three calls below a read-locked walker.
const DEEP = (assert: string, pad = '') => `${pad}
static void leaf_zap(struct kvm *kvm)
{
	${assert}
	kvm->frobbed++;
}

void mid_zap(struct kvm *kvm)
{
	leaf_zap(kvm);
}

void top_zap(struct kvm *kvm)
{
	mid_zap(kvm);
	kvm_memslots(kvm);
}
`;

const WALK = (locked: boolean) => `
void shared_walk(struct kvm *kvm)
{
${locked ? '\tread_lock(&kvm->mmu_lock);\n' : ''}	top_zap(kvm);
${locked ? '\tread_unlock(&kvm->mmu_lock);\n' : ''}}

long frob_ioctl(struct kvm *kvm)
{
	top_zap(kvm);
	return 0;
}
`;

function relevant(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values()) for (const f of list) if (CODES.includes(f.code)) out.push(JSON.stringify(f));
  return out.sort();
}

async function fresh(files: Record<string, string>): Promise<string[]> {
  const codes: Partial<Record<RuleCode, { enabled: boolean }>> = {};
  for (const c of CODES) codes[c] = { enabled: true };
  const ws = await createWorkspace({ rules, codes });
  ws.setFile(HEADER, HEADER_TEXT);
  for (const [p, t] of Object.entries(files)) ws.setFile(p, t);
  return relevant(ws.analyze().findings);
}

describe('requirement checks after edits', () => {
  it('equal a fresh analysis when a chain changes deep down, positions move, or a call site starts holding the lock', async () => {
    const codes: Partial<Record<RuleCode, { enabled: boolean }>> = {};
    for (const c of CODES) codes[c] = { enabled: true };
    const ws = await createWorkspace({ rules, codes });
    ws.setFile(HEADER, HEADER_TEXT);
    const files: Record<string, string> = {
      'arch/x86/kvm/mmu/deep.c': DEEP('lockdep_assert_held_write(&kvm->mmu_lock);'),
      'arch/x86/kvm/mmu/walk.c': WALK(true),
    };
    const steps: [string, string][] = [
      ['arch/x86/kvm/mmu/walk.c', WALK(true)],
      // The requirement's mode changes three calls down: the walker's finding goes, then comes back.
      ['arch/x86/kvm/mmu/deep.c', DEEP('lockdep_assert_held_read(&kvm->mmu_lock);')],
      ['arch/x86/kvm/mmu/deep.c', DEEP('lockdep_assert_held_write(&kvm->mmu_lock);')],
      // Only positions move in the chain's file: related locations and messages must follow.
      ['arch/x86/kvm/mmu/deep.c', DEEP('lockdep_assert_held_write(&kvm->mmu_lock);', '\n\n\n')],
      // The call site no longer holds the lock, then holds it again.
      ['arch/x86/kvm/mmu/walk.c', WALK(false)],
      ['arch/x86/kvm/mmu/walk.c', WALK(true)],
      // The requirement disappears deep down and the chain ends one call earlier.
      ['arch/x86/kvm/mmu/deep.c', DEEP('')],
      ['arch/x86/kvm/mmu/deep.c', DEEP('lockdep_assert_held_write(&kvm->mmu_lock);', '\n')],
    ];
    let sawRwlock = false;
    for (const [p, text] of steps) {
      files[p] = text;
      for (const [q, t] of Object.entries(files)) ws.setFile(q, t);
      const got = relevant(ws.analyze().findings);
      expect(got).toEqual(await fresh(files));
      if (got.some((f) => f.includes('"rwlock-mode"'))) sawRwlock = true;
    }
    expect(sawRwlock).toBe(true);
  });

  it('srcu-required equals a fresh analysis when an ops table starts or stops storing a function, or an edit leaves the tables alone', async () => {
    const codes: Partial<Record<RuleCode, { enabled: boolean }>> = {};
    for (const c of CODES) codes[c] = { enabled: true };
    const ws = await createWorkspace({ rules, codes });
    ws.setFile(HEADER, HEADER_TEXT);
    // A static handler nobody calls is an entry point only while an ops table stores it.
    const HANDLER = (pad: string) => `${pad}
static int vm_init(struct kvm *kvm)
{
	return (int)gfn_to_hva(kvm, 1);
}
`;
    const TABLE = (stored: boolean, pad = '') => `${pad}
static int other_init(struct kvm *kvm)
{
	return 0;
}
static struct kvm_x86_ops ops = { .vm_init = ${stored ? 'vm_init' : 'other_init'} };
`;
    const files: Record<string, string> = { 'arch/x86/kvm/handler.c': HANDLER(''), 'arch/x86/kvm/table.c': TABLE(false) };
    const steps: [string, string, number][] = [
      ['arch/x86/kvm/table.c', TABLE(false), 0],
      ['arch/x86/kvm/table.c', TABLE(true), 1],
      // Positions move in both files; the bindings stay the same.
      ['arch/x86/kvm/table.c', TABLE(true, '\n\n'), 1],
      ['arch/x86/kvm/handler.c', HANDLER('\n'), 1],
      ['arch/x86/kvm/table.c', TABLE(false, '\n\n'), 0],
      ['arch/x86/kvm/handler.c', HANDLER(''), 0],
      ['arch/x86/kvm/table.c', TABLE(true), 1],
    ];
    for (const [p, text, n] of steps) {
      files[p] = text;
      for (const [q, t] of Object.entries(files)) ws.setFile(q, t);
      const got = relevant(ws.analyze().findings);
      expect(got).toEqual(await fresh(files));
      expect(got.filter((f) => f.includes('"srcu-required"')).length).toBe(n);
    }
  });

  it('lock-requires equals a fresh analysis when a function starts or stops taking the lock its callee needs', async () => {
    const codes: Partial<Record<RuleCode, { enabled: boolean }>> = {};
    for (const c of CODES) codes[c] = { enabled: true };
    const ws = await createWorkspace({ rules, codes });
    ws.setFile(HEADER, HEADER_TEXT);
    const BUS = `
int bus_register(struct kvm *kvm, int idx)
{
	lockdep_assert_held(&kvm->slots_lock);
	return idx;
}
`;
    // Taken on every path around the first call only, around both, or not at all (then the need
    // climbs to the ioctl, which holds it).
    const CREATE = (shape: 'one' | 'both' | 'none') => `
static int dev_create(struct kvm *kvm)
{
	int ret;

${shape !== 'none' ? '\tmutex_lock(&kvm->slots_lock);\n' : ''}	ret = bus_register(kvm, 1);
${shape === 'one' ? '\tmutex_unlock(&kvm->slots_lock);\n' : ''}	ret |= bus_register(kvm, 2);
${shape === 'both' ? '\tmutex_unlock(&kvm->slots_lock);\n' : ''}	return ret;
}

long dev_ioctl(struct kvm *kvm)
{
	long r;

${shape === 'none' ? '\tmutex_lock(&kvm->slots_lock);\n' : ''}	r = dev_create(kvm);
${shape === 'none' ? '\tmutex_unlock(&kvm->slots_lock);\n' : ''}	return r;
}
`;
    const files: Record<string, string> = { 'arch/x86/kvm/bus.c': BUS, 'arch/x86/kvm/dev.c': CREATE('both') };
    const steps: [string, string, number][] = [
      ['arch/x86/kvm/dev.c', CREATE('both'), 0],
      ['arch/x86/kvm/dev.c', CREATE('one'), 1],
      ['arch/x86/kvm/dev.c', CREATE('none'), 0],
      ['arch/x86/kvm/dev.c', CREATE('one'), 1],
      ['arch/x86/kvm/bus.c', BUS.replace('lockdep_assert_held(&kvm->slots_lock);', ''), 0],
      ['arch/x86/kvm/bus.c', BUS, 1],
    ];
    for (const [p, text, n] of steps) {
      files[p] = text;
      for (const [q, t] of Object.entries(files)) ws.setFile(q, t);
      const got = relevant(ws.analyze().findings);
      expect(got).toEqual(await fresh(files));
      expect(got.filter((f) => f.includes('"lock-requires"')).length).toBe(n);
    }
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinRules, parseLockingDoc } from '../../model/rules';
import type { RuleModel } from '../../model/rules/types';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace, type WorkspaceImpl } from '../../server/engine/workspace';

const SHARED = path.resolve(__dirname, '../../../shared');

/** A document-like rule model (lines as if read from locking.rst), with one reference entry. */
function docRules(): RuleModel {
  return {
    ...builtinRules(),
    source: 'Documentation/virt/kvm/locking.rst',
    origin: 'document',
    locks: [{ name: 'kvm->lock', type: 'mutex', arch: 'any', protects: ['the VM-wide state'], comment: 'Taken by VM ioctls.', line: 240 }],
    orders: [
      { outer: 'kvm->lock', inner: 'vcpu->mutex', arch: 'any', line: 16, text: 'kvm->lock is taken outside vcpu->mutex' },
      { outer: 'kvm->lock', inner: 'kvm->slots_lock', arch: 'any', line: 18, text: 'kvm->lock is taken outside kvm->slots_lock' },
    ],
  };
}

const all = (m: Map<string, Finding[]>): Finding[] => [...m.values()].flat();
const codes = (fs: Finding[], code: string): Finding[] => fs.filter((f) => f.code === code);

// Our own C in KVM's idioms (no kernel code); no headers: struct layouts come from built-in knowledge.
const IOCTL_BAD = `
static long kvm_vcpu_ioctl_frob(struct kvm_vcpu *vcpu, unsigned int ioctl)
{
	long r = 0;

	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	mutex_lock(&vcpu->kvm->lock);
	vcpu->kvm->frobbed = 1;
	mutex_unlock(&vcpu->kvm->lock);
	mutex_unlock(&vcpu->mutex);
	return r;
}
`;

const HELPERS = `
void kvm_frob_vm(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
	kvm->frobbed++;
	mutex_unlock(&kvm->lock);
}

void kvm_frob_vm_outer(struct kvm *kvm)
{
	kvm_frob_vm(kvm);
}
`;

const IOCTL_VIA_CALL = `
static long kvm_vcpu_ioctl_frob2(struct kvm_vcpu *vcpu)
{
	mutex_lock(&vcpu->mutex);
	kvm_frob_vm_outer(vcpu->kvm);
	mutex_unlock(&vcpu->mutex);
	return 0;
}
`;

const NEGATIVES = `
static int create_vcpu_ok(struct kvm *kvm, struct kvm_vcpu *vcpu)
{
	mutex_lock(&kvm->lock);
	mutex_lock(&vcpu->mutex);
	mutex_unlock(&vcpu->mutex);
	mutex_unlock(&kvm->lock);
	return 0;
}

static int lock_two_vms(struct kvm *dst_kvm, struct kvm *src_kvm)
{
	mutex_lock(&dst_kvm->lock);
	mutex_lock_nested(&src_kvm->lock, SINGLE_DEPTH_NESTING);
	mutex_unlock(&src_kvm->lock);
	mutex_unlock(&dst_kvm->lock);
	return 0;
}

static long released_before_call(struct kvm_vcpu *vcpu)
{
	mutex_lock(&vcpu->mutex);
	vcpu->arch.frob = 0;
	mutex_unlock(&vcpu->mutex);
	kvm_frob_vm(vcpu->kvm);
	return 0;
}

static int goto_unwind(struct kvm_vcpu *vcpu, int x)
{
	int r = 0;

	mutex_lock(&vcpu->mutex);
	if (x) {
		r = -EINVAL;
		goto out;
	}
	vcpu->arch.frob = x;
out:
	mutex_unlock(&vcpu->mutex);
	kvm_frob_vm(vcpu->kvm);
	return r;
}
`;

describe('workspace: C text to findings', () => {
  let ws: WorkspaceImpl;
  beforeAll(async () => {
    ws = await createWorkspace({ rules: docRules() });
  });

  it('reports kvm->lock taken inside vcpu->mutex in a vCPU-ioctl-like function', () => {
    ws.setFile('virt/kvm/frob.c', IOCTL_BAD);
    const out = codes(all(ws.analyze().findings), 'lock-order');
    expect(out).toHaveLength(1);
    expect(out[0].range.start.line).toBe(7);
    expect(out[0].message).toBe('kvm->lock is taken inside vcpu->mutex here, but locking.rst:16 says kvm->lock is taken outside vcpu->mutex');
    expect(out[0].related[0]).toMatchObject({ message: 'vcpu->mutex held here', range: { start: { line: 5 } } });
    ws.removeFile('virt/kvm/frob.c');
  });

  it('reports through a call chain across two files, with the chain as related information', () => {
    ws.setFile('virt/kvm/helpers.c', HELPERS);
    ws.setFile('virt/kvm/ioctl.c', IOCTL_VIA_CALL);
    const out = codes(all(ws.analyze().findings), 'lock-order');
    expect(out).toHaveLength(1);
    expect(out[0].file).toBe('virt/kvm/ioctl.c');
    expect(out[0].range.start.line).toBe(4);
    expect(out[0].related.map((r) => `${r.file}:${r.range.start.line}: ${r.message}`)).toEqual([
      'virt/kvm/ioctl.c:3: vcpu->mutex held here',
      'virt/kvm/ioctl.c:4: calls kvm_frob_vm_outer',
      'virt/kvm/helpers.c:10: calls kvm_frob_vm',
      'virt/kvm/helpers.c:3: kvm->lock taken here',
    ]);
  });

  it('updates the caller when the callee in another file changes (incremental)', () => {
    // The callee stops taking kvm->lock: the caller's finding goes away without touching ioctl.c.
    ws.setFile('virt/kvm/helpers.c', HELPERS.replace(/mutex_(un)?lock\(&kvm->lock\);/g, ''));
    expect(codes(all(ws.analyze().findings), 'lock-order')).toEqual([]);
    ws.setFile('virt/kvm/helpers.c', HELPERS);
    expect(codes(all(ws.analyze().findings), 'lock-order')).toHaveLength(1);
    // Moving the callee down by two lines moves the chain's positions too.
    ws.setFile('virt/kvm/helpers.c', '\n\n' + HELPERS, [{ range: { start: { line: 0, column: 0 }, end: { line: 0, column: 0 } }, text: '\n\n' }]);
    const moved = codes(all(ws.analyze().findings), 'lock-order')[0];
    expect(moved.related.at(-1)).toMatchObject({ file: 'virt/kvm/helpers.c', range: { start: { line: 5 } } });
  });

  it('stays quiet on the correct order, two instances of one class, a lock released before the call, and goto unwinding', () => {
    ws.setFile('virt/kvm/neg.c', NEGATIVES);
    const out = all(ws.analyze().findings).filter((f) => f.file === 'virt/kvm/neg.c');
    expect(out).toEqual([]);
  });

  it('honours a suppression comment on the line above', () => {
    const suppressed = IOCTL_BAD.replace('\tmutex_lock(&vcpu->kvm->lock);', '\t/* kvm-locklint: ignore lock-order */\n\tmutex_lock(&vcpu->kvm->lock);');
    ws.setFile('virt/kvm/frob.c', suppressed);
    expect(all(ws.analyze().findings).filter((f) => f.file === 'virt/kvm/frob.c')).toEqual([]);
    ws.removeFile('virt/kvm/frob.c');
  });

  it('re-analyses nothing when a file is set again with the same text', () => {
    ws.analyze();
    ws.setFile('virt/kvm/neg.c', NEGATIVES);
    const res = ws.analyze();
    expect(res.stats.recomputed ?? 0).toBe(0);
    expect(res.stats.files).toBe(3);
    expect(res.stats.functions).toBeGreaterThan(5);
    expect(res.stats.lockEvents).toBeGreaterThan(10);
  });

  it('answers hovers on lock expressions: class, kind, the document quoted with its lines, locks held there', () => {
    ws.setFile('virt/kvm/frob.c', IOCTL_BAD);
    ws.analyze();
    const h = ws.hover('virt/kvm/frob.c', { line: 7, column: 20 });
    expect(h).not.toBeNull();
    expect(h!.contents).toContain('**kvm->lock** — mutex, class `kvm.lock`');
    expect(h!.contents).toContain('> Protects: the VM-wide state (locking.rst:240)');
    expect(h!.contents).toContain('> Taken by VM ioctls. (locking.rst:240)');
    expect(h!.contents).toContain('Taken inside it:\n\n> kvm->lock is taken outside vcpu->mutex (locking.rst:16)\n\n> kvm->lock is taken outside kvm->slots_lock (locking.rst:18)');
    expect(h!.contents).toContain('Held here in kvm_vcpu_ioctl_frob: vcpu->mutex (line 6)');
    expect(ws.hover('virt/kvm/frob.c', { line: 2, column: 3 })).toBeNull();
    ws.removeFile('virt/kvm/frob.c');
  });

  it('draws the lock graph: documented, observed and violating edges', () => {
    ws.setFile('virt/kvm/frob.c', IOCTL_BAD);
    ws.analyze();
    const g = ws.lockGraph();
    expect(g.edges).toContainEqual(expect.objectContaining({ from: 'kvm.lock', to: 'kvm_vcpu.mutex', kind: 'documented', ruleRef: 'locking.rst:16' }));
    const v = g.edges.find((e) => e.kind === 'violation');
    expect(v).toMatchObject({ from: 'kvm_vcpu.mutex', to: 'kvm.lock' });
    expect(v!.witness!.map((w) => w.message)).toContain('kvm->lock taken here');
    expect(g.nodes.find((n) => n.id === 'kvm.lock')).toMatchObject({ label: 'kvm->lock', documented: true });
    ws.removeFile('virt/kvm/frob.c');
  });

  it('survives broken, half-typed and binary input', () => {
    ws.setFile('virt/kvm/broken.c', 'static int f(struct kvm *kvm) { mutex_lock(&kvm->lock); if (x { goto ; ');
    ws.setFile('virt/kvm/bin.c', '\0\x01\x02ELF\0\0');
    ws.setFile('virt/kvm/empty.c', '');
    expect(() => ws.analyze()).not.toThrow();
    expect(ws.hover('virt/kvm/broken.c', { line: 0, column: 40 })).not.toBeUndefined();
    for (const p of ['virt/kvm/broken.c', 'virt/kvm/bin.c', 'virt/kvm/empty.c']) ws.removeFile(p);
  });
});

describe.skipIf(!fs.existsSync(SHARED))('workspace with a real locking document', () => {
  it('cites the 6.12 document line of the order it breaks', async () => {
    const doc = path.join(SHARED, 'kvm-docs/locking-6.12.rst');
    const rules = parseLockingDoc(fs.readFileSync(doc, 'utf8'), doc);
    const ws = await createWorkspace({ rules });
    ws.setFile('virt/kvm/frob.c', IOCTL_BAD);
    const out = codes(all(ws.analyze().findings), 'lock-order');
    expect(out).toHaveLength(1);
    const line = rules.orders.find((o) => o.outer === 'kvm->lock' && o.inner === 'vcpu->mutex')!.line;
    expect(out[0].message).toContain(`locking-6.12.rst:${line} says kvm->lock is taken outside vcpu->mutex`);
  });
});

describe('hover with built-in rules', () => {
  it('names the neighbours and says the rules are built in, quoting nothing', async () => {
    const ws = await createWorkspace({ rules: builtinRules() });
    ws.setFile('virt/kvm/frob.c', IOCTL_BAD);
    ws.analyze();
    const h = ws.hover('virt/kvm/frob.c', { line: 7, column: 20 });
    expect(h?.contents).toContain('**kvm->lock** — mutex, class `kvm.lock`');
    expect(h?.contents).toMatch(/Taken inside it: [^\n]*vcpu->mutex[^\n]*\(built-in rule\)/);
    expect(h?.contents).not.toContain('> ');
  });
});

describe('hover on SPTE helpers', () => {
  it('shows the helper contract from the SPTE model', async () => {
    const ws = await createWorkspace({ rules: builtinRules() });
    ws.setFile('arch/x86/kvm/mmu/x.c', 'static bool zap(u64 *sptep)\n{\n\treturn mmu_spte_update(sptep, 0);\n}\n');
    ws.analyze();
    const h = ws.hover('arch/x86/kvm/mmu/x.c', { line: 2, column: 10 });
    expect(h?.contents).toContain('**mmu_spte_update** — SPTE helper');
    expect(h?.contents).toMatch(/flush/i);
  });
});

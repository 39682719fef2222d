import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { RuleModel } from '../../model/rules/types';
import { RULES } from '../../server/checks/registry';
import { createWorkspace } from '../../server/engine/workspace';
import type { Finding } from '../../server/checks/finding';
import type { FileFacts } from '../../server/frontend/facts';
import { acq, call, fileFacts, fnCfg, fnLinear, param, path, rel } from './factsBuilder';

const T = { kvm: 'kvm', vcpu: 'kvm_vcpu' };

function docRules(): RuleModel {
  return {
    ...builtinRules(),
    source: '/tree/Documentation/virt/kvm/locking.rst',
    origin: 'document',
    orders: [
      { outer: 'kvm->lock', inner: 'vcpu->mutex', arch: 'any', line: 16, text: 'kvm->lock is taken outside vcpu->mutex' },
      { outer: 'kvm->lock', inner: 'kvm->slots_lock', arch: 'any', line: 18, text: '' },
      { outer: 'kvm->slots_lock', inner: 'kvm->irq_lock', arch: 'any', line: 20, text: '' },
      { outer: 'vcpu->mutex', inner: 'kvm->arch.hyperv.hv_lock', arch: 'x86', line: 50, text: '' },
    ],
  };
}

async function run(files: FileFacts[], rules: RuleModel = docRules(), codes = {}): Promise<Finding[]> {
  const ws = await createWorkspace({ rules, codes, frontend: null });
  for (const f of files) ws.setFacts(f.file, f);
  const res = ws.analyze();
  return [...res.findings.values()].flat();
}

const vcpuMutex = path('vcpu->mutex', T);
const kvmLock = path('vcpu->kvm->lock', T);

describe('lock-order', () => {
  it('reports kvm->lock taken inside vcpu->mutex in one function, citing the document line', async () => {
    const fn = fnLinear('kvm_vcpu_ioctl_foo', 'virt/kvm/kvm_main.c', [param('vcpu', 'kvm_vcpu')], [
      acq(vcpuMutex),
      acq(kvmLock),
      rel(kvmLock),
      rel(vcpuMutex),
    ]);
    const out = (await run([fileFacts('virt/kvm/kvm_main.c', [fn])])).filter((f) => f.code === 'lock-order');
    expect(out).toHaveLength(1);
    expect(out[0].message).toBe('kvm->lock is taken inside vcpu->mutex here, but locking.rst:16 says kvm->lock is taken outside vcpu->mutex');
    expect(out[0].range).toEqual(fn.blocks[0].ops[1].range);
    expect(out[0].related.map((r) => r.message)).toEqual(['vcpu->mutex held here', 'kvm->lock taken here']);
    expect(out[0].ruleRef).toBe('locking.rst:16');
  });

  it('reports through a call chain across two files, with the chain as related information', async () => {
    const leaf = fnLinear('kvm_take_lock', 'virt/kvm/b.c', [param('kvm', 'kvm')], [acq(path('kvm->lock', T)), rel(path('kvm->lock', T))]);
    const mid = fnLinear('kvm_mid', 'virt/kvm/b.c', [param('kvm', 'kvm')], [call('kvm_take_lock', [path('kvm', T)])]);
    const callSite = call('kvm_mid', [path('vcpu->kvm', T)]);
    const top = fnLinear('kvm_vcpu_ioctl_bar', 'virt/kvm/a.c', [param('vcpu', 'kvm_vcpu')], [acq(vcpuMutex), callSite, rel(vcpuMutex)]);
    const out = (await run([fileFacts('virt/kvm/b.c', [leaf, mid]), fileFacts('virt/kvm/a.c', [top])])).filter((f) => f.code === 'lock-order');
    expect(out).toHaveLength(1);
    expect(out[0].file).toBe('virt/kvm/a.c');
    expect(out[0].range).toEqual(callSite.range);
    expect(out[0].message).toContain('kvm->lock is taken inside vcpu->mutex here (through kvm_mid)');
    expect(out[0].related.map((r) => `${r.file}: ${r.message}`)).toEqual([
      'virt/kvm/a.c: vcpu->mutex held here',
      'virt/kvm/a.c: calls kvm_mid',
      'virt/kvm/b.c: calls kvm_take_lock',
      'virt/kvm/b.c: kvm->lock taken here',
    ]);
  });

  it('uses the transitive closure of documented orders', async () => {
    const fn = fnLinear('f', 'virt/kvm/c.c', [param('kvm', 'kvm')], [
      acq(path('kvm->irq_lock', T)),
      acq(path('kvm->lock', T)),
      rel(path('kvm->lock', T)),
      rel(path('kvm->irq_lock', T)),
    ]);
    const out = (await run([fileFacts('virt/kvm/c.c', [fn])])).filter((f) => f.code === 'lock-order');
    expect(out).toHaveLength(1);
    expect(out[0].message).toContain('locking.rst:18 and locking.rst:20 say kvm->lock is taken outside kvm->irq_lock');
  });

  it('applies x86 rules to arch/x86 files and not to other arches', async () => {
    const mk = (file: string) =>
      fnLinear('g', file, [param('vcpu', 'kvm_vcpu'), param('kvm', 'kvm')], [
        acq(path('kvm->arch.hyperv.hv_lock', T)),
        acq(vcpuMutex),
        rel(vcpuMutex),
        rel(path('kvm->arch.hyperv.hv_lock', T)),
      ]);
    expect((await run([fileFacts('arch/x86/kvm/hyperv.c', [mk('arch/x86/kvm/hyperv.c')])])).filter((f) => f.code === 'lock-order')).toHaveLength(1);
    expect((await run([fileFacts('arch/arm64/kvm/h.c', [mk('arch/arm64/kvm/h.c')])])).filter((f) => f.code === 'lock-order')).toHaveLength(0);
  });

  it('stays quiet for the documented order, same-class nesting, a lock released before the call, and goto unwinding', async () => {
    const right = fnLinear('ok_order', 'virt/kvm/d.c', [param('vcpu', 'kvm_vcpu')], [acq(kvmLock), acq(vcpuMutex), rel(vcpuMutex), rel(kvmLock)]);
    const twoVms = fnLinear('two_vms', 'virt/kvm/d.c', [param('dst_kvm', 'kvm'), param('src_kvm', 'kvm')], [
      acq(path('dst_kvm->lock', { dst_kvm: 'kvm' })),
      acq(path('src_kvm->lock', { src_kvm: 'kvm' }), 'mutex', { nested: true }),
      rel(path('src_kvm->lock', { src_kvm: 'kvm' })),
      rel(path('dst_kvm->lock', { dst_kvm: 'kvm' })),
    ]);
    const taker = fnLinear('takes_kvm_lock', 'virt/kvm/d.c', [param('kvm', 'kvm')], [acq(path('kvm->lock', T)), rel(path('kvm->lock', T))]);
    const releasedFirst = fnLinear('released_first', 'virt/kvm/d.c', [param('vcpu', 'kvm_vcpu')], [acq(vcpuMutex), rel(vcpuMutex), call('takes_kvm_lock', [path('vcpu->kvm', T)])]);
    // mutex_lock(vcpu->mutex); if (err) goto out; ...; out: mutex_unlock(); then kvm->lock after the unwinding.
    const gotoUnwind = fnCfg('goto_unwind', 'virt/kvm/d.c', [param('vcpu', 'kvm_vcpu')], [
      { ops: [acq(vcpuMutex)], succ: [{ to: 1 }, { to: 2 }] },
      { ops: [call('something', [])], succ: [{ to: 2 }] },
      { ops: [rel(vcpuMutex), acq(kvmLock), rel(kvmLock)], succ: [{ to: 3 }], ret: true },
    ]);
    const out = await run([fileFacts('virt/kvm/d.c', [right, twoVms, taker, releasedFirst, gotoUnwind])]);
    expect(out).toEqual([]);
  });

  it('reports one finding per call site and pair even when several paths reach it', async () => {
    const fn = fnCfg('paths', 'virt/kvm/e.c', [param('vcpu', 'kvm_vcpu')], [
      { ops: [acq(vcpuMutex)], succ: [{ to: 1 }, { to: 2 }] },
      { ops: [call('a', [])], succ: [{ to: 3 }] },
      { ops: [call('b', [])], succ: [{ to: 3 }] },
      { ops: [acq(kvmLock), rel(kvmLock), rel(vcpuMutex)], succ: [{ to: 4 }], ret: true },
    ]);
    const out = (await run([fileFacts('virt/kvm/e.c', [fn])])).filter((f) => f.code === 'lock-order');
    expect(out).toHaveLength(1);
  });

  it('says "built-in rule" with built-in rules, and honours suppressions and settings', async () => {
    const fn = fnLinear('inv', 'virt/kvm/f.c', [param('vcpu', 'kvm_vcpu')], [acq(vcpuMutex), acq(kvmLock), rel(kvmLock), rel(vcpuMutex)]);
    const out = await run([fileFacts('virt/kvm/f.c', [fn])], builtinRules());
    expect(out[0].message).toContain('but built-in rule says kvm->lock is taken outside vcpu->mutex');
    const line = fn.blocks[0].ops[1].range.start.line;
    const suppressed = await run([fileFacts('virt/kvm/f.c', [fn], [], { suppressions: [{ line: line - 1, codes: ['lock-order'] }] })]);
    expect(suppressed.filter((f) => f.code === 'lock-order')).toEqual([]);
    const disabled = await run([fileFacts('virt/kvm/f.c', [fn])], docRules(), { 'lock-order': { enabled: false } });
    expect(disabled).toEqual([]);
    const info = await run([fileFacts('virt/kvm/f.c', [fn])], docRules(), { 'lock-order': { enabled: true, severity: 'information' } });
    expect(info[0].severity).toBe('information');
  });
});

describe('lock-imbalance', () => {
  const lk = path('kvm->lock', T);
  it('reports a lock held on one return path only', async () => {
    const fn = fnCfg('leaky', 'virt/kvm/g.c', [param('kvm', 'kvm')], [
      { ops: [acq(lk)], succ: [{ to: 1 }, { to: 2 }] },
      { ops: [], succ: [{ to: 3 }], ret: true },
      { ops: [rel(lk)], succ: [{ to: 3 }], ret: true },
    ]);
    const out = (await run([fileFacts('virt/kvm/g.c', [fn])])).filter((f) => f.code === 'lock-imbalance');
    expect(out).toHaveLength(1);
    expect(out[0].message).toContain('kvm->lock is still held at this return');
    expect(out[0].range).toEqual(fn.blocks[1].returnRange);
  });

  it('accepts net acquirers, killable results, and functions that release their caller\'s lock', async () => {
    const acquirer = fnLinear('lock_it', 'virt/kvm/h.c', [param('kvm', 'kvm')], [acq(lk)]);
    const releaser = fnLinear('unlock_it', 'virt/kvm/h.c', [param('kvm', 'kvm')], [rel(lk)]);
    const killable = fnCfg('killable', 'virt/kvm/h.c', [param('kvm', 'kvm')], [
      { ops: [acq(lk, 'mutex', { resultVar: 'r', heldWhen: 'zero', api: 'mutex_lock_killable' })], succ: [{ to: 1, cond: { variable: 'r', value: 'nonzero' } }, { to: 2, cond: { variable: 'r', value: 'zero' } }] },
      { ops: [], succ: [{ to: 3 }], ret: true },
      { ops: [rel(lk)], succ: [{ to: 3 }], ret: true },
    ]);
    const out = (await run([fileFacts('virt/kvm/h.c', [acquirer, releaser, killable])])).filter((f) => f.code === 'lock-imbalance');
    expect(out).toEqual([]);
  });

  it('reports a double release on one path', async () => {
    const fn = fnLinear('twice', 'virt/kvm/i.c', [param('kvm', 'kvm')], [acq(lk), rel(lk), rel(lk)]);
    const out = (await run([fileFacts('virt/kvm/i.c', [fn])])).filter((f) => f.code === 'lock-imbalance');
    expect(out.map((f) => f.message)).toEqual(['kvm->lock is released twice on a path through twice']);
  });
});

describe('lock-cycle', () => {
  it('reports an undocumented AB-BA cycle once, with both chains', async () => {
    const A = path('kvm->mn_invalidate_lock', T);
    const B = path('kvm->gpc_lock', T);
    const ab = fnLinear('ab', 'virt/kvm/j.c', [param('kvm', 'kvm')], [acq(A, 'spinlock'), acq(B, 'spinlock'), rel(B, 'spinlock'), rel(A, 'spinlock')]);
    const ba = fnLinear('ba', 'virt/kvm/j.c', [param('kvm', 'kvm')], [acq(B, 'spinlock'), acq(A, 'spinlock'), rel(A, 'spinlock'), rel(B, 'spinlock')]);
    const out = (await run([fileFacts('virt/kvm/j.c', [ab, ba])])).filter((f) => f.code === 'lock-cycle');
    expect(out).toHaveLength(1);
    expect(out[0].message).toMatch(/^lock cycle kvm->gpc_lock -> kvm->mn_invalidate_lock -> kvm->gpc_lock|^lock cycle kvm.gpc_lock/);
    expect(out[0].related.length).toBe(4);
  });
});

describe('rule registry', () => {
  it('describes all twelve codes once', () => {
    expect(new Set(RULES.map((r) => r.code)).size).toBe(12);
    const implemented = RULES.filter((r) => r.implemented).map((r) => r.code);
    expect(implemented).toEqual(expect.arrayContaining(['lock-cycle', 'lock-imbalance', 'lock-order']));
    for (const r of RULES) expect(r.description.length).toBeGreaterThan(10);
  });
});

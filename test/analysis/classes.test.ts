import { describe, expect, it } from 'vitest';
import { ClassResolver, DocNames } from '../../server/analysis/classes';
import { buildIndex } from '../../server/analysis/index';
import { builtinRules } from '../../model/rules';
import { fileFacts, fnLinear, path } from './factsBuilder';
import type { StructDef } from '../../server/frontend/facts';

const noHeaders = () => new ClassResolver(buildIndex([]));

describe('lock classes', () => {
  it('resolves paths through built-in struct knowledge when headers are absent', () => {
    const res = noHeaders();
    expect(res.resolve(path('vcpu->kvm->lock', { vcpu: 'kvm_vcpu' })).cls).toBe('kvm.lock');
    expect(res.resolve(path('kvm->arch.hyperv.hv_lock', { kvm: 'kvm' })).cls).toBe('kvm_hv.hv_lock');
    expect(res.resolve(path('hv->hv_lock', { hv: 'kvm_hv' })).cls).toBe('kvm_hv.hv_lock');
    expect(res.resolve(path('ka->tsc_write_lock', { ka: 'kvm_arch' })).cls).toBe('kvm_arch.tsc_write_lock');
    expect(res.resolve(path('kvm->arch.tsc_write_lock', { kvm: 'kvm' })).cls).toBe('kvm_arch.tsc_write_lock');
    expect(res.resolve(path('pit->pit_state.lock', { pit: 'kvm_pit' })).cls).toBe('kvm_kpit_state.lock');
    expect(res.resolve(path('kvm->irqfds.lock', { kvm: 'kvm' })).cls).toBe('kvm.irqfds.lock');
  });

  it('types helper results and undeclared conventional names', () => {
    const res = noHeaders();
    expect(res.resolve(path('to_kvm_hv(kvm)->hv_lock', {})).cls).toBe('kvm_hv.hv_lock');
    // `vcpu` and `*_kvm` without a declaration fall back to the naming convention.
    expect(res.resolve(path('vcpu->mutex')).cls).toBe('kvm_vcpu.mutex');
    expect(res.resolve(path('dst_kvm->lock')).cls).toBe('kvm.lock');
    expect(res.resolve(path('kvm_lock')).cls).toBe('kvm_lock');
    const unknown = res.resolve(path('foo->lock'));
    expect(unknown.resolved).toBe(false);
  });

  it('prefers the workspace struct definitions, including helper return types', () => {
    const structs: StructDef[] = [
      { name: 'my_dev', file: 'd.h', fields: [{ name: 'inner', type: 'my_inner', pointer: false }] },
      { name: 'my_inner', file: 'd.h', fields: [{ name: 'lock', type: 'spinlock_t', pointer: false }] },
    ];
    const helper = { ...fnLinear('to_my_dev', 'd.h', [], []), returnType: 'my_dev', returnsPointer: true };
    const res = new ClassResolver(buildIndex([fileFacts('d.h', [helper], structs)]));
    expect(res.resolve(path('d->inner.lock', { d: 'my_dev' })).cls).toBe('my_inner.lock');
    expect(res.resolve(path('to_my_dev(x)->inner.lock')).cls).toBe('my_inner.lock');
    expect(res.kindOfClass('my_inner.lock')).toBe('spinlock');
  });

  it('maps document names to the same classes, and back for messages', () => {
    const res = noHeaders();
    const names = new DocNames(builtinRules(), res);
    expect(names.classOf.get('vcpu->mutex')).toBe('kvm_vcpu.mutex');
    expect(names.classOf.get('kvm->arch.hyperv.hv_lock')).toBe('kvm_hv.hv_lock');
    expect(names.classOf.get('cpus_read_lock()')).toBe('cpu_hotplug_lock');
    expect(res.docNameToClass('kvm->arch.mmu_lock')).toBe('kvm.mmu_lock');
    expect(res.docNameToClass('kvm_arch::tsc_write_lock')).toBe('kvm_arch.tsc_write_lock');
    expect(names.display('kvm.lock')).toBe('kvm->lock');
    expect(names.display('kvm_kpit_state.lock')).toBe('kvm_kpit_state.lock');
    expect(res.kindOfClass('kvm.mmu_lock')).toBe('rwlock');
    expect(res.kindOfClass('kvm_arch.tsc_write_lock')).toBe('raw_spinlock');
  });
});

import { describe, expect, it } from 'vitest';
import type { AcquireOp, CallOp, ReleaseOp, SpteOp } from '../../server/frontend/facts';
import { SourceFile, findAt, functionAt, parseAndExtract } from '../../server/frontend/index';
import { facts, fn, lockOps, ops, useFrontend } from './helpers';

useFrontend();

const acquires = (f: ReturnType<typeof fn>) => ops(f).filter((o) => o.k === 'acquire') as AcquireOp[];

describe('access paths', () => {
  it('field chains, base types from parameters and locals', () => {
    const f = fn(`
void x(struct kvm_vcpu *v)
{
	struct kvm_pit *pit = get_pit(v);
	mutex_lock(&v->kvm->arch.xen.xen_lock);
	mutex_lock(&(pit->pit_state.lock));
}`);
    const [a, b] = acquires(f);
    expect(a.lock).toMatchObject({ text: 'v->kvm->arch.xen.xen_lock', base: { kind: 'var', name: 'v', type: 'kvm_vcpu' }, fields: ['kvm', 'arch', 'xen', 'xen_lock'] });
    // pit = get_pit(v) is a helper-call alias: the base is the call, the declared type is kept.
    expect(b.lock.base).toMatchObject({ kind: 'call', callee: 'get_pit' });
    expect(b.lock.fields).toEqual(['pit_state', 'lock']);
    expect(b.lock.alias).toEqual({ name: 'pit', type: 'kvm_pit', fields: ['pit_state', 'lock'] });
  });

  it('aliases: ka = &kvm->arch, hv = to_kvm_hv(kvm), spinlock = &per_cpu(x, cpu)', () => {
    const f = facts(`
static DEFINE_PER_CPU(raw_spinlock_t, wakeup_lock);
void a(struct kvm *kvm, int cpu)
{
	struct kvm_arch *ka = &kvm->arch;
	struct kvm_hv *hv = to_kvm_hv(kvm);
	raw_spinlock_t *spinlock = &per_cpu(wakeup_lock, cpu);
	raw_spin_unlock_irq(&ka->tsc_write_lock);
	mutex_lock(&hv->hv_lock);
	raw_spin_lock(spinlock);
}`);
    expect(f.globals).toEqual([expect.objectContaining({ name: 'wakeup_lock', kind: 'raw_spinlock', perCpu: true })]);
    const all = f.functions[0].blocks.flatMap((b) => b.ops) as (AcquireOp | ReleaseOp)[];
    const [ka, hv, sp] = all.filter((o) => o.k === 'acquire' || o.k === 'release');
    expect(ka.lock).toMatchObject({ base: { kind: 'var', name: 'kvm', type: 'kvm' }, fields: ['arch', 'tsc_write_lock'], alias: { name: 'ka', type: 'kvm_arch', fields: ['tsc_write_lock'] } });
    expect(hv.lock.base).toMatchObject({ kind: 'call', callee: 'to_kvm_hv', arg: { base: { kind: 'var', name: 'kvm' } } });
    expect(hv.lock.fields).toEqual(['hv_lock']);
    expect(sp.lock.base).toEqual({ kind: 'global', name: 'wakeup_lock', type: 'raw_spinlock_t' });
    expect(sp.lock.fields).toEqual([]);
  });

  it('globals: DEFINE_MUTEX, DECLARE_RWSEM, plain and extern declarations; unknown identifiers are globals', () => {
    const f = facts(`
static DEFINE_MUTEX(vendor_lock);
static DECLARE_RWSEM(deactivate_lock);
static DEFINE_SPINLOCK(vpid_lock);
static spinlock_t hash_lock;
extern struct mutex kvm_lock;
void g(void)
{
	static DEFINE_MUTEX(debugfs_lock);
	mutex_lock(&debugfs_lock);
	down_write(&deactivate_lock);
	spin_lock(&elsewhere_lock);
}`);
    expect(f.globals.map((g) => `${g.name}:${g.kind}`).sort()).toEqual([
      'deactivate_lock:rwsem',
      'debugfs_lock:mutex',
      'hash_lock:spinlock',
      'kvm_lock:mutex',
      'vendor_lock:mutex',
      'vpid_lock:spinlock',
    ]);
    const [a, b, c] = acquires(f.functions[0]);
    expect(a.lock.base).toEqual({ kind: 'global', name: 'debugfs_lock', type: 'mutex' });
    expect(b.lock.base).toEqual({ kind: 'global', name: 'deactivate_lock', type: 'rw_semaphore' });
    expect(c.lock.base).toEqual({ kind: 'global', name: 'elsewhere_lock' });
  });
});

describe('functions', () => {
  it('headers: static inline, __weak, __init, FNAME(name), __acquires annotations', () => {
    const f = facts(`
static inline struct kvm_pic *pic_of(struct kvm *kvm) { return kvm->arch.vpic; }
void __weak kvm_arch_thing(struct kvm *kvm) { }
static int __init kvm_x86_init(void) { return 0; }
static int FNAME(page_fault)(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	write_lock(&vcpu->kvm->mmu_lock);
	write_unlock(&vcpu->kvm->mmu_lock);
	return 0;
}
static void pic_lock(struct kvm_pic *s)
	__acquires(&s->lock)
{
	spin_lock(&s->lock);
}
static int apply(struct kvm *kvm, bool (*fn)(struct kvm *kvm, int i), int n) { return fn(kvm, n); }
`);
    const byName = new Map(f.functions.map((x) => [x.name, x]));
    expect([...byName.keys()]).toEqual(['pic_of', 'kvm_arch_thing', 'kvm_x86_init', 'FNAME(page_fault)', 'pic_lock', 'apply']);
    expect(byName.get('pic_of')).toMatchObject({ isStatic: true, returnType: 'kvm_pic', returnsPointer: true, params: [{ name: 'kvm', type: 'kvm', pointer: true }] });
    expect(byName.get('kvm_arch_thing')!.isWeak).toBe(true);
    expect(byName.get('kvm_x86_init')).toMatchObject({ isStatic: true, returnType: 'int', params: [] });
    expect(byName.get('FNAME(page_fault)')!.params.map((p) => p.type)).toEqual(['kvm_vcpu', 'kvm_page_fault']);
    expect(byName.get('pic_lock')!.annotations).toEqual([
      { kind: 'acquires', lock: { text: 's->lock', base: { kind: 'var', name: 's', type: 'kvm_pic' }, fields: ['lock'] } },
    ]);
    const call = ops(byName.get('apply')!).find((o) => o.k === 'call') as CallOp;
    // A function-pointer parameter: its targets are what callers pass.
    expect(call.indirect).toEqual({ field: 'fn', text: 'fn', param: true });
    // The function range and name range are 0-based.
    expect(byName.get('pic_of')!.range.start).toEqual({ line: 1, column: 0 });
    expect(byName.get('pic_of')!.nameRange.start).toEqual({ line: 1, column: 30 });
  });

  it('#ifdef at file scope: both definitions; inside a body: the first branch only', () => {
    const f = facts(`
#ifdef CONFIG_KVM_HYPERV
int hv_init(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
#ifdef CONFIG_LOCKDEP
	mutex_lock(&kvm->slots_lock);
	mutex_unlock(&kvm->slots_lock);
#else
	mutex_lock(&kvm->irq_lock);
	mutex_unlock(&kvm->irq_lock);
#endif
	mutex_unlock(&kvm->lock);
	return 0;
}
#else
static inline int hv_init(struct kvm *kvm) { return 0; }
#endif
`);
    expect(f.functions.map((x) => x.name)).toEqual(['hv_init', 'hv_init']);
    expect(lockOps(f.functions[0])).toEqual([
      '+mutex_lock(kvm->lock)',
      '+mutex_lock(kvm->slots_lock)',
      '-mutex_unlock(kvm->slots_lock)',
      '-mutex_unlock(kvm->lock)',
    ]);
  });

  it('an ERROR inside one function does not lose the rest of the file', () => {
    const f = facts(`
void broken(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
	x = = ) ;
	foo(kvm, struct kvm_vcpu, 3 +);
	mutex_unlock(&kvm->lock);
}
void fine(struct kvm *kvm)
{
	spin_lock(&kvm->mn_invalidate_lock);
	spin_unlock(&kvm->mn_invalidate_lock);
}`);
    expect(f.errorCount).toBeGreaterThan(0);
    const broken = f.functions.find((x) => x.name === 'broken')!;
    expect(broken.hasErrors).toBe(true);
    expect(lockOps(broken)).toEqual(['+mutex_lock(kvm->lock)', '-mutex_unlock(kvm->lock)']);
    expect(lockOps(f.functions.find((x) => x.name === 'fine')!)).toEqual(['+spin_lock(kvm->mn_invalidate_lock)', '-spin_unlock(kvm->mn_invalidate_lock)']);
  });
});

describe('indirect calls and bindings', () => {
  it('kvm_x86_call, static_call, kvm_x86_ops.nested_ops->x, ops->x', () => {
    const f = fn(`
void run(struct kvm_vcpu *vcpu, struct kvm_x86_init_ops *ops)
{
	kvm_x86_call(vcpu_load)(vcpu, 1);
	static_call(kvm_x86_flush_tlb_all)(vcpu);
	kvm_x86_ops.nested_ops->leave_nested(vcpu);
	kvm_x86_ops.vm_destroy(vcpu->kvm);
	ops->hardware_setup();
}`);
    const calls = ops(f).filter((o) => o.k === 'call') as CallOp[];
    expect(calls.map((c) => [c.callee, c.indirect?.table, c.indirect?.field])).toEqual([
      ['kvm_x86_ops.vcpu_load', 'kvm_x86_ops', 'vcpu_load'],
      ['kvm_x86_ops.flush_tlb_all', 'kvm_x86_ops', 'flush_tlb_all'],
      ['kvm_x86_nested_ops.leave_nested', 'kvm_x86_nested_ops', 'leave_nested'],
      ['kvm_x86_ops.vm_destroy', 'kvm_x86_ops', 'vm_destroy'],
      ['kvm_x86_init_ops.hardware_setup', 'kvm_x86_init_ops', 'hardware_setup'],
    ]);
    expect(calls[0].args[0]).toMatchObject({ text: 'vcpu', base: { kind: 'var', name: 'vcpu', type: 'kvm_vcpu' } });
    expect(calls[0].args[1]).toBeNull();
  });

  it('designated initializers at file scope and in locals; field assignments', () => {
    const f = facts(`
static struct kvm_x86_ops svm_x86_ops __initdata = {
	.name = KBUILD_MODNAME,
	.vcpu_load = svm_vcpu_load,
	.vm_destroy = svm_vm_destroy,
};
static const struct mmu_notifier_ops kvm_mmu_notifier_ops = {
	.invalidate_range_start	= kvm_mmu_notifier_invalidate_range_start,
};
int unmap(struct kvm *kvm)
{
	const struct kvm_mmu_notifier_range range = {
		.start = 0,
		.handler = kvm_mmu_unmap_gfn_range,
		.may_block = false,
	};
	struct kvm_io_device_ops *ops = get();
	ops->write = my_write;
	return handle(kvm, &range);
}`);
    expect(f.bindings.map((b) => `${b.structType}/${b.variable}.${b.field}=${b.func}`)).toEqual([
      'kvm_x86_ops/svm_x86_ops.vcpu_load=svm_vcpu_load',
      'kvm_x86_ops/svm_x86_ops.vm_destroy=svm_vm_destroy',
      'mmu_notifier_ops/kvm_mmu_notifier_ops.invalidate_range_start=kvm_mmu_notifier_invalidate_range_start',
      'kvm_mmu_notifier_range/range.handler=kvm_mmu_unmap_gfn_range',
      'kvm_io_device_ops/ops.write=my_write',
    ]);
  });
});

describe('structs', () => {
  it('fields with types, pointers, anonymous members inline, typedefs', () => {
    const f = facts(`
struct kvm {
	rwlock_t mmu_lock;
	struct mutex slots_lock;
	struct kvm_vcpu **vcpus;
	struct {
		spinlock_t lock;
		struct list_head items;
	} irqfds;
	union {
		u64 a;
		u32 b;
	};
#ifdef CONFIG_X
	struct kvm_arch arch;
#endif
	unsigned long flags:3;
};
typedef struct { u64 v; } spte_t;
`);
    const kvm = f.structs.find((s) => s.name === 'kvm')!;
    expect(kvm.fields.map((x) => `${x.name}:${x.type}${x.pointer ? '*' : ''}`)).toEqual([
      'mmu_lock:rwlock_t',
      'slots_lock:mutex',
      'vcpus:kvm_vcpu*',
      'irqfds:',
      'a:u64',
      'b:u32',
      'arch:kvm_arch',
      'flags:long',
    ]);
    expect(kvm.fields[3].inline!.map((x) => `${x.name}:${x.type}`)).toEqual(['lock:spinlock_t', 'items:list_head']);
    expect(f.structs.some((s) => s.name === 'spte_t')).toBe(true);
  });
});

describe('SPTE ops', () => {
  it('plain stores, WRITE_ONCE, helpers with resultUsed, atomics only on SPTE pointers', () => {
    const f = fn(`
bool wrprot(struct kvm *kvm, u64 *sptep, struct kvm_mmu_page *sp, struct tdp_iter *iter, u64 *spte)
{
	bool flush = false;
	u64 old = *sptep;
	*sptep = old & ~1ull;
	WRITE_ONCE(*sptep, old);
	sp->spt[3] = 0;
	mmu_spte_update(sptep, old);
	flush |= mmu_spte_update(sptep, old);
	if (try_cmpxchg64(sptep, &old, 5))
		return true;
	try_cmpxchg64(&pi_desc->control, &old, 5);
	clear_bit(3, (unsigned long *)sptep);
	kvm_tdp_mmu_write_spte_atomic(rcu_dereference(iter->sptep), 0);
	*spte = 0;
	return flush;
}`);
    const sp = ops(f).filter((o) => o.k === 'spte') as SpteOp[];
    expect(sp.map((s) => [s.access, s.helper ?? s.api, s.target, s.resultUsed])).toEqual([
      ['store', '=', 'sptep', undefined],
      ['store', 'WRITE_ONCE', 'sptep', undefined],
      ['store', '=', 'sp->spt[3]', undefined],
      ['helper', 'mmu_spte_update', 'sptep', false],
      ['helper', 'mmu_spte_update', 'sptep', true],
      ['helper', 'try_cmpxchg64', 'sptep', true],
      ['helper', 'clear_bit', '(unsignedlong*)sptep', false],
      ['helper', 'kvm_tdp_mmu_write_spte_atomic', 'rcu_dereference(iter->sptep)', false],
      ['store', '=', 'spte', undefined],
    ]);
    // The helper is also a call for the call graph.
    expect(ops(f).filter((o) => o.k === 'call' && o.callee === 'mmu_spte_update').length).toBe(2);
  });
});

describe('suppressions, robustness, incremental updates, lookups', () => {
  it('suppression comments in both styles', () => {
    const f = facts(`
/* kvm-locklint: ignore lock-order */
void a(void) { } // kvm-locklint: ignore sleep-in-atomic, lock-imbalance
`);
    expect(f.suppressions).toEqual([
      { line: 1, codes: ['lock-order'] },
      { line: 2, codes: ['sleep-in-atomic', 'lock-imbalance'] },
    ]);
  });

  it('binary and huge files are skipped, garbage never throws', () => {
    expect(parseAndExtract('b.c', 'abc\0def').skipped).toMatch(/binary/);
    expect(parseAndExtract('h.c', 'x'.repeat(4 * 1024 * 1024 + 1)).skipped).toMatch(/larger/);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const alphabet = 'void f(){}[];,*&->.!|=+-"\'\\/#\n\t ifelsewhilegoto:mutex_lock(&x);';
    for (let k = 0; k < 30; k++) {
      let s = '';
      for (let i = 0; i < 400; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const r = parseAndExtract('g.c', s);
      expect(r.skipped).toBeUndefined();
    }
    const half = parseAndExtract('h.c', 'void f(struct kvm *kvm) {\n\tmutex_lock(&kvm->lock);\n\tif (x) {\n\t\tfoo(');
    expect(half.skipped).toBeUndefined();
  });

  it('SourceFile: an incremental edit gives the same facts as a fresh parse, lines rebased', () => {
    const text = `
void a(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
	mutex_unlock(&kvm->lock);
}

void b(struct kvm *kvm)
{
	spin_lock(&kvm->mn_invalidate_lock);
	spin_unlock(&kvm->mn_invalidate_lock);
}
`;
    const sf = new SourceFile('e.c', text);
    const insert = '\tfoo(kvm);\n';
    const at = text.indexOf('\tmutex_unlock');
    const next = text.slice(0, at) + insert + text.slice(at);
    const updated = sf.update(next, [{ range: { start: { line: 4, column: 0 }, end: { line: 4, column: 0 } }, text: insert }]);
    const fresh = parseAndExtract('e.c', next);
    expect(updated.functions).toEqual(fresh.functions);
    expect(updated.hash).toBe(fresh.hash);
    expect(updated.functions[1].range.start.line).toBe(8);
    const spin = updated.functions[1].blocks[0].ops[0];
    expect(spin.range.start).toEqual({ line: 10, column: 1 });
    // Without change ranges: a full reparse.
    expect(sf.update(text).functions).toEqual(parseAndExtract('e.c', text).functions);
    sf.dispose();
  });

  it('findAt: lock expressions, SPTE helpers, identifiers; functionAt', () => {
    const text = `void a(struct kvm *kvm, u64 *sptep)
{
	mutex_lock(&kvm->slots_lock);
	mmu_spte_set(sptep, 0);
	other(kvm);
	mutex_unlock(&kvm->slots_lock);
}
`;
    const sf = new SourceFile('f.c', text);
    const lock = findAt(sf, { line: 2, column: 20 });
    expect(lock).toMatchObject({ kind: 'lock', api: 'mutex_lock', path: { text: 'kvm->slots_lock' } });
    expect(findAt(sf, { line: 3, column: 3 })).toMatchObject({ kind: 'spteHelper', name: 'mmu_spte_set' });
    expect(findAt(sf, { line: 4, column: 2 })).toMatchObject({ kind: 'identifier', name: 'other' });
    expect(functionAt(sf, { line: 3, column: 0 })?.name).toBe('a');
    expect(functionAt(sf, { line: 8, column: 0 })).toBeNull();
    sf.dispose();
  });
});

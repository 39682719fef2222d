import { describe, expect, it } from 'vitest';
import type { AcquireOp, AssertOp, CallOp, ReleaseOp } from '../../server/frontend/facts';
import { balancedOnAllPaths, facts, fn, lockOps, ops, pathLockSeqs, useFrontend } from './helpers';

useFrontend();

describe('control flow of lock ops', () => {
  it('goto unwinding: more unlock calls than lock calls, balanced on every path', () => {
    const f = fn(`
int create_thing(struct kvm *kvm, int id)
{
	int r;
	mutex_lock(&kvm->lock);
	if (id < 0) {
		r = -EINVAL;
		goto unlock;
	}
	r = alloc_thing(kvm);
	if (r)
		goto unlock;
	mutex_unlock(&kvm->lock);
	r = publish(kvm);
	if (r)
		goto relock;
	return 0;
relock:
	mutex_lock(&kvm->lock);
	undo(kvm);
unlock:
	mutex_unlock(&kvm->lock);
	return r;
}`);
    // Two unlock calls, two lock calls, three distinct ways out.
    expect(lockOps(f).filter((s) => s.startsWith('-')).length).toBe(2);
    expect(pathLockSeqs(f).map((p) => p.join(' '))).toContain('+kvm->lock -kvm->lock +kvm->lock -kvm->lock');
    expect(balancedOnAllPaths(f)).toBe(true);
    expect(f.blocks.filter((b) => b.returnRange).length).toBe(2);
  });

  it('labels inside switch cases and a goto into another case', () => {
    const f = fn(`
long vm_ioctl(struct kvm *kvm, unsigned int cmd)
{
	long r = -ENOTTY;
	switch (cmd) {
	case ONE:
		r = -EEXIST;
		goto create_two;
	case TWO:
		r = 0;
create_two:
		mutex_lock(&kvm->lock);
		if (kvm->thing)
			goto two_unlock;
		r = make(kvm);
two_unlock:
		mutex_unlock(&kvm->lock);
		break;
	default:
		mutex_lock(&kvm->slots_lock);
		mutex_unlock(&kvm->slots_lock);
		break;
	}
	return r;
}`);
    expect(balancedOnAllPaths(f)).toBe(true);
    const seqs = pathLockSeqs(f).map((s) => s.join(' '));
    expect(seqs).toContain('+kvm->lock -kvm->lock');
    expect(seqs).toContain('+kvm->slots_lock -kvm->slots_lock');
  });

  it('killable: `if (mutex_lock_killable(..)) return -EINTR;` is held when the result is zero', () => {
    const f = fn(`
long vcpu_ioctl(struct kvm_vcpu *vcpu)
{
	long r;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	r = run(vcpu);
	mutex_unlock(&vcpu->mutex);
	return r;
}`);
    const acq = ops(f).find((o) => o.k === 'acquire') as AcquireOp;
    expect(acq.heldWhen).toBe('zero');
    expect(acq.resultVar).toMatch(/^\$\d+$/);
    const edges = f.blocks.flatMap((b) => b.succ).filter((e) => e.cond?.variable === acq.resultVar);
    expect(edges.map((e) => e.cond!.value).sort()).toEqual(['nonzero', 'zero']);
    expect(balancedOnAllPaths(f)).toBe(true);
  });

  it('killable through a result variable, and the _nested form with goto', () => {
    const f = fn(`
int update_all(struct kvm *kvm, struct kvm *src)
{
	int ret;
	ret = mutex_lock_killable(&kvm->lock);
	if (ret)
		return ret;
	if (mutex_lock_killable_nested(&src->lock, SINGLE_DEPTH_NESTING))
		goto unlock_dst;
	mutex_unlock(&src->lock);
unlock_dst:
	mutex_unlock(&kvm->lock);
	return 0;
}`);
    const acqs = ops(f).filter((o) => o.k === 'acquire') as AcquireOp[];
    expect(acqs[0].resultVar).toBe('ret');
    expect(acqs[0].heldWhen).toBe('zero');
    expect(acqs[1].nested).toBe(true);
    expect(balancedOnAllPaths(f)).toBe(true);
  });

  it('trylock as a negated condition', () => {
    const f = fn(`
void update_runstate(struct gfn_to_pfn_cache *gpc1, bool atomic)
{
	unsigned long flags;
	local_irq_save(flags);
	if (!read_trylock(&gpc1->lock)) {
		local_irq_restore(flags);
		return;
	}
	write_stuff(gpc1);
	read_unlock_irqrestore(&gpc1->lock, flags);
}`);
    const acq = ops(f).find((o) => o.k === 'acquire') as AcquireOp;
    expect(acq.api).toBe('read_trylock');
    expect(acq.mode).toBe('read');
    expect(acq.heldWhen).toBe('nonzero');
    expect(ops(f).filter((o) => o.k === 'irqOff' || o.k === 'irqOn').length).toBe(2);
    expect(balancedOnAllPaths(f)).toBe(true);
  });

  it('conditional acquire by flag, released under `if (locked)`', () => {
    const f = fn(`
int try_unsync(struct kvm *kvm, int n)
{
	bool locked = false;
	int i;
	for (i = 0; i < n; i++) {
		if (!need(kvm, i))
			continue;
		if (!locked) {
			locked = true;
			spin_lock(&kvm->arch.mmu_unsync_pages_lock);
		}
		work(kvm, i);
	}
	if (locked)
		spin_unlock(&kvm->arch.mmu_unsync_pages_lock);
	return 0;
}`);
    const assigns = ops(f).filter((o) => o.k === 'assign');
    expect(assigns.map((a) => (a.k === 'assign' ? `${a.variable}=${a.value}` : ''))).toEqual(['locked=zero', 'locked=nonzero']);
    expect(balancedOnAllPaths(f)).toBe(true);
  });

  it('field flags: `r.found_memslot` set before the lock, tested after a label', () => {
    const f = fn(`
static int handle_range(struct kvm *kvm, const struct range *range)
{
	struct result r = { .ret = false, .found_memslot = false, };
	int i;
	for (i = 0; i < range->n; i++) {
		if (!r.found_memslot) {
			r.found_memslot = true;
			KVM_MMU_LOCK(kvm);
			if (range->stop)
				goto mmu_unlock;
		}
		r.ret |= range->handler(kvm, i);
	}
mmu_unlock:
	if (r.found_memslot)
		KVM_MMU_UNLOCK(kvm);
	return r.ret;
}`);
    const acq = ops(f).find((o) => o.k === 'acquire') as AcquireOp;
    expect(acq.lock.fields).toEqual(['mmu_lock']);
    expect(acq.lock.base).toEqual({ kind: 'var', name: 'kvm', type: 'kvm' });
    expect(acq.mode).toBe('write');
    expect(balancedOnAllPaths(f)).toBe(true);
    const call = ops(f).find((o) => o.k === 'call' && o.indirect) as CallOp;
    expect(call.indirect).toMatchObject({ table: 'range', field: 'handler' });
  });

  it('guard() is released at every exit of its scope: return, goto out, end of block', () => {
    const f = fn(`
int vendor_init(struct ops *ops)
{
	int r;
	guard(mutex)(&vendor_module_lock);
	if (ops->x)
		return -EEXIST;
	r = setup(ops);
	if (r)
		goto out;
	{
		guard(rcu)();
		if (check())
			return -EIO;
	}
	return 0;
out:
	cleanup();
	return r;
}`);
    expect(balancedOnAllPaths(f)).toBe(true);
    const acqs = ops(f).filter((o) => o.k === 'acquire') as AcquireOp[];
    expect(acqs.map((a) => [a.api, a.lock.text, a.scoped])).toEqual([
      ['guard(mutex)', 'vendor_module_lock', true],
      ['guard(rcu)', 'rcu', true],
    ]);
    expect(acqs[0].lock.base).toEqual({ kind: 'global', name: 'vendor_module_lock' });
    const rels = ops(f).filter((o) => o.k === 'release') as ReleaseOp[];
    expect(rels.every((r) => r.scoped)).toBe(true);
  });

  it('scoped_guard(type, &lock) { } holds the lock for the block only', () => {
    const f = fn(`
void walk(struct kvm_vcpu *vcpu)
{
	scoped_guard(write_lock_irqsave, &vcpu->kvm->mmu_lock) {
		if (stop(vcpu))
			return;
		fix(vcpu);
	}
	after(vcpu);
}`);
    expect(balancedOnAllPaths(f)).toBe(true);
    const acq = ops(f).find((o) => o.k === 'acquire') as AcquireOp;
    expect(acq).toMatchObject({ kind: 'rwlock', mode: 'write', irqsOff: true, scoped: true });
    expect(acq.lock.fields).toEqual(['kvm', 'mmu_lock']);
    expect((ops(f).filter((o) => o.k === 'release') as ReleaseOp[]).every((r) => r.scoped)).toBe(true);
  });

  it('macro iterators followed by a block are loops: break and continue work', () => {
    const f = fn(`
void kick_all(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	kvm_for_each_vcpu(i, vcpu, kvm) {
		mutex_lock(&vcpu->mutex);
		if (vcpu->dead) {
			mutex_unlock(&vcpu->mutex);
			break;
		}
		if (vcpu->skip) {
			mutex_unlock(&vcpu->mutex);
			continue;
		}
		kick(vcpu);
		mutex_unlock(&vcpu->mutex);
	}
	done(kvm);
}`);
    expect(balancedOnAllPaths(f)).toBe(true);
    // The loop header has a back edge.
    const header = f.blocks.findIndex((b, i) => f.blocks.some((x, j) => j > i && x.succ.some((e) => e.to === i)) && b.succ.length === 2);
    expect(header).toBeGreaterThan(0);
  });

  it('for_each_possible_cpu(cpu) { } (a nested function_definition) stays inside its function', () => {
    const f = facts(`
static void asid_free(struct kvm_sev_info *sev)
{
	int cpu;
	mutex_lock(&sev_bitmap_lock);
	for_each_possible_cpu(cpu) {
		struct svm_cpu_data *sd = per_cpu_ptr(&svm_data, cpu);
		if (!sd)
			break;
		sd->sev_vmcbs[sev->asid] = NULL;
	}
	mutex_unlock(&sev_bitmap_lock);
}
static void next_one(void) { }`);
    expect(f.functions.map((x) => x.name)).toEqual(['asid_free', 'next_one']);
    expect(lockOps(f.functions[0])).toEqual(['+mutex_lock(sev_bitmap_lock)', '-mutex_unlock(sev_bitmap_lock)']);
    expect(balancedOnAllPaths(f.functions[0])).toBe(true);
  });

  it('&& / || / ! in conditions are lowered to branches', () => {
    const f = fn(`
void g(struct kvm *kvm, bool a)
{
	if (a && spin_trylock(&kvm->mn_invalidate_lock)) {
		work();
		spin_unlock(&kvm->mn_invalidate_lock);
	}
}`);
    expect(balancedOnAllPaths(f)).toBe(true);
    const condEdges = f.blocks.flatMap((b) => b.succ).filter((e) => e.cond);
    expect(condEdges.some((e) => e.cond!.variable === 'a')).toBe(true);
    expect(condEdges.some((e) => e.cond!.variable.startsWith('$'))).toBe(true);
  });

  it('cond_resched_rwlock_write is a drop-retake, also inside a condition', () => {
    const f = fn(`
void zap_all(struct kvm *kvm)
{
	write_lock(&kvm->mmu_lock);
restart:
	while (more(kvm)) {
		if (cond_resched_rwlock_write(&kvm->mmu_lock))
			goto restart;
	}
	write_unlock(&kvm->mmu_lock);
}`);
    expect(lockOps(f)).toEqual(['+write_lock(kvm->mmu_lock)', '~cond_resched_rwlock_write(kvm->mmu_lock)', '-write_unlock(kvm->mmu_lock)']);
  });

  it('lock mode chosen by a variable: both branches, conditions on the variable', () => {
    const f = fn(`
void free_roots(struct kvm *kvm, bool is_tdp)
{
	if (is_tdp)
		read_lock(&kvm->mmu_lock);
	else
		write_lock(&kvm->mmu_lock);
	free_them(kvm);
	if (is_tdp)
		read_unlock(&kvm->mmu_lock);
	else
		write_unlock(&kvm->mmu_lock);
}`);
    const seqs = pathLockSeqs(f).map((s) => s.join(' '));
    expect(seqs.sort()).toEqual(['+kvm->mmu_lock -kvm->mmu_lock', '+kvm->mmu_lock -kvm->mmu_lock']);
    const modes = (ops(f).filter((o) => o.k === 'acquire') as AcquireOp[]).map((a) => a.mode);
    expect(modes).toEqual(['read', 'write']);
  });

  it('do/while and for loops get back edges; statement expressions are read', () => {
    const f = fn(`
void retry(struct gfn_to_pfn_cache *gpc)
{
	do {
		write_unlock_irq(&gpc->lock);
		refresh(gpc);
		write_lock_irq(&gpc->lock);
	} while (({ int x = still_bad(gpc); x; }));
}`);
    expect(lockOps(f)).toEqual(['-write_unlock_irq(gpc->lock)', '+write_lock_irq(gpc->lock)']);
    expect(ops(f).some((o) => o.k === 'call' && o.callee === 'still_bad')).toBe(true);
  });

  it('an iterator macro right after a label is a loop, not a call and a block', () => {
    const f = fn(`
void unwind(struct kvm *kvm, int last)
{
	struct kvm_vcpu *vcpu;
	int i;

out_unlock:
	kvm_for_each_vcpu(i, vcpu, kvm) {
		mutex_unlock(&vcpu->mutex);
	}
}`);
    expect(ops(f).some((o) => o.k === 'call' && o.callee === 'kvm_for_each_vcpu')).toBe(false);
    const release = ops(f).find((o): o is ReleaseOp => o.k === 'release')!;
    const inLoop = f.blocks.findIndex((b) => b.ops.includes(release));
    const reaches = (from: number, to: number, seen = new Set<number>()): boolean =>
      f.blocks[from].succ.some((e) => e.to === to || (!seen.has(e.to) && (seen.add(e.to), reaches(e.to, to, seen))));
    expect(reaches(inLoop, inLoop)).toBe(true);
  });

  it('marks lock ops on a variable the loop assigns as taken per instance, and no others', () => {
    const f = fn(`
void lock_all(struct kvm *kvm, struct kvm_vcpu *self)
{
	struct kvm_vcpu *vcpu;
	int i, idx;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		mutex_lock(&vcpu->mutex);
		mutex_lock(&kvm->lock);
		mutex_unlock(&kvm->lock);
	}
	for (idx = 0; idx < 4; idx++) {
		struct kvm_vcpu *v = kvm_get_vcpu(kvm, idx);
		mutex_unlock(&v->mutex);
		mutex_unlock(&self->mutex);
	}
	while (idx--) {
		spin_lock(&vcpu->kvm->mmu_lock);
		vcpu = kvm_get_vcpu(kvm, idx);
	}
}`);
    const marked = (ops(f).filter((o) => o.k === 'acquire' || (o.k === 'release' && !o.sweep)) as (AcquireOp | ReleaseOp)[]).map(
      (o) => `${o.k === 'acquire' ? '+' : '-'}${o.lock.text}${o.perInstance ? ' per instance' : ''}`,
    );
    expect(marked).toEqual([
      '+vcpu->mutex per instance',
      '+kvm->lock',
      '-kvm->lock',
      '-v->mutex per instance',
      '-self->mutex',
      '+vcpu->kvm->mmu_lock per instance',
    ]);
  });
});

describe('ops inside expressions and declarations', () => {
  it('srcu_read_lock in an init_declarator, nested calls evaluated first', () => {
    const f = fn(`
int get_msrs(struct kvm_vcpu *vcpu)
{
	int r;
	{
		int idx = srcu_read_lock(&vcpu->kvm->srcu);
		r = do_msr(vcpu, lookup(vcpu->kvm));
		srcu_read_unlock(&vcpu->kvm->srcu, idx);
	}
	return r;
}`);
    const acq = ops(f).find((o) => o.k === 'acquire') as AcquireOp;
    expect(acq).toMatchObject({ kind: 'srcu', mode: 'read', api: 'srcu_read_lock' });
    expect(acq.lock.fields).toEqual(['kvm', 'srcu']);
    const calls = ops(f).filter((o) => o.k === 'call').map((o) => (o as CallOp).callee);
    expect(calls).toEqual(['lookup', 'do_msr']);
  });

  it('asserts: modes, kvm_lockdep_assert_mmu_lock_held(kvm, shared), disjunctions are weak', () => {
    const f = fn(`
void f(struct kvm *kvm, bool shared)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	lockdep_assert_held(&kvm->slots_lock);
	kvm_lockdep_assert_mmu_lock_held(kvm, true);
	kvm_lockdep_assert_mmu_lock_held(kvm, shared);
	lockdep_assert_once(lockdep_is_held(&kvm->slots_lock) || srcu_read_lock_held(&kvm->srcu));
	lockdep_assert_not_held(&kvm_usage_lock);
}`);
    const asserts = ops(f).filter((o) => o.k === 'assert') as AssertOp[];
    expect(asserts.map((a) => [a.lock.text, a.mode, !!a.weak, !!a.negated])).toEqual([
      ['kvm->mmu_lock', 'write', false, false],
      ['kvm->slots_lock', 'any', false, false],
      ['kvm->mmu_lock', 'read', false, false],
      ['kvm->mmu_lock', 'any', false, false],
      ['kvm->slots_lock', 'any', true, false],
      ['kvm->srcu', 'read', true, false],
      ['kvm_usage_lock', 'any', false, true],
    ]);
  });

  it('wrappers: kvm_vcpu_srcu_read_lock, mmap_read_lock, filemap_invalidate_lock_shared, synchronize_srcu', () => {
    const f = fn(`
void w(struct kvm_vcpu *vcpu, struct inode *inode)
{
	kvm_vcpu_srcu_read_lock(vcpu);
	mmap_read_lock(current->mm);
	filemap_invalidate_lock_shared(inode->i_mapping);
	synchronize_srcu_expedited(&vcpu->kvm->irq_srcu);
	rcu_read_lock();
	preempt_disable();
}`);
    const acqs = ops(f).filter((o) => o.k === 'acquire') as AcquireOp[];
    expect(acqs.map((a) => [a.lock.fields.join('.'), a.kind, a.mode])).toEqual([
      ['kvm.srcu', 'srcu', 'read'],
      ['mm.mmap_lock', 'rwsem', 'read'],
      ['i_mapping.invalidate_lock', 'rwsem', 'read'],
      ['', 'rcu', 'read'],
    ]);
    expect(acqs[1].lock.base).toEqual({ kind: 'global', name: 'current', type: 'task_struct' });
    expect(acqs[3].lock.base).toEqual({ kind: 'pseudo', name: 'rcu' });
    expect(ops(f).some((o) => o.k === 'sync' && o.domain.fields.join('.') === 'kvm.irq_srcu')).toBe(true);
    expect(ops(f).some((o) => o.k === 'preemptOff')).toBe(true);
  });

  it('lock calls inside ?: arms are ignored, calls are kept', () => {
    const f = fn(`
void t(struct kvm *kvm, bool a)
{
	a ? mutex_lock(&kvm->lock) : helper(kvm);
}`);
    expect(lockOps(f)).toEqual([]);
    expect(ops(f).some((o) => o.k === 'call' && o.callee === 'helper')).toBe(true);
  });
});

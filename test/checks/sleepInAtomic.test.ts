import { describe, expect, it } from 'vitest';
import { analyze, lineOf, lines, ofCode } from './helpers';

const H = '#include "../fixtures/include/kvm_mini.h"\n';

describe('sleep-in-atomic', () => {
  it('reports a mutex two calls below a spinlock at the call site, with the chain down to the sleep', async () => {
    const a = H + `
static void leaf(struct kvm *kvm)
{
	mutex_lock(&kvm->irq_lock);
	mutex_unlock(&kvm->irq_lock);
}
static void mid(struct kvm *kvm)
{
	leaf(kvm);
}
static void holder(struct kvm_ioapic *ioapic)
{
	spin_lock(&ioapic->lock);
	mid(ioapic->kvm);
	spin_unlock(&ioapic->lock);
}
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/ioapic.c': a }), 'sleep-in-atomic');
    expect(lines(out)).toEqual([lineOf(a, 'mid(ioapic->kvm);')]);
    expect(out[0].message).toContain('kvm_ioapic.lock (a spinlock) is held here');
    expect(out[0].related.map((r) => r.message)).toEqual([
      'kvm_ioapic.lock held here',
      'calls mid',
      'calls leaf',
      'sleeps: mutex_lock(kvm->irq_lock)',
    ]);
  });

  it('reports calls that reach one sleep under one lock once, listing the others', async () => {
    const a = H + `
static void leaf(struct kvm *kvm)
{
	mutex_lock(&kvm->irq_lock);
	mutex_unlock(&kvm->irq_lock);
}
static void via_a(struct kvm *kvm) { leaf(kvm); }
static void via_b(struct kvm *kvm) { leaf(kvm); }
static void holder(struct kvm_ioapic *ioapic)
{
	spin_lock(&ioapic->lock);
	via_a(ioapic->kvm);
	via_b(ioapic->kvm);
	via_a(ioapic->kvm);
	spin_unlock(&ioapic->lock);
}
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/ioapic.c': a }), 'sleep-in-atomic');
    expect(lines(out)).toEqual([lineOf(a, 'via_a(ioapic->kvm);')]);
    expect(out[0].message).toContain('; 2 more calls of holder reach the same sleep in the same context');
    expect(out[0].related.map((r) => r.message).slice(-2)).toEqual(['calls via_b, which reaches the same sleep', 'calls via_a, which reaches the same sleep']);
  });

  it('does not blame a callee that releases the caller\'s _irq lock (re-enabling interrupts) before it sleeps', async () => {
    const a = H + `
static int refresh_retry(struct kvm *kvm)
{
	write_unlock_irq(&kvm->mmu_lock);
	msleep(1);
	write_lock_irq(&kvm->mmu_lock);
	return 0;
}
static int refresh_in_place(struct kvm *kvm)
{
	msleep(1);
	return 0;
}
static int refresh(struct kvm *kvm)
{
	int r;

	write_lock_irq(&kvm->mmu_lock);
	r = refresh_retry(kvm);
	r |= refresh_in_place(kvm);
	write_unlock_irq(&kvm->mmu_lock);
	return r;
}
`;
    const out = ofCode(await analyze({ 'virt/kvm/pfncache.c': a }), 'sleep-in-atomic');
    expect(lines(out)).toEqual([lineOf(a, 'r |= refresh_in_place(kvm);')]);
  });

  it('gives a callee whose sleep depends on an "atomic" parameter, or that checks in_atomic(), the benefit of the doubt', async () => {
    const a = H + `
int in_atomic(void);
static void update_guarded(struct kvm_vcpu *v, bool atomic)
{
	if (atomic)
		return;
	mutex_lock(&v->mutex);
	mutex_unlock(&v->mutex);
}
static void update_checked(struct kvm_vcpu *v)
{
	if (in_atomic())
		return;
	msleep(1);
}
static void update_plain(struct kvm_vcpu *v)
{
	msleep(1);
}
static void sched_out(struct kvm_vcpu *v)
{
	preempt_disable();
	update_guarded(v, true);
	update_checked(v);
	update_plain(v);
	preempt_enable();
}
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/xen.c': a }), 'sleep-in-atomic');
    expect(lines(out)).toEqual([lineOf(a, '\tupdate_plain(v);')]);
    expect(out[0].message).toContain('preemption is disabled here');
  });

  it('allows cond_resched_rwlock_write and trylocks under mmu_lock but reports cond_resched() and RCU sleepers', async () => {
    const a = H + `
void cond_resched_rwlock_write_dummy(void);
static void zap(struct kvm *kvm)
{
	write_lock(&kvm->mmu_lock);
	cond_resched_rwlock_write(&kvm->mmu_lock);
	if (mutex_trylock(&kvm->slots_lock))
		mutex_unlock(&kvm->slots_lock);
	cond_resched();
	write_unlock(&kvm->mmu_lock);
}
static void walk(struct kvm *kvm)
{
	rcu_read_lock();
	synchronize_rcu();
	rcu_read_unlock();
}
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/mmu/mmu.c': a }), 'sleep-in-atomic');
    expect(lines(out)).toEqual([lineOf(a, '\tcond_resched();'), lineOf(a, 'synchronize_rcu();')]);
    expect(out[0].message).toContain('kvm->mmu_lock (a rwlock) is held for write here');
    expect(out[1].message).toContain('inside an RCU read-side section');
  });
});

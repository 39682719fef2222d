import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { RuleModel } from '../../model/rules/types';
import { analyze, lineOf, lines, ofCode } from './helpers';

const H = '#include "../fixtures/include/kvm_mini.h"\n';

function docRules(): RuleModel {
  const b = builtinRules();
  return { ...b, origin: 'document', source: '/t/Documentation/virt/kvm/locking.rst', srcu: b.srcu.map((r) => ({ ...r, line: 38, allowedLine: 46 })) };
}

describe('srcu-order', () => {
  it('reports slots_lock taken in a read section, naming where the section was entered and the document line', async () => {
    const a = H + `
static void f(struct kvm *kvm)
{
	int idx = srcu_read_lock(&kvm->srcu);
	mutex_lock(&kvm->slots_lock);
	mutex_unlock(&kvm->slots_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}
`;
    const out = ofCode(await analyze({ 'virt/kvm/a.c': a }, docRules()), 'srcu-order');
    expect(lines(out)).toEqual([lineOf(a, 'mutex_lock')]);
    expect(out[0].message).toContain(`kvm->slots_lock is taken inside a kvm->srcu read-side section (entered at a.c:${lineOf(a, 'srcu_read_lock')})`);
    expect(out[0].message).toContain('(locking.rst:38)');
    expect(out[0].ruleRef).toBe('locking.rst:38');
  });

  it('follows the vCPU run path: a callee that drops the SRCU read lock around slots_lock is fine, one that does not is reported', async () => {
    const a = H + `
static void memslot_update(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	kvm->arch.nr_mmu_pages++;
	mutex_unlock(&kvm->slots_lock);
}
static void inhibit_page(struct kvm_vcpu *vcpu)
{
	kvm_vcpu_srcu_read_unlock(vcpu);
	memslot_update(vcpu->kvm);
	kvm_vcpu_srcu_read_lock(vcpu);
}
static void update_apicv(struct kvm_vcpu *vcpu)
{
	inhibit_page(vcpu);
}
static void forgetful(struct kvm_vcpu *vcpu)
{
	memslot_update(vcpu->kvm);
}
static int enter_guest(struct kvm_vcpu *vcpu)
{
	update_apicv(vcpu);
	forgetful(vcpu);
	return 0;
}
static int vcpu_run(struct kvm_vcpu *vcpu)
{
	kvm_vcpu_srcu_read_lock(vcpu);
	enter_guest(vcpu);
	kvm_vcpu_srcu_read_unlock(vcpu);
	return 0;
}
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/x86.c': a }), 'srcu-order');
    // update_apicv() gives the read lock back to its caller, so enter_guest() runs inside the
    // section from there on: the finding is at its call of the forgetful helper.
    expect(lines(out)).toEqual([lineOf(a, '\tforgetful(vcpu);')]);
    expect(out[0].message).toContain(`(held since the call of update_apicv at x86.c:${lineOf(a, '\tupdate_apicv(vcpu);')})`);
    expect(out[0].related.map((r) => r.message)).toEqual([
      'kvm->srcu read-side section entered here',
      'calls forgetful',
      'calls memslot_update',
      'kvm->slots_lock taken here',
    ]);
  });

  it('reports synchronize_srcu reached through a call inside a read section, and allows slots_arch_lock there', async () => {
    const a = H + `
static void publish(struct kvm *kvm)
{
	synchronize_srcu_expedited(&kvm->srcu);
}
static void reader(struct kvm *kvm)
{
	int idx = srcu_read_lock(&kvm->srcu);
	mutex_lock(&kvm->slots_arch_lock);
	mutex_unlock(&kvm->slots_arch_lock);
	publish(kvm);
	srcu_read_unlock(&kvm->srcu, idx);
}
`;
    const out = ofCode(await analyze({ 'virt/kvm/a.c': a }), 'srcu-order');
    expect(lines(out)).toEqual([lineOf(a, 'publish(kvm);')]);
    expect(out[0].message).toMatch(/^synchronize_srcu\(&kvm->srcu\) is called \(through publish\) inside a kvm->srcu read-side section/);
  });

  it('treats a lock the tree holds around synchronize_srcu as forbidden too, citing where', async () => {
    const a = H + `
static void swap_under(struct kvm *kvm)
{
	mutex_lock(&kvm->irq_lock);
	synchronize_srcu(&kvm->srcu);
	mutex_unlock(&kvm->irq_lock);
}
static void reader(struct kvm *kvm)
{
	int idx = srcu_read_lock(&kvm->srcu);
	mutex_lock(&kvm->irq_lock); /* reader */
	mutex_unlock(&kvm->irq_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}
`;
    const out = ofCode(await analyze({ 'virt/kvm/a.c': a }), 'srcu-order');
    expect(lines(out)).toEqual([lineOf(a, '/* reader */')]);
    expect(out[0].message).toContain(`under kvm->irq_lock (a.c:${lineOf(a, 'synchronize_srcu')})`);
  });
});

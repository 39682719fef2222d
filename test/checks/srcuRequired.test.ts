import { describe, expect, it } from 'vitest';
import { analyze, lineOf, lines, ofCode } from './helpers';

const H = '#include "../fixtures/include/kvm_mini.h"\n';

describe('srcu-required', () => {
  it('reports, as information, only in entry points: non-static or ops-table functions nobody calls', async () => {
    const a = H + `
static unsigned long translate(struct kvm *kvm, gfn_t gfn)
{
	return gfn_to_hva(kvm, gfn);
}
static int exit_handler(struct kvm_vcpu *vcpu)
{
	return (int)translate(vcpu->kvm, 0);
}
static int vm_init(struct kvm *kvm)
{
	return (int)translate(kvm, 1);
}
int vm_ioctl(struct kvm *kvm)
{
	int r;

	mutex_lock(&kvm->slots_lock);
	r = (int)translate(kvm, 2);
	mutex_unlock(&kvm->slots_lock);
	return r + (int)translate(kvm, 3);
}
static struct kvm_x86_ops ops = { .vm_init = vm_init };
`;
    const out = ofCode(await analyze({ 'arch/x86/kvm/x86.c': a }), 'srcu-required');
    expect(lines(out)).toEqual([lineOf(a, 'return (int)translate(kvm, 1);'), lineOf(a, 'translate(kvm, 3)')]);
    expect(out.every((f) => f.severity === 'information')).toBe(true);
    expect(out[0].related.map((r) => r.message)).toEqual(['calls translate', 'calls gfn_to_hva (needs kvm->srcu)']);
  });

  it('does not pass on accesses a callee makes only under a condition', async () => {
    const a = H + `
static int maybe_read(struct kvm *kvm, gpa_t gpa, u64 *v)
{
	int r = 0;

	if (kvm->arch.irqchip_split)
		r = kvm_read_guest(kvm, gpa, v, 8);
	return r;
}
int vm_ioctl(struct kvm *kvm, u64 *v)
{
	return maybe_read(kvm, 0, v);
}
`;
    expect(ofCode(await analyze({ 'arch/x86/kvm/x86.c': a }), 'srcu-required')).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { analyze, lineOf, lines, ofCode } from './helpers';

const H = '#include "../fixtures/include/kvm_mini.h"\n';

const a = H + `
struct hva_range {
	bool (*handler)(struct kvm *kvm);
};
static bool unmap_handler(struct kvm *kvm)
{
	KVM_MMU_LOCK(kvm);
	KVM_MMU_UNLOCK(kvm);
	return true;
}
static bool attr_handler(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_arch_lock);
	mutex_unlock(&kvm->slots_arch_lock);
	return true;
}
static bool walk(struct kvm *kvm, const struct hva_range *range)
{
	return range->handler(kvm);
}
static int range_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	const struct hva_range range = { .handler = unmap_handler };

	walk(mmu_notifier_to_kvm(mn), &range);
	return 0;
}
static void release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	mutex_lock(&kvm->slots_lock);
	mutex_unlock(&kvm->slots_lock);
}
static int set_attributes(struct kvm *kvm)
{
	const struct hva_range range = { .handler = attr_handler };

	mutex_lock(&kvm->slots_lock);
	walk(kvm, &range);
	mutex_unlock(&kvm->slots_lock);
	return 0;
}
static const struct mmu_notifier_ops ops = {
	.invalidate_range_start = range_start,
	.release = release,
};
static const struct kvm_x86_ops not_a_notifier = {
	.vm_init = set_attributes,
};
`;

describe('notifier-lock', () => {
  it('reports a callback taking slots_lock, and narrows handler pointers to what the callback itself stores', async () => {
    const out = ofCode(await analyze({ 'virt/kvm/kvm_main.c': a }), 'notifier-lock');
    // range_start reaches walk(), whose range->handler could be attr_handler (stored by the
    // memory-attributes path): not on the notifier path, because range_start stores unmap_handler.
    expect(lines(out)).toEqual([lineOf(a, 'struct kvm *kvm = mmu_notifier_to_kvm(mn);') + 2]);
    expect(out[0].message).toContain('MMU-notifier callback release (.release) takes kvm->slots_lock');
    expect(out[0].related[0].message).toBe('release is the .release callback');
  });
});

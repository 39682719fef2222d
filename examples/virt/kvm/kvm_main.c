// SPDX-License-Identifier: MIT
/*
 * kvm_main.c - generic VM and vCPU plumbing of the kvm-locklint example tree.
 *
 * Mostly correct code in KVM's idioms; the two deliberate mistakes are
 * listed in examples/README.md.
 */
#include <linux/kvm_host.h>

DEFINE_MUTEX(kvm_lock);

/* Creating a vCPU: the counter is bumped and, on failure, undone under kvm->lock. */
int kvm_vm_ioctl_create_vcpu(struct kvm *kvm, int id)
{
	struct kvm_vcpu *vcpu;
	int r;

	mutex_lock(&kvm->lock);
	if (kvm->created_vcpus >= kvm->max_vcpus) {
		mutex_unlock(&kvm->lock);
		return -EINVAL;
	}
	kvm->created_vcpus++;
	mutex_unlock(&kvm->lock);

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL);
	if (!vcpu) {
		r = -ENOMEM;
		goto vcpu_decrement;
	}
	vcpu->kvm = kvm;
	vcpu->vcpu_id = id;
	r = kvm_arch_vcpu_create(vcpu);
	if (r)
		goto vcpu_free;

	mutex_lock(&kvm->lock);
	kvm->vcpus[kvm->online_vcpus++] = vcpu;
	mutex_unlock(&kvm->lock);
	return 0;

vcpu_free:
	kfree(vcpu);
vcpu_decrement:
	mutex_lock(&kvm->lock);
	kvm->created_vcpus--;
	mutex_unlock(&kvm->lock);
	return r;
}

#define KVM_SET_ONLINE_COUNT	0xae10

long kvm_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg)
{
	struct kvm *kvm = vcpu->kvm;
	long r;

	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;

	switch (ioctl) {
	case KVM_SET_ONLINE_COUNT:
		/* kvm-locklint demo: lock-order — kvm->lock must be taken outside vcpu->mutex, not inside it */
		mutex_lock(&kvm->lock);
		kvm->online_vcpus = (int)arg;
		mutex_unlock(&kvm->lock);
		r = 0;
		break;
	default:
		r = kvm_arch_vcpu_ioctl(vcpu, ioctl, arg);
	}

	mutex_unlock(&vcpu->mutex);
	return r;
}

/* Memslot update: slots_lock outside, readers drained with synchronize_srcu. */
int kvm_set_memslot_generation(struct kvm *kvm, u64 gen)
{
	mutex_lock(&kvm->slots_lock);
	mutex_lock(&kvm->slots_arch_lock);
	kvm->memslots[1]->generation = gen;
	mutex_unlock(&kvm->slots_arch_lock);
	synchronize_srcu_expedited(&kvm->srcu);
	mutex_unlock(&kvm->slots_lock);
	return 0;
}

static int kvm_mmu_notifier_invalidate_range_start(struct mmu_notifier *mn,
						   const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	int idx;

	spin_lock(&kvm->mn_invalidate_lock);
	kvm->mn_active_invalidate_count++;
	spin_unlock(&kvm->mn_invalidate_lock);

	idx = srcu_read_lock(&kvm->srcu);
	KVM_MMU_LOCK(kvm);
	kvm->mmu_invalidate_in_progress++;
	KVM_MMU_UNLOCK(kvm);
	srcu_read_unlock(&kvm->srcu, idx);
	return 0;
}

static void kvm_mmu_notifier_invalidate_range_end(struct mmu_notifier *mn,
						  const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	/*
	 * kvm-locklint demo: notifier-lock — memslot writers hold slots_lock
	 * while they wait for invalidations to finish, so a notifier must not take it
	 */
	mutex_lock(&kvm->slots_lock);
	kvm->mmu_invalidate_in_progress--;
	mutex_unlock(&kvm->slots_lock);

	spin_lock(&kvm->mn_invalidate_lock);
	kvm->mn_active_invalidate_count--;
	spin_unlock(&kvm->mn_invalidate_lock);
}

static const struct mmu_notifier_ops kvm_mmu_notifier_ops = {
	.invalidate_range_start	= kvm_mmu_notifier_invalidate_range_start,
	.invalidate_range_end	= kvm_mmu_notifier_invalidate_range_end,
};

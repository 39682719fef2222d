// SPDX-License-Identifier: MIT
/*
 * x86.c - x86 vCPU and VM ioctls of the kvm-locklint example tree.
 */
#include <linux/kvm_host.h>

int kvm_pit_load_count(struct kvm *kvm, u64 count);

#define KVM_SET_HV_GUEST_OS_ID	0xae20
#define KVM_GET_APIC_BASE	0xae21

/* Called from kvm_vcpu_ioctl() with vcpu->mutex held: hv_lock nests inside it. */
long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg)
{
	struct kvm_hv *hv = to_kvm_hv(vcpu->kvm);

	switch (ioctl) {
	case KVM_SET_HV_GUEST_OS_ID:
		mutex_lock(&hv->hv_lock);
		hv->hv_guest_os_id = arg;
		mutex_unlock(&hv->hv_lock);
		return 0;
	case KVM_GET_APIC_BASE:
		return (long)vcpu->arch.apic_base;
	default:
		return -EINVAL;
	}
}

int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu)
{
	vcpu->arch.cr0 = 0x60000010;
	vcpu->arch.apic_base = 0xfee00000;
	return 0;
}

void kvm_arch_vcpu_postcreate(struct kvm_vcpu *vcpu)
{
	if (mutex_lock_killable(&vcpu->mutex))
		return;
	vcpu->arch.pending_events = 0;
	/*
	 * kvm-locklint demo: lock-order — kvm_pit_load_count() (i8254.c) takes
	 * kvm->lock, which must be outside vcpu->mutex: an inversion through a call
	 */
	kvm_pit_load_count(vcpu->kvm, 0);
	mutex_unlock(&vcpu->mutex);
}

/* The run loop holds the vCPU's SRCU read lock while it handles exits. */
int vcpu_handle_apicv_update(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;

	kvm_vcpu_srcu_read_lock(vcpu);
	vcpu->arch.pending_events &= ~1ull;
	/*
	 * kvm-locklint demo: srcu-order — memslot updates run synchronize_srcu()
	 * under slots_lock, so taking it inside a kvm->srcu reader can deadlock
	 */
	mutex_lock(&kvm->slots_lock);
	kvm->arch.apic_map_gen++;
	mutex_unlock(&kvm->slots_lock);
	kvm_vcpu_srcu_read_unlock(vcpu);
	return 0;
}

/* The right way: leave the read section around the memslot work. */
int vcpu_inhibit_apic_access_page(struct kvm_vcpu *vcpu)
{
	kvm_vcpu_srcu_read_lock(vcpu);
	vcpu->arch.pending_events |= 2;
	kvm_vcpu_srcu_read_unlock(vcpu);

	mutex_lock(&vcpu->kvm->slots_lock);
	vcpu->kvm->arch.apic_map_gen++;
	mutex_unlock(&vcpu->kvm->slots_lock);
	return 0;
}

int kvm_vm_ioctl_set_identity_map(struct kvm *kvm, gfn_t gfn)
{
	unsigned long hva;

	/* kvm-locklint demo: srcu-required — memslots may be freed under us without kvm->srcu */
	hva = gfn_to_hva(kvm, gfn);
	if (!hva)
		return -EFAULT;

	mutex_lock(&kvm->lock);
	kvm->arch.nr_mmu_pages = hva >> 12;
	mutex_unlock(&kvm->lock);
	return 0;
}

int kvm_vm_ioctl_get_identity_map(struct kvm *kvm, gfn_t gfn, unsigned long *hva)
{
	int idx = srcu_read_lock(&kvm->srcu);

	*hva = gfn_to_hva(kvm, gfn);
	srcu_read_unlock(&kvm->srcu, idx);
	return *hva ? 0 : -EFAULT;
}

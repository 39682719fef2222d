// SPDX-License-Identifier: MIT
/*
 * lapic.c - local APIC bits of the kvm-locklint example tree.
 */
#include <linux/kvm_host.h>

void kvm_recalculate_apic_map(struct kvm *kvm)
{
	struct kvm_pit *pit = kvm->arch.vpit;

	mutex_lock(&kvm->arch.apic_map_lock);
	kvm->arch.apic_map_gen++;
	if (pit) {
		/* kvm-locklint demo: lock-cycle — apic_map_lock -> pit_state.lock here, the reverse in i8254.c */
		mutex_lock(&pit->pit_state.lock);
		pit->pit_state.reinject = 0;
		mutex_unlock(&pit->pit_state.lock);
	}
	mutex_unlock(&kvm->arch.apic_map_lock);
}

/* Same-class nesting across two VMs is fine when annotated. */
void kvm_copy_apic_map_gen(struct kvm *dst, struct kvm *src)
{
	mutex_lock(&dst->arch.apic_map_lock);
	mutex_lock_nested(&src->arch.apic_map_lock, 1);
	dst->arch.apic_map_gen = src->arch.apic_map_gen;
	mutex_unlock(&src->arch.apic_map_lock);
	mutex_unlock(&dst->arch.apic_map_lock);
}

// SPDX-License-Identifier: MIT
/*
 * i8254.c - the emulated PIT of the kvm-locklint example tree.
 */
#include <linux/kvm_host.h>

/* VM-wide reload of the counter: kvm->lock, then the PIT state lock. */
int kvm_pit_load_count(struct kvm *kvm, u64 count)
{
	struct kvm_pit *pit = kvm->arch.vpit;

	mutex_lock(&kvm->lock);
	if (!pit) {
		mutex_unlock(&kvm->lock);
		return -EINVAL;
	}
	mutex_lock(&pit->pit_state.lock);
	pit->pit_state.period = count;
	mutex_unlock(&pit->pit_state.lock);
	mutex_unlock(&kvm->lock);
	return 0;
}

int kvm_vm_ioctl_set_pit(struct kvm *kvm, u64 period, u32 reinject)
{
	struct kvm_kpit_state *ps = &kvm->arch.vpit->pit_state;

	mutex_lock(&ps->lock);
	if (reinject > 1)
		/* kvm-locklint demo: lock-imbalance — this error path returns with pit_state.lock held */
		return -EINVAL;
	ps->period = period;
	ps->reinject = reinject;
	mutex_unlock(&ps->lock);
	return 0;
}

/* A period change re-targets the timer interrupt, which needs the APIC map. */
void kvm_pit_retarget(struct kvm_pit *pit, u64 period)
{
	struct kvm_arch *ka = &pit->kvm->arch;

	mutex_lock(&pit->pit_state.lock);
	pit->pit_state.period = period;
	/*
	 * Second half of the lock-cycle demo in lapic.c: pit_state.lock ->
	 * apic_map_lock here, the reverse there (reported once, in lapic.c).
	 */
	mutex_lock(&ka->apic_map_lock);
	ka->apic_map_gen++;
	mutex_unlock(&ka->apic_map_lock);
	mutex_unlock(&pit->pit_state.lock);
}

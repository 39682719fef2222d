// SPDX-License-Identifier: MIT
/*
 * ioapic.c - the emulated IOAPIC of the kvm-locklint example tree.
 */
#include <linux/kvm_host.h>

/* Called with ioapic->lock held; acked-IRQ notifiers run with it dropped. */
static void ioapic_update_eoi_one(struct kvm_ioapic *ioapic, int pin)
{
	spin_unlock(&ioapic->lock);
	kvm_notify_acked_irq(ioapic->kvm, 0, pin);
	spin_lock(&ioapic->lock);
}

void kvm_ioapic_update_eoi(struct kvm_ioapic *ioapic, int vector)
{
	int pin;

	spin_lock(&ioapic->lock);
	for (pin = 0; pin < 24; pin++) {
		if (ioapic->irr & (1u << pin))
			ioapic_update_eoi_one(ioapic, pin);
	}
	spin_unlock(&ioapic->lock);
}

void kvm_ioapic_reset_routing(struct kvm_ioapic *ioapic)
{
	struct kvm *kvm = ioapic->kvm;

	spin_lock(&ioapic->lock);
	ioapic->irr = 0;
	/* kvm-locklint demo: sleep-in-atomic — irq_lock is a mutex and ioapic->lock a spinlock */
	mutex_lock(&kvm->irq_lock);
	kvm->arch.apic_map_gen++;
	mutex_unlock(&kvm->irq_lock);
	spin_unlock(&ioapic->lock);
}

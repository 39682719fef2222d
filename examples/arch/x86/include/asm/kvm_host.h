/* SPDX-License-Identifier: MIT */
/* x86 part of the kvm-locklint example tree: struct kvm_arch and friends. */
#ifndef EXAMPLE_ASM_X86_KVM_HOST_H
#define EXAMPLE_ASM_X86_KVM_HOST_H

#define KVM_HAVE_MMU_RWLOCK
#define KVM_NOTIFIER_OFFSET	0x80

struct kvm_hv {
	struct mutex hv_lock;
	u64 hv_guest_os_id;
	u64 hv_tsc_page;
};

struct kvm_kpit_state {
	struct mutex lock;
	u32 reinject;
	u64 period;
};

struct kvm_pit {
	struct kvm_kpit_state pit_state;
	struct kvm *kvm;
};

struct kvm_ioapic {
	spinlock_t lock;
	struct kvm *kvm;
	u32 irr;
};

struct kvm_arch {
	struct kvm_hv hyperv;
	spinlock_t tdp_mmu_pages_lock;
	spinlock_t mmu_unsync_pages_lock;
	raw_spinlock_t tsc_write_lock;
	struct mutex apic_map_lock;
	struct kvm_pit *vpit;
	struct kvm_ioapic *vioapic;
	struct list_head tdp_mmu_roots;
	u64 nr_mmu_pages;
	u64 apic_map_gen;
};

struct kvm_vcpu_arch {
	u64 cr0;
	u64 apic_base;
	u64 pending_events;
};

struct kvm_x86_ops {
	void (*vcpu_reset)(struct kvm_vcpu *vcpu, bool init_event);
	void (*flush_tlb_all)(struct kvm_vcpu *vcpu);
};

#define kvm_x86_call(func) static_call(kvm_x86_##func)

static inline struct kvm_hv *to_kvm_hv(struct kvm *kvm)
{
	return &kvm->arch.hyperv;
}

#endif

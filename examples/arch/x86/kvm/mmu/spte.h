/* SPDX-License-Identifier: MIT */
/* SPTE bits and write primitives of the kvm-locklint example tree. */
#ifndef EXAMPLE_KVM_X86_SPTE_H
#define EXAMPLE_KVM_X86_SPTE_H

#define PT_WRITABLE_MASK		(1ULL << 1)
#define SPTE_MMU_WRITABLE		(1ULL << 10)
#define SHADOW_NONPRESENT_VALUE		(1ULL << 63)
#define FROZEN_SPTE			(SHADOW_NONPRESENT_VALUE | 0x5a0ULL)
#define SPTE_ENT_PER_PAGE		512

struct kvm_mmu_page {
	struct list_head link;
	u64 *spt;
	gfn_t gfn;
	int level;
};

struct tdp_iter {
	u64 *sptep;
	u64 old_spte;
	gfn_t gfn;
	int level;
};

struct kvm_page_fault {
	gpa_t addr;
	gfn_t gfn;
	bool write;
};

bool is_shadow_present_pte(u64 spte);
bool is_writable_pte(u64 spte);
bool is_mmu_writable_spte(u64 spte);
bool spte_has_volatile_bits(u64 spte);
u64 make_split_spte(u64 huge_spte, int index);

void mmu_spte_set(u64 *sptep, u64 new_spte);
bool mmu_spte_update(u64 *sptep, u64 new_spte);
void __update_clear_spte_fast(u64 *sptep, u64 spte);
u64 __update_clear_spte_slow(u64 *sptep, u64 spte);
u64 mmu_spte_get_lockless(u64 *sptep);
void walk_shadow_page_lockless_begin(struct kvm_vcpu *vcpu);
void walk_shadow_page_lockless_end(struct kvm_vcpu *vcpu);
int tdp_mmu_set_spte_atomic(struct kvm *kvm, struct tdp_iter *iter, u64 new_spte);
void __kvm_tdp_mmu_write_spte(u64 *sptep, u64 new_spte);
bool try_cmpxchg64(u64 *ptr, u64 *old, u64 new_val);
void kvm_flush_remote_tlbs_gfn(struct kvm *kvm, gfn_t gfn, int level);
#define WRITE_ONCE(x, val)	((x) = (val))

#endif

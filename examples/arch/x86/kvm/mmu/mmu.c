// SPDX-License-Identifier: MIT
/*
 * mmu.c - shadow MMU bits of the kvm-locklint example tree: rmap write
 * protection, zapping and the lockless fast page fault.
 */
#include <linux/kvm_host.h>
#include "spte.h"

u64 *fast_pf_get_last_sptep(struct kvm_vcpu *vcpu, gpa_t gpa, u64 *spte);

/* Clears a leaf SPTE; the slow (atomic) path when hardware may still set A/D. */
static u64 mmu_spte_clear_track_bits(u64 *sptep)
{
	u64 old_spte = *sptep;

	if (!is_shadow_present_pte(old_spte) || !spte_has_volatile_bits(old_spte))
		__update_clear_spte_fast(sptep, SHADOW_NONPRESENT_VALUE);
	else
		old_spte = __update_clear_spte_slow(sptep, SHADOW_NONPRESENT_VALUE);
	return old_spte;
}

/* Frees zapped shadow pages; the list it walks is only stable under the write lock. */
static void kvm_mmu_commit_zap_pages(struct kvm *kvm, int n)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm->arch.nr_mmu_pages -= n;
}

void kvm_mmu_zap_rmaps(struct kvm *kvm, u64 **sptes, int n)
{
	int i;

	write_lock(&kvm->mmu_lock);
	for (i = 0; i < n; i++)
		mmu_spte_clear_track_bits(sptes[i]);
	kvm_mmu_commit_zap_pages(kvm, n);
	write_unlock(&kvm->mmu_lock);
	kvm_flush_remote_tlbs(kvm);
}

void kvm_mmu_recover_pages_shared(struct kvm *kvm, int n)
{
	read_lock(&kvm->mmu_lock);
	/* kvm-locklint demo: rwlock-mode — kvm_mmu_commit_zap_pages() needs mmu_lock held for write */
	kvm_mmu_commit_zap_pages(kvm, n);
	read_unlock(&kvm->mmu_lock);
}

void kvm_mmu_drop_large_spte(struct kvm *kvm, u64 *sptep)
{
	write_lock(&kvm->mmu_lock);
	if (is_shadow_present_pte(*sptep))
		/* kvm-locklint demo: spte-nonatomic — a present leaf may gain A/D bits; check spte_has_volatile_bits() first */
		__update_clear_spte_fast(sptep, SHADOW_NONPRESENT_VALUE);
	write_unlock(&kvm->mmu_lock);
	kvm_flush_remote_tlbs(kvm);
}

bool kvm_mmu_write_protect_sptes(struct kvm *kvm, u64 **sptes, int n)
{
	bool flush = false;
	int i;

	write_lock(&kvm->mmu_lock);
	for (i = 0; i < n; i++)
		flush |= mmu_spte_update(sptes[i], *sptes[i] & ~PT_WRITABLE_MASK);
	write_unlock(&kvm->mmu_lock);
	return flush;
}

void kvm_mmu_write_protect_gfn(struct kvm *kvm, u64 *sptep)
{
	write_lock(&kvm->mmu_lock);
	/*
	 * kvm-locklint demo: spte-tlb-flush — W is cleared but the "flush needed"
	 * result is ignored, so other CPUs may keep writing through stale TLB entries
	 */
	mmu_spte_update(sptep, *sptep & ~(PT_WRITABLE_MASK | SPTE_MMU_WRITABLE));
	write_unlock(&kvm->mmu_lock);
}

/* Lockless fast page fault: only cmpxchg may change a reachable SPTE here. */
int fast_page_fault(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	u64 *sptep;
	u64 spte = 0;
	int retry = 0, ret = 1;

	walk_shadow_page_lockless_begin(vcpu);
	do {
		sptep = fast_pf_get_last_sptep(vcpu, fault->addr, &spte);
		if (!sptep || !is_mmu_writable_spte(spte))
			break;
		if (try_cmpxchg64(sptep, &spte, spte | PT_WRITABLE_MASK)) {
			ret = 0;
			break;
		}
	} while (++retry < 4);
	walk_shadow_page_lockless_end(vcpu);
	return ret;
}

int fast_page_fault_restore_access(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	u64 *sptep;
	u64 spte = 0;

	walk_shadow_page_lockless_begin(vcpu);
	sptep = fast_pf_get_last_sptep(vcpu, fault->addr, &spte);
	if (sptep && is_shadow_present_pte(spte))
		/* kvm-locklint demo: spte-lockless-write — no mmu_lock here: a plain store can undo a concurrent update */
		WRITE_ONCE(*sptep, spte | 0x1);
	walk_shadow_page_lockless_end(vcpu);
	return sptep ? 0 : 1;
}

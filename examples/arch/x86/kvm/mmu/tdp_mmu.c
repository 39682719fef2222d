// SPDX-License-Identifier: MIT
/*
 * tdp_mmu.c - TDP MMU bits of the kvm-locklint example tree: shared-mode
 * (read-locked) updates with cmpxchg, FROZEN_SPTE ownership, unlinked tables.
 */
#include <linux/kvm_host.h>
#include "spte.h"

int kvm_tdp_mmu_map_one(struct kvm *kvm, struct tdp_iter *iter, u64 new_spte)
{
	int r;

	read_lock(&kvm->mmu_lock);
	rcu_read_lock();
	r = tdp_mmu_set_spte_atomic(kvm, iter, new_spte);
	rcu_read_unlock();
	read_unlock(&kvm->mmu_lock);
	return r;
}

int kvm_tdp_mmu_zap_one_shared(struct kvm *kvm, struct tdp_iter *iter)
{
	read_lock(&kvm->mmu_lock);
	rcu_read_lock();
	if (!try_cmpxchg64(iter->sptep, &iter->old_spte, FROZEN_SPTE)) {
		rcu_read_unlock();
		read_unlock(&kvm->mmu_lock);
		return -EBUSY;
	}
	kvm_flush_remote_tlbs_gfn(kvm, iter->gfn, iter->level);
	/* Nobody else writes a FROZEN SPTE: a plain store is safe here. */
	__kvm_tdp_mmu_write_spte(iter->sptep, SHADOW_NONPRESENT_VALUE);
	rcu_read_unlock();
	read_unlock(&kvm->mmu_lock);
	return 0;
}

void kvm_tdp_mmu_split_fill(struct kvm *kvm, struct kvm_mmu_page *sp, u64 huge_spte)
{
	int i;

	read_lock(&kvm->mmu_lock);
	/* The new table is not linked yet: nobody else can see these entries. */
	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		sp->spt[i] = make_split_spte(huge_spte, i);
	spin_lock(&kvm->arch.tdp_mmu_pages_lock);
	sp->link.next = &kvm->arch.tdp_mmu_roots;
	spin_unlock(&kvm->arch.tdp_mmu_pages_lock);
	read_unlock(&kvm->mmu_lock);
}

int kvm_tdp_mmu_count_roots(struct kvm *kvm)
{
	struct list_head *pos;
	int n = 0;

	/* kvm-locklint demo: lock-requires — tdp_mmu_pages_lock critical sections must also take mmu_lock */
	spin_lock(&kvm->arch.tdp_mmu_pages_lock);
	for (pos = kvm->arch.tdp_mmu_roots.next; pos != &kvm->arch.tdp_mmu_roots; pos = pos->next)
		n++;
	spin_unlock(&kvm->arch.tdp_mmu_pages_lock);
	return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * kvm_host.h - generic part of the kvm-locklint example tree.
 *
 * A pocket-sized imitation of a KVM tree, written for kvm-locklint's demo:
 * the names and the embedding of the lock fields follow the real kernel so
 * that the analyzer resolves lock classes the same way, but nothing here is
 * kernel code and nothing here is ever compiled.
 */
#ifndef EXAMPLE_LINUX_KVM_HOST_H
#define EXAMPLE_LINUX_KVM_HOST_H

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;
typedef _Bool bool;
typedef u64 gfn_t;
typedef u64 gpa_t;

#define true	1
#define false	0
#define NULL	((void *)0)
#define EINTR	4
#define EAGAIN	11
#define ENOMEM	12
#define EFAULT	14
#define EBUSY	16
#define EEXIST	17
#define EINVAL	22

struct mutex { long owner; };
typedef struct { int slock; } spinlock_t;
typedef struct { int rlock; } raw_spinlock_t;
typedef struct { int rwcount; } rwlock_t;
struct srcu_struct { int completed; };
struct list_head { struct list_head *next, *prev; };
struct mm_struct;

#include <asm/kvm_host.h>

struct kvm_memory_slot {
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	short id;
};

struct kvm_memslots {
	u64 generation;
	int used_slots;
};

struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
};

struct mmu_notifier_range {
	unsigned long start;
	unsigned long end;
	bool blockable;
};

struct mmu_notifier_ops {
	int (*invalidate_range_start)(struct mmu_notifier *mn,
				      const struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct mmu_notifier *mn,
				     const struct mmu_notifier_range *range);
};

struct kvm {
	rwlock_t mmu_lock;
	struct mutex slots_lock;
	struct mutex slots_arch_lock;
	spinlock_t mn_invalidate_lock;
	unsigned long mn_active_invalidate_count;
	struct kvm_memslots *memslots[2];
	struct mutex lock;
	struct mutex irq_lock;
	struct srcu_struct srcu;
	struct srcu_struct irq_srcu;
	struct mmu_notifier mmu_notifier;
	long mmu_invalidate_in_progress;
	int created_vcpus;
	int online_vcpus;
	int max_vcpus;
	struct kvm_vcpu *vcpus[8];
	struct kvm_arch arch;
};

struct kvm_vcpu {
	struct kvm *kvm;
	int cpu;
	int vcpu_id;
	int mode;
	int ____srcu_idx;
	struct mutex mutex;
	struct kvm_vcpu_arch arch;
};

extern struct mutex kvm_lock;

#define KVM_MMU_LOCK(kvm)	write_lock(&(kvm)->mmu_lock)
#define KVM_MMU_UNLOCK(kvm)	write_unlock(&(kvm)->mmu_lock)

#define kvm_for_each_vcpu(idx, vcpup, kvm) \
	for (idx = 0; idx < (kvm)->online_vcpus && \
	     ((vcpup) = (kvm)->vcpus[idx]) != NULL; idx++)

static inline struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)
{
	return (struct kvm *)((char *)mn - KVM_NOTIFIER_OFFSET);
}

/* Lock API, by name (the analyzer knows what each one does). */
void mutex_lock(struct mutex *lock);
int mutex_lock_killable(struct mutex *lock);
void mutex_lock_nested(struct mutex *lock, unsigned int subclass);
void mutex_unlock(struct mutex *lock);
void spin_lock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);
void read_lock(rwlock_t *lock);
void read_unlock(rwlock_t *lock);
void write_lock(rwlock_t *lock);
void write_unlock(rwlock_t *lock);
int cond_resched_rwlock_write(rwlock_t *lock);
int srcu_read_lock(struct srcu_struct *ssp);
void srcu_read_unlock(struct srcu_struct *ssp, int idx);
void synchronize_srcu_expedited(struct srcu_struct *ssp);
void rcu_read_lock(void);
void rcu_read_unlock(void);
void lockdep_assert_held(void *lock);
void lockdep_assert_held_write(void *lock);
void schedule(void);
void *kzalloc(unsigned long size, int gfp);
void kfree(const void *p);
#define GFP_KERNEL 0

void kvm_vcpu_srcu_read_lock(struct kvm_vcpu *vcpu);
void kvm_vcpu_srcu_read_unlock(struct kvm_vcpu *vcpu);
struct kvm_memory_slot *gfn_to_memslot(struct kvm *kvm, gfn_t gfn);
unsigned long gfn_to_hva(struct kvm *kvm, gfn_t gfn);
void kvm_flush_remote_tlbs(struct kvm *kvm);
void kvm_notify_acked_irq(struct kvm *kvm, unsigned int irqchip, unsigned int pin);

long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg);
int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu);

#endif

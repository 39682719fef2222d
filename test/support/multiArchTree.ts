/**
 * A tiny kernel-like tree with two architectures, written for the configuration tests (CLI and
 * language server): generic code calls kvm_arch_foo, which x86 and powerpc define differently.
 */
export const HEADER = `struct mutex { int owner; };
typedef struct { int raw; } spinlock_t;
struct kvm {
	struct mutex lock;
	struct mutex slots_lock;
	spinlock_t gen_lock;
	spinlock_t ppc_lock;
	spinlock_t ppc_outer;
	int n;
};
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
void kvm_arch_foo(struct kvm *kvm);
void kvm_generic_helper(struct kvm *kvm);
`;
export const GENERIC_C = `#include <linux/kvm_host.h>

void kvm_generic_helper(struct kvm *kvm)
{
	kvm_arch_foo(kvm);
}

/* Sleeps under gen_lock only where kvm_arch_foo takes a mutex (x86). */
void kvm_generic_atomic(struct kvm *kvm)
{
	spin_lock(&kvm->gen_lock);
	kvm_arch_foo(kvm);
	spin_unlock(&kvm->gen_lock);
}

/* Wrong in every configuration: slots_lock is still held at one return. */
int kvm_generic_leak(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	if (kvm->n)
		return -1;
	mutex_unlock(&kvm->slots_lock);
	return 0;
}
`;
/** x86 takes kvm->lock (a mutex); its caller inverts kvm->lock / kvm->slots_lock through generic code. */
export const X86_C = `#include <linux/kvm_host.h>

void kvm_arch_foo(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
	kvm->n++;
	mutex_unlock(&kvm->lock);
}

void x86_caller(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	kvm_generic_helper(kvm);
	mutex_unlock(&kvm->slots_lock);
}
`;
/** powerpc takes a spinlock: its caller, under another spinlock, is fine here and wrong with x86's. */
export const PPC_C = `#include <linux/kvm_host.h>

void kvm_arch_foo(struct kvm *kvm)
{
	spin_lock(&kvm->ppc_lock);
	kvm->n--;
	spin_unlock(&kvm->ppc_lock);
}

void ppc_caller(struct kvm *kvm)
{
	spin_lock(&kvm->ppc_outer);
	kvm_generic_helper(kvm);
	spin_unlock(&kvm->ppc_outer);
}
`;
export const TREE: Record<string, string> = {
  'include/linux/kvm_host.h': HEADER,
  'virt/kvm/kvm_main.c': GENERIC_C,
  'arch/x86/kvm/x86.c': X86_C,
  'arch/powerpc/kvm/powerpc.c': PPC_C,
};

/**
 * The rules used when a tree has no locking document: what the newest document states (the 2025
 * kvm tree's locking.rst) plus the newest documented addition, vcpu->mutex being taken outside
 * kvm->slots_lock and kvm->slots_arch_lock (Documentation: KVM, March 2026).
 *
 * The wording is the project's own; lock names are written as the document writes them so that
 * messages look the same whichever source the rules come from. No document line states these, so
 * every line is 0 and the source is `built-in`.
 */

import type { LockEntry, OrderEdge, RuleModel } from './types';

export const BUILTIN_SOURCE = 'built-in';

function order(outer: string, inner: string, arch: string, text: string): OrderEdge {
  return { outer, inner, arch, line: 0, text };
}

function lock(name: string, type: string, arch: string, protects: string[], comment: string): LockEntry {
  return { name, type, arch, protects, comment, line: 0 };
}

/** A fresh copy each call, so a caller may change its copy freely. */
export function builtinRules(): RuleModel {
  return {
    source: BUILTIN_SOURCE,
    origin: 'builtin',
    format: 'builtin',
    ordersToBeWritten: false,
    orders: [
      order('cpus_read_lock()', 'kvm_lock', 'any', 'The CPU-hotplug read lock comes before kvm_lock.'),
      order('kvm_usage_lock', 'cpus_read_lock()', 'any', 'kvm_usage_lock comes before the CPU-hotplug read lock.'),
      order('kvm->lock', 'vcpu->mutex', 'any', 'The VM-wide kvm->lock comes before any vcpu->mutex.'),
      order('kvm->lock', 'kvm->slots_lock', 'any', 'kvm->lock comes before kvm->slots_lock.'),
      order('kvm->lock', 'kvm->irq_lock', 'any', 'kvm->lock comes before kvm->irq_lock.'),
      order('kvm->slots_lock', 'kvm->irq_lock', 'any', 'kvm->slots_lock comes before kvm->irq_lock (rarely both are held).'),
      order(
        'vcpu->mutex',
        'kvm->slots_lock',
        'any',
        'vcpu->mutex is a top-level lock: it comes before kvm->slots_lock (newest documented order).',
      ),
      order(
        'vcpu->mutex',
        'kvm->slots_arch_lock',
        'any',
        'vcpu->mutex comes before kvm->slots_arch_lock, e.g. when a vCPU allocates shadow roots (newest documented order).',
      ),
      order('vcpu->mutex', 'kvm->arch.hyperv.hv_lock', 'x86', 'On x86, vcpu->mutex comes before the Hyper-V lock.'),
      order('vcpu->mutex', 'kvm->arch.xen.xen_lock', 'x86', 'On x86, vcpu->mutex comes before the Xen lock.'),
    ],
    sameClassNesting: [
      {
        lock: 'vcpu->mutex',
        outerQualifier: 'plane 0',
        innerQualifier: 'the same vCPU id on another plane',
        condition: 'VMs have multiple planes',
        arch: 'any',
        line: 0,
        text: 'With several planes, the plane-0 vcpu->mutex may be held while taking the vcpu->mutex of the same vCPU id on another plane.',
      },
    ],
    srcu: [
      {
        domain: 'kvm->srcu',
        syncUnder: ['kvm->lock', 'vcpu->mutex', 'kvm->slots_lock'],
        forbiddenInside: ['kvm->lock', 'vcpu->mutex', 'kvm->slots_lock'],
        allowedInside: ['kvm->slots_arch_lock'],
        line: 0,
        text:
          'synchronize_srcu(&kvm->srcu) waits while kvm->lock, vcpu->mutex or kvm->slots_lock is held, so none of them may be acquired inside a kvm->srcu read-side section.',
        allowedLine: 0,
        allowedText:
          'kvm->slots_arch_lock is dropped before synchronize_srcu() runs, so it may be acquired inside a kvm->srcu read-side section.',
      },
    ],
    notifier: [
      {
        forbidden: ['kvm->slots_lock', 'kvm->slots_arch_lock'],
        line: 0,
        text:
          'Memslot updates hold kvm->slots_lock and kvm->slots_arch_lock while waiting for MMU-notifier invalidations to finish, so notifier callbacks must take neither.',
      },
    ],
    mustAlsoHold: [
      {
        lock: 'kvm->arch.tdp_mmu_pages_lock',
        mustHold: 'kvm->arch.mmu_lock',
        arch: 'x86',
        line: 0,
        text: 'On x86, kvm->arch.tdp_mmu_pages_lock is only taken with the MMU lock held.',
      },
      {
        lock: 'kvm->arch.mmu_unsync_pages_lock',
        mustHold: 'kvm->arch.mmu_lock',
        arch: 'x86',
        line: 0,
        text: 'On x86, kvm->arch.mmu_unsync_pages_lock is only taken with the MMU lock held.',
      },
    ],
    leaf: { line: 0, text: 'Any lock not named in an order above is a leaf: nothing else is acquired while it is held.' },
    typeNotes: [{ lock: 'kvm->arch.mmu_lock', type: 'rwlock', arch: 'x86', line: 0 }],
    locks: [
      lock('kvm_lock', 'mutex', 'any', ['vm_list'], ''),
      lock(
        'kvm_usage_lock',
        'mutex',
        'any',
        ['kvm_usage_count', 'turning hardware virtualization on and off'],
        'A lock of its own so that cpus_read_lock() can be taken while kvm_usage_count is stable.',
      ),
      lock('kvm->mn_invalidate_lock', 'spinlock_t', 'any', ['mn_active_invalidate_count', 'mn_memslots_update_rcuwait'], ''),
      lock(
        'kvm_arch::tsc_write_lock',
        'raw_spinlock_t',
        'x86',
        ['kvm_arch::{last_tsc_write,last_tsc_nsec,last_tsc_offset}', 'the TSC offset in the VMCB'],
        'Raw: TSC offset updates must not be preempted.',
      ),
      lock(
        'kvm->mmu_lock',
        'spinlock_t or rwlock_t',
        'any',
        ['shadow pages and shadow TLB entries'],
        'Not a sleeping lock because MMU notifiers take it.',
      ),
      lock(
        'kvm->srcu',
        'srcu lock',
        'any',
        ['kvm->memslots', 'kvm->buses'],
        'Hold the read side to look at memslots (gfn_to_* helpers) or at the MMIO/PIO bus mappings; the index may live in kvm_vcpu->srcu_idx when several functions need it.',
      ),
      lock(
        'kvm->slots_arch_lock',
        'mutex',
        'any (only needed on x86 though)',
        ['architecture-specific memslot fields changed inside a kvm->srcu read-side section'],
        'Held from reading the current memslots pointer until every change to the memslots is done.',
      ),
      lock(
        'wakeup_vcpus_on_cpu_lock',
        'spinlock_t',
        'x86',
        ['wakeup_vcpus_on_cpu'],
        'Per-CPU; guards the list of blocked vCPUs that a VT-d posted-interrupt wakeup event walks.',
      ),
      lock(
        'vendor_module_lock',
        'mutex',
        'x86',
        ['loading a vendor module (kvm_amd or kvm_intel)'],
        'Separate from kvm_lock, which notifiers take while cpu_hotplug_lock may be held, whereas loading a vendor module needs cpu_hotplug_lock (static calls).',
      ),
    ],
    warnings: [],
  };
}

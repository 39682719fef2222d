/**
 * Rule metadata, in one place for all twelve codes of DESIGN.md. Documentation, editor settings
 * and SARIF rule descriptors are generated from this table.
 */
import type { RuleCode, Severity } from './finding';

export interface RuleMeta {
  code: RuleCode;
  defaultSeverity: Severity;
  /** One line, for settings and SARIF `shortDescription`. */
  description: string;
  /** Which part of the locking document the rule enforces. */
  enforces: string;
  /** Whether a check module reports it yet. */
  implemented: boolean;
}

export const RULES: readonly RuleMeta[] = [
  {
    code: 'lock-order',
    defaultSeverity: 'error',
    description: 'A lock is taken while a lock that the rules say must be inside it is held (also through calls).',
    enforces: 'Acquisition orders ("A is taken outside B")',
    implemented: true,
  },
  {
    code: 'lock-cycle',
    defaultSeverity: 'warning',
    description: 'A cycle in the lock graph observed across the workspace (AB-BA), documented or not, or a lock taken again by the task that holds it (AA).',
    enforces: 'Acquisition orders, and "everything else is a leaf"',
    implemented: true,
  },
  {
    code: 'srcu-order',
    defaultSeverity: 'error',
    description: 'A lock that synchronize_srcu(&kvm->srcu) runs under is taken inside a kvm->srcu read-side section, or synchronize_srcu inside one.',
    enforces: 'SRCU rules ("cannot be taken inside a kvm->srcu read-side critical section")',
    implemented: true,
  },
  {
    code: 'sleep-in-atomic',
    defaultSeverity: 'error',
    description: 'A sleeping lock or call (mutex, rwsem, synchronize_srcu, a GFP_KERNEL allocation, ...) under a spinlock, rwlock, raw spinlock or with preemption/IRQs off.',
    enforces: 'Lock types of the reference section',
    implemented: true,
  },
  {
    code: 'lock-requires',
    defaultSeverity: 'warning',
    description: 'A function that asserts or requires a lock (lockdep_assert_held*, documented "must also take") is reached without it.',
    enforces: 'lockdep assertions and "critical sections for X must also take Y"',
    implemented: true,
  },
  {
    code: 'rwlock-mode',
    defaultSeverity: 'error',
    description: 'A write-mode requirement on mmu_lock is reached while it is held for read only.',
    enforces: '"kvm->arch.mmu_lock is an rwlock"',
    implemented: true,
  },
  {
    code: 'notifier-lock',
    defaultSeverity: 'error',
    description: 'An MMU-notifier callback reaches kvm->slots_lock or kvm->slots_arch_lock.',
    enforces: '"MMU notifiers must not take either kvm->slots_lock or kvm->slots_arch_lock"',
    implemented: true,
  },
  {
    code: 'lock-imbalance',
    defaultSeverity: 'warning',
    description: 'A lock still held on some path at return, released twice, or released when not held.',
    enforces: 'Every critical section ends',
    implemented: true,
  },
  {
    code: 'srcu-required',
    defaultSeverity: 'information',
    description: 'Memslots, gfn_to_* or bus access without the kvm->srcu read lock (or slots_lock).',
    enforces: 'kvm->srcu protects kvm->memslots and kvm->buses',
    implemented: true,
  },
  {
    code: 'spte-nonatomic',
    defaultSeverity: 'error',
    description: 'A non-atomic write to an SPTE that may hold volatile bits.',
    enforces: 'Exception: fast page fault (volatile SPTE bits are updated atomically)',
    implemented: true,
  },
  {
    code: 'spte-lockless-write',
    defaultSeverity: 'error',
    description: 'An SPTE modified without cmpxchg on a lockless path (fast page fault, lockless walk, TDP MMU under read lock).',
    enforces: 'Exception: fast page fault (cmpxchg on the lockless path)',
    implemented: true,
  },
  {
    code: 'spte-tlb-flush',
    defaultSeverity: 'warning',
    description: 'A writable->read-only SPTE update whose "flush needed" result is dropped.',
    enforces: 'Exception: fast page fault (TLB flush after write-protection)',
    implemented: true,
  },
];

const BY_CODE = new Map(RULES.map((r) => [r.code, r] as const));

export function ruleMeta(code: RuleCode): RuleMeta {
  return BY_CODE.get(code)!;
}

export function isRuleCode(s: string): s is RuleCode {
  return BY_CODE.has(s as RuleCode);
}

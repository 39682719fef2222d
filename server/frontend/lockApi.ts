/**
 * The lock API calls KVM uses, as data: one table, one place.
 *
 * `lockArg` is the argument index holding the lock expression; `suffix` fields are appended to
 * that argument's access path for wrappers (`KVM_MMU_LOCK(kvm)` -> `kvm->mmu_lock`); `pseudo`
 * names a lock with no expression (`rcu`, `cpu_hotplug_lock`).
 */
import type { LockKind, LockMode } from './facts';

interface LockRef {
  lockArg?: number;
  suffix?: string[];
  pseudo?: string;
}

export interface AcquireApi extends LockRef {
  op: 'acquire';
  kind: LockKind;
  mode: LockMode;
  irqsOff?: boolean;
  nested?: boolean;
  /** try: held when the result is nonzero; killable: held when the result is zero. */
  cond?: 'try' | 'killable';
}

export interface ReleaseApi extends LockRef {
  op: 'release';
  kind: LockKind;
  mode: LockMode;
  irqsRestore?: boolean;
}

export interface DropRetakeApi extends LockRef {
  op: 'dropRetake';
  kind: LockKind;
  mode: LockMode;
}

export interface AssertApi extends LockRef {
  op: 'assert';
  mode: 'any' | LockMode;
  negated?: boolean;
  /** kvm_lockdep_assert_mmu_lock_held(kvm, shared): the mode comes from this argument when constant. */
  modeArg?: number;
  /** lockdep_assert_once(cond) / lockdep_assert(cond): the argument is a condition with lockdep_is_held() inside. */
  conditional?: boolean;
}

export interface SyncApi extends LockRef {
  op: 'sync';
}

export interface ContextApi {
  op: 'context';
  k: 'irqOff' | 'irqOn' | 'preemptOff' | 'preemptOn';
}

export type LockApi = AcquireApi | ReleaseApi | DropRetakeApi | AssertApi | SyncApi | ContextApi;

const table = new Map<string, LockApi>();

function acq(names: string[], e: Omit<AcquireApi, 'op'>): void {
  for (const n of names) table.set(n, { op: 'acquire', lockArg: 0, ...e });
}
function rel(names: string[], e: Omit<ReleaseApi, 'op'>): void {
  for (const n of names) table.set(n, { op: 'release', lockArg: 0, ...e });
}

// --- mutex
acq(['mutex_lock', 'mutex_lock_io'], { kind: 'mutex', mode: 'write' });
acq(['mutex_lock_nested', 'mutex_lock_io_nested'], { kind: 'mutex', mode: 'write', nested: true });
acq(['mutex_lock_killable', 'mutex_lock_interruptible'], { kind: 'mutex', mode: 'write', cond: 'killable' });
acq(['mutex_lock_killable_nested', 'mutex_lock_interruptible_nested'], {
  kind: 'mutex',
  mode: 'write',
  cond: 'killable',
  nested: true,
});
acq(['mutex_trylock'], { kind: 'mutex', mode: 'write', cond: 'try' });
rel(['mutex_unlock'], { kind: 'mutex', mode: 'write' });

// --- spinlock / raw spinlock
for (const [pfx, kind] of [
  ['spin', 'spinlock'],
  ['raw_spin', 'raw_spinlock'],
] as const) {
  acq([`${pfx}_lock`, `${pfx}_lock_bh`], { kind, mode: 'write' });
  acq([`${pfx}_lock_nested`], { kind, mode: 'write', nested: true });
  acq([`${pfx}_lock_irq`, `${pfx}_lock_irqsave`], { kind, mode: 'write', irqsOff: true });
  acq([`${pfx}_lock_irqsave_nested`], { kind, mode: 'write', irqsOff: true, nested: true });
  acq([`${pfx}_trylock`, `${pfx}_trylock_bh`], { kind, mode: 'write', cond: 'try' });
  acq([`${pfx}_trylock_irq`, `${pfx}_trylock_irqsave`], { kind, mode: 'write', cond: 'try', irqsOff: true });
  rel([`${pfx}_unlock`, `${pfx}_unlock_bh`], { kind, mode: 'write' });
  rel([`${pfx}_unlock_irq`, `${pfx}_unlock_irqrestore`], { kind, mode: 'write', irqsRestore: true });
}

// The out-of-line implementations behind those macros, called directly now and then
// (`_raw_spin_unlock(&irq->irq_lock)`), and the lockdep-less arch and do_raw forms.
acq(['_raw_spin_lock', '_raw_spin_lock_bh', 'do_raw_spin_lock', 'arch_spin_lock'], { kind: 'raw_spinlock', mode: 'write' });
acq(['_raw_spin_lock_irq', '_raw_spin_lock_irqsave'], { kind: 'raw_spinlock', mode: 'write', irqsOff: true });
acq(['_raw_spin_trylock', '_raw_spin_trylock_bh', 'do_raw_spin_trylock', 'arch_spin_trylock'], { kind: 'raw_spinlock', mode: 'write', cond: 'try' });
rel(['_raw_spin_unlock', '_raw_spin_unlock_bh', 'do_raw_spin_unlock', 'arch_spin_unlock'], { kind: 'raw_spinlock', mode: 'write' });
rel(['_raw_spin_unlock_irq', '_raw_spin_unlock_irqrestore'], { kind: 'raw_spinlock', mode: 'write', irqsRestore: true });

// --- rwlock
for (const mode of ['read', 'write'] as const) {
  acq([`_raw_${mode}_lock`, `_raw_${mode}_lock_bh`], { kind: 'rwlock', mode });
  acq([`_raw_${mode}_lock_irq`, `_raw_${mode}_lock_irqsave`], { kind: 'rwlock', mode, irqsOff: true });
  rel([`_raw_${mode}_unlock`, `_raw_${mode}_unlock_bh`], { kind: 'rwlock', mode });
  rel([`_raw_${mode}_unlock_irq`, `_raw_${mode}_unlock_irqrestore`], { kind: 'rwlock', mode, irqsRestore: true });
  acq([`${mode}_lock`, `${mode}_lock_bh`], { kind: 'rwlock', mode });
  acq([`${mode}_lock_irq`, `${mode}_lock_irqsave`], { kind: 'rwlock', mode, irqsOff: true });
  acq([`${mode}_trylock`], { kind: 'rwlock', mode, cond: 'try' });
  rel([`${mode}_unlock`, `${mode}_unlock_bh`], { kind: 'rwlock', mode });
  rel([`${mode}_unlock_irq`, `${mode}_unlock_irqrestore`], { kind: 'rwlock', mode, irqsRestore: true });
}

// --- rw_semaphore
for (const mode of ['read', 'write'] as const) {
  acq([`down_${mode}`], { kind: 'rwsem', mode });
  acq([`down_${mode}_nested`], { kind: 'rwsem', mode, nested: true });
  acq([`down_${mode}_killable`, `down_${mode}_interruptible`], { kind: 'rwsem', mode, cond: 'killable' });
  acq([`down_${mode}_trylock`], { kind: 'rwsem', mode, cond: 'try' });
  rel([`up_${mode}`], { kind: 'rwsem', mode });
}
// downgrade_write: write -> read; modelled as releasing write then acquiring read (see extract.ts).
table.set('downgrade_write', { op: 'release', lockArg: 0, kind: 'rwsem', mode: 'write' });

// --- external rwsems reached through mm / address_space helpers
acq(['mmap_read_lock'], { kind: 'rwsem', mode: 'read', suffix: ['mmap_lock'] });
acq(['mmap_write_lock'], { kind: 'rwsem', mode: 'write', suffix: ['mmap_lock'] });
acq(['mmap_read_lock_killable'], { kind: 'rwsem', mode: 'read', suffix: ['mmap_lock'], cond: 'killable' });
acq(['mmap_write_lock_killable'], { kind: 'rwsem', mode: 'write', suffix: ['mmap_lock'], cond: 'killable' });
acq(['mmap_read_trylock'], { kind: 'rwsem', mode: 'read', suffix: ['mmap_lock'], cond: 'try' });
rel(['mmap_read_unlock'], { kind: 'rwsem', mode: 'read', suffix: ['mmap_lock'] });
rel(['mmap_write_unlock'], { kind: 'rwsem', mode: 'write', suffix: ['mmap_lock'] });
acq(['filemap_invalidate_lock'], { kind: 'rwsem', mode: 'write', suffix: ['invalidate_lock'] });
acq(['filemap_invalidate_lock_shared'], { kind: 'rwsem', mode: 'read', suffix: ['invalidate_lock'] });
rel(['filemap_invalidate_unlock'], { kind: 'rwsem', mode: 'write', suffix: ['invalidate_lock'] });
rel(['filemap_invalidate_unlock_shared'], { kind: 'rwsem', mode: 'read', suffix: ['invalidate_lock'] });

// --- SRCU / RCU
acq(['srcu_read_lock', 'srcu_read_lock_fast', 'srcu_read_lock_nmisafe'], { kind: 'srcu', mode: 'read' });
rel(['srcu_read_unlock', 'srcu_read_unlock_fast', 'srcu_read_unlock_nmisafe'], { kind: 'srcu', mode: 'read' });
acq(['kvm_vcpu_srcu_read_lock'], { kind: 'srcu', mode: 'read', suffix: ['kvm', 'srcu'] });
rel(['kvm_vcpu_srcu_read_unlock'], { kind: 'srcu', mode: 'read', suffix: ['kvm', 'srcu'] });
for (const n of ['synchronize_srcu', 'synchronize_srcu_expedited']) table.set(n, { op: 'sync', lockArg: 0 });
for (const n of ['synchronize_rcu', 'synchronize_rcu_expedited']) table.set(n, { op: 'sync', pseudo: 'rcu' });
acq(['rcu_read_lock', 'rcu_read_lock_bh', 'rcu_read_lock_sched'], { kind: 'rcu', mode: 'read', pseudo: 'rcu', lockArg: undefined });
rel(['rcu_read_unlock', 'rcu_read_unlock_bh', 'rcu_read_unlock_sched'], {
  kind: 'rcu',
  mode: 'read',
  pseudo: 'rcu',
  lockArg: undefined,
});

// --- CPU hotplug
acq(['cpus_read_lock'], { kind: 'cpu_hotplug', mode: 'read', pseudo: 'cpu_hotplug_lock', lockArg: undefined });
rel(['cpus_read_unlock'], { kind: 'cpu_hotplug', mode: 'read', pseudo: 'cpu_hotplug_lock', lockArg: undefined });
acq(['cpus_write_lock'], { kind: 'cpu_hotplug', mode: 'write', pseudo: 'cpu_hotplug_lock', lockArg: undefined });
rel(['cpus_write_unlock'], { kind: 'cpu_hotplug', mode: 'write', pseudo: 'cpu_hotplug_lock', lockArg: undefined });

// --- KVM wrappers (x86 has KVM_HAVE_MMU_RWLOCK: write_lock(&kvm->mmu_lock))
acq(['KVM_MMU_LOCK'], { kind: 'rwlock', mode: 'write', suffix: ['mmu_lock'] });
rel(['KVM_MMU_UNLOCK'], { kind: 'rwlock', mode: 'write', suffix: ['mmu_lock'] });

// --- drop and retake
table.set('cond_resched_rwlock_write', { op: 'dropRetake', lockArg: 0, kind: 'rwlock', mode: 'write' });
table.set('cond_resched_rwlock_read', { op: 'dropRetake', lockArg: 0, kind: 'rwlock', mode: 'read' });
table.set('cond_resched_lock', { op: 'dropRetake', lockArg: 0, kind: 'spinlock', mode: 'write' });

// --- assertions
table.set('lockdep_assert_held', { op: 'assert', lockArg: 0, mode: 'any' });
table.set('lockdep_assert_held_once', { op: 'assert', lockArg: 0, mode: 'any' });
table.set('lockdep_assert_held_write', { op: 'assert', lockArg: 0, mode: 'write' });
table.set('lockdep_assert_held_read', { op: 'assert', lockArg: 0, mode: 'read' });
table.set('lockdep_assert_not_held', { op: 'assert', lockArg: 0, mode: 'any', negated: true });
table.set('lockdep_assert_once', { op: 'assert', mode: 'any', conditional: true });
table.set('lockdep_assert', { op: 'assert', mode: 'any', conditional: true });
table.set('kvm_lockdep_assert_mmu_lock_held', { op: 'assert', lockArg: 0, suffix: ['mmu_lock'], mode: 'any', modeArg: 1 });

// --- IRQ / preemption state
const ctx = (names: string[], k: ContextApi['k']) => names.forEach((n) => table.set(n, { op: 'context', k }));
ctx(['local_irq_save', 'local_irq_disable', 'raw_local_irq_save', 'raw_local_irq_disable'], 'irqOff');
ctx(['local_irq_restore', 'local_irq_enable', 'raw_local_irq_restore', 'raw_local_irq_enable'], 'irqOn');
ctx(['preempt_disable', 'preempt_disable_notrace', 'get_cpu', 'migrate_disable'], 'preemptOff');
ctx(['preempt_enable', 'preempt_enable_notrace', 'preempt_enable_no_resched', 'put_cpu', 'migrate_enable'], 'preemptOn');

export function lockApi(name: string): LockApi | undefined {
  return table.get(name);
}

/** Every API name in the table (for hovers and documentation). */
export function lockApiNames(): string[] {
  return [...table.keys()];
}

/** guard(TYPE)(&lock) / scoped_guard(TYPE, &lock): what TYPE takes. */
export interface GuardType {
  kind: LockKind;
  mode: LockMode;
  irqsOff?: boolean;
  nested?: boolean;
  pseudo?: string;
}

const guardTypes = new Map<string, GuardType>([
  ['mutex', { kind: 'mutex', mode: 'write' }],
  ['mutex_intr', { kind: 'mutex', mode: 'write' }],
  ['mutex_try', { kind: 'mutex', mode: 'write' }],
  ['spinlock', { kind: 'spinlock', mode: 'write' }],
  ['spinlock_irq', { kind: 'spinlock', mode: 'write', irqsOff: true }],
  ['spinlock_irqsave', { kind: 'spinlock', mode: 'write', irqsOff: true }],
  ['spinlock_bh', { kind: 'spinlock', mode: 'write' }],
  ['raw_spinlock', { kind: 'raw_spinlock', mode: 'write' }],
  ['raw_spinlock_irq', { kind: 'raw_spinlock', mode: 'write', irqsOff: true }],
  ['raw_spinlock_irqsave', { kind: 'raw_spinlock', mode: 'write', irqsOff: true }],
  ['raw_spinlock_nested', { kind: 'raw_spinlock', mode: 'write', nested: true }],
  ['read_lock', { kind: 'rwlock', mode: 'read' }],
  ['read_lock_irq', { kind: 'rwlock', mode: 'read', irqsOff: true }],
  ['read_lock_irqsave', { kind: 'rwlock', mode: 'read', irqsOff: true }],
  ['write_lock', { kind: 'rwlock', mode: 'write' }],
  ['write_lock_irq', { kind: 'rwlock', mode: 'write', irqsOff: true }],
  ['write_lock_irqsave', { kind: 'rwlock', mode: 'write', irqsOff: true }],
  ['rwsem_read', { kind: 'rwsem', mode: 'read' }],
  ['rwsem_write', { kind: 'rwsem', mode: 'write' }],
  ['srcu', { kind: 'srcu', mode: 'read' }],
  ['rcu', { kind: 'rcu', mode: 'read', pseudo: 'rcu' }],
  ['cpus_read_lock', { kind: 'cpu_hotplug', mode: 'read', pseudo: 'cpu_hotplug_lock' }],
]);

export function guardType(name: string): GuardType {
  return guardTypes.get(name) ?? { kind: 'unknown', mode: 'write' };
}

/**
 * SPTE helpers whose contract the SPTE model knows, with the index of the argument that holds
 * the SPTE pointer (or the TDP iterator).
 */
const spteHelpers = new Map<string, number>([
  ['mmu_spte_set', 0],
  ['mmu_spte_update', 0],
  ['mmu_spte_update_no_track', 0],
  ['mmu_spte_clear_track_bits', 1],
  ['mmu_spte_clear_no_track', 0],
  ['__set_spte', 0],
  ['__update_clear_spte_fast', 0],
  ['__update_clear_spte_slow', 0],
  ['fast_pf_fix_direct_spte', 2],
  ['kvm_tdp_mmu_write_spte', 0],
  ['__kvm_tdp_mmu_write_spte', 0],
  ['kvm_tdp_mmu_write_spte_atomic', 0],
  ['tdp_mmu_clear_spte_bits', 0],
  ['tdp_mmu_set_spte', 2],
  ['tdp_mmu_set_spte_atomic', 1],
  ['tdp_mmu_set_spte_atomic_no_dirty_log', 1],
  ['__tdp_mmu_set_spte_atomic', 0],
  ['tdp_mmu_zap_spte_atomic', 1],
  ['tdp_mmu_iter_set_spte', 1],
  ['spte_wrprot_for_clear_dirty', 0],
]);

/** Generic atomics that count as SPTE helpers only when the pointer argument is an SPTE pointer. */
const spteAtomics = new Map<string, number>([
  ['try_cmpxchg64', 0],
  ['cmpxchg64', 0],
  ['try_cmpxchg', 0],
  ['cmpxchg', 0],
  ['xchg', 0],
  ['atomic64_fetch_and', 1],
  ['clear_bit', 1],
  ['set_bit', 1],
  ['test_and_clear_bit', 1],
  ['test_and_set_bit', 1],
]);

export function spteHelperArg(name: string): number | undefined {
  return spteHelpers.get(name);
}

export function spteAtomicArg(name: string): number | undefined {
  return spteAtomics.get(name);
}

export function isSpteHelperName(name: string): boolean {
  return spteHelpers.has(name) || spteAtomics.has(name);
}

/**
 * Built-in knowledge of how KVM's structs embed each other, used when the tree's headers are not
 * part of the workspace (a single file opened in the editor, a partial tree). Pure data: the
 * workspace's own struct definitions always take precedence.
 *
 * Types are struct (or typedef) names without `struct`, as in server/frontend/facts.ts.
 */

export interface KnownField {
  type: string;
  pointer: boolean;
}

const f = (type: string, pointer = false): KnownField => ({ type, pointer });

/** struct name -> field name -> field type. Lock fields carry their lock type (`mutex`, `spinlock_t`, ...). */
export const KVM_STRUCT_FIELDS: Readonly<Record<string, Readonly<Record<string, KnownField>>>> = {
  kvm: {
    arch: f('kvm_arch'),
    mmu_lock: f('rwlock_t'),
    slots_lock: f('mutex'),
    slots_arch_lock: f('mutex'),
    mn_invalidate_lock: f('spinlock_t'),
    gpc_lock: f('spinlock_t'),
    lock: f('mutex'),
    ring_lock: f('spinlock_t'),
    irq_lock: f('mutex'),
    srcu: f('srcu_struct'),
    irq_srcu: f('srcu_struct'),
    mm: f('mm_struct', true),
  },
  kvm_vcpu: {
    kvm: f('kvm', true),
    mutex: f('mutex'),
    arch: f('kvm_vcpu_arch'),
  },
  kvm_arch: {
    hyperv: f('kvm_hv'),
    xen: f('kvm_xen'),
    vpit: f('kvm_pit', true),
    vpic: f('kvm_pic', true),
    vioapic: f('kvm_ioapic', true),
    track_notifier_head: f('kvm_page_track_notifier_head'),
    mmu_unsync_pages_lock: f('spinlock_t'),
    apic_map_lock: f('mutex'),
    apicv_update_lock: f('rw_semaphore'),
    tsc_write_lock: f('raw_spinlock_t'),
    tdp_mmu_pages_lock: f('spinlock_t'),
    hv_root_tdp_lock: f('spinlock_t'),
  },
  kvm_vcpu_arch: {
    hyperv: f('kvm_vcpu_hv', true),
    pv_time: f('gfn_to_pfn_cache'),
    xen: f('kvm_vcpu_xen'),
  },
  kvm_hv: { hv_lock: f('mutex') },
  kvm_xen: { xen_lock: f('mutex'), shinfo_cache: f('gfn_to_pfn_cache') },
  kvm_vcpu_xen: {
    vcpu_info_cache: f('gfn_to_pfn_cache'),
    vcpu_time_info_cache: f('gfn_to_pfn_cache'),
    runstate_cache: f('gfn_to_pfn_cache'),
    runstate2_cache: f('gfn_to_pfn_cache'),
  },
  kvm_pit: { pit_state: f('kvm_kpit_state'), kvm: f('kvm', true) },
  kvm_kpit_state: { lock: f('mutex') },
  kvm_pic: { lock: f('spinlock_t'), kvm: f('kvm', true) },
  kvm_ioapic: { lock: f('spinlock_t'), kvm: f('kvm', true) },
  gfn_to_pfn_cache: { lock: f('rwlock_t'), refresh_lock: f('mutex'), kvm: f('kvm', true) },
  kvm_page_track_notifier_head: { track_srcu: f('srcu_struct') },
  kvm_vcpu_hv_tlb_flush_fifo: { write_lock: f('spinlock_t') },
  vcpu_svm: { vcpu: f('kvm_vcpu'), ir_list_lock: f('spinlock_t'), sev_es: f('vcpu_sev_es_state') },
  vcpu_sev_es_state: { snp_vmsa_mutex: f('mutex') },
  kvm_svm: { kvm: f('kvm'), sev_info: f('kvm_sev_info') },
  kvm_sev_info: { guest_req_mutex: f('mutex') },
  vcpu_vmx: { vcpu: f('kvm_vcpu') },
  kvm_vmx: { kvm: f('kvm') },
  kvm_vfio: { lock: f('mutex') },
  kvm_device: { kvm: f('kvm', true), ops: f('kvm_device_ops', true) },
  kvm_kernel_irqfd: { kvm: f('kvm', true) },
  kvm_kernel_irqfd_resampler: { kvm: f('kvm', true) },
};

/** Anonymous struct members of `struct kvm` (`kvm->irqfds.lock`): struct -> member -> inline fields. */
export const KVM_INLINE_MEMBERS: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, KnownField>>>>>> = {
  kvm: {
    irqfds: { lock: f('spinlock_t'), resampler_lock: f('mutex') },
  },
  kvm_vcpu: {
    async_pf: { lock: f('spinlock_t') },
  },
};

/** Helpers (mostly container_of wrappers) and the struct they return a pointer to. */
export const KVM_HELPER_RETURNS: Readonly<Record<string, string>> = {
  to_kvm_hv: 'kvm_hv',
  to_hv_vcpu: 'kvm_vcpu_hv',
  to_svm: 'vcpu_svm',
  to_kvm_svm: 'kvm_svm',
  to_kvm_sev_info: 'kvm_sev_info',
  to_vmx: 'vcpu_vmx',
  to_kvm_vmx: 'kvm_vmx',
  mmu_notifier_to_kvm: 'kvm',
  to_ioapic: 'kvm_ioapic',
  dev_to_pit: 'kvm_pit',
  speaker_to_pit: 'kvm_pit',
  pit_state_to_pit: 'kvm_pit',
  kvm_get_vcpu: 'kvm_vcpu',
  kvm_get_vcpu_by_id: 'kvm_vcpu',
  pic_irqchip: 'kvm_pic',
  ioapic_irqchip: 'kvm_ioapic',
};

/**
 * Naming conventions for variables whose declaration the front end did not see (macro-declared,
 * broken code). Used only when a variable has no declared type.
 */
export const KVM_VARIABLE_NAMES: Readonly<Record<string, string>> = {
  kvm: 'kvm',
  vcpu: 'kvm_vcpu',
  v: 'kvm_vcpu',
  svm: 'vcpu_svm',
  vmx: 'vcpu_vmx',
  hv: 'kvm_hv',
  ka: 'kvm_arch',
  pit: 'kvm_pit',
  ioapic: 'kvm_ioapic',
  gpc: 'gfn_to_pfn_cache',
};

/** Struct field type -> lock kind (facts.ts LockKind names). */
export const LOCK_FIELD_KINDS: Readonly<Record<string, string>> = {
  mutex: 'mutex',
  spinlock_t: 'spinlock',
  spinlock: 'spinlock',
  raw_spinlock_t: 'raw_spinlock',
  raw_spinlock: 'raw_spinlock',
  rwlock_t: 'rwlock',
  rw_semaphore: 'rwsem',
  srcu_struct: 'srcu',
};

/**
 * Kernel functions outside KVM that take a lock internally (DESIGN: "cpus_read_lock() is taken
 * outside kvm_lock" is about these): name -> pseudo lock class taken, and its mode.
 */
export const KERNEL_IMPLICIT_LOCKS: Readonly<Record<string, { lock: string; kind: string; mode: 'read' | 'write' }>> = {
  cpuhp_setup_state: { lock: 'cpu_hotplug_lock', kind: 'cpu_hotplug', mode: 'read' },
  cpuhp_setup_state_nocalls: { lock: 'cpu_hotplug_lock', kind: 'cpu_hotplug', mode: 'read' },
  cpuhp_remove_state: { lock: 'cpu_hotplug_lock', kind: 'cpu_hotplug', mode: 'read' },
  cpuhp_remove_state_nocalls: { lock: 'cpu_hotplug_lock', kind: 'cpu_hotplug', mode: 'read' },
  static_call_update: { lock: 'cpu_hotplug_lock', kind: 'cpu_hotplug', mode: 'read' },
};

/**
 * Kernel allocators and the index of their gfp_t argument: they may sleep when the flags allow
 * direct reclaim (gfpBlocks).
 */
export const GFP_ALLOCATORS: ReadonlyMap<string, number> = new Map([
  ['kmalloc', 1],
  ['kzalloc', 1],
  ['kcalloc', 2],
  ['kmalloc_array', 2],
  ['kmalloc_node', 1],
  ['kzalloc_node', 1],
  ['krealloc', 2],
  ['krealloc_array', 3],
  ['kvmalloc', 1],
  ['kvzalloc', 1],
  ['kvcalloc', 2],
  ['kvmalloc_array', 2],
  ['kvmalloc_node', 1],
  ['kvzalloc_node', 1],
  ['kmem_cache_alloc', 1],
  ['kmem_cache_zalloc', 1],
  ['kstrdup', 1],
  ['kstrndup', 2],
  ['kmemdup', 2],
  ['alloc_page', 0],
  ['alloc_pages', 0],
  ['alloc_pages_node', 1],
  ['alloc_pages_exact', 1],
  ['__get_free_page', 0],
  ['__get_free_pages', 0],
  ['get_zeroed_page', 0],
  ['folio_alloc', 0],
  ['mempool_alloc', 1],
  ['xa_store', 3],
  ['xa_insert', 3],
  ['xa_alloc', 4],
  ['idr_alloc', 4],
  ['idr_alloc_cyclic', 4],
]);

/**
 * Do gfp flags written as `text` allow the allocator to sleep (direct reclaim)? `GFP_KERNEL`,
 * `GFP_KERNEL_ACCOUNT | __GFP_ZERO`, `GFP_USER`: yes; `GFP_ATOMIC`, `GFP_NOWAIT | __GFP_ACCOUNT`,
 * `GFP_KERNEL & ~__GFP_DIRECT_RECLAIM`: no; a variable (the caller's choice): unknown.
 */
export function gfpBlocks(text: string): boolean | undefined {
  if (/\bGFP_(ATOMIC|NOWAIT)\b|~\s*\(?\s*__GFP_(DIRECT_)?RECLAIM\b/.test(text)) return false;
  if (/\b(GFP_KERNEL(_ACCOUNT)?|GFP_USER|GFP_HIGHUSER(_MOVABLE)?|GFP_NOFS|GFP_NOIO|__GFP_DIRECT_RECLAIM|__GFP_RECLAIM)\b/.test(text)) return true;
  return undefined;
}

/** Kernel functions that may sleep (beyond sleeping locks and synchronize_*), for may-sleep summaries. */
export const KERNEL_SLEEPING_CALLS: ReadonlySet<string> = new Set([
  'might_sleep',
  'msleep',
  'usleep_range',
  'schedule',
  'schedule_timeout',
  'cond_resched',
  'wait_for_completion',
  'wait_event_interruptible',
  'flush_work',
  'cancel_work_sync',
  'cancel_delayed_work_sync',
  'synchronize_rcu',
  'rcu_barrier',
  'srcu_barrier',
  'copy_from_user',
  'copy_to_user',
  'kvm_vcpu_block',
]);

/**
 * Destructors that run only when the last reference to an object is dropped
 * (`if (refcount_dec_and_test(...)) kvm_destroy_vm(kvm)`). Whoever calls them through a put
 * still holds a reference, so the destructor cannot run there: the locks it takes are not
 * "taken by" its callers for ordering purposes. (It may still sleep.)
 */
export const LAST_REFERENCE_DESTRUCTORS: ReadonlySet<string> = new Set(['kvm_destroy_vm']);

/**
 * Lazy initializers: they take their locks, and may sleep, only while the object is not yet
 * initialised, and the atomic or ordered paths that call them run only after it is. What they
 * take, sleep on or synchronize is not passed to their callers (they are still analysed, and
 * judged, themselves). Each entry says why the callers are safe.
 */
export const LAZY_INITIALIZERS: ReadonlyMap<string, string> = new Map([
  [
    'vgic_lazy_init',
    // arm64: kvm_vgic_inject_irq calls it first; the callers in atomic context (timer and PMU
    // updates on vcpu load, run and reset, the hrtimer expiry) act only once the timer is enabled
    // (kvm_timer_enable, on the first run), which requires an initialised vgic.
    'takes config_lock only while the vgic is not initialised; its atomic callers run after kvm_timer_enable',
  ],
]);

/**
 * Functions that return with interrupts on although the code the analysis reads does not show it
 * on every path (Summary.enablesIrqs). Each entry says how they turn them on.
 */
export const IRQ_ENABLING_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  [
    'vmx_handle_external_intr',
    // 4.x-era VMX and RHEL 7: vcpu_enter_guest calls kvm_x86_ops->handle_external_intr() with
    // interrupts off and relies on it to turn them on ("Interrupt is enabled by
    // handle_external_intr()").
    'calls the host interrupt handler through an interrupt frame whose saved flags have IF set (inline asm), or local_irq_enable() when there is no external interrupt',
  ],
]);

/**
 * Kernel functions that run a function they are given in an atomic context of their own, apart
 * from their caller's: IPI handlers run with interrupts disabled, RCU callbacks and timer
 * functions in softirq context. `param` is the index of the function argument; `context` says
 * how it runs, for messages. Work items (queue_work, INIT_WORK) run in process context and are
 * not listed.
 */
export interface CallbackRunner {
  param: number;
  irqsOff: boolean;
  context: string;
}

export const KERNEL_CALLBACK_RUNNERS: ReadonlyMap<string, CallbackRunner> = new Map<string, CallbackRunner>([
  ['smp_call_function_single', { param: 1, irqsOff: true, context: 'with interrupts disabled (an IPI handler)' }],
  ['smp_call_function_many', { param: 1, irqsOff: true, context: 'with interrupts disabled (an IPI handler)' }],
  ['smp_call_function', { param: 0, irqsOff: true, context: 'with interrupts disabled (an IPI handler)' }],
  ['smp_call_function_any', { param: 1, irqsOff: true, context: 'with interrupts disabled (an IPI handler)' }],
  ['on_each_cpu', { param: 0, irqsOff: true, context: 'with interrupts disabled (an IPI handler)' }],
  ['on_each_cpu_mask', { param: 1, irqsOff: true, context: 'with interrupts disabled (an IPI handler)' }],
  ['on_each_cpu_cond', { param: 1, irqsOff: true, context: 'with interrupts disabled (an IPI handler)' }],
  ['on_each_cpu_cond_mask', { param: 1, irqsOff: true, context: 'with interrupts disabled (an IPI handler)' }],
  ['call_rcu', { param: 1, irqsOff: false, context: 'in softirq context (an RCU callback)' }],
  ['call_srcu', { param: 2, irqsOff: false, context: 'in softirq context (an SRCU callback)' }],
  ['timer_setup', { param: 1, irqsOff: false, context: 'in softirq context (a timer function)' }],
]);

/**
 * Struct types whose `function` field the kernel calls by itself, by the type of the function's
 * one parameter: hrtimer functions run in hard interrupt context (KVM's timers are
 * HRTIMER_MODE_*_HARD; `_SOFT` ones run in softirq, atomic too), timer_list functions in softirq.
 */
export const KERNEL_TIMER_FUNCTIONS: ReadonlyMap<string, { irqsOff: boolean; context: string }> = new Map([
  ['hrtimer', { irqsOff: true, context: 'the kernel runs hrtimer functions in interrupt context' }],
  ['timer_list', { irqsOff: false, context: 'the kernel runs timer functions in softirq context' }],
]);

/**
 * From the names the locking document uses to references the analyzer can resolve.
 *
 *   kvm->slots_lock             member of struct kvm, fields [slots_lock]
 *   kvm->arch.hyperv.hv_lock    member of struct kvm, fields [arch, hyperv, hv_lock]
 *   vcpu->mutex                 member of struct kvm_vcpu, fields [mutex]
 *   kvm_arch::tsc_write_lock    member of struct kvm_arch, fields [tsc_write_lock]
 *   kvm_lock                    a global
 *   cpus_read_lock()            the pseudo lock cpu_hotplug_lock
 *
 * The analyzer keys lock classes by the innermost struct that holds the field (kvm_hv.hv_lock for
 * kvm->arch.hyperv.hv_lock); walking the fields through its struct index is its job, not ours.
 */

export type DocLockRef =
  | { kind: 'member'; baseType: string; fields: string[] }
  | { kind: 'global'; name: string }
  | { kind: 'pseudo'; name: string };

/** The variable names the document writes in front of `->`, and the struct each one stands for. */
const BASE_TYPES: Record<string, string> = {
  kvm: 'kvm',
  vcpu: 'kvm_vcpu',
  kvm_vcpu: 'kvm_vcpu',
  v: 'kvm_vcpu',
  ka: 'kvm_arch',
  kvm_arch: 'kvm_arch',
  hv: 'kvm_hv',
  svm: 'vcpu_svm',
  vmx: 'vcpu_vmx',
  gpc: 'gfn_to_pfn_cache',
};

/**
 * Places where the document's name does not match the code. Keyed by the name as written; the
 * value is the name that resolves.
 */
const ALIASES: Record<string, string> = {
  // The document (6.x "On x86:" block) writes kvm->arch.mmu_lock, but mmu_lock is a member of
  // struct kvm itself (include/linux/kvm_host.h), for every architecture.
  'kvm->arch.mmu_lock': 'kvm->mmu_lock',
};

/** Calls and names that stand for a lock that is not a C object of KVM's. */
const PSEUDO: Record<string, string> = {
  'cpus_read_lock()': 'cpu_hotplug_lock',
  'cpus_write_lock()': 'cpu_hotplug_lock',
  'cpus_read_lock': 'cpu_hotplug_lock',
  cpu_hotplug_lock: 'cpu_hotplug_lock',
  'rcu_read_lock()': 'rcu',
  rcu: 'rcu',
};

const IDENT = /^[A-Za-z_]\w*$/;

/** Maps a document lock name to something the analyzer can resolve, or null if it is not a lock name. */
export function docLockRef(name: string): DocLockRef | null {
  if (typeof name !== 'string') return null;
  let n = name
    .replace(/``/g, '')
    .trim()
    .replace(/^&\s*/, '')
    .replace(/\s*(->|\.|::)\s*/g, '$1');
  if (n.length === 0 || /\s/.test(n)) return null;
  n = ALIASES[n] ?? n;

  const pseudo = PSEUDO[n];
  if (pseudo) return { kind: 'pseudo', name: pseudo };

  const scoped = /^([A-Za-z_]\w*)::(.+)$/.exec(n);
  if (scoped) {
    const fields = splitFields(scoped[2]);
    return fields ? { kind: 'member', baseType: scoped[1], fields } : null;
  }

  const arrow = /^([A-Za-z_]\w*)->(.+)$/.exec(n);
  if (arrow) {
    const fields = splitFields(arrow[2]);
    if (!fields) return null;
    return { kind: 'member', baseType: BASE_TYPES[arrow[1]] ?? arrow[1], fields };
  }

  if (IDENT.test(n)) return { kind: 'global', name: n };
  return null;
}

/** The same function under the name the rule model's comments used first. */
export const lockNamePath = docLockRef;

function splitFields(path: string): string[] | null {
  const fields = path.split(/->|\./);
  return fields.length > 0 && fields.every((f) => IDENT.test(f)) ? fields : null;
}

/** Canonical text of a reference, handy as a map key: `kvm.arch.hyperv.hv_lock`, `kvm_lock`, `<cpu_hotplug_lock>`. */
export function docLockKey(ref: DocLockRef): string {
  switch (ref.kind) {
    case 'member':
      return `${ref.baseType}.${ref.fields.join('.')}`;
    case 'global':
      return ref.name;
    case 'pseudo':
      return `<${ref.name}>`;
  }
}

export type DocLockKind =
  | 'mutex'
  | 'spinlock'
  | 'raw_spinlock'
  | 'rwlock'
  | 'rwsem'
  | 'semaphore'
  | 'srcu'
  | 'seqlock'
  | 'unknown';

/**
 * Where the code's type differs from what the document's Reference says; used when the caller
 * passes the lock's name. The document calls wakeup_vcpus_on_cpu_lock a spinlock_t, but it is a
 * per-CPU raw_spinlock_t in the code (both are non-sleeping, so no check result changes).
 */
const CODE_KIND: Record<string, DocLockKind> = {
  wakeup_vcpus_on_cpu_lock: 'raw_spinlock',
};

/**
 * The kind of lock a Reference entry's `Type:` describes.
 *
 * `spinlock_t or rwlock_t` (kvm->mmu_lock since 5.x) gives `rwlock`: the document itself says
 * mmu_lock is an rwlock on x86 (arm64 too), and treating it as one keeps read/write modes apart;
 * on architectures where it is a spinlock the write mode is what every acquisition uses, so
 * nothing is lost. Both are non-sleeping.
 */
export function docLockKind(type: string, name?: string): DocLockKind {
  if (name !== undefined && CODE_KIND[name]) return CODE_KIND[name];
  const t = (typeof type === 'string' ? type : '').toLowerCase();
  if (/srcu/.test(t)) return 'srcu';
  if (/rwlock/.test(t)) return 'rwlock';
  if (/raw_?\s*spin/.test(t)) return 'raw_spinlock';
  if (/spin/.test(t)) return 'spinlock';
  if (/rw_semaphore|rwsem/.test(t)) return 'rwsem';
  if (/semaphore/.test(t)) return 'semaphore';
  if (/mutex/.test(t)) return 'mutex';
  if (/seq(lock|count)/.test(t)) return 'seqlock';
  return 'unknown';
}

/**
 * True for kinds whose acquisition may sleep (so they must not be taken in atomic context).
 * SRCU read-side sections do not sleep on entry; synchronize_srcu does, which is the checks' business.
 */
export function docLockKindSleeps(kind: DocLockKind): boolean {
  return kind === 'mutex' || kind === 'rwsem' || kind === 'semaphore';
}

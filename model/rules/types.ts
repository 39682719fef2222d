/**
 * The rule model: what KVM's locking document (Documentation/virt/kvm/locking.rst, or the older
 * Documentation/virtual/kvm/locking.txt) says, in a form the checks can use.
 *
 * Lock names are kept exactly as the document writes them (`kvm->slots_lock`, `vcpu->mutex`,
 * `cpus_read_lock()`, `kvm_arch::tsc_write_lock`). Turning a name into an access path that the
 * analyzer can resolve to a lock class is `docLockRef()` in ./names.ts (`lockNamePath` is an alias).
 *
 * Every rule carries the 1-based line of the document it comes from (0 for built-in rules that
 * no document states), so a diagnostic can cite "locking.rst:37".
 */

export type Arch = 'any' | 'x86' | 'arm64' | 'powerpc' | 's390' | 'riscv' | 'loongarch' | string;

/** One entry of the document's "Reference" section. */
export interface LockEntry {
  /** As written: `kvm->mmu_lock`, `kvm_arch::tsc_write_lock`, `kvm_lock`. */
  name: string;
  /** As written: `mutex`, `spinlock_t or rwlock_t`, `srcu lock`, `raw_spinlock`. */
  type: string;
  /** As written, normalised to lower case: `any`, `x86`, `any (only needed on x86 though)`. */
  arch: string;
  /** One string per protected item, without the leading bullet. */
  protects: string[];
  /** The comment, with continuation lines joined by single spaces. */
  comment: string;
  /** 1-based line of the entry's name in the document. */
  line: number;
}

/** "A is taken outside B": whoever holds B must not take A. */
export interface OrderEdge {
  outer: string;
  inner: string;
  /** `any`, or the architecture named by "On x86, ..." / an "On x86:" block. */
  arch: string;
  line: number;
  /** The bullet's text, whitespace folded, for hovers and messages. */
  text: string;
}

/**
 * SRCU rules. `forbiddenInside`: locks that must never be taken inside a read-side section of
 * `domain` because synchronize_srcu(domain) runs under them. `allowedInside`: locks the document
 * explicitly allows there (kvm->slots_arch_lock).
 */
export interface SrcuRule {
  domain: string;
  /** The locks under which synchronize_srcu(domain) is called (6.12: kvm->lock, vcpu->mutex, kvm->slots_lock). */
  syncUnder: string[];
  forbiddenInside: string[];
  allowedInside: string[];
  line: number;
  text: string;
  /** Line and text of the statement that allows `allowedInside` (often a separate bullet). */
  allowedLine?: number;
  allowedText?: string;
}

/** MMU notifier callbacks must not take these locks. */
export interface NotifierRule {
  forbidden: string[];
  line: number;
  text: string;
}

/** "critical sections for X must also take Y": X may only be taken while Y is held. */
export interface MustAlsoHoldRule {
  lock: string;
  mustHold: string;
  arch: string;
  line: number;
  text: string;
}

/** "Everything else is a leaf: no other lock is taken inside the critical sections." */
export interface LeafRule {
  line: number;
  text: string;
}

/** A statement about a lock's type made in the order section (e.g. "kvm->arch.mmu_lock is an rwlock"). */
export interface TypeNote {
  lock: string;
  type: string;
  arch: string;
  line: number;
}

/**
 * Two locks of the SAME class may nest under a condition the document states, e.g. (2025) "vcpu->mutex
 * for plane 0 can be taken outside vcpu->mutex for the same id and another plane". This is not an
 * A -> B order between classes (an OrderEdge with outer == inner would look like a self-cycle), so it
 * is kept apart: a checker may use it to accept nested acquisition of `lock` instead of reporting it.
 */
export interface SameClassNestingRule {
  lock: string;
  /** What distinguishes the outer instance, as written (`plane 0`). */
  outerQualifier: string;
  /** What distinguishes the inner instance, as written (`the same id and another plane`). */
  innerQualifier: string;
  /** The condition under which the nesting happens, as written (`VMs have multiple planes`), or ''. */
  condition: string;
  arch: string;
  line: number;
  text: string;
}

export interface RuleModel {
  /** Path of the document, or `built-in`. */
  source: string;
  /** `document` when read from a file, `builtin` otherwise. */
  origin: 'document' | 'builtin';
  /**
   * Which shape the document had: `txt-3.x` (orders "to be written"), `txt` (Name: fields),
   * `rst-fields` (:Name: fields), `rst-headings` (``name`` headings), `unknown`.
   */
  format: 'txt-3.x' | 'txt' | 'rst-fields' | 'rst-headings' | 'builtin' | 'unknown';
  /** True when the document says the acquisition orders are "(to be written)". */
  ordersToBeWritten: boolean;
  locks: LockEntry[];
  orders: OrderEdge[];
  srcu: SrcuRule[];
  notifier: NotifierRule[];
  mustAlsoHold: MustAlsoHoldRule[];
  leaf: LeafRule | null;
  typeNotes: TypeNote[];
  /** Same-class nesting statements (2025 and later). Optional for compatibility; the parser always sets it. */
  sameClassNesting?: SameClassNestingRule[];
  /**
   * Where the "Exception" section explains the SPTE rules (fast page fault, Dirty-bit tracking,
   * TLB flush after write-protection), for the SPTE checks' citations. Absent for built-in rules.
   */
  spteSections?: import('./spteSections').SpteSection[];
  /**
   * Problems met while reading the document, one sentence each. When the document could not
   * be read as a locking document at all, the model is the built-in one and this says why.
   */
  warnings: string[];
}

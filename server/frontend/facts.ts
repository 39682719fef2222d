/**
 * Per-file facts: what the C front end extracts from one source file, independent of every other
 * file, so that it can be cached by content hash and recomputed for one file on an edit.
 *
 * Positions are 0-based (LSP convention). Everything that needs other files (struct layouts,
 * helper return types, call targets) is left symbolic here and resolved by the workspace index.
 */

export interface Pos {
  line: number;
  column: number;
}

export interface Range {
  start: Pos;
  end: Pos;
}

/**
 * A lock (or SRCU/RCU domain) expression as written, reduced to an access path:
 * `&vcpu->kvm->arch.xen.xen_lock` -> base `vcpu` (declared `struct kvm_vcpu *`), fields
 * [`kvm`, `arch`, `xen`, `xen_lock`]. Local aliases (`ka = &kvm->arch`,
 * `raw_spinlock_t *l = &per_cpu(x, cpu)`) are already substituted by the front end.
 */
export interface AccessPath {
  /** The expression as written in the source (without the leading `&`). */
  text: string;
  base: PathBase;
  fields: string[];
  /**
   * Set when a local alias was substituted (`ka->tsc_write_lock` with `ka = &kvm->arch`): the
   * alias's name, its declared struct/typedef type, and the fields written after it. `type.fields`
   * is a fallback class when `base` + `fields` cannot be resolved.
   */
  alias?: { name: string; type?: string; fields: string[] };
}

export type PathBase =
  /** A parameter or local variable; `type` is the struct/typedef name of its declared type, without `struct`, pointers, const. */
  | { kind: 'var'; name: string; type?: string }
  /** A global (file-scope or extern) variable, e.g. `kvm_lock`, `vendor_module_lock`, `wakeup_vcpus_on_cpu_lock` (from per_cpu()). */
  | { kind: 'global'; name: string; type?: string }
  /**
   * The result of a helper call such as `to_kvm_hv(kvm)`; the workspace looks up its return type.
   * `arg` is the first argument's path, if any. `type` is known only for `container_of(p, struct T, m)` (T).
   */
  | { kind: 'call'; callee: string; arg?: AccessPath; type?: string }
  /** A pseudo lock with no expression: `cpus_read_lock()` (cpu_hotplug_lock), `rcu_read_lock()` (rcu), irq/preempt state. */
  | { kind: 'pseudo'; name: string }
  /** Could not be reduced (array subscripts of unknown things, casts, ...). */
  | { kind: 'unknown' };

export type LockKind =
  | 'mutex'
  | 'spinlock'
  | 'raw_spinlock'
  | 'rwlock'
  | 'rwsem'
  | 'srcu'
  | 'rcu'
  | 'cpu_hotplug'
  | 'unknown';

/** `write` is exclusive (mutex_lock, spin_lock, write_lock, down_write); `read` is shared. */
export type LockMode = 'write' | 'read';

/** Value of a tracked local (a flag, a result variable) on a path. */
export type FlagValue = 'zero' | 'nonzero';

interface OpBase {
  range: Range;
  /** The API as called: `mutex_lock_killable`, `guard(mutex)`, `KVM_MMU_LOCK`, ... */
  api: string;
}

export interface AcquireOp extends OpBase {
  k: 'acquire';
  lock: AccessPath;
  kind: LockKind;
  mode: LockMode;
  /** `_irq`, `_irqsave` forms: IRQs are off while held. */
  irqsOff?: boolean;
  /**
   * Inside a loop that assigns the variable the lock hangs off (`kvm_for_each_vcpu(i, vcpu, kvm)`,
   * `vcpu = kvm_get_vcpu(kvm, i)`): each iteration takes a different instance.
   */
  perInstance?: true;
  /** `_nested` forms and lockdep subclass annotations: same-class nesting is intended. */
  nested?: boolean;
  /**
   * Conditional acquisitions (trylock, killable, interruptible): the result is stored in
   * `resultVar` (the user's variable, or a synthetic `$N` when used directly in a condition)
   * and the lock is held exactly when that variable has the value `heldWhen`.
   */
  resultVar?: string;
  heldWhen?: FlagValue;
  /** Acquired by guard()/scoped_guard(): the front end emits the matching release ops itself. */
  scoped?: boolean;
}

export interface ReleaseOp extends OpBase {
  k: 'release';
  lock: AccessPath;
  kind: LockKind;
  mode: LockMode;
  irqsRestore?: boolean;
  /** The implicit release at the end of a guard()'s scope. */
  scoped?: boolean;
  /** As AcquireOp.perInstance: each iteration releases a different instance. */
  perInstance?: true;
  /**
   * Emitted where a loop of perInstance releases that takes nothing ends (`kvm_for_each_vcpu(...)
   * mutex_unlock(&vcpu->mutex);`, the unwind of a lock-all loop): it released every instance of the
   * class the function took once per iteration (HeldLock.perInstance), so none of those is held
   * after it; nothing when none is.
   */
  sweep?: true;
}

/** cond_resched_rwlock_write/read, cond_resched_lock: may drop and retake a held lock. */
export interface DropRetakeOp extends OpBase {
  k: 'dropRetake';
  lock: AccessPath;
  kind: LockKind;
  mode: LockMode;
}

/** lockdep_assert_held*, kvm_lockdep_assert_*, __must_hold: the lock must be held here. */
export interface AssertOp extends OpBase {
  k: 'assert';
  lock: AccessPath;
  /** `any` for lockdep_assert_held, `write`/`read` for the _write/_read forms. */
  mode: 'any' | LockMode;
  /** lockdep_assert_not_held. */
  negated?: boolean;
  /** Asserts inside a disjunction (`lockdep_assert_once(a || b)`) are not requirements. */
  weak?: boolean;
}

export interface CallOp extends OpBase {
  k: 'call';
  /** Direct callee name, or for an indirect call the symbolic target (see `indirect`). */
  callee: string;
  /**
   * The variable the direct call's result goes to (`r = f(...)`), or a synthetic `$N` when the
   * call is itself a branch condition (`if (f(...))`): a callee that returns holding a lock only
   * for one kind of result (NetEffect.heldWhen) splits the caller's state on it.
   */
  resultVar?: string;
  /** A kernel allocator called with gfp flags that let it sleep (`GFP_KERNEL`...): those flags. */
  blockingGfp?: string;
  /**
   * Indirect calls: `kvm_x86_call(vcpu_load)(...)` -> { table: 'kvm_x86_ops', field: 'vcpu_load' };
   * `range->handler(...)` -> { struct type of `range` if known, field: 'handler' }.
   * The workspace resolves them to the functions stored in that field anywhere in the tree.
   * Calls through an array, `handlers[i](vcpu)` / `(*handlers[i])(vcpu)`, have callee
   * `handlers[]` and { table: 'handlers' (the array variable's name), field: '[]' }: they resolve
   * to the array bindings of that variable only (see FieldFunctionBinding).
   * Without a table, `obj` is the path of the struct the field is read from
   * (`vcpu->arch.mmu` in `vcpu->arch.mmu->page_fault(...)`): the workspace types it through
   * the struct layouts it knows. `param`: the call is through a function-pointer parameter,
   * whose targets are the functions callers pass, not the bindings of a field.
   */
  indirect?: {
    table?: string;
    field: string;
    text: string;
    obj?: AccessPath;
    param?: true;
    /** The parameter the field is read from (`range` in `range->handler(...)`), when it is one. */
    objParam?: string;
  };
  /** Arguments reduced to access paths where possible (null where not), for mapping callee summaries onto the caller. */
  args: (AccessPath | null)[];
  /** Set when the call is an expression statement whose result is thrown away (`f(x);`). */
  discarded?: boolean;
  /**
   * Direct calls: bit i is set when argument i is the address of a variable of the caller
   * (`get_mmio_spte(vcpu, addr, &spte)`): the callee writes through it into the caller's stack.
   */
  localAddresses?: number;
}

/** synchronize_srcu(&X), synchronize_srcu_expedited(&X), synchronize_rcu(). */
export interface SyncOp extends OpBase {
  k: 'sync';
  domain: AccessPath;
}

/** local_irq_save/disable, preempt_disable, and their inverses. */
export interface ContextOp extends OpBase {
  k: 'irqOff' | 'irqOn' | 'preemptOff' | 'preemptOn';
}

/** Assignment to a tracked flag/result variable (`locked = true;`, `r.found_memslot = false;`, `ret = foo();`). */
export interface AssignOp extends OpBase {
  k: 'assign';
  variable: string;
  /** undefined: the value is unknown after the assignment. */
  value?: FlagValue;
}

/** SPTE accesses (see the SPTE checks). */
export interface SpteOp extends OpBase {
  k: 'spte';
  /**
   * `store`: plain `*sptep = v`, WRITE_ONCE; `helper`: a call to a known SPTE helper whose contract
   * the model knows (mmu_spte_set, __update_clear_spte_fast, try_cmpxchg64, ...).
   */
  access: 'store' | 'helper';
  helper?: string;
  /** The SPTE pointer expression as written. */
  target: string;
  /** For helpers that return "flush needed": whether the result is used (assigned, tested, returned, OR-ed). */
  resultUsed?: boolean;
  /** `store`: the stored value as written (`SHADOW_NONPRESENT_VALUE`, `sptes[leaf]`); absent when unknown. */
  value?: string;
  /** `helper`: every argument as written, in order (`['iter->sptep', '&iter->old_spte', 'FROZEN_SPTE']`). */
  args?: string[];
}

export type Op =
  | AcquireOp
  | ReleaseOp
  | DropRetakeOp
  | AssertOp
  | CallOp
  | SyncOp
  | ContextOp
  | AssignOp
  | SpteOp;

/** A branch condition on an edge: the edge is taken only on paths where `variable` is zero / non-zero. */
export interface EdgeCondition {
  variable: string;
  value: FlagValue;
}

export interface Edge {
  to: number;
  cond?: EdgeCondition;
}

/** A basic block: ops in order, then successors. `return` statements end in an edge to the exit block. */
export interface Block {
  ops: Op[];
  succ: Edge[];
  /** Set on blocks that end a function through `return` (range of the return statement). */
  returnRange?: Range;
  /** What that `return` gives back when it is a constant (`return 0;`, `return -EINTR;`) ... */
  returnValue?: FlagValue;
  /** ... or a flag variable (`return r;`). */
  returnVar?: string;
}

export interface Param {
  name: string;
  /** Struct/typedef name without `struct`, `const`, pointers: `kvm`, `kvm_vcpu`, `u64`. */
  type: string;
  pointer: boolean;
}

export interface FunctionFacts {
  name: string;
  file: string;
  range: Range;
  nameRange: Range;
  params: Param[];
  /** Struct/typedef name of the return type (as for Param.type), `void`, `int`, ... */
  returnType: string;
  returnsPointer: boolean;
  isStatic: boolean;
  /** `__weak` definitions are overridden by a non-weak one of the same name. */
  isWeak: boolean;
  /** sparse annotations on the definition: `__must_hold(x)`, `__acquires(x)`, `__releases(x)`. */
  annotations: { kind: 'must_hold' | 'acquires' | 'releases'; lock: AccessPath }[];
  /** Control-flow graph; blocks[entry] starts the function, blocks[exit] has no ops and no successors. */
  blocks: Block[];
  entry: number;
  exit: number;
  /** The body contained tree-sitter ERROR nodes (facts are best effort). */
  hasErrors: boolean;
  /** Inside `#if 0`-like or config-only branches the front end could not decide; informational. */
  notes?: string[];
  /**
   * Parameters stored in a field of a local struct (`const struct kvm_hva_range range = { .handler
   * = handler }`, `range.handler = handler`): a callee given `&range` that calls `range->handler`
   * calls that parameter.
   */
  paramFields?: { variable: string; field: string; param: string }[];
}

/** A struct definition from the tree's headers or sources, for resolving field paths. */
export interface StructDef {
  name: string;
  file: string;
  fields: StructField[];
}

export interface StructField {
  name: string;
  /** Struct/typedef name of the field type (`kvm_arch`, `mutex`, `spinlock_t`, `rwlock_t`), or '' when anonymous. */
  type: string;
  pointer: boolean;
  /** Fields of an anonymous struct/union member, e.g. `struct { spinlock_t lock; ... } irqfds;`. */
  inline?: StructField[];
}

/** A global lock definition: `static DEFINE_MUTEX(kvm_usage_lock)`, `DEFINE_PER_CPU(raw_spinlock_t, x)`, `DEFINE_SPINLOCK(...)`, `spinlock_t x;` at file scope. */
export interface GlobalLockDef {
  name: string;
  kind: LockKind;
  perCpu: boolean;
  range: Range;
}

/**
 * Function pointers stored in struct fields: designated initializers such as
 * `static struct kvm_x86_ops svm_x86_ops = { .vcpu_load = svm_vcpu_load }` and
 * `const struct kvm_mmu_notifier_range range = { .handler = kvm_mmu_unmap_gfn_range }`.
 *
 * Arrays of function pointers use the pseudo field `[]`: every element of
 * `static int (*const exit_handlers[])(struct kvm_vcpu *) = { [EXIT_IO] = handle_io, handle_hlt, }`
 * (designated or positional, file scope or local) is { variable: 'exit_handlers', field: '[]',
 * func, structType: undefined }. Only initializers are recorded (not `arr[i] = fn` assignments).
 */
export interface FieldFunctionBinding {
  /** The struct type of the initialised object (`kvm_x86_ops`), if known; undefined for arrays (field `[]`). */
  structType?: string;
  /** The variable name (`svm_x86_ops`, `range`). */
  variable: string;
  field: string;
  func: string;
  range: Range;
  /**
   * The object's access path when the front end cannot see its type (`vcpu->arch.mmu` in
   * `vcpu->arch.mmu->inject_page_fault = f`): the workspace types it through the struct layouts.
   */
  obj?: AccessPath;
}

/** A suppression comment: `/* kvm-locklint: ignore CODE [CODE...] *\/` (applies to its line and the next). */
export interface Suppression {
  line: number;
  codes: string[];
}

export interface FileFacts {
  file: string;
  /** Hash of the content the facts were computed from. */
  hash: string;
  functions: FunctionFacts[];
  structs: StructDef[];
  globals: GlobalLockDef[];
  bindings: FieldFunctionBinding[];
  suppressions: Suppression[];
  /** Names called in the file's `#define` bodies (decl.ts readMacroCalls), when there are any. */
  macroCalls?: string[];
  /** Functions the file exports with `EXPORT_SYMBOL*()` (decl.ts readExports), when there are any. */
  exported?: string[];
  /**
   * Number of tree-sitter ERROR nodes in the file, counted at file scope and statement level (a
   * function whose errors all sit inside expressions, or are MISSING tokens, counts once).
   */
  errorCount: number;
  /** Set when the file was not analysed (binary, too large): one sentence why. */
  skipped?: string;
}

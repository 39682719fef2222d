/** Types shared by the dataflow, the summaries and the checks. */
import type { AccessPath, FlagValue, FunctionFacts, LockKind, LockMode, Op, Range } from '../frontend/facts';

/** One step of a witness chain: "vcpu->mutex held here" -> "calls kvm_foo" -> "kvm->lock taken here". */
export interface ChainStep {
  file: string;
  range: Range;
  function: string;
  /** `calls f`, `takes kvm.lock`, `syncs kvm.srcu`, `sleeps (msleep)`. */
  what: string;
}

/** A lock expression of one function, resolved. */
export interface LockRef {
  cls: string;
  resolved: boolean;
  /** Instance key, unique per function: `root:fields`. */
  inst: string;
  /** The base variable's name when the path starts at a variable or global. */
  root?: string;
  fields: string[];
  path: AccessPath;
  /** Kind from the declared field type, when known. */
  fieldKind?: LockKind;
}

export interface HeldLock {
  cls: string;
  resolved: boolean;
  inst: string;
  mode: LockMode;
  kind: LockKind;
  /** Where it was taken (the acquire op, or the call whose callee returns holding it). */
  file: string;
  range: Range;
  /** Set when held because a callee returns holding it. */
  via?: string;
  /** The callee only returns holding it on some paths (trylock-like). */
  conditional?: boolean;
  /** Held on some of the paths that were joined into this state (precision lost, not a real condition). */
  maybe?: boolean;
  /** A drop-retake (cond_resched_lock, a callee that drops and retakes) may have released it meanwhile. */
  mayDrop?: boolean;
  irqsOff?: boolean;
  /** Index of the parameter the path starts at, for mapping a net effect onto a caller's argument. */
  param?: number;
  fields: string[];
  /** Acquired by an op with a result variable (trylock, killable). */
  fromConditionalOp?: boolean;
  /** Taken once per loop iteration (AcquireOp.perInstance): a sweep after a release loop drops it. */
  perInstance?: true;
}

/** A lock this function released without having taken it: its caller's. */
export interface CallerLock {
  cls: string;
  resolved: boolean;
  inst: string;
  mode: LockMode;
  kind: LockKind;
  param?: number;
  fields: string[];
  /** Released with an `_irq`/`_irqrestore` form: the caller's interrupts come back on. */
  irqsRestore?: boolean;
}

/** What is true just before an op on one (group of) path(s). */
export interface OpContext {
  held: readonly HeldLock[];
  /** Classes of the caller's locks this function has released on this path (so they are not held here). */
  callerReleased: readonly string[];
  irqOff: number;
  preemptOff: number;
}

export interface FlowState extends Omit<OpContext, 'callerReleased'> {
  /** cls|inst of locks released directly on this path (not re-taken): a second release is a double release. */
  released: readonly string[];
  /** Locks released by a callee on this path (a later release of them is not reported). */
  calleeReleased: readonly string[];
  /** Locks released on this path that this function did not take. */
  fromCaller: readonly CallerLock[];
  /** cls|inst of conditional acquisitions (trylock, killable) that failed on this path. */
  failed: readonly string[];
  /**
   * Interrupts of the caller this function turned on (`local_irq_enable()` with none of its own
   * disabled, or a callee that does so) and has not turned off again on this path.
   */
  irqBelow: number;
  env: Readonly<Record<string, FlagValue>>;
  /** States were joined to stay within the bound: environment facts were forgotten. */
  joined: boolean;
}

export interface ExitState {
  state: FlowState;
  /** The `return` statement (or the function's end). */
  range: Range;
  /** What it returns on this path, when known (a constant, or a flag variable the state knows). */
  returns?: FlagValue;
}

export type FlowEventKind = 'doubleRelease' | 'releaseNotHeld' | 'releaseAfterFailed' | 'retakeNotHeld' | 'assertNotHeld';

export interface FlowEvent {
  kind: FlowEventKind;
  op: Op;
  lock: LockRef;
  /** For releaseNotHeld: whether the same op saw the lock held on another path. */
  heldOnOtherPath?: boolean;
  /** For assertNotHeld: the asserted mode. */
  mode?: 'any' | LockMode;
}

/** The result of the dataflow for one function. */
export interface FunctionFlow {
  fn: FunctionFacts;
  /** Contexts before each reached op (deduplicated, bounded). */
  contexts: Map<Op, OpContext[]>;
  /** Resolved locks of the function's lock ops. */
  locks: Map<Op, LockRef>;
  /** Resolved call targets of the function's call ops. */
  targets: Map<Op, string[]>;
  exits: ExitState[];
  events: FlowEvent[];
  /** The state bound was hit somewhere (some path facts were joined). */
  truncated: boolean;
  /**
   * Handlers passed to a callee that calls them through its parameter (targets added from the
   * callee's `paramCalls`), with the contexts in which that callee calls them
   * (`Summary.paramContexts`): per call op, handler name -> the callee's contexts. A handler runs
   * in the caller's context at the op *and* in one of these.
   */
  handlerContexts?: Map<Op, Map<string, readonly OpContext[]>>;
  /**
   * Functions handed to a kernel function that runs them in an atomic context of its own, apart
   * from ours (`smp_call_function_single(cpu, fn, ...)`, `call_rcu(head, fn)`;
   * model/kvmTypes.ts KERNEL_CALLBACK_RUNNERS): per call op, the function. Not call targets.
   */
  detachedHandlers?: Map<Op, string>;
}

/**
 * One link of a witness chain kept in a summary: the step inside this function, and where the
 * chain continues (a callee and the key to look up in its summary). Chains are expanded on
 * demand (./chains.ts), so they always show the callees' current positions.
 */
export interface Witness {
  /** Chain length from here. */
  depth: number;
  /** Absent for built-in summaries of kernel functions outside the workspace. */
  step?: ChainStep;
  next?: { fn: string; key: string };
}

export interface TakeInfo extends Witness {
  cls: string;
  resolved: boolean;
  kind: LockKind;
  mode: LockMode;
  /** Only ever taken with a trylock (cannot block, so cannot deadlock). */
  trylock?: boolean;
  /** The caller's locks (classes) that are always released by the time this is taken. */
  callerReleased?: string[];
  /** Unresolved takes rooted at a parameter: mapped through the caller's argument. */
  param?: number;
  fields: string[];
  /**
   * Resolved takes of a lock that hangs off a parameter (`&kvm->lock`, `kvm` the parameter):
   * which parameter and the fields below it, so a caller can tell a lock it holds itself.
   */
  self?: { param: number; fields: string[] };
  /** Every call on the witness path is a direct call of the function it names (no ops table, no handler). */
  direct?: boolean;
}

export interface Requirement {
  cls: string;
  resolved: boolean;
  mode: 'any' | LockMode;
  how: 'assert' | 'annotation' | 'inferred';
  file: string;
  range: Range;
  param?: number;
  fields: string[];
}

export interface NetEffect {
  effect: 'acquire' | 'release' | 'retake';
  cls: string;
  resolved: boolean;
  inst: string;
  kind: LockKind;
  mode: LockMode;
  /** Only on some paths. */
  conditional: boolean;
  /**
   * A conditional acquire that the result tells: held at every exit returning this kind of value
   * and at no exit returning the other (`vcpu_load` of old kernels: held when it returns 0).
   */
  heldWhen?: FlagValue;
  param?: number;
  fields: string[];
  /**
   * An `acquire` that disabled interrupts (`spin_lock_irqsave` in a lock helper), a `release`
   * that restores them (`spin_unlock_irqrestore` of the caller's lock in an unlock helper).
   */
  irqs?: boolean;
}

export interface Summary {
  name: string;
  /** Locks the function may take, directly or through calls, keyed by class (or `~param:fields`). */
  takes: Map<string, TakeInfo>;
  requires: Requirement[];
  effects: NetEffect[];
  /** Witness of a possible sleep, if any. */
  maySleep?: Witness;
  /** SRCU/RCU domains it may synchronize (class keys), with a witness. */
  syncs: Map<string, Witness>;
  /** Parameters (indices) the function calls as function pointers (`do_msr(vcpu, ...)`). */
  paramCalls?: number[];
  /**
   * Aligned with `paramCalls`: the contexts of the calls through that parameter
   * (`kvm_s2_mmu_iterate_by_vmid` calls its handler under mmu_lock taken for write). Absent when
   * no lock is held and interrupts and preemption are on at every such call.
   */
  paramContexts?: (readonly OpContext[])[];
  /**
   * Returns with the caller's interrupts turned on, on every path (`handle_external_intr()` in
   * 4.x-era vendor modules): after the call, interrupts are on.
   */
  enablesIrqs?: true;
  /**
   * Fields of struct parameters the function calls (`range->handler(...)`, `range` its parameter),
   * with the contexts of those calls: a caller that stores one of its own parameters in that field
   * of the struct it passes (`{ .handler = handler }`, FunctionFacts.paramFields) calls that
   * parameter there.
   */
  fieldCalls?: FieldCall[];
}

export interface FieldCall {
  param: number;
  field: string;
  contexts: readonly OpContext[];
}

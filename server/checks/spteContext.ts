/**
 * What the SPTE checks need to know about one function's CFG, computed from the front end's facts:
 *
 *  - which branch of an `if (spte_has_volatile_bits(old))`-like test an op sits on (the front end
 *    lowers a call in a condition to a block ending in that call, with edges conditioned on the
 *    call's result variable, nonzero for "true"; test/checks/spteContext.test.ts pins this down);
 *  - whether every path to an op goes through such a branch (a guard);
 *  - the plain-store exceptions of kvm-facts 4.4 / 6.20: unlinked page tables, out-parameters
 *    holding a value, SPTEs FROZEN by this thread;
 *  - the document lines the messages cite.
 */
import { spteHelper, type SpteHelperContract } from '../../model/spte/helpers';
import type { SpteSectionKey } from '../../model/rules/spteSections';
import type { CallOp, FunctionFacts, Op, SpteOp } from '../frontend/facts';
import type { CheckContext } from './check';

// ---- positions ---------------------------------------------------------------------------------

export interface OpPos {
  block: number;
  index: number;
}

/** Positions of every op of a function (cached per function object). */
const POS = new WeakMap<FunctionFacts, Map<Op, OpPos>>();

export function opPositions(fn: FunctionFacts): Map<Op, OpPos> {
  let m = POS.get(fn);
  if (m) return m;
  m = new Map();
  fn.blocks.forEach((b, block) => b.ops.forEach((op, index) => m!.set(op, { block, index })));
  POS.set(fn, m);
  return m;
}

const SPTE_OPS = new WeakMap<FunctionFacts, SpteOp[]>();

export function spteOps(fn: FunctionFacts): SpteOp[] {
  let out = SPTE_OPS.get(fn);
  if (out) return out;
  out = [];
  for (const b of fn.blocks) for (const op of b.ops) if (op.k === 'spte') out.push(op);
  SPTE_OPS.set(fn, out);
  return out;
}

// ---- predicate branches --------------------------------------------------------------------------

/** A block that ends in a call tested by a condition: where control goes when it returns true / false. */
export interface PredicateBranch {
  block: number;
  call: CallOp;
  onTrue: number;
  onFalse: number;
}

const BRANCHES = new WeakMap<FunctionFacts, PredicateBranch[]>();

export function predicateBranches(fn: FunctionFacts): PredicateBranch[] {
  let list = BRANCHES.get(fn);
  if (list) return list;
  list = [];
  fn.blocks.forEach((b, block) => {
    const last = b.ops[b.ops.length - 1];
    if (!last || last.k !== 'call' || b.succ.length !== 2) return;
    const [x, y] = b.succ;
    if (x.to === y.to) return;
    if (!x.cond && !y.cond) {
      list!.push({ block, call: last, onTrue: x.to, onFalse: y.to });
      return;
    }
    // The call is the condition itself: its result variable on both edges, "true" = nonzero.
    const r = last.resultVar;
    if (r === undefined || x.cond?.variable !== r || y.cond?.variable !== r || x.cond.value === y.cond.value) return;
    list!.push(x.cond.value === 'nonzero' ? { block, call: last, onTrue: x.to, onFalse: y.to } : { block, call: last, onTrue: y.to, onFalse: x.to });
  });
  BRANCHES.set(fn, list);
  return list;
}

/** An edge `from -> to` of the CFG. */
export type EdgeTest = (from: number, to: number) => boolean;

/**
 * True when every path from the function's entry to `pos` takes an edge for which `cut` holds
 * (the op is unreachable once those edges are removed). An op in the entry block is never guarded.
 */
export function everyPathCrosses(fn: FunctionFacts, pos: OpPos, cut: EdgeTest): boolean {
  if (pos.block === fn.entry) return false;
  const seen = new Uint8Array(fn.blocks.length);
  const stack = [fn.entry];
  seen[fn.entry] = 1;
  while (stack.length) {
    const b = stack.pop()!;
    if (b === pos.block) return false;
    for (const e of fn.blocks[b]?.succ ?? []) {
      if (e.to < 0 || e.to >= fn.blocks.length || seen[e.to] || cut(b, e.to)) continue;
      seen[e.to] = 1;
      stack.push(e.to);
    }
  }
  return true;
}

/** Edges that establish something: the chosen outcome of the named predicates. */
export function predicateEdges(fn: FunctionFacts, outcomes: ReadonlyMap<string, boolean>, argOk?: (arg: string) => boolean): EdgeTest {
  const edges = new Set<number>();
  const n = fn.blocks.length;
  for (const br of predicateBranches(fn)) {
    const want = outcomes.get(br.call.callee);
    if (want === undefined) continue;
    if (argOk && !argOk(callArgText(br.call, 0))) continue;
    edges.add(br.block * n + (want ? br.onTrue : br.onFalse));
  }
  return (from, to) => edges.has(from * n + to);
}

function callArgText(call: CallOp, i: number): string {
  return call.args[i]?.text ?? '';
}

// ---- guards ---------------------------------------------------------------------------------------

/**
 * Predicate outcomes after which the OLD value of an SPTE cannot have volatile bits: it is not
 * shadow-present (nothing outside mmu_lock touches it), it is MMIO, or the volatility test said no.
 * Names of every generation (spte_needs_atomic_update and kvm_tdp_mmu_spte_need_atomic_update are
 * 6.14+, is_removed_spte before 6.12).
 */
const NO_VOLATILE_BITS = new Map<string, boolean>([
  ['spte_has_volatile_bits', false],
  ['spte_needs_atomic_update', false],
  ['kvm_tdp_mmu_spte_need_atomic_write', false],
  ['kvm_tdp_mmu_spte_need_atomic_update', false],
  ['is_shadow_present_pte', false],
  ['is_mmio_spte', true],
]);

const NOT_PRESENT = new Map<string, boolean>([
  ['is_shadow_present_pte', false],
  ['is_mmio_spte', true],
]);

/** Outcomes that say the SPTE is a leaf (its A/D and W bits live): the evidence against "non-leaf". */
const LEAF_EVIDENCE = new Map<string, boolean>([
  ['is_last_spte', true],
  ['is_writable_pte', true],
  ['is_mmu_writable_spte', true],
  ['is_dirty_spte', true],
  ['is_accessed_spte', true],
  ['is_access_track_spte', true],
]);

/** A test of the NEW value proves nothing about the old one. */
const aboutOldValue = (arg: string): boolean => !/\bnew(_spte)?\b|^new/.test(arg);

export type Guard = SpteHelperContract['callerMustEnsure'];

/** Is the requirement `need` established on every path to `op`? */
export function guardHolds(fn: FunctionFacts, op: Op, need: NonNullable<Guard>): boolean {
  const pos = opPositions(fn).get(op);
  if (!pos) return false;
  if (need === 'non-leaf-or-mmio') {
    // Trusted by contract unless every path says "leaf" (and nothing says "not present").
    const leaf = everyPathCrosses(fn, pos, predicateEdges(fn, LEAF_EVIDENCE, aboutOldValue));
    return !leaf || everyPathCrosses(fn, pos, predicateEdges(fn, NO_VOLATILE_BITS, aboutOldValue));
  }
  const table = need === 'not-present' ? NOT_PRESENT : NO_VOLATILE_BITS;
  return everyPathCrosses(fn, pos, predicateEdges(fn, table, aboutOldValue));
}

// ---- targets that are not (reachable, volatile) SPTEs ---------------------------------------------

/** `sp->spt[i]`, `&sp->spt[i]`: an entry of a page table being built, before it is linked. */
export function isUnlinkedTableEntry(target: string): boolean {
  return /^&?\(?\s*[\w>.\-]*(->|\.)spt\s*\[/.test(target.trim());
}

const SPTE_CONSTANTS = /^(SHADOW_NONPRESENT_VALUE|FROZEN_SPTE|REMOVED_SPTE)$/;

/**
 * `*P = V` where P is a pointer parameter used only as an output: the function hands a value it
 * read back to its caller (`*spte = old_spte` in fast_pf_get_last_sptep, `*new_spte = spte` in
 * make_spte, `*sptep = sptes[leaf]` in get_mmio_spte). Decided from the function's contract as far
 * as the facts show it: P is never given to an SPTE helper in the function, and either P is named
 * like a value (`spte`, `new_spte`, not `sptep`) or what is stored is a value copied from a buffer
 * or a snapshot (an array element, `iter.old_spte`, a literal), never an SPTE constant.
 */
export function isOutParamStore(fn: FunctionFacts, op: SpteOp): boolean {
  const p = outParamShape(fn, op);
  if (p === undefined) return false;
  const v = (op.value ?? '').trim();
  if (!/sptep$/.test(fn.params[p].name)) return true;
  return /^\w+\s*\[[^\]]*\]$/.test(v) || /(\.|->)old_spte$/.test(v) || /^(0|0u?ll?|0x0+u?ll?)$/i.test(v);
}

/**
 * The index of the pointer parameter `*P = V` stores through, when the store could be an
 * out-parameter's: P is never given to an SPTE helper here and V is no SPTE constant.
 */
export function outParamShape(fn: FunctionFacts, op: SpteOp): number | undefined {
  if (op.access !== 'store') return undefined;
  const p = op.target.trim();
  if (!/^\w+$/.test(p)) return undefined;
  const index = fn.params.findIndex((x) => x.name === p);
  if (index < 0 || !fn.params[index].pointer) return undefined;
  for (const o of spteOps(fn)) if (o.access === 'helper' && stripAddr(o.target) === p) return undefined;
  if (SPTE_CONSTANTS.test((op.value ?? '').trim())) return undefined;
  return index;
}

/**
 * `*sptep = spte` in a function every caller of which passes the address of a variable of its
 * own there (`walk_shadow_page_get_mmio_spte(vcpu, addr, &spte)` in 5.4): the store fills the
 * caller's stack, not a page table. Needs at least one caller; `calls` lists the direct calls
 * of the function in the workspace.
 */
export function isCallersLocalOut(fn: FunctionFacts, op: SpteOp, calls: readonly CallOp[]): boolean {
  const p = outParamShape(fn, op);
  if (p === undefined || calls.length === 0) return false;
  return calls.every((c) => ((c.localAddresses ?? 0) & (1 << p)) !== 0);
}

function stripAddr(t: string): string {
  return t.trim().replace(/^\(\s*[\w\s*]+\)\s*/, '').replace(/^&/, '').trim();
}

/**
 * The variable a target hangs off: `iter->sptep` -> `iter`, `&iter` -> `iter`, `sptep` -> `sptep`,
 * `*rcu_dereference(iter->sptep)` (5.1x TDP MMU) -> `iter`.
 */
export function targetRoot(target: string): string {
  const m = /^[&*(\s]*(?:rcu_dereference\s*\(\s*)?(\w+)/.exec(stripAddr(target));
  return m ? m[1] : target;
}

/** Writers that install a value only if the SPTE still holds the snapshot (cmpxchg). */
function isCmpxchg(op: SpteOp): boolean {
  const c = op.helper ? spteHelper(op.helper) : undefined;
  return !!c && c.atomicity === 'cmpxchg';
}

/** The helper's new value argument is FROZEN_SPTE (REMOVED_SPTE before 6.12). */
function freezes(op: SpteOp): boolean {
  return !!op.args && op.args.slice(1).some((a) => /^(FROZEN_SPTE|REMOVED_SPTE)$/.test(a.trim()));
}

/**
 * A plain write to an SPTE that this thread froze with a cmpxchg to FROZEN_SPTE on every path
 * before: nobody else writes a frozen SPTE, so the plain store cannot lose anything
 * (tdp_mmu_zap_spte_atomic's protocol).
 */
export function isFrozenByThisThread(fn: FunctionFacts, op: SpteOp): boolean {
  const pos = opPositions(fn);
  const at = pos.get(op);
  if (!at) return false;
  const root = targetRoot(op.target);
  for (const f of spteOps(fn)) {
    if (f === op || !isCmpxchg(f) || !freezes(f) || targetRoot(f.target) !== root) continue;
    const fp = pos.get(f)!;
    if (fp.block === at.block) {
      if (fp.index < at.index) return true;
      continue;
    }
    // Every path to the write passes the freezing op's block (after the op: it ends the block or
    // is followed by its result test).
    if (everyPathCrosses(fn, at, (from) => from === fp.block)) return true;
  }
  return false;
}

// ---- definitions of the primitives ---------------------------------------------------------------

/** The body of a plain writer (`__update_clear_spte_fast`, `__set_spte`, ...): its stores ARE the contract. */
export function definesPlainPrimitive(fn: FunctionFacts): boolean {
  const c = spteHelper(fn.name);
  return !!c && c.atomicity === 'plain';
}

// ---- citations -------------------------------------------------------------------------------------

const SECTION_TITLES: Record<SpteSectionKey, string> = {
  exception: 'Exception',
  'fast-page-fault': 'Fast page fault',
  'gfn-pfn': '1) The mapping from gfn to pfn',
  'dirty-bit': '2) Dirty bit tracking',
  'tlb-flush': '3) flush tlbs due to spte updated',
  'access-tracking': 'Lockless Access Tracking',
};

/** `locking.rst:148, "2) Dirty bit tracking"`, or the Exception section when the document has no such line. */
export function citeSection(ctx: CheckContext, key: SpteSectionKey): { ref: string; text: string } {
  const sections = ctx.rules.spteSections ?? [];
  const s = sections.find((x) => x.key === key) ?? sections.find((x) => x.key === 'exception');
  if (s && ctx.rules.origin === 'document') {
    const ref = ctx.ruleRef(s.line);
    return { ref, text: `${ref}, "${s.title.replace(/\s*:\s*$/, '')}"` };
  }
  return { ref: 'locking.rst, Exception section', text: `locking.rst, Exception section: "${SECTION_TITLES[key]}"` };
}

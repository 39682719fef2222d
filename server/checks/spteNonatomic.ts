/**
 * spte-nonatomic: a plain write (store, WRITE_ONCE, __update_clear_spte_fast, __set_spte,
 * __kvm_tdp_mmu_write_spte, mmu_spte_clear_no_track on a leaf) to an SPTE whose old value may hold
 * volatile bits: fast page fault may set W and the CPU may set Accessed/Dirty without mmu_lock, so
 * the store can lose them (locking.rst, "Dirty bit tracking"). Safe when every path to the write
 * tests the old value first (spte_has_volatile_bits / kvm_tdp_mmu_spte_need_atomic_write false,
 * or not shadow-present), and for the stores of kvm-facts 4.4 (unlinked tables, out-parameters,
 * FROZEN SPTEs); an out-parameter is also one whose every caller passes a variable's address. Writes in lockless / shared-mode code are left to spte-lockless-write.
 * The bodies of the plain primitives themselves are definitions, not uses.
 */
import type { FunctionFlow } from '../analysis/types';
import type { SpteHelperContract } from '../../model/spte/helpers';
import type { Op, SpteOp } from '../frontend/facts';
import type { Check, CheckContext } from './check';
import type { Finding, RelatedLocation } from './finding';
import { ruleMeta } from './registry';
import {
  citeSection,
  definesPlainPrimitive,
  guardHolds,
  isCallersLocalOut,
  isFrozenByThisThread,
  isOutParamStore,
  isUnlinkedTableEntry,
  spteOps,
} from './spteContext';
import { sharedContexts, type SharedContexts } from './spteShared';
import { StoreHelperJudge } from './spteStoreHelper';
import { spteWorkspace } from './spteWorkspace';
import { contractOf, describeWrite, writeKind } from './spteWrites';

function writeHeld(flow: FunctionFlow, op: Op): boolean {
  const ctxs = flow.contexts.get(op);
  return !!ctxs && ctxs.length > 0 && ctxs.every((c) => c.held.some((h) => h.mode === 'write' && /(^|\.)mmu_lock$/.test(h.cls)));
}

interface Candidate {
  op: SpteOp;
  c: SpteHelperContract;
  need: NonNullable<SpteHelperContract['callerMustEnsure']>;
  writeLocked: boolean;
}

/** The plain writes of a flow that are reported unless they are in shared context (kept per flow). */
const CANDIDATES = new WeakMap<FunctionFlow, Candidate[]>();

function candidates(flow: FunctionFlow): Candidate[] {
  let out = CANDIDATES.get(flow);
  if (out) return out;
  out = [];
  const fn = flow.fn;
  if (!definesPlainPrimitive(fn)) {
    for (const op of spteOps(fn)) {
      if (writeKind(op) !== 'plain') continue;
      const c = contractOf(op);
      const need = c?.callerMustEnsure;
      if (!c || !need || c.selfChecked) continue;
      if (isUnlinkedTableEntry(op.target) || isOutParamStore(fn, op) || isFrozenByThisThread(fn, op)) continue;
      if (guardHolds(fn, op, need)) continue;
      out.push({ op, c, need, writeLocked: writeHeld(flow, op) });
    }
  }
  CANDIDATES.set(flow, out);
  return out;
}

export const spteNonatomicCheck: Check = {
  codes: ['spte-nonatomic'],
  run(ctx: CheckContext): Finding[] {
    const out: Finding[] = [];
    const severity = ruleMeta('spte-nonatomic').defaultSeverity;
    const ws = spteWorkspace(ctx);
    let shared: SharedContexts | undefined;
    const cite = citeSection(ctx, 'dirty-bit');
    const sharedNow = (): SharedContexts => (shared ??= sharedContexts(ctx));
    const helpers = new StoreHelperJudge(ctx, ws, sharedNow);
    for (const flow of ws.spteFlows) {
      const fn = flow.fn;
      for (const { op, c, need, writeLocked } of candidates(flow)) {
        if (sharedNow().reasonAt(fn, op)) continue;
        // Read from the callers on every analysis: the candidates are kept per flow.
        if (isCallersLocalOut(fn, op, ws.directCallsOf(fn.name))) continue;
        const what = describeWrite(op);
        const store = { file: fn.file, range: op.range, message: `plain store: ${what}` };
        const calls = helpers.uncoveredCalls(fn, op, need, store);
        if (!calls) {
          out.push(finding(fn, op.range, what, c, need, writeLocked, []));
          continue;
        }
        for (const u of calls) {
          const via = `${u.call.callee}() (${what} inside)`;
          const related = u.uncoveredAbove ? [...u.chain, u.uncoveredAbove] : u.chain;
          out.push(finding(u.flow.fn, u.call.range, via, c, need, writeHeld(u.flow, u.call), related));
        }
      }
    }
    return out;

    function finding(
      fn: FunctionFlow['fn'],
      range: Op['range'],
      what: string,
      c: SpteHelperContract,
      need: Candidate['need'],
      writeLocked: boolean,
      related: RelatedLocation[],
    ): Finding {
      const lock = writeLocked ? ' Holding mmu_lock for write does not help: neither fast page fault nor the CPU takes it.' : '';
      let message: string;
      if (need === 'non-leaf-or-mmio') {
        message =
          `${what} on a leaf SPTE: ${c.safeWhen} A leaf SPTE can have W set by fast page fault or Dirty set by the CPU, and this plain clear loses them; ` +
          `use mmu_spte_clear_track_bits() (drop_spte()) for leaf SPTEs.${lock} (${cite.text})`;
      } else {
        const test = need === 'not-present' ? 'is_shadow_present_pte()' : 'spte_has_volatile_bits() (or is_shadow_present_pte())';
        const instead = need === 'not-present' ? 'mmu_spte_set()/mmu_spte_update()' : 'mmu_spte_update()/mmu_spte_clear_track_bits(), or kvm_tdp_mmu_write_spte() in the TDP MMU,';
        message =
          `${what} is a plain store to an SPTE that may hold volatile bits: fast page fault can set W and the CPU can set Accessed/Dirty concurrently, ` +
          `so bits set since the old value was read are lost. No ${test} test guards it on every path; use ${instead} or test the old value first.${lock} (${cite.text})`;
      }
      return { code: 'spte-nonatomic', severity, file: fn.file, range, message, related, ruleRef: cite.ref, functionName: fn.name };
    }
  },
};

/**
 * spte-lockless-write: an SPTE written without cmpxchg/xchg where other threads write SPTEs at the
 * same time: inside a lockless walk (fast page fault), under mmu_lock held for read (TDP MMU
 * shared mode), on the `shared` paths of the TDP MMU, or in functions called from there. Plain
 * stores AND the helpers that are only safe under the write lock (mmu_spte_update,
 * kvm_tdp_mmu_write_spte, ...) are reported; entries of an unlinked page table, out-parameters
 * holding a value and SPTEs this thread froze are not.
 */
import type { Check, CheckContext } from './check';
import type { Finding } from './finding';
import { ruleMeta } from './registry';
import { citeSection, definesPlainPrimitive, isFrozenByThisThread, isOutParamStore, isUnlinkedTableEntry, spteOps } from './spteContext';
import type { FunctionFacts, SpteOp } from '../frontend/facts';
import { sharedContexts, type SharedContexts } from './spteShared';
import { spteWorkspace } from './spteWorkspace';
import { contractOf, describeWrite, writeKind, type WriteKind } from './spteWrites';

const lowerFirst = (t: string): string => t.charAt(0).toLowerCase() + t.slice(1);

/** The non-atomic writes of a function that are reported when they are in shared context (kept per function). */
const CANDIDATES = new WeakMap<FunctionFacts, { op: SpteOp; kind: WriteKind }[]>();

function candidates(fn: FunctionFacts): { op: SpteOp; kind: WriteKind }[] {
  let out = CANDIDATES.get(fn);
  if (out) return out;
  out = [];
  if (!definesPlainPrimitive(fn)) {
    for (const op of spteOps(fn)) {
      const kind = writeKind(op);
      if (kind === 'atomic' || kind === 'read') continue;
      if (isUnlinkedTableEntry(op.target) || isOutParamStore(fn, op) || isFrozenByThisThread(fn, op)) continue;
      out.push({ op, kind });
    }
  }
  CANDIDATES.set(fn, out);
  return out;
}

export const spteLocklessWriteCheck: Check = {
  codes: ['spte-lockless-write'],
  run(ctx: CheckContext): Finding[] {
    const out: Finding[] = [];
    const severity = ruleMeta('spte-lockless-write').defaultSeverity;
    const ws = spteWorkspace(ctx);
    let shared: SharedContexts | undefined;
    for (const flow of ws.spteFlows) {
      const fn = flow.fn;
      for (const { op, kind } of candidates(fn)) {
        const why = (shared ??= sharedContexts(ctx)).reasonAt(fn, op);
        if (!why) continue;
        const cite = citeSection(ctx, why.kind === 'lockless-walk' ? 'fast-page-fault' : 'dirty-bit');
        const c = contractOf(op);
        const what =
          kind === 'plain'
            ? `${describeWrite(op)} writes the SPTE non-atomically`
            : `${describeWrite(op)} is only safe under mmu_lock held for write (${c ? lowerFirst(c.safeWhen.replace(/\.$/, '')) : 'it does not use cmpxchg'})`;
        out.push({
          code: 'spte-lockless-write',
          severity,
          file: fn.file,
          range: op.range,
          message:
            `${what} ${why.what}: fast page fault, other vCPUs and the CPU (Accessed/Dirty) can change the SPTE between the read and this write, ` +
            `and the write would undo their change; only cmpxchg (try_cmpxchg64, fast_pf_fix_direct_spte, tdp_mmu_set_spte_atomic) or xchg may write a reachable SPTE here (${cite.text})`,
          related: why.related,
          ruleRef: cite.ref,
          functionName: fn.name,
        });
      }
    }
    return out;
  },
};

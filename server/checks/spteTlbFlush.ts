/**
 * spte-tlb-flush: the "TLB flush needed" result of an SPTE update is thrown away. The helpers
 * whose contract says they return it (mmu_spte_update, spte_wrprot_for_clear_dirty) and the
 * workspace's own wrappers that return it (`return mmu_spte_update(...)` in spte_write_protect,
 * found to a fixpoint) are reported where they are called as a statement. After a writable ->
 * read-only change another CPU may keep writing through a stale TLB entry (locking.rst, "flush
 * tlbs due to spte updated").
 */
import type { Check, CheckContext } from './check';
import type { Finding } from './finding';
import { ruleMeta } from './registry';
import { citeSection } from './spteContext';
import { droppedResults } from './spteScan';
import { sharedContexts, type SharedContexts } from './spteShared';
import { spteWorkspace } from './spteWorkspace';
import { writeKind } from './spteWrites';

export const spteTlbFlushCheck: Check = {
  codes: ['spte-tlb-flush'],
  run(ctx: CheckContext): Finding[] {
    const out: Finding[] = [];
    const severity = ruleMeta('spte-tlb-flush').defaultSeverity;
    const cite = citeSection(ctx, 'tlb-flush');
    const ws = spteWorkspace(ctx);
    let shared: SharedContexts | undefined;
    const tail =
      `: it says the old SPTE was writable (or had Accessed/Dirty set) and the new one is not, so other CPUs may still write through a stale TLB entry until TLBs are flushed; ` +
      `OR it into a flush flag and flush (kvm_flush_remote_tlbs*) before dropping mmu_lock (${cite.text})`;
    // Dropped helper results are SPTE ops: only functions with some can have one.
    for (const flow of ws.spteFlows) {
      const fn = flow.fn;
      for (const op of droppedResults(fn).droppedHelpers) {
        // A non-atomic update on a lockless path is reported as spte-lockless-write only.
        if (writeKind(op) !== 'atomic' && (shared ??= sharedContexts(ctx)).reasonAt(fn, op)) continue;
        out.push({
          code: 'spte-tlb-flush',
          severity,
          file: fn.file,
          range: op.range,
          message: `the result of ${op.helper}() is dropped${tail}`,
          related: [],
          ruleRef: cite.ref,
          functionName: fn.name,
        });
      }
    }
    for (const flow of ws.wrapperCallers) {
      const fn = flow.fn;
      for (const op of droppedResults(fn).discardedCalls) {
        const w = ws.wrappers.get(op.callee);
        if (!w) continue;
        out.push({
          code: 'spte-tlb-flush',
          severity,
          file: fn.file,
          range: op.range,
          message: `the result of ${op.callee}() is dropped; it returns ${w.helper}()'s "TLB flush needed" result${tail}`,
          related: w.related,
          ruleRef: cite.ref,
          functionName: fn.name,
        });
      }
    }
    return out;
  },
};

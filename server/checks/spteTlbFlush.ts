/**
 * spte-tlb-flush: the "TLB flush needed" result of an SPTE update is thrown away. The helpers
 * whose contract says they return it (mmu_spte_update, spte_wrprot_for_clear_dirty) and the
 * workspace's own wrappers that return it (`return mmu_spte_update(...)` in spte_write_protect,
 * found to a fixpoint) are reported where they are called as a statement. After a writable ->
 * read-only change another CPU may keep writing through a stale TLB entry (locking.rst, "flush
 * tlbs due to spte updated").
 */
import { SPTE_HELPERS, spteHelper } from '../../model/spte/helpers';
import type { CallOp, FunctionFacts, Range, SpteOp } from '../frontend/facts';
import type { Check, CheckContext } from './check';
import type { Finding, RelatedLocation } from './finding';
import { ruleMeta } from './registry';
import { citeSection } from './spteContext';
import { sharedContexts } from './spteShared';
import { writeKind } from './spteWrites';

interface FlushSource {
  /** The contract helper the result comes from in the end. */
  helper: string;
  /** Where each wrapper returns it, innermost last. */
  related: RelatedLocation[];
}

function within(r: Range, outer: Range): boolean {
  const le = (a: Range['start'], b: Range['start']) => a.line < b.line || (a.line === b.line && a.column <= b.column);
  return le(outer.start, r.start) && le(r.end, outer.end);
}

const FLUSH_HELPERS = new Set(SPTE_HELPERS.filter((h) => h.returnsFlushNeeded).map((h) => h.name));
const BOOLISH = /^(bool|_Bool|int|u8|u32|unsigned)$/;

/** What the check looks at in one function, computed once per FunctionFacts (facts are cached by content). */
interface FnInfo {
  /** Flush helpers and direct calls inside `return` statements (a bool-returning function only). */
  returned: (SpteOp | CallOp)[];
  /** Flush helpers whose result is dropped. */
  droppedHelpers: SpteOp[];
  /** Direct calls of non-helpers whose result is dropped. */
  discardedCalls: CallOp[];
}

const INFO = new WeakMap<FunctionFacts, FnInfo>();

function infoOf(fn: FunctionFacts): FnInfo {
  let info = INFO.get(fn);
  if (info) return info;
  info = { returned: [], droppedHelpers: [], discardedCalls: [] };
  const boolish = BOOLISH.test(fn.returnType) && !fn.returnsPointer && !spteHelper(fn.name);
  for (const b of fn.blocks) {
    for (const op of b.ops) {
      if (op.k === 'spte') {
        if (op.access !== 'helper' || !op.helper || !FLUSH_HELPERS.has(op.helper)) continue;
        if (op.resultUsed === false) info.droppedHelpers.push(op);
        else if (boolish && b.returnRange && within(op.range, b.returnRange)) info.returned.push(op);
      } else if (op.k === 'call' && !op.indirect) {
        if (op.discarded) {
          if (!spteHelper(op.callee)) info.discardedCalls.push(op);
        } else if (boolish && b.returnRange && within(op.range, b.returnRange)) {
          info.returned.push(op);
        }
      }
    }
  }
  INFO.set(fn, info);
  return info;
}

/** Wrappers that return a flush-needed result, by name (to a fixpoint over the call graph). */
function flushWrappers(ctx: CheckContext): Map<string, FlushSource> {
  const out = new Map<string, FlushSource>();
  const candidates: { fn: FunctionFacts; ops: (SpteOp | CallOp)[] }[] = [];
  for (const fn of ctx.index.functions.values()) {
    const ops = infoOf(fn).returned;
    if (ops.length) candidates.push({ fn, ops });
  }
  for (let changed = true, rounds = 0; changed && rounds < 8; rounds++) {
    changed = false;
    for (const { fn, ops } of candidates) {
      if (out.has(fn.name)) continue;
      for (const op of ops) {
        let src: FlushSource | undefined;
        if (op.k === 'spte') src = { helper: op.helper!, related: [] };
        else {
          const inner = out.get(op.callee);
          if (inner) src = { helper: inner.helper, related: inner.related };
        }
        if (!src) continue;
        const name = op.k === 'spte' ? op.helper! : op.callee;
        out.set(fn.name, {
          helper: src.helper,
          related: [{ file: fn.file, range: op.range, message: `${fn.name}() returns ${name}()'s "flush needed" result here` }, ...src.related],
        });
        changed = true;
        break;
      }
    }
  }
  return out;
}

export const spteTlbFlushCheck: Check = {
  codes: ['spte-tlb-flush'],
  run(ctx: CheckContext): Finding[] {
    const out: Finding[] = [];
    const severity = ruleMeta('spte-tlb-flush').defaultSeverity;
    const cite = citeSection(ctx, 'tlb-flush');
    const wrappers = flushWrappers(ctx);
    const tail =
      `: it says the old SPTE was writable (or had Accessed/Dirty set) and the new one is not, so other CPUs may still write through a stale TLB entry until TLBs are flushed; ` +
      `OR it into a flush flag and flush (kvm_flush_remote_tlbs*) before dropping mmu_lock (${cite.text})`;
    for (const flow of ctx.flows) {
      const fn = flow.fn;
      const info = infoOf(fn);
      for (const op of info.droppedHelpers) {
        // A non-atomic update on a lockless path is reported as spte-lockless-write only.
        if (writeKind(op) !== 'atomic' && sharedContexts(ctx).reasonAt(fn, op)) continue;
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
      for (const op of info.discardedCalls) {
        const w = wrappers.get(op.callee);
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

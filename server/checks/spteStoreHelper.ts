/**
 * A helper that makes a plain store through its SPTE pointer parameter and tests nothing itself
 * (`__kvm_tdp_mmu_write_spte` of 6.14+ under another name, a patch's own wrapper): whether the old
 * value may hold volatile bits is known where it is called. When some callers test (or pass a local's
 * address), the helper's contract is "the caller tests", and the calls no test covers are reported;
 * a caller that passes its own parameter on is judged by its callers in turn. The store itself is
 * reported when no caller tests, or when the helper may have callers the workspace does not see
 * (stored in a struct field, exported, called from a macro, or no caller at all).
 */
import type { FunctionFlow } from '../analysis/types';
import type { CallOp, FunctionFacts, SpteOp } from '../frontend/facts';
import type { CheckContext } from './check';
import type { RelatedLocation } from './finding';
import { boundFunctions, calledFromOutside } from './lockSupport';
import { guardHolds, isUnlinkedTableEntry, targetRoot, type Guard } from './spteContext';
import type { SharedContexts } from './spteShared';
import { MAX_DEPTH, type SpteWorkspace } from './spteWorkspace';

export interface UncoveredCall {
  flow: FunctionFlow;
  call: CallOp;
  /** From the call down to the store: the helpers' calls, then the store. */
  chain: RelatedLocation[];
  /** A caller above that passes the SPTE on without a test, when the walk went up. */
  uncoveredAbove?: RelatedLocation;
}


/**
 * Is the store through the parameter itself (`*sptep`, `*rcu_dereference(sptep)`), not through a
 * field of what it points to (`iter->sptep`)? Only then does a caller's `&local` make it a store
 * into the caller's stack.
 */
function throughItself(target: string, param: string): boolean {
  const t = target.replace(/\s+/g, '').replace(/^[*&(]+/, '').replace(/\)+$/, '');
  return t === param || t === `rcu_dereference(${param}`;
}

/** The index of the parameter an expression (a store target, an argument) hangs off, or -1. */
function paramOf(fn: FunctionFacts, text: string): number {
  const root = targetRoot(text);
  return fn.params.findIndex((p) => p.name === root);
}

export class StoreHelperJudge {
  private hasUnseenCallers = new Map<string, boolean>();

  constructor(
    private readonly ctx: CheckContext,
    private readonly ws: SpteWorkspace,
    private readonly shared: () => SharedContexts,
  ) {}

  /**
   * The calls that reach the plain store `op` of `fn` with no test of the old value on the way,
   * or undefined when the store is to be judged where it is (not through a parameter, or the
   * helper may be called from where the workspace cannot see).
   */
  uncoveredCalls(fn: FunctionFacts, op: SpteOp, need: NonNullable<Guard>, store: RelatedLocation): UncoveredCall[] | undefined {
    const p = paramOf(fn, op.target);
    if (p < 0 || !fn.params[p].pointer || this.unseenCallers(fn)) return undefined;
    const out: UncoveredCall[] = [];
    const sites = this.ws.directCallSitesOf(fn.name);
    const direct = throughItself(op.target, fn.params[p].name);
    for (const site of sites) {
      const r = this.judge(site.flow, site.call, p, direct, need, 1);
      if (r === 'covered') continue;
      out.push({ ...site, chain: [store], uncoveredAbove: r === 'uncovered' ? undefined : r });
    }
    // No caller tests: the helper is where the test is missing (one finding, not one per caller).
    return out.length === sites.length ? undefined : out;
  }

  /**
   * A call passing the SPTE as argument `p`: covered by a test here, or by every caller above when
   * the SPTE is the caller's own parameter; else 'uncovered', or the first uncovered call above.
   */
  private judge(
    flow: FunctionFlow,
    call: CallOp,
    p: number,
    direct: boolean,
    need: NonNullable<Guard>,
    depth: number,
  ): 'covered' | 'uncovered' | RelatedLocation {
    const fn = flow.fn;
    const arg = call.args[p]?.text ?? '';
    const localAddress = direct && ((call.localAddresses ?? 0) & (1 << p)) !== 0;
    if (localAddress || isUnlinkedTableEntry(arg) || guardHolds(fn, call, need) || this.shared().reasonAt(fn, call)) return 'covered';
    const q = paramOf(fn, arg);
    if (q < 0 || depth >= MAX_DEPTH || this.unseenCallers(fn)) return 'uncovered';
    const stillDirect = direct && arg.trim() === fn.params[q].name;
    for (const site of this.ws.directCallSitesOf(fn.name)) {
      if (site.flow.fn === fn) continue;
      const r = this.judge(site.flow, site.call, q, stillDirect, need, depth + 1);
      if (r === 'covered') continue;
      return r === 'uncovered' ? { file: site.flow.fn.file, range: site.call.range, message: `${site.flow.fn.name} calls ${fn.name} without a test` } : r;
    }
    return 'covered';
  }

  private unseenCallers(fn: FunctionFacts): boolean {
    let v = this.hasUnseenCallers.get(fn.name);
    if (v === undefined) {
      v = calledFromOutside(fn, this.ctx.index) || boundFunctions(this.ctx).has(fn.name) || this.ws.directCallSitesOf(fn.name).length === 0;
      this.hasUnseenCallers.set(fn.name, v);
    }
    return v;
  }
}

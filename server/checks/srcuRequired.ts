/**
 * srcu-required: memslots and I/O buses are protected by kvm->srcu; reading them (kvm_memslots,
 * gfn_to_memslot, gfn_to_hva*, kvm_read/write_guest*, kvm_io_bus_read/write, kvm_get_bus, ...)
 * needs the kvm->srcu read lock, or kvm->slots_lock, which excludes memslot updates.
 *
 * A function that makes such an access without either presumably expects its caller to hold
 * one, so the requirement moves up the call graph (like lock-requires); a finding is made only
 * in an entry point: a function with no caller in the workspace that is either non-static or
 * stored in an ops table (an ioctl handler, a callback), and whose callers are not outside the
 * workspace. A static function nobody calls and no initializer stores is reached through a
 * pointer we cannot follow, so its context is unknown and it is left alone. A function that
 * states the requirement itself (`lockdep_assert_once(srcu_read_lock_held(..) || ..)`) passes it
 * on and is never blamed.
 */
import type { FunctionFlow, OpContext } from '../analysis/types';
import type { FunctionFacts } from '../frontend/facts';
import { chainToRelated, rangeKey, type Check, type CheckContext } from './check';
import type { Finding } from './finding';
import { derivedCache, DerivedCache, idOf } from './derived';
import { calleeList, linkSig, calledFromOutside, calleeNames, chosenFlows, chosenOrCallersChanged, classOfName, hasCallers, link, chainOf, MAX_CHAIN, notCompiledHere, step, type Link } from './lockSupport';
import { callSites, UNCONDITIONAL } from './callSites';
import { ruleMeta } from './registry';
import { callStepText } from '../analysis/chains';

/**
 * Accessors of kvm->memslots / kvm->buses that need the read lock (or slots_lock) on entry.
 * Not those handed a `struct kvm_memslots *` (`__gfn_to_memslot(slots, gfn)`, `id_to_memslot`):
 * the access is where `slots` was read (kvm_memslots() here, or powerpc's real-mode
 * kvm_memslots_raw(), which needs no lock).
 */
export const SRCU_ACCESSORS: ReadonlySet<string> = new Set([
  'kvm_memslots',
  '__kvm_memslots',
  'kvm_vcpu_memslots',
  'kvm_get_bus',
  'gfn_to_memslot',
  'kvm_vcpu_gfn_to_memslot',
  'kvm_for_each_memslot',
  'kvm_for_each_memslot_in_gfn_range',
  'kvm_is_visible_gfn',
  'kvm_vcpu_is_visible_gfn',
  'kvm_host_page_size',
  'gfn_to_hva',
  'gfn_to_hva_prot',
  'kvm_vcpu_gfn_to_hva',
  'kvm_vcpu_gfn_to_hva_prot',
  'gfn_to_pfn',
  'gfn_to_pfn_prot',
  'kvm_vcpu_gfn_to_pfn',
  'gfn_to_page',
  'kvm_vcpu_map',
  'kvm_read_guest',
  'kvm_read_guest_page',
  'kvm_read_guest_atomic',
  'kvm_read_guest_cached',
  'kvm_read_guest_offset_cached',
  'kvm_write_guest',
  'kvm_write_guest_page',
  'kvm_write_guest_cached',
  'kvm_write_guest_offset_cached',
  'kvm_gfn_to_hva_cache_init',
  'kvm_clear_guest',
  'kvm_vcpu_read_guest',
  'kvm_vcpu_read_guest_page',
  'kvm_vcpu_read_guest_atomic',
  'kvm_vcpu_write_guest',
  'kvm_vcpu_write_guest_page',
  'mark_page_dirty',
  'kvm_vcpu_mark_page_dirty',
  'kvm_io_bus_read',
  'kvm_io_bus_write',
  'kvm_io_bus_write_cookie',
]);

const NONE: readonly string[] = [];

interface Need {
  /** The accessor finally called. */
  accessor: string;
  chain: Link;
}

function needSig(n: Need | null): string {
  return n ? `${n.accessor}|${linkSig(n.chain)}` : '';
}

class SrcuNeeds {
  /** What each function needs (kept across analyses). */
  private cache: DerivedCache<Need | null>;

  constructor(
    private readonly ctx: CheckContext,
    private readonly protectors: ReadonlySet<string>,
    private readonly srcu: string,
  ) {
    this.cache = derivedCache<Need | null>(
      ctx,
      'srcu-required',
      `${idOf(ctx.rules)}:${idOf(ctx.names)}:${idOf(ctx.resolver)}:${[...protectors].join(',')}`,
      () => new DerivedCache<Need | null>(null, needSig, (c, name) => (SRCU_ACCESSORS.has(name) ? undefined : chosenFlows(c).get(name))),
      (flow) => this.derive(flow),
    );
  }

  /** Names whose values changed version in this analysis (DerivedCache.changes). */
  changes(): { generation: number; names: ReadonlySet<string> | null } {
    return this.cache.changes();
  }

  /** Versions of the needs of every callee of `flow`. */
  calleeVersions(flow: FunctionFlow): number[] {
    return this.cache.versions(calleeList(flow));
  }

  protectedIn(c: OpContext): boolean {
    return c.held.some((h) => this.protectors.has(h.cls));
  }

  /** Does the function state the requirement itself (an assert on kvm->srcu or slots_lock, even a weak one)? */
  declares(flow: FunctionFlow): boolean {
    for (const op of flow.contexts.keys()) {
      if (op.k !== 'assert' || op.negated) continue;
      const ref = flow.locks.get(op);
      if (ref && this.protectors.has(ref.cls)) return true;
    }
    return false;
  }

  /** Unprotected accesses at a call op: the accessor itself, or a callee that needs the lock. */
  accessesAt(flow: FunctionFlow, op: FunctionFlow['fn']['blocks'][number]['ops'][number]): Need[] {
    if (op.k !== 'call') return [];
    const out: Need[] = [];
    for (const name of calleeNames(flow, op)) {
      if (name === flow.fn.name) continue;
      const head = step(flow.fn, op.range, callStepText(op, name));
      if (SRCU_ACCESSORS.has(name)) {
        out.push({ accessor: name, chain: link(head) });
        continue;
      }
      // A file operation reports its own accesses; a wrapper calling it does not inherit them.
      if (vfsEntryPoints(this.ctx).has(name)) continue;
      const sub = this.need(name);
      if (sub && sub.chain.length < MAX_CHAIN) out.push({ accessor: sub.accessor, chain: link(head, sub.chain) });
    }
    return out;
  }

  need(name: string): Need | null {
    return this.cache.get(name);
  }

  private derive(flow: FunctionFlow): Need | null {
    const name = flow.fn.name;
    let best: Need | null = null;
    let sites: Map<FunctionFlow['fn']['blocks'][number]['ops'][number], number> | undefined;
    for (const [op, contexts] of flow.contexts) {
      if (op.k !== 'call' || !contexts.some((c) => !this.protectedIn(c))) continue;
      // Only accesses made on every path (in blocks no parameter guards) are passed on: what a
      // callee does under a condition (a feature flag, an argument) is not a contract its callers must meet.
      if (((sites ??= callSites(flow.fn)).get(op) ?? 0) !== UNCONDITIONAL) continue;
      for (const n of this.accessesAt(flow, op)) if (!best || n.chain.length < best.chain.length) best = n;
    }
    if (!best) {
      // A stated contract (an assert that the kvm->srcu read lock is held) without an access of its own.
      for (const op of flow.contexts.keys()) {
        const ref = op.k === 'assert' && !op.negated && !op.weak ? flow.locks.get(op) : undefined;
        if (ref && ref.cls === this.srcu) {
          best = { accessor: name, chain: link(step(flow.fn, op.range, `${op.api}(${this.ctx.display(ref.cls)})`)) };
          break;
        }
      }
    }
    return best;
  }
}

/**
 * File operations are called by the VFS, never inside a kvm->srcu read-side section: they are
 * entry points even when a wrapper in the workspace also calls them (kvm_vm_compat_ioctl calls
 * kvm_vm_ioctl in its default case, which must not hide kvm_vm_ioctl's own accesses).
 */
const VFS_ENTRY_FIELDS = ['unlocked_ioctl', 'compat_ioctl', 'mmap', 'release', 'open', 'read', 'write', 'poll', 'llseek'];

/*
 * Both sets below depend on the index's bindings only, which the index builds anew whenever they
 * change and otherwise hands on as the same object: they are kept per bindings object, so an
 * edit that changes no binding rebuilds neither.
 */
type Bindings = CheckContext['index']['bindings'];

const vfsCache = new WeakMap<Bindings, Set<string>>();
function vfsEntryPoints(ctx: CheckContext): Set<string> {
  const bindings = ctx.index.bindings;
  let s = vfsCache.get(bindings);
  if (!s) {
    s = new Set<string>();
    for (const field of VFS_ENTRY_FIELDS) for (const f of bindings.get(field)?.get('file_operations') ?? []) s.add(f);
    vfsCache.set(bindings, s);
  }
  return s;
}

/** Functions stored in a struct field somewhere (lockSupport's boundFunctions, kept per bindings object). */
const boundCache = new WeakMap<Bindings, Set<string>>();
function boundFunctions(ctx: CheckContext): Set<string> {
  const bindings = ctx.index.bindings;
  let s = boundCache.get(bindings);
  if (!s) {
    s = new Set<string>();
    for (const byType of bindings.values()) for (const set of byType.values()) for (const f of set) s.add(f);
    boundCache.set(bindings, s);
  }
  return s;
}

function isEntryPoint(ctx: CheckContext, fn: FunctionFacts): boolean {
  if (vfsEntryPoints(ctx).has(fn.name)) return true;
  if (hasCallers(ctx, fn.name) || calledFromOutside(fn, ctx.index) || notCompiledHere(ctx, fn)) return false;
  return !fn.isStatic || boundFunctions(ctx).has(fn.name);
}

interface Setup {
  srcu: string;
  slots: string | null;
  solver: SrcuNeeds;
}
const setups = new WeakMap<CheckContext, Setup | null>();
function setupOf(ctx: CheckContext): Setup | null {
  let s = setups.get(ctx);
  if (s !== undefined) return s;
  const srcu = classOfName(ctx, 'kvm->srcu');
  const slots = classOfName(ctx, 'kvm->slots_lock');
  s = srcu ? { srcu, slots, solver: new SrcuNeeds(ctx, new Set([srcu, ...(slots ? [slots] : [])]), srcu) } : null;
  setups.set(ctx, s);
  return s;
}

/** Is this flow one that is judged: the chosen definition of an entry point. */
function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/**
 * Names whose `judged` may differ from the previous analysis (null: any may): those whose flow
 * or callers changed, while the sets of entry points from ops tables stayed the same.
 */
function judgedChanges(ctx: CheckContext): ReadonlySet<string> | null {
  const cur = { bound: boundFunctions(ctx), vfs: vfsEntryPoints(ctx) };
  const prev = ctx.store?.get('srcuRequired:entryPoints') as typeof cur | undefined;
  ctx.store?.set('srcuRequired:entryPoints', cur);
  if (!prev) return null;
  return (prev.bound === cur.bound || sameSet(prev.bound, cur.bound)) && (prev.vfs === cur.vfs || sameSet(prev.vfs, cur.vfs)) ? chosenOrCallersChanged(ctx) : null;
}

function judged(ctx: CheckContext, flow: FunctionFlow): boolean {
  const fn = flow.fn;
  return chosenFlows(ctx).get(fn.name) === flow && !SRCU_ACCESSORS.has(fn.name) && isEntryPoint(ctx, fn);
}

export const srcuRequiredCheck: Check = {
  codes: ['srcu-required'],
  run(): Finding[] {
    return [];
  },
  functionDeps(flow: FunctionFlow, ctx: CheckContext): (number | string)[] {
    const s = setupOf(ctx);
    if (!s || !judged(ctx, flow)) return ['-'];
    return s.solver.calleeVersions(flow);
  },
  functionDepsDelta(ctx: CheckContext) {
    const s = setupOf(ctx);
    if (!s) return undefined;
    // A flow that is not judged reads no callee value (its deps are ['-']).
    return { changes: s.solver.changes(), names: (flow: FunctionFlow) => (judged(ctx, flow) ? calleeList(flow) : NONE), key: (flow: FunctionFlow) => (judged(ctx, flow) ? 'j' : '-'), keyChanges: judgedChanges(ctx) };
  },
  runFunction(flow: FunctionFlow, ctx: CheckContext): Finding[] {
    const setup = setupOf(ctx);
    if (!setup || !judged(ctx, flow)) return [];
    const { srcu, slots, solver } = setup;
    const entry = ctx.rules.locks.find((l) => ctx.names.classOf.get(l.name) === srcu || l.name === 'kvm->srcu');
    const ruleRef = ctx.ruleRef(entry?.line ?? 0);
    const severity = ruleMeta('srcu-required').defaultSeverity;
    const out: Finding[] = [];
    {
      const fn = flow.fn;
      if (solver.declares(flow)) return out;
      const reported = new Set<string>();
      for (const [op, contexts] of flow.contexts) {
        if (op.k !== 'call' || !contexts.some((c) => !solver.protectedIn(c))) continue;
        for (const n of solver.accessesAt(flow, op)) {
          const key = rangeKey(op.range);
          if (reported.has(key)) continue;
          reported.add(key);
          const chain = chainOf(n.chain);
          const callee = chain[0].what.replace(/^calls /, '');
          const via = chain.length > 1 ? ` (through ${chain.slice(1).map((s) => s.what.replace(/^calls /, '')).join(' -> ')})` : '';
          out.push({
            code: 'srcu-required',
            severity,
            file: fn.file,
            range: op.range,
            message: `${callee} reads memslots or I/O buses${via} without the ${ctx.display(srcu)} read lock or ${ctx.display(slots ?? 'kvm.slots_lock')} held, and ${fn.name} has no caller that could hold it; the srcu read lock must be held while accessing memslots (${ruleRef})`,
            related: chainToRelated(ctx, chain.map((s, i) => (i === chain.length - 1 ? { ...s, what: `${s.what} (needs ${ctx.display(srcu)})` } : s))),
            ruleRef,
            functionName: fn.name,
          });
        }
      }
    }
    return out;
  },
};

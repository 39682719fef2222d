/**
 * callee name -> the flows that call it (every analysed body, other definitions and recursion
 * included, through any resolved target), kept across analyses and updated from the flows that
 * were added or removed (./flowDelta.ts), with the names whose callers changed in the last update
 * (a caller merely rebased by an edit above it, same calls and lock ops, does not count).
 */
import type { FunctionFlow } from '../analysis/types';
import type { CheckContext } from './check';
import { flowDelta } from './flowDelta';

export interface CallerFlows {
  /** The flows calling `name` (do not modify). */
  of(name: string): ReadonlySet<FunctionFlow> | undefined;
  /**
   * Names whose callers changed, or whose own flow was added or removed (rebases aside), in the
   * last update (null: rebuilt, anything may have changed); `generation` is that of the flow delta.
   */
  changed: ReadonlySet<string> | null;
  generation: number;
}

class CallerIndex implements CallerFlows {
  private callers = new Map<string, Set<FunctionFlow>>();
  changed: Set<string> | null = null;
  generation = 0;

  of(name: string): ReadonlySet<FunctionFlow> | undefined {
    return this.callers.get(name);
  }


  private add(flow: FunctionFlow): void {
    for (const ts of flow.targets.values()) {
      for (const t of ts) {
        let s = this.callers.get(t);
        if (!s) this.callers.set(t, (s = new Set()));
        s.add(flow);
        this.changed?.add(t);
      }
    }
  }

  private remove(flow: FunctionFlow): void {
    for (const ts of flow.targets.values()) {
      for (const t of ts) {
        const s = this.callers.get(t);
        if (!s || !s.delete(flow)) continue;
        if (s.size === 0) this.callers.delete(t);
        this.changed?.add(t);
      }
    }
  }

  /** A flow rebased by an edit above it calls the same names and makes the same lock ops: swapped in place. */
  private swap(prev: FunctionFlow, next: FunctionFlow): void {
    for (const ts of prev.targets.values()) {
      for (const t of ts) {
        const s = this.callers.get(t);
        if (s?.delete(prev)) s.add(next);
      }
    }
  }

  update(ctx: CheckContext): void {
    const delta = flowDelta(ctx);
    if (this.generation === delta.from && this.generation > 0) {
      const changed = (this.changed = new Set<string>());
      const successor = new Map<FunctionFlow, FunctionFlow>();
      if (ctx.moved) {
        for (const f of delta.added) {
          const p = ctx.moved.predecessor(f);
          if (p) successor.set(p, f);
        }
      }
      const swapped = new Set<FunctionFlow>();
      for (const f of delta.removed) {
        const next = successor.get(f);
        if (next) {
          this.swap(f, next);
          swapped.add(next);
          continue;
        }
        this.remove(f);
        changed.add(f.fn.name);
      }
      for (const f of delta.added) {
        if (swapped.has(f)) continue;
        this.add(f);
        changed.add(f.fn.name);
      }
    } else {
      this.callers.clear();
      this.changed = null;
      for (const f of ctx.flows) this.add(f);
    }
    this.generation = delta.to;
  }
}

const STORE_KEY = 'callerFlows';
const perContext = new WeakMap<CheckContext, CallerIndex>();

/** The callers of every name, up to date with `ctx` (kept in its store when there is one). */
export function callerFlows(ctx: CheckContext): CallerFlows {
  let idx = perContext.get(ctx);
  if (idx) return idx;
  idx = ctx.store?.get(STORE_KEY) as CallerIndex | undefined;
  if (!idx) {
    idx = new CallerIndex();
    ctx.store?.set(STORE_KEY, idx);
  }
  idx.update(ctx);
  perContext.set(ctx, idx);
  return idx;
}

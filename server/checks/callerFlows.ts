/**
 * callee name -> the flows that call it (every analysed body, other definitions and recursion
 * included, through any resolved target), kept across analyses and updated from the flows that
 * were added or removed (./flowDelta.ts), with the names whose callers changed in the last update.
 */
import type { FunctionFlow } from '../analysis/types';
import type { CheckContext } from './check';
import { flowDelta } from './flowDelta';

export interface CallerFlows {
  /** The flows calling `name`, each once, in no particular order (do not modify). */
  of(name: string): readonly FunctionFlow[] | undefined;
  /**
   * Names whose callers changed, or whose own flow was added or removed, in the last update
   * (null: rebuilt, anything may have changed); `generation` is that of the flow delta.
   */
  changed: ReadonlySet<string> | null;
  generation: number;
}

class CallerIndex implements CallerFlows {
  /** Lists, not sets: the cold build makes one per called name (thousands). */
  private callers = new Map<string, FunctionFlow[]>();
  changed: Set<string> | null = null;
  generation = 0;

  of(name: string): readonly FunctionFlow[] | undefined {
    return this.callers.get(name);
  }

  /** Lists the flow under each name it calls (once: a flow's entries are pushed together). */
  private add(flow: FunctionFlow): void {
    const callers = this.callers;
    const changed = this.changed;
    for (const ts of flow.targets.values()) {
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i];
        const list = callers.get(t);
        if (!list) callers.set(t, [flow]);
        else if (list[list.length - 1] !== flow) list.push(flow);
        else continue;
        changed?.add(t);
      }
    }
  }

  private remove(flow: FunctionFlow): void {
    for (const ts of flow.targets.values()) {
      for (const t of ts) {
        const list = this.callers.get(t);
        const i = list ? list.indexOf(flow) : -1;
        if (i < 0) continue;
        list![i] = list![list!.length - 1];
        list!.pop();
        if (list!.length === 0) this.callers.delete(t);
        this.changed?.add(t);
      }
    }
  }

  update(ctx: CheckContext): void {
    const delta = flowDelta(ctx);
    if (this.generation === delta.from && this.generation > 0) {
      const changed = (this.changed = new Set<string>());
      for (const f of delta.removed) {
        this.remove(f);
        changed.add(f.fn.name);
      }
      for (const f of delta.added) {
        this.add(f);
        changed.add(f.fn.name);
      }
    } else {
      this.callers.clear();
      this.changed = null;
      // A flow listed twice is indexed once (add only dedupes within one flow's pushes).
      const done = new Set<FunctionFlow>();
      for (const f of ctx.flows) {
        if (done.has(f)) continue;
        done.add(f);
        this.add(f);
      }
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

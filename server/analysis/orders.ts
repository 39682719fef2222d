/**
 * The documented acquisition orders as a relation between lock classes, closed transitively,
 * per architecture: a file under arch/x86 is judged by the `any` and `x86` rules, a file outside
 * any arch directory by all of them.
 */
import type { OrderEdge, RuleModel } from '../../model/rules/types';
import type { DocNames } from './classes';

export interface OrderFact {
  outer: string;
  inner: string;
  /** The documented edges that make it (one for a direct rule, several through the closure). */
  edges: OrderEdge[];
}

export function archOfFile(file: string): string | undefined {
  const m = /(?:^|[\\/])arch[\\/]([^\\/]+)[\\/]/.exec(file);
  return m ? m[1].toLowerCase() : undefined;
}

function ruleApplies(edge: OrderEdge, arch: string | undefined): boolean {
  const a = (edge.arch || 'any').toLowerCase();
  return arch === undefined || a === 'any' || a === arch || a.startsWith('any');
}

export class OrderRules {
  private byArch = new Map<string, Map<string, Map<string, OrderFact>>>();

  constructor(
    private readonly rules: RuleModel,
    private readonly names: DocNames,
  ) {}

  /** outer class -> inner class -> fact, for the rules that apply to `arch`. */
  closure(arch: string | undefined): Map<string, Map<string, OrderFact>> {
    const key = arch ?? '*';
    let c = this.byArch.get(key);
    if (!c) {
      c = this.compute(arch);
      this.byArch.set(key, c);
    }
    return c;
  }

  private compute(arch: string | undefined): Map<string, Map<string, OrderFact>> {
    const direct = new Map<string, { to: string; edge: OrderEdge }[]>();
    for (const e of this.rules.orders) {
      if (!ruleApplies(e, arch)) continue;
      const o = this.names.classOf.get(e.outer);
      const i = this.names.classOf.get(e.inner);
      if (!o || !i || o === i) continue;
      let list = direct.get(o);
      if (!list) direct.set(o, (list = []));
      list.push({ to: i, edge: e });
    }
    const out = new Map<string, Map<string, OrderFact>>();
    for (const start of direct.keys()) {
      // BFS: the shortest rule chain to every class reachable from `start`.
      const reached = new Map<string, OrderFact>();
      const queue: OrderFact[] = [];
      for (const d of direct.get(start)!) {
        if (!reached.has(d.to)) {
          const f = { outer: start, inner: d.to, edges: [d.edge] };
          reached.set(d.to, f);
          queue.push(f);
        }
      }
      while (queue.length) {
        const f = queue.shift()!;
        for (const d of direct.get(f.inner) ?? []) {
          if (d.to === start || reached.has(d.to)) continue;
          const g = { outer: start, inner: d.to, edges: [...f.edges, d.edge] };
          reached.set(d.to, g);
          queue.push(g);
        }
      }
      out.set(start, reached);
    }
    return out;
  }

  /** The rule that says `outer` is taken outside `inner`, if any (for the given file's arch). */
  says(file: string, outer: string, inner: string): OrderFact | undefined {
    return this.closure(archOfFile(file)).get(outer)?.get(inner);
  }

  /** Locks the rules put outside `cls` and inside it (class keys), for hovers. */
  neighbours(cls: string, arch: string | undefined): { outside: OrderFact[]; inside: OrderFact[] } {
    const c = this.closure(arch);
    const outside: OrderFact[] = [];
    for (const [, m] of c) {
      const f = m.get(cls);
      if (f && f.edges.length === 1) outside.push(f);
    }
    const inside = [...(c.get(cls)?.values() ?? [])].filter((f) => f.edges.length === 1);
    return { outside, inside };
  }
}

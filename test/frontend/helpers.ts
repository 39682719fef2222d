import { beforeAll } from 'vitest';
import { initFrontend, parseAndExtract } from '../../server/frontend/index';
import type { AcquireOp, Block, FileFacts, FunctionFacts, Op } from '../../server/frontend/facts';

export function useFrontend(): void {
  beforeAll(async () => {
    await initFrontend();
  });
}

export function facts(code: string, file = 'test.c'): FileFacts {
  return parseAndExtract(file, code);
}

export function fn(code: string, name?: string): FunctionFacts {
  const f = facts(code);
  const found = name ? f.functions.find((x) => x.name === name) : f.functions[0];
  if (!found) throw new Error(`no function ${name ?? ''} in facts: ${f.functions.map((x) => x.name).join(', ')}`);
  return found;
}

export function ops(f: FunctionFacts): Op[] {
  return f.blocks.flatMap((b) => b.ops);
}

/**
 * A compact rendering of lock ops in block order: `+mutex_lock(kvm.lock)`, `-mutex_unlock(...)`.
 * (The sweeps after a loop of per-instance releases are the analysis's, not the code's: left out.)
 */
export function lockOps(f: FunctionFacts): string[] {
  return ops(f)
    .filter((o) => o.k === 'acquire' || (o.k === 'release' && !o.sweep) || o.k === 'dropRetake')
    .map((o) => {
      const l = (o as AcquireOp).lock;
      const sign = o.k === 'acquire' ? '+' : o.k === 'release' ? '-' : '~';
      return `${sign}${o.api}(${l.text})`;
    });
}

/**
 * Enumerates acyclic paths from entry to exit (each block at most once per path) and returns, for
 * each path, the sequence of lock ops, after pruning paths whose edge conditions contradict the
 * flag values established earlier on the path (a tiny model of the path-sensitive analysis).
 */
export function pathLockSeqs(f: FunctionFacts, limit = 2000): string[][] {
  const out: string[][] = [];
  const walk = (b: number, seen: Set<number>, seq: string[], env: Map<string, string>): void => {
    if (out.length >= limit) return;
    const block: Block = f.blocks[b];
    const env2 = new Map(env);
    const seq2 = [...seq];
    for (const o of block.ops) {
      if (o.k === 'acquire' || (o.k === 'release' && !o.sweep)) {
        seq2.push(`${o.k === 'acquire' ? '+' : '-'}${o.lock.text}`);
        if (o.k === 'acquire' && o.resultVar) env2.set(`held:${o.resultVar}`, o.lock.text);
      }
      if (o.k === 'assign') {
        if (o.value) env2.set(o.variable, o.value);
        else env2.delete(o.variable);
      }
    }
    if (b === f.exit) {
      out.push(seq2);
      return;
    }
    for (const e of block.succ) {
      if (seen.has(e.to)) continue;
      if (e.cond) {
        const known = env2.get(e.cond.variable);
        if (known && known !== e.cond.value) continue;
      }
      const env3 = new Map(env2);
      if (e.cond) {
        env3.set(e.cond.variable, e.cond.value);
        const heldLock = env3.get(`held:${e.cond.variable}`);
        if (heldLock !== undefined) {
          // The conditional acquire: drop it from the sequence on the "not held" edge.
          const acq = f.blocks.flatMap((x) => x.ops).find((o) => o.k === 'acquire' && o.resultVar === e.cond!.variable) as AcquireOp;
          if (acq && acq.heldWhen !== e.cond.value) {
            const i = seq2.lastIndexOf(`+${heldLock}`);
            if (i >= 0) {
              const s = [...seq2];
              s.splice(i, 1);
              walkFrom(e.to, seen, s, env3);
              continue;
            }
          }
        }
      }
      walkFrom(e.to, seen, seq2, env3);
    }
  };
  const walkFrom = (to: number, seen: Set<number>, seq: string[], env: Map<string, string>) => {
    const s = new Set(seen);
    s.add(to);
    walk(to, s, seq, env);
  };
  walk(f.entry, new Set([f.entry]), [], new Map());
  return out;
}

/** True when every path releases exactly what it acquired (a balanced sequence per lock). */
export function balancedOnAllPaths(f: FunctionFacts): boolean {
  return pathLockSeqs(f).every((seq) => {
    const held = new Map<string, number>();
    for (const s of seq) {
      const k = s.slice(1);
      const n = (held.get(k) ?? 0) + (s[0] === '+' ? 1 : -1);
      if (n < 0) return false;
      held.set(k, n);
    }
    return [...held.values()].every((n) => n === 0);
  });
}

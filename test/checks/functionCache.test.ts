/**
 * The per-function check cache: a re-check re-runs exactly the flows whose inputs changed, and
 * what it returns equals what a fresh cache gives for the same flows and callee versions.
 */
import { describe, expect, it } from 'vitest';
import type { FunctionFlow } from '../../server/analysis/types';
import type { Check, CheckContext } from '../../server/checks/check';
import type { Finding } from '../../server/checks/finding';
import { FunctionCheckCache } from '../../server/checks/functionCache';

interface FakeFlow {
  fn: { name: string; file: string };
  callees: string[];
}

function flow(name: string, callees: string[] = [], file = 'a.c'): FunctionFlow {
  return { fn: { name, file }, callees } as unknown as FunctionFlow;
}
const calleesOf = (f: FunctionFlow): string[] => (f as unknown as FakeFlow).callees;

/**
 * A check whose per-function findings depend on its callees' versions (a finding when their sum
 * is odd, naming it): what `runFunction` reads is exactly what `functionDeps` returns.
 */
class World {
  versions = new Map<string, number>();
  generation = 1;
  changed: Set<string> | null = null;
  runs: string[] = [];
  keyOf: (flow: FunctionFlow) => string = () => '';
  keyChanges: Set<string> | null | undefined = undefined;
  constKey = true;
  /**
   * Like lock-requires: only flows keyed 'k' read their callees (others read nothing), and
   * `names` is a new function in every analysis.
   */
  judgedOnly = false;

  bump(name: string): void {
    this.versions.set(name, (this.versions.get(name) ?? 0) + 1);
    this.changed?.add(name);
  }
  /** Starts an analysis: the names bumped from now on are its changes. */
  next(): void {
    this.generation++;
    this.changed = new Set();
  }
  callees(f: FunctionFlow): string[] {
    return this.judgedOnly && this.keyOf(f) !== 'k' ? [] : calleesOf(f);
  }
  sum(f: FunctionFlow): number {
    return this.callees(f).reduce((a, n) => a + (this.versions.get(n) ?? 0), 0);
  }
  check(): Check {
    const w = this;
    return {
      codes: ['lock-order'],
      run: () => [],
      runFunction(f: FunctionFlow): Finding[] {
        w.runs.push(f.fn.name);
        const sum = w.sum(f) + (w.keyOf(f) === 'k' ? 1 : 0);
        if (sum % 2 === 0) return [];
        return [{ code: 'lock-order', severity: 'warning', file: f.fn.file, range: { start: { line: 1, column: 0 }, end: { line: 1, column: 1 } }, message: `${f.fn.name} ${sum}`, related: [] }];
      },
      functionDeps(f: FunctionFlow): (number | string)[] {
        return [w.keyOf(f), ...w.callees(f).map((n) => w.versions.get(n) ?? 0)];
      },
      functionDepsDelta() {
        const keyOf = w.keyOf;
        return {
          changes: { generation: w.generation, names: w.changed },
          names: w.judgedOnly ? (f: FunctionFlow) => (keyOf(f) === 'k' ? calleesOf(f) : []) : calleesOf,
          key: w.constKey ? () => keyOf(undefined as unknown as FunctionFlow) : (f: FunctionFlow) => keyOf(f),
          keyChanges: w.keyChanges,
        };
      },
    };
  }
}

const ctxOf = (flows: FunctionFlow[]): CheckContext => ({ flows: [...flows] }) as unknown as CheckContext;
const messages = (fs: Finding[]): string[] => fs.map((f) => f.message);

describe('per-function check cache', () => {
  it('re-runs a flow whose callee changed version, and not one whose callees did not', () => {
    const w = new World();
    const check = w.check();
    const cache = new FunctionCheckCache();
    const flows = [flow('a', ['x']), flow('b', ['y']), flow('c', [])];
    cache.run(check, ctxOf(flows));
    expect(w.runs.sort()).toEqual(['a', 'b', 'c']);

    w.next();
    w.runs = [];
    w.bump('x');
    const out = cache.run(check, ctxOf(flows));
    expect(w.runs).toEqual(['a']);
    expect(messages(out)).toEqual(['a 1']);

    w.next();
    w.runs = [];
    expect(messages(cache.run(check, ctxOf(flows)))).toEqual(['a 1']);
    expect(w.runs).toEqual([]);
  });

  it('drops the findings of a flow that is gone, and runs a new one', () => {
    const w = new World();
    const check = w.check();
    const cache = new FunctionCheckCache();
    w.versions.set('x', 1);
    const a = flow('a', ['x']);
    const b = flow('b', ['x']);
    expect(messages(cache.run(check, ctxOf([a, b])))).toEqual(['a 1', 'b 1']);
    w.next();
    w.runs = [];
    const a2 = flow('a', ['x', 'x']);
    expect(messages(cache.run(check, ctxOf([a2])))).toEqual([]);
    expect(w.runs).toEqual(['a']);
    w.next();
    expect(messages(cache.run(check, ctxOf([a2, b])))).toEqual(['b 1']);
  });

  it('returns findings in the order of the flows, as a walk over them does', () => {
    const w = new World();
    const check = w.check();
    const cache = new FunctionCheckCache();
    const flows = ['p', 'q', 'r', 's'].map((n) => flow(n, ['x']));
    cache.run(check, ctxOf(flows));
    w.next();
    w.bump('x');
    expect(messages(cache.run(check, ctxOf(flows)))).toEqual(['p 1', 'q 1', 'r 1', 's 1']);
    w.next();
    const t = flow('t', ['x']);
    expect(messages(cache.run(check, ctxOf([t, ...flows.slice(1)])))).toEqual(['t 1', 'q 1', 'r 1', 's 1']);
  });

  it('re-runs the flows of names whose key may have changed, and only those', () => {
    const w = new World();
    w.constKey = false;
    let keyed = new Set<string>();
    w.keyOf = (f) => (keyed.has(f.fn.name) ? 'k' : '-');
    w.keyChanges = new Set();
    const check = w.check();
    const cache = new FunctionCheckCache();
    const flows = [flow('a'), flow('b'), flow('c')];
    cache.run(check, ctxOf(flows));
    w.next();
    w.runs = [];
    keyed = new Set(['b']);
    w.keyChanges = new Set(['b']);
    expect(messages(cache.run(check, ctxOf(flows)))).toEqual(['b 1']);
    expect(w.runs).toEqual(['b']);
  });

  it('re-runs a flow that became judged when a callee it now reads changes (names kept per check)', () => {
    const w = new World();
    w.constKey = false;
    w.judgedOnly = true;
    let keyed = new Set<string>();
    w.keyOf = (f) => (keyed.has(f.fn.name) ? 'k' : '-');
    w.keyChanges = new Set();
    const check = w.check();
    const cache = new FunctionCheckCache();
    const flows = [flow('a', ['x']), flow('b', ['y'])];
    w.bump('y');
    cache.run(check, ctxOf(flows));
    // Something changes: the per-check index of names is made (a and b read nothing yet).
    w.next();
    w.keyChanges = new Set();
    w.bump('y');
    cache.run(check, ctxOf(flows));
    w.next();
    keyed = new Set(['a']);
    w.keyChanges = new Set(['a']);
    expect(messages(cache.run(check, ctxOf(flows)))).toEqual(['a 1']);
    w.next();
    w.keyChanges = new Set();
    w.runs = [];
    w.bump('x');
    w.bump('x');
    expect(messages(cache.run(check, ctxOf(flows)))).toEqual(['a 3']);
    expect(w.runs).toEqual(['a']);
  });

  it('forgets entries whose findings point into a changed file', () => {
    const w = new World();
    const check = w.check();
    const cache = new FunctionCheckCache();
    w.versions.set('x', 1);
    const a = flow('a', ['x'], 'a.c');
    cache.run(check, ctxOf([a]));
    w.next();
    w.runs = [];
    cache.invalidateFiles(new Set(['b.c']));
    cache.run(check, ctxOf([a]));
    expect(w.runs).toEqual([]);
    w.next();
    cache.invalidateFiles(new Set(['a.c']), undefined, [a]);
    cache.run(check, ctxOf([a]));
    // a.c holds `a` itself: its flow would be replaced by the engine, so the entry is kept.
    expect(w.runs).toEqual([]);
  });

  it('gives what a fresh cache gives over random edits', () => {
    let seed = 7;
    // mulberry32: a small PRNG whose low bits are usable with `%`.
    const rnd = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    for (const [constKey, judgedOnly] of [
      [true, false],
      [false, false],
      [false, true],
    ]) {
      const w = new World();
      w.constKey = constKey;
      w.judgedOnly = judgedOnly;
      let keyed = new Set<string>();
      if (!constKey) w.keyOf = (f) => (keyed.has(f.fn.name) ? 'k' : '-');
      w.keyChanges = constKey ? undefined : new Set();
      const check = w.check();
      const cache = new FunctionCheckCache();
      const names = Array.from({ length: 12 }, (_, i) => `f${i}`);
      const mk = (n: string): FunctionFlow => flow(n, [names[rnd(12)], names[rnd(12)]]);
      let flows = names.map(mk);
      cache.run(check, ctxOf(flows));
      for (let step = 0; step < 200; step++) {
        w.next();
        if (!constKey) w.keyChanges = new Set();
        for (let k = rnd(3); k > 0; k--) w.bump(names[rnd(12)]);
        if (rnd(3) === 0) flows[rnd(flows.length)] = mk(names[rnd(12)]);
        if (rnd(5) === 0 && flows.length > 3) flows.splice(rnd(flows.length), 1);
        if (rnd(5) === 0) flows.splice(rnd(flows.length + 1), 0, mk(names[rnd(12)]));
        if (!constKey && rnd(4) === 0) {
          const n = names[rnd(12)];
          keyed = new Set(keyed);
          if (keyed.has(n)) keyed.delete(n);
          else keyed.add(n);
          w.keyChanges!.add(n);
        }
        if (rnd(10) === 0) w.changed = null; // changes unknown: every flow looked at
        flows = [...flows];
        const got = messages(cache.run(check, ctxOf(flows)));
        const fresh = messages(new FunctionCheckCache().run(check, ctxOf(flows)));
        expect(got).toEqual(fresh);
      }
    }
  });
});

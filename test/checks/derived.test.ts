/**
 * Derived per-function values kept across analyses: an edit re-derives what changed and the
 * callers whose inputs really changed (early cutoff), and every value read equals what a fresh
 * cache computes for the same flows.
 */
import { describe, expect, it } from 'vitest';
import type { FunctionFlow } from '../../server/analysis/types';
import type { CheckContext } from '../../server/checks/check';
import { DerivedCache } from '../../server/checks/derived';

interface FakeFlow {
  fn: { name: string; file: string };
  own: string[];
  callees: string[];
}

function flow(name: string, own: string[], callees: string[]): FunctionFlow {
  return { fn: { name, file: 'a.c' }, own, callees } as unknown as FunctionFlow;
}
const fake = (f: FunctionFlow): FakeFlow => f as unknown as FakeFlow;

/** Tokens a function reaches: its own and its callees' (what a caller's value is made of). */
function makeCache(): DerivedCache<string[]> {
  return new DerivedCache<string[]>([], (v) => v.join(','), (ctx, name) => (ctx as unknown as { byName: Map<string, FunctionFlow> }).byName.get(name));
}

class Workspace {
  byName = new Map<string, FunctionFlow>();
  private generation = 0;
  private changedNames = new Set<string>();
  private readonly source = {};
  derived = 0;

  set(f: FunctionFlow): void {
    this.byName.set(f.fn.name, f);
    this.changedNames.add(f.fn.name);
  }
  remove(name: string): void {
    this.byName.delete(name);
    this.changedNames.add(name);
  }
  /** A new analysis's context (with the chosen-flow changes since the last one when `told`). */
  context(told: boolean): CheckContext {
    this.generation++;
    const ctx = {
      byName: new Map(this.byName),
      chosenChanges: told ? { source: this.source, generation: this.generation, names: this.changedNames } : undefined,
    };
    this.changedNames = new Set();
    return ctx as unknown as CheckContext;
  }
  /** Derivations read their callees' versions first (as checks' calleeVersions do), every other time. */
  readVersions = false;
  begin(cache: DerivedCache<string[]>, ctx: CheckContext): void {
    cache.begin(ctx, 'config', (f) => {
      this.derived++;
      if (this.readVersions && this.derived % 2 === 0) cache.versions(fake(f).callees);
      const out = new Set(fake(f).own);
      for (const c of fake(f).callees) for (const t of cache.get(c)) out.add(t);
      return [...out].sort();
    });
  }
}

describe('derived per-function values', () => {
  it('re-derives a caller whose callee value changed, and stops where a value stays the same', () => {
    const ws = new Workspace();
    ws.set(flow('top', [], ['mid']));
    ws.set(flow('mid', ['m'], ['leaf']));
    ws.set(flow('leaf', ['x'], []));
    ws.set(flow('other', ['o'], []));
    const cache = makeCache();
    ws.begin(cache, ws.context(true));
    expect(cache.get('top')).toEqual(['m', 'x']);
    expect(cache.get('other')).toEqual(['o']);
    const v = cache.version('top');

    ws.set(flow('leaf', ['y'], []));
    ws.derived = 0;
    ws.begin(cache, ws.context(true));
    expect([...cache.changes().names!].sort()).toEqual(['leaf', 'mid', 'top']);
    expect(cache.get('top')).toEqual(['m', 'y']);
    expect(cache.version('top')).not.toBe(v);
    expect(ws.derived).toBe(3);

    // A new flow of leaf that reaches the same tokens: leaf is re-derived, its callers are not.
    ws.set(flow('leaf', ['y'], []));
    ws.derived = 0;
    ws.begin(cache, ws.context(true));
    expect(cache.changes().names!.size).toBe(0);
    expect(cache.get('top')).toEqual(['m', 'y']);
    expect(ws.derived).toBe(1);
  });

  it('lets readers of a vanished or new name look again', () => {
    const ws = new Workspace();
    ws.set(flow('top', ['t'], ['helper']));
    const cache = makeCache();
    ws.begin(cache, ws.context(true));
    expect(cache.get('top')).toEqual(['t']);
    ws.set(flow('helper', ['h'], []));
    ws.begin(cache, ws.context(true));
    expect(cache.get('top')).toEqual(['h', 't']);
    ws.remove('helper');
    ws.begin(cache, ws.context(true));
    expect(cache.get('top')).toEqual(['t']);
    expect(cache.changes().names!.has('top')).toBe(true);
  });

  it('cuts recursion as a fresh computation in the same order does', () => {
    const ws = new Workspace();
    ws.set(flow('a', ['a'], ['b']));
    ws.set(flow('b', ['b'], ['a']));
    const cache = makeCache();
    ws.begin(cache, ws.context(true));
    // a reads b, which reads a while a is being derived: the cut reads nothing.
    expect(cache.get('a')).toEqual(['a', 'b']);
    expect(cache.get('b')).toEqual(['b']);
  });

  for (const told of [true, false]) {
    it(`gives what a fresh cache gives over random edits (${told ? 'changed names told' : 'every name looked at'})`, () => {
      let seed = 11;
      const rnd = (n: number): number => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) % n;
      };
      const N = 14;
      const names = Array.from({ length: N }, (_, i) => `f${i}`);
      // Callees only of higher index: no recursion, so the order of reads does not matter.
      const mk = (i: number): FunctionFlow =>
        flow(names[i], rnd(3) === 0 ? [`t${rnd(4)}`] : [], Array.from({ length: rnd(3) }, () => names[i + 1 + rnd(N - i)]).filter((n) => n !== undefined));
      const ws = new Workspace();
      ws.readVersions = true;
      for (let i = 0; i < N; i++) ws.set(mk(i));
      const cache = makeCache();
      ws.begin(cache, ws.context(told));
      let versions = new Map(names.map((n) => [n, cache.version(n)]));
      for (let step = 0; step < 150; step++) {
        for (let k = 1 + rnd(2); k > 0; k--) {
          const i = rnd(N);
          if (rnd(6) === 0) ws.remove(names[i]);
          else ws.set(mk(i));
        }
        const ctx = ws.context(told);
        ws.begin(cache, ctx);
        const changed = cache.changes().names;
        const fresh = makeCache();
        ws.begin(fresh, ctx);
        // Read in a random order: the cached values must not depend on it.
        const order = [...names].sort(() => rnd(3) - 1);
        for (const n of order) expect(cache.get(n)).toEqual(fresh.get(n));
        const list = [names[rnd(N)], names[rnd(N)], 'external'];
        expect(cache.versions(list)).toEqual(list.map((n) => cache.version(n)));
        const now = new Map(names.map((n) => [n, cache.version(n)]));
        // Every name whose value changed is reported (what per-function results rely on).
        for (const n of names) if (now.get(n) !== versions.get(n) && changed) expect(changed.has(n)).toBe(true);
        versions = now;
      }
    });
  }
});
